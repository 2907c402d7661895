"""Absolute addresses (model/absolute_addresses.py): @zero, @high and @kernel, the places outside
every slot where mmap fixed, munmap, mprotect, shmat and shmdt meet the nil page, mmap_min_addr
and the end of user space (R05, R26, R27, C01, C07). Pinned on the kernel by the built-in cases
r26-shmat-rnd-nil-page, r05-outside-user-space and c07-mmap-nil-page, and LTP's shmat03,
mmap15 and munmap03 cases."""
from __future__ import annotations

import json

import pytest

from sharespec.model.case import CaseError
from sharespec.model.semantics import NotApplicable

from test_model_rules import allowed, last, program

SEGMENT = "T0: S0 = shmget(private, 4096, creat)\n"


def stat(nattch: int) -> str:
    return f"stat(nattch={nattch},segsz=4096,dest=0,key=private)"


# --- what Linux says at each address ----------------------------------------------------------

def test_kernel_address_is_past_every_user_space_R05_C01():
    got = allowed(SEGMENT + """
        T0: munmap(@kernel, 4096)
        T0: M0 = mmap(anon, private, rw, 4096, at=@kernel, replace)
        T0: M1 = mmap(anon, shared, rw, 4096, at=@kernel, noreplace)
        T0: mprotect(@kernel, 4096, r)
        T0: A0 = shmat(S0, at=@kernel)
        T0: A1 = shmat(S0, at=@kernel, remap)
        T0: shmctl(S0, stat)
    """)
    assert got[1:] == [{"EINVAL"}, {"ENOMEM"}, {"ENOMEM"}, {"ENOMEM"}, {"ENOMEM"}, {"ENOMEM"},
                       {stat(0)}]


def test_high_address_is_decided_by_the_host_s_paging_R05():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 4096, at=@high, replace)
        T0: munmap(@high, 4096)
    """)
    assert got == [{"ok", "ENOMEM"}, {"ok", "EINVAL"}]


def test_nil_page_needs_privilege_C07():
    got = allowed("""
        T0: S0 = shmget(private, 4096, mode=0666, creat)
        T0: M0 = mmap(anon, private, rw, 4096, at=@zero, replace)
        T0: T1 = fork()
        T1: setuid(other)
        T1: M1 = mmap(anon, private, rw, 4096, at=@zero, noreplace)
        T1: A0 = shmat(S0, at=@zero+1, rnd)
    """)
    assert got[1] == {"ok", "EACCES", "EPERM"}     # root: CAP_SYS_RAWIO, unless an LSM refuses
    assert got[4:] == [{"EPERM"}, {"EPERM"}]        # other: cap_mmap_addr


def test_the_segment_s_permission_comes_before_the_address_C07():
    assert last(SEGMENT + """
        T0: setuid(other)
        T0: A0 = shmat(S0, at=@zero+1, rnd)
    """) == {"EACCES"}


def test_unaligned_nil_page_is_refused_before_privilege_C01_R05():
    got = allowed("""
        T0: setuid(other)
        T0: M0 = mmap(anon, private, rw, 4096, at=@zero+1, replace)
        T0: munmap(@zero+1, 4096)
        T0: mprotect(@zero+1, 4096, r)
    """)
    assert got[1:] == [{"EINVAL"}] * 3


def test_shm_rnd_to_the_nil_page_with_remap_is_einval_R26_R27():
    got = allowed(SEGMENT + """
        T0: A0 = shmat(S0, at=@zero+1, rnd, remap)
        T0: A1 = shmat(S0, at=@zero+1)
        T0: shmctl(S0, stat)
    """)
    assert got[1:] == [{"EINVAL"}, {"EINVAL"}, {stat(0)}]


def test_a_mapping_made_at_the_nil_page_is_an_ordinary_one_R28():
    """Root attaches at page 0: nattch counts it, fork copies it, shmdt removes it."""
    text = SEGMENT + """
        T0: A0 = shmat(S0, at=@zero+1, rnd)
        T0: T1 = fork()
        T0: shmctl(S0, stat)
        T1: shmdt(A0)
        T0: shmctl(S0, stat)
        T0: shmdt(A0)
        T0: shmctl(S0, stat)
    """
    got = allowed(text)
    assert got[1] == {"ok", "EACCES", "EPERM"}
    assert got[3] == {stat(0), stat(2)}       # both processes hold it, or nobody does
    assert got[5] == {stat(0), stat(1)}
    assert got[7] == {stat(0)}


def test_a_failed_call_binds_its_handle_at_the_absolute_place():
    """The handle means the address, as the implementation's does, so munmap of it is the
    range check's EINVAL, not the ok of an empty slot."""
    assert last("""
        T0: M0 = mmap(anon, private, rw, 4096, at=@kernel, replace)
        T0: munmap(M0, 4096)
    """) == {"EINVAL"}


def test_an_absolute_mapping_never_meets_a_slot():
    from sharespec.model.absolute_addresses import PAGE_BASES, class_of_page
    assert all(base + 2 ** 18 < 0 for base in PAGE_BASES.values())   # a case's 1 GiB cap
    assert class_of_page(0) is None and class_of_page(PAGE_BASES["high"] + 255) == "high"


def test_absolute_addresses_are_linux_only():
    with pytest.raises(NotApplicable):
        allowed("T0: munmap(@kernel, 4096)", "posix")


# --- what a case may say -----------------------------------------------------------------------

@pytest.mark.parametrize("text, problem", [
    ("T0: munmap(@nowhere, 4096)", "not an absolute address"),
    ("T0: munmap(@zero[1], 4096)", "page 0"),
    ("T0: read(@zero)", "read cannot take @zero"),
    ("T0: M0 = mmap(anon, private, rw, 4096, at=@high, replace)\nT0: write(M0, 1)",
     "write cannot take M0"),
    ("T0: M0 = mmap(anon, private, rw, 4096, at=@high, replace)\nT0: munmap(M0[1], 4096)",
     "only its page 0"),
    ("T0: M0 = mmap(anon, private, rw, 4096, at=@high, replace)\nT0: maps(M0)", "maps cannot"),
    ("T0: M0 = mmap(anon, private, rw, 4096, at=@high, replace)\nT0: frames(T0:M0)",
     "frames cannot"),
    ("T0: S0 = shmget(private, 4096, creat)\nT0: A0 = shmat(S0, at=@zero)", "without an address"),
    ("T0: M0 = mmap(anon, private, rw, 4096)\nT0: mremap(M0, 4096, 4096, fixed, to=@high, maymove)",
     "mremap cannot take @high"),
    ("T0: madvise(@kernel, 4096, dontneed)", "madvise cannot"),
    ("T0: munmap(@kernel, 8192000)", "past the end of its slot"),
])
def test_misplaced_absolute_addresses_are_refused(text, problem):
    with pytest.raises(CaseError, match=problem):
        program(text)


def test_an_absolute_place_round_trips_through_text_and_json():
    from sharespec.model.case_json import case_from_json, case_to_json
    from sharespec.model.case_text import case_from_text, case_to_text
    text = ("case c\nprofile linux\norigin test\n\n" + SEGMENT +
            "T0: A0 = shmat(S0, at=@zero+1, rnd, remap)\nT0: munmap(@kernel, 4096)\n")
    case = case_from_text(text, "<t>")
    assert "at=@zero+1" in case_to_text(case)
    raw = case_to_json(case)
    assert '"mapping": "@zero"' in json.dumps(raw)
    assert case_from_json(raw, "<t>").steps == case.steps


def test_absolute_addresses_are_outside_the_symbolic_core():
    from sharespec.model.symbolic.core import ABSOLUTE_OUTSIDE, OutsideCore, SymbolicScope, \
        program_to_args
    with pytest.raises(OutsideCore, match="absolute address"):
        program_to_args(program("T0: munmap(@kernel, 4096)"), SymbolicScope())
    assert "paging" in ABSOLUTE_OUTSIDE


# --- the action menu --------------------------------------------------------------------------

def test_the_menu_offers_every_absolute_class_and_keeps_the_handles_apart():
    from sharespec.model.actions import actions, by_family
    from sharespec.model.profiles import LINUX
    from sharespec.model.scope import CLASSES, DEFAULT
    from sharespec.model.semantics import step
    from sharespec.model.state import initial
    state = initial()
    for st in program(SEGMENT + "T0: M0 = mmap(anon, private, rw, 4096, at=@high, replace)"):
        state = next(s for s, r in step(state, st, LINUX) if str(r) == "ok" or st.bind == "S0")
    offered = by_family(actions(state, DEFAULT))
    absolute = offered["absolute"]
    assert {dict(a.classes)["address"] for a in absolute} == set(CLASSES["absolutes"])
    assert {dict(a.classes)["call"] for a in absolute} == {
        "mmap", "munmap", "mprotect", "shmat", "shmat_remap", "shmdt"}
    # M0 lies at @high: no other family names it
    assert not [a for family, acts in offered.items() if family != "absolute" for a in acts
                if "M0" in repr(a.step.op)]
    assert "absolute" not in by_family(actions(state, DEFAULT, linux=False))


def test_a_null_memfd_name_is_read_from_the_nil_page_when_it_is_mapped_C07():
    """memfd_create(NULL) reads its name at address 0 (strnlen_user, mm/memfd.c alloc_name):
    EFAULT while nothing readable is there, an empty name (a memfd) once a privileged mmap
    put the nil page there. Found by the Hypothesis generator: the host made the memfd."""
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 4096, at=@zero, replace)
        T0: F0 = open(memfd, invalid=null_name)
        T0: mprotect(@zero, 4096, none)
        T0: F1 = open(memfd, invalid=null_name)
        T0: munmap(@zero, 4096)
        T0: F2 = open(memfd, invalid=null_name)
    """)
    assert got[1:] == [{"ok", "EFAULT"}, {"ok", "ENOMEM"}, {"EFAULT"}, {"ok"}, {"EFAULT"}]
    assert allowed("""
        T0: M0 = mmap(anon, private, rw, 4096, at=@zero, replace)
        T0: F0 = open(memfd, invalid=null_name)
        T0: pwrite(F0, 4095, 7)
        T0: fstat(F0)
    """)[1:] == [{"ok", "EFAULT"}, {"ok", "EBADF"}, {"size(4096)", "EBADF"}]
