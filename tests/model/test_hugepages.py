"""Huge-page objects in the model (model/hugepages.py, issue 16 item 6): memfd_create with
MFD_HUGETLB and a size flag, ftruncate in whole huge pages, write(2) refused, fallocate and
mmap under the empty-pool assumption, shmget with SHM_HUGETLB; and the layers around them
(the validator, the text form, the action menu, the symbolic core's outside list, coverage).
Pinned on the kernel by the built-in cases c01-hugetlb-* and LTP's memfd_create03/04 cases
(rule C01: no catalogue rule names huge pages)."""
from __future__ import annotations

import pytest

from sharespec.model.case import CaseError
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.oracle import judge
from sharespec.model.results import parse_result
from sharespec.model.semantics import NotApplicable

from test_model_rules import allowed, last, program

HEADER = "case t\nprofile linux\nrules\norigin test\n\n"


def observed(text: str, results: list):
    """The verdict of the model on a program run with these results."""
    steps = program(text)
    return judge(steps, [parse_result(r) for r in results], "linux").verdict


# --- memfd_create ------------------------------------------------------------------------

def test_C01_memfd_create_hugetlb_sizes_are_the_hosts():
    got = allowed("""
        T0: F0 = open(memfd, hugetlb)
        T0: F1 = open(memfd, huge=2mb, hugetlb)
        T0: F2 = open(memfd, huge=64kb, hugetlb)
        T0: F3 = open(memfd, huge=2mb)
        T0: F4 = open(memfd, huge=2mb, invalid=null_name)
        T0: F5 = open(memfd, huge=2mb, hugetlb, invalid=null_name)
        T0: F6 = open(memfd, nosealing, hugetlb)
        T0: seals(F6)
    """)
    assert got[:6] == [{"ok"}, {"ok", "ENODEV"}, {"ok", "ENODEV"}, {"EINVAL"}, {"EINVAL"},
                       {"EFAULT"}]
    assert got[7] == {"seals(seal)"}


def test_C01_the_object_has_the_huge_page_size_it_was_made_with():
    """ftruncate takes whole huge pages of the object's own size; the default size is 2 MiB or
    1 GiB (x86-64), and what a run observes picks one."""
    sized = "T0: F0 = open(memfd, huge=64kb, hugetlb)\nT0: ftruncate(F0, 65536)"
    assert allowed(sized)[1] == {"ok", "EBADF"}
    assert observed(sized, ["ok", "EINVAL"]) == "FAIL"     # mfd-huge-size-ignored
    default = "T0: F0 = open(memfd, hugetlb)\nT0: ftruncate(F0, 2097152)\nT0: fstat(F0)"
    assert allowed(default)[1] == {"ok", "EINVAL"}
    assert observed(default, ["ok", "ok", "size(2097152)"]) == "PASS"
    assert observed(default, ["ok", "EINVAL", "size(0)"]) == "PASS"     # 1 GiB pages
    assert observed(default, ["ok", "ok", "size(0)"]) == "FAIL"


def test_C01_hugetlb_ftruncate_refuses_before_the_seals():
    got = allowed("""
        T0: F0 = open(memfd, huge=2mb, hugetlb)
        T0: ftruncate(F0, 4194304)
        T0: seal(F0, shrink)
        T0: ftruncate(F0, 4096)
        T0: ftruncate(F0, 2097152)
        T0: F1 = reopen(F0, rdonly)
        T0: ftruncate(F1, 4096)
    """)
    assert got[3] == {"EINVAL", "EBADF"} and got[4] == {"EPERM", "EBADF"}
    assert got[6] == {"EINVAL", "EBADF"}


def test_C01_hugetlb_write_refused_read_zeros():
    got = allowed("""
        T0: F0 = open(memfd, hugetlb)
        T0: pwrite(F0, 0, 7)
        T0: pread(F0, 0)
        T0: ftruncate(F0, 1073741824)
        T0: pread(F0, 0)
        T0: seal(F0, write)
        T0: pwrite(F0, 0, 7)
        T0: F1 = reopen(F0, rdonly)
        T0: pwrite(F1, 0, 7)
    """)
    assert got[1] == {"EINVAL"} and got[2] == {"eof"} and got[4] == {"0"}
    assert got[6] == {"EINVAL"} and got[8] == {"EBADF"}


def test_C01_hugetlb_fallocate_finds_an_empty_pool():
    got = allowed("""
        T0: F0 = open(memfd, hugetlb)
        T0: fallocate(F0, 0, 4096)
        T0: fallocate(F0, 0, 4096, punch)
        T0: fallocate(F0, 0, 0)
        T0: fstat(F0)
    """)
    assert got[1:] == [{"ENOSPC"}, {"ok"}, {"EINVAL"}, {"size(0)"}]


def test_C01_hugetlb_mmap_never_maps_with_empty_pools():
    got = allowed("""
        T0: F0 = open(memfd, hugetlb)
        T0: M0 = mmap(F0, shared, rw, 4096)
        T0: M1 = mmap(F0, private, r, 4096, offset=4096)
        T0: M2 = mmap(anon, shared, rw, 4096)
        T0: M3 = mmap(F0, private, rw, 4096, at=M2, noreplace)
        T0: F1 = reopen(F0, rdonly)
        T0: M4 = mmap(F1, shared, rw, 4096)
        T0: close(F0)
        T0: M5 = mmap(F0, shared, rw, 4096)
        T0: read(M0)
    """)
    assert got[1] == {"ENOMEM", "EINVAL", "EEXIST"}
    assert got[2] == {"EINVAL"}                            # hugetlbfs_file_mmap: the offset
    assert got[4] == {"EINVAL", "EEXIST"}                  # M2 is there: no reservation
    assert got[6] == {"EACCES", "EINVAL"}                  # the address is checked first
    assert got[8] == {"EBADF"}
    assert got[9] == {"SIGSEGV"}                           # nothing was mapped


# --- shmget --------------------------------------------------------------------------------

def test_C01_shmget_hugetlb_reserves_from_an_empty_pool():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat, hugetlb)
        T0: S1 = shmget(private, 4096, huge=64kb, creat, hugetlb)
        T0: S2 = shmget(private, 4096, huge=2mb, creat)
        T0: S3 = shmget(k, 4096, creat)
        T0: S4 = shmget(k, 4096, creat, hugetlb)
        T0: S5 = shmget(k2, 4096, hugetlb)
        T0: shmctl(S0, stat)
        T0: setuid(other)
        T0: S6 = shmget(private, 4096, creat, hugetlb)
    """)
    assert got[:6] == [{"ENOMEM"}, {"ENOMEM", "EINVAL"}, {"new"}, {"new"}, {"=S3"}, {"ENOENT"}]
    assert got[6] == {"EINVAL"}                            # S0 names no segment
    assert got[8] == {"ENOMEM", "EPERM"}                   # vm.hugetlb_shm_group is the host's


def test_huge_pages_are_linux_only():
    with pytest.raises(NotApplicable):
        last("T0: F0 = open(memfd, hugetlb)", "posix")
    with pytest.raises(NotApplicable):
        last("T0: S0 = shmget(private, 4096, creat, hugetlb)", "posix")
    assert last("T0: S0 = shmget(private, 4096, creat)", "posix") == {"new"}


# --- the language --------------------------------------------------------------------------

def test_text_form_round_trips_and_refuses_what_is_not_memfd_create_or_shmget():
    text = (HEADER + "T0: F0 = open(memfd, huge=1gb, nosealing, hugetlb)\n"
            "T0: S0 = shmget(private, 4096, huge=16gb, creat, hugetlb)\n")
    assert case_to_text(case_from_text(text, "<t>")) == text
    for bad, problem in (("T0: F0 = open(file, f, creat, hugetlb)", "memfd_create's and shmget's"),
                         ("T0: F0 = open(shm, s, creat, huge=2mb)", "memfd_create's and shmget's"),
                         ("T0: F0 = open(memfd, huge=3mb, hugetlb)", "3mb")):
        with pytest.raises(CaseError, match=f"line 6: .*{problem}"):
            case_from_text(HEADER + bad + "\n", "<t>")


def test_mmap_fixed_replace_of_a_hugetlb_memfd_is_refused():
    """Its range is rounded up to a huge page, past the slot: MAP_FIXED would unmap there."""
    base = "T0: M0 = mmap(anon, shared, rw, 4096)\nT0: F0 = open(memfd, hugetlb)\nT0: F1 = dup(F0)\n"
    for fd in ("F0", "F1"):
        with pytest.raises(CaseError, match="fixed=replace of the hugetlb memfd"):
            case_from_text(HEADER + base + f"T0: M1 = mmap({fd}, shared, rw, 4096, at=M0, replace)\n",
                           "<t>")
    case_from_text(HEADER + base + "T0: M1 = mmap(F1, shared, rw, 4096, at=M0, noreplace)\n", "<t>")
    case_from_text(HEADER + "T0: M0 = mmap(anon, shared, rw, 4096)\nT0: F0 = open(memfd)\n"
                   "T0: M1 = mmap(F0, shared, rw, 4096, at=M0, replace)\n", "<t>")


# --- the menu, the symbolic core, coverage -------------------------------------------------

def test_every_generator_menu_offers_the_huge_page_classes():
    from sharespec.model.actions import actions, classify
    from sharespec.model.scope import DEFAULT
    from sharespec.model.state import initial
    acts = actions(initial(), DEFAULT, fds_bound=0)
    memfd = {dict(a.classes).get("memfd") for a in acts if a.family == "open"}
    assert {"hugetlb", "hugetlb_sized", "huge_size_only"} <= memfd
    huge = {dict(a.classes).get("huge") for a in acts if a.family == "shmget"}
    assert huge == {None, "hugetlb", "hugetlb_sized", "size_only"}
    for a in acts:
        assert classify(initial(), a.step) == a


def test_huge_pages_are_outside_the_symbolic_core():
    from sharespec.model.symbolic.core import OutsideCore, SymbolicScope, program_to_args
    sym = SymbolicScope(processes=1, threads=1, mappings=1, pages=2, segments=1, objects=1,
                        steps=2)
    for text in ("T0: F0 = open(memfd, hugetlb)", "T0: S0 = shmget(private, 4096, creat, hugetlb)"):
        with pytest.raises(OutsideCore, match="huge pages"):
            program_to_args(program(text), sym)
    program_to_args(program("T0: F0 = open(memfd)"), sym)


def test_coverage_counts_calls_on_a_hugetlb_object_apart():
    from sharespec.coverage import context_classes
    from sharespec.model.oracle import final_states
    steps = program("T0: F0 = open(memfd, huge=2mb, hugetlb)\nT0: F1 = open(memfd)\n"
                    "T0: ftruncate(F0, 4096)\nT0: ftruncate(F1, 4096)")
    (state,) = final_states(steps[:2], [parse_result("ok")] * 2, "linux")
    assert context_classes(state, steps[2]) == (("object", "hugetlb"),)
    assert context_classes(state, steps[3]) == (("size", "grows"),)
