"""The madvise hints (R48), the invalid advice (C01) and guard regions (R49) in the model:
which hints split a mapping and which do not, that flags take part in merging, and what guard
markers do to accesses, contents, fork, mremap and munmap. Each is pinned on the kernel by the
built-in cases r48-*, r49-* and c01-madvise-invalid-advice."""
from __future__ import annotations

import pytest

from sharespec.model.oracle import allowed_per_step
from sharespec.model.profiles import LINUX
from sharespec.model.semantics import step
from sharespec.model.state import initial

from test_model_rules import allowed, program, stat

SPLITTING = ("random", "sequential", "dontdump", "hugepage", "nohugepage")
NOT_SPLITTING = ("normal", "willneed", "cold", "pageout", "dodump", "mergeable", "unmergeable",
                 "guard_install", "guard_remove")
CONFIG_DEPENDENT = ("hugepage", "nohugepage", "mergeable", "unmergeable")


def attach_advised(advice: str) -> list:
    return allowed(f"""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: write(A0, 7)
        T0: madvise(A0, 4096, {advice})
        T0: shmctl(S0, stat)
        T0: madvise(A0, 4096, {advice})
        T0: shmctl(S0, stat)
        T0: read(A0[1])
    """)


@pytest.mark.parametrize("advice", SPLITTING)
def test_R48_a_hint_that_sets_a_flag_splits_an_attach_once(advice):
    got = attach_advised(advice)
    expected = {stat(2, 8192)} | ({stat(1, 8192)} if advice in CONFIG_DEPENDENT else set())
    assert got[3] == ({"ok", "EINVAL"} if advice in CONFIG_DEPENDENT else {"ok"})
    assert got[4] == got[6] == expected
    assert got[7] == {"0"}


@pytest.mark.parametrize("advice", NOT_SPLITTING)
def test_R48_a_hint_without_a_flag_of_its_own_splits_nothing(advice):
    got = attach_advised(advice)
    assert got[4] == got[6] == {stat(1, 8192)}


def test_R48_hints_keep_contents():
    for advice in SPLITTING + NOT_SPLITTING[:-2]:
        got = allowed(f"""
            T0: M0 = mmap(anon, private, rw, 4096)
            T0: write(M0, 5)
            T0: madvise(M0, 4096, {advice})
            T0: read(M0)
        """)
        assert got[-1] == {"5"}, advice


def test_R48_mergeable_splits_a_private_mapping_not_a_shared_one():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: madvise(M0, 4096, mergeable)
        T0: mremap(M0, 8192, 12288, grow)
        T0: M1 = mmap(anon, shared, rw, 8192)
        T0: madvise(M1, 4096, mergeable)
        T0: mremap(M1, 8192, 12288, grow)
    """)
    assert got[2] == {"ok", "EFAULT"}    # EFAULT after ok; ok after EINVAL (no KSM)
    assert got[5] == {"ok"}


def test_R48_clearing_the_flag_merges_the_pieces_again():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: madvise(M0[1], 4096, random)
        T0: mremap(M0, 8192, 12288, grow)
        T0: mprotect(M0[1], 4096, r)
        T0: mprotect(M0[1], 4096, rw)
        T0: mremap(M0, 8192, 12288, grow)
        T0: madvise(M0[1], 4096, normal)
        T0: mremap(M0, 8192, 12288, grow)
    """)
    assert [got[2], got[5], got[7]] == [{"EFAULT"}, {"EFAULT"}, {"ok"}]


def test_R48_range_checks_and_the_mapped_part_of_a_hole():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: madvise(A0+1, 4096, random)
        T0: madvise(A0[1], 8192, dontdump)
        T0: shmctl(S0, stat)
    """)
    assert got[2:] == [{"EINVAL"}, {"ENOMEM"}, {stat(2, 8192)}]


def test_R48_pageout_may_unmap_an_entry_only_this_process_maps():
    steps = program("""
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: write(M0, 5)
        T0: madvise(M0, 4096, pageout)
    """)
    state = initial()
    for st in steps[:-1]:
        [(state, _)] = step(state, st, LINUX)
    outcomes = step(state, steps[-1], LINUX)
    present = {len(s.processes[0].present) for s, r in outcomes}
    assert present == {0, 1} and {str(r) for _, r in outcomes} == {"ok"}


def test_C01_an_invalid_advice_is_EINVAL_before_anything_else():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: madvise(M0, 4096, invalid)
        T0: madvise(M0+1, 4096, invalid)
        T0: madvise(M0, 12288, invalid)
    """)
    assert got[1:] == [{"EINVAL"}] * 3


def test_R49_guarded_pages_fault_and_private_contents_are_lost():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: write(M0, 9)
        T0: write(M0[1], 10)
        T0: madvise(M0, 4096, guard_install)
        T0: T1 = fork()
        T1: read(M0)
        T0: T2 = fork()
        T2: write(M0, 1)
        T0: read(M0[1])
        T0: madvise(M0, 4096, guard_remove)
        T0: read(M0)
    """)
    assert [got[5], got[7], got[8], got[10]] == [{"SIGSEGV"}, {"SIGSEGV"}, {"10"}, {"0"}]


@pytest.mark.parametrize("mapping", ["M0 = mmap(anon, shared, rw, 4096)",
                                     "S0 = shmget(private, 4096, creat)\nT0: M0 = shmat(S0)"])
def test_R49_shared_contents_come_back_after_guard_remove(mapping):
    got = allowed(f"""
        T0: {mapping}
        T0: write(M0, 9)
        T0: madvise(M0, 4096, guard_install)
        T0: madvise(M0, 4096, guard_remove)
        T0: read(M0)
    """)
    assert got[-1] == {"9"}


def test_R49_markers_survive_dontneed_and_mprotect_move_with_mremap_go_with_munmap():
    got = allowed("""
        T0: M0 = mmap(anon, shared, rw, 8192)
        T0: madvise(M0, 4096, guard_install)
        T0: madvise(M0, 4096, dontneed)
        T0: mprotect(M0, 8192, r)
        T0: mprotect(M0, 8192, rw)
        T0: M1 = mremap(M0, 8192, 8192, move)
        T0: T1 = fork()
        T1: read(M1)
        T0: read(M1[1])
        T0: munmap(M1, 8192)
        T0: M2 = mmap(anon, private, rw, 4096, at=M1, replace)
        T0: read(M2)
    """)
    assert [got[7], got[8], got[11]] == [{"SIGSEGV"}, {"0"}, {"0"}]


def test_R49_a_fork_child_inherits_markers_except_under_wipeonfork():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: write(M0, 1)
        T0: madvise(M0, 4096, wipeonfork)
        T0: madvise(M0, 4096, guard_install)
        T0: T1 = fork()
        T1: read(M0)
        T0: M1 = mmap(anon, private, rw, 4096)
        T0: madvise(M1, 4096, guard_install)
        T0: T2 = fork()
        T2: read(M1)
    """)
    assert [got[5], got[9]] == [{"0"}, {"SIGSEGV"}]


def test_R49_the_written_cases_agree_with_allowed_per_step():
    """The guard cases' steps all have one allowed result (no unmodelled choice)."""
    for results in allowed_per_step(program("""
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: madvise(M0, 8192, guard_install)
        T0: madvise(M0, 4096, guard_remove)
    """), "linux"):
        assert len(results) == 1


def test_R48_posix_madvise_hints_are_madvise_on_linux_and_change_nothing_under_posix():
    text = """
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: posix_madvise(A0, 4096, random)
        T0: shmctl(S0, stat)
        T0: posix_madvise(A0+1, 4096, normal)
        T0: posix_madvise(A0[1], 8192, willneed)
        T0: posix_madvise(A0+1, 4096, dontneed)
    """
    linux, posix = allowed(text), allowed(text, "posix")
    assert linux[3:] == [{stat(2, 8192)}, {"EINVAL"}, {"ENOMEM"}, {"ok"}]   # R38: ignored
    assert posix[3:] == [{stat(1, 8192)}, {"ok", "EINVAL"}, {"ok", "ENOMEM"}, {"ok"}]
