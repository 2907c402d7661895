"""Memory locks, MAP_POPULATE, MAP_SHARED_VALIDATE and msync (model/locking.py): the case
language and its validation, the model's rules (C03, C08, C09, R12, R13, R30), the action menu
and the symbolic core's refusal. Every expectation was observed on Linux 6.18 first.

    pytest tests/model/test_locking.py
"""
from __future__ import annotations

import pytest

from sharespec.model.actions import actions, by_family, classify
from sharespec.model.case import CaseError
from sharespec.model.case_json import case_from_json, case_to_json
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.profiles import LINUX
from sharespec.model.scope import CLASSES, DEFAULT
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial

from test_model_rules import allowed, last, program

HEADER = "case locks\nprofile linux\norigin test\n\n"


def reach(text: str):
    state = initial()
    for st in program(text):
        (state, _), *_ = step(state, st, LINUX)
    return state


# --- the case language ---------------------------------------------------------------------

def test_text_and_json_round_trip_the_new_steps():
    text = HEADER + """\
T0: M0 = mmap(anon, private, rw, 8192, locked, populate)
T0: F0 = open(file, f, creat)
T0: M1 = mmap(F0, shared, rw, 4096, validate, unknown)
T0: mlock(M0[1]+100, 4096)
T0: munlock(M0, 8192)
T0: msync(M0, 4096, async+invalidate)
T0: msync(M0, 4096)
T0: vmlck()
"""
    case = case_from_text(text)
    assert case_from_text(case_to_text(case)) == case
    assert case_from_json(case_to_json(case)) == case
    assert "msync(M0, 4096)" in case_to_text(case)          # the default flags are left out


@pytest.mark.parametrize("line, problem", [
    ("T0: M1 = mmap(anon, private, rw, 4096, validate)", "validate is MAP_SHARED_VALIDATE"),
    ("T0: mlock(M0[255]+1, 4096)", "the mlock range runs past the end of its slot"),
    ("T0: msync(M0[255], 8192)", "the msync range runs past the end of its slot"),
    ("T0: msync(M0, 4096, both)", "msync flags must be one of sync, async"),
    ("T0: M1 = mmap(anon, shared, rw, 4096) -> vmlck(1)", "only vmlck reports locked pages"),
])
def test_validation_names_the_problem(line, problem):
    first = "T0: M0 = mmap(anon, shared, rw, 4096)" + (" -> ok" if "->" in line else "")
    with pytest.raises(CaseError, match=problem):
        case_from_text(HEADER + first + "\n" + line + "\n")


# --- the model -----------------------------------------------------------------------------

def test_C09_R30_mlock_splits_a_record_counts_in_vmlck_and_munlock_joins_it():
    got = allowed("""
T0: M0 = mmap(anon, private, rw, 12288)
T0: mlock(M0[1]+100, 4096)
T0: vmlck()
T0: maps(M0)
T0: munlock(M0, 12288)
T0: vmlck()
T0: maps(M0)
T0: mlock(M0, 0)
""")
    assert got[1:] == [{"ok"}, {"vmlck(2)"}, {"maps(0-1:rw-p,1-3:rw-p)"}, {"ok"},
                       {"vmlck(0)"}, {"maps(0-3:rw-p)"}, {"ok"}]


def test_mlock_of_a_range_with_a_hole_locks_up_to_it_and_says_ENOMEM():
    got = allowed("""
T0: M0 = mmap(anon, private, rw, 16384)
T0: munmap(M0[2], 4096)
T0: mlock(M0, 16384)
T0: vmlck()
T0: munlock(M0[2], 4096)
""")
    assert got[2:] == [{"ENOMEM"}, {"vmlck(2)"}, {"ENOMEM"}]


def test_C03_a_fork_child_has_no_locks():
    got = allowed("""
T0: M0 = mmap(anon, private, rw, 4096, locked)
T0: write(M0, 7)
T0: T1 = fork()
T1: vmlck()
T1: madvise(M0, 4096, dontneed)
T1: read(M0)
T0: madvise(M0, 4096, dontneed)
T0: read(M0)
""")
    assert got[3:] == [{"vmlck(0)"}, {"ok"}, {"0"}, {"EINVAL"}, {"7"}]


@pytest.mark.parametrize("advice", ["dontneed", "free", "cold", "pageout", "guard_install"])
def test_madvise_refuses_locked_memory_after_advising_the_records_before_it(advice):
    got = allowed(f"""
T0: M0 = mmap(anon, private, rw, 8192)
T0: write(M0, 5)
T0: mlock(M0[1], 4096)
T0: madvise(M0, 8192, {advice})
T0: read(M0)
""")
    assert got[3] == {"EINVAL"}
    if advice == "dontneed":
        assert got[4] == {"0"}                    # the first record was advised all the same
    if advice == "guard_install":
        assert got[4] == {"SIGSEGV"}


def test_madvise_remove_refuses_locked_shared_memory():
    assert last("""
T0: M0 = mmap(anon, shared, rw, 4096, locked)
T0: madvise(M0, 4096, remove)
""") == {"EINVAL"}


def test_R13_locking_and_populate_fault_private_writable_pages_in_as_copies():
    got = allowed("""
T0: F0 = open(file, f, creat)
T0: ftruncate(F0, 4096)
T0: M0 = mmap(F0, private, rw, 4096)
T0: mlock(M0, 4096)
T0: M1 = mmap(F0, private, r, 4096, locked)
T0: M2 = mmap(F0, private, rw, 4096, populate)
T0: pwrite(F0, 0, 9)
T0: read(M0)
T0: read(M1)
T0: read(M2)
T0: mprotect(M1, 4096, rw)
T0: pwrite(F0, 0, 10)
T0: read(M1)
""")
    assert got[7:10] == [{"0"}, {"9"}, {"0"}]   # copies; the read-only page follows the file
    assert got[12] == {"9"}                      # mprotect faulted the locked page in, writable


def test_population_stops_at_a_page_it_cannot_fault():
    got = allowed("""
T0: F0 = open(file, f, creat)
T0: ftruncate(F0, 8192)
T0: M0 = mmap(F0, private, rw, 12288)
T0: madvise(M0[1], 4096, guard_install)
T0: mlock(M0, 12288)
T0: vmlck()
T0: munlock(M0, 12288)
T0: madvise(M0[1], 4096, guard_remove)
T0: pwrite(F0, 0, 1)
T0: pwrite(F0, 4096, 2)
T0: read(M0)
T0: read(M0[1])
T0: M1 = mmap(anon, private, none, 4096)
T0: mlock(M1, 4096)
T0: vmlck()
""")
    assert got[4:6] == [{"ENOMEM"}, {"vmlck(3)"}]
    assert got[10:12] == [{"0"}, {"2"}]          # page 0 copied, page 1 never faulted
    assert got[13:] == [{"ENOMEM"}, {"vmlck(1)"}]


def test_a_lock_cleared_in_place_leaves_the_record_apart_until_a_call_changes_it():
    """dup_mmap and MREMAP_DONTUNMAP clear VM_LOCKED without a merge attempt (observed, 6.18:
    a random corpus found the DONTUNMAP one); mprotect of the record merges it again."""
    got = allowed("""
T0: M0 = mmap(anon, shared, rw, 12288)
T0: mlock(M0[1], 4096)
T0: T1 = fork()
T1: maps(M0)
T1: mprotect(M0[1], 4096, r)
T1: mprotect(M0[1], 4096, rw)
T1: maps(M0)
T0: M1 = mremap(M0[1], 4096, 4096, move, dontunmap)
T0: maps(M0)
""")
    assert got[3] == {"maps(0-1:rw-s,1-2:rw-s,2-3:rw-s)"}
    assert got[6] == {"maps(0-3:rw-s)"}
    assert got[8] == {"maps(0-1:rw-s,1-2:rw-s,2-3:rw-s)"}


def test_C03_R30_a_lock_cleared_in_place_joins_a_neighbour_a_call_changes():
    """The merge attempt is the changed record's, with both its neighbours: a record whose
    lock fork cleared joins it (observed, 6.18: a random case of seed 1 found the model
    keeping them apart), while two untouched equal records stay apart."""
    got = allowed("""
T0: M0 = mmap(anon, shared, rw, 8192, locked)
T0: M1 = mmap(anon, shared, rw, 12288)
T0: mlock(M1, 4096)
T0: mlock(M1[2], 4096)
T0: T1 = fork()
T1: mprotect(M0, 4096, x)
T1: mprotect(M0, 4096, rw)
T1: maps(M0)
T1: maps(M1)
T1: mprotect(M1[1], 4096, r)
T1: mprotect(M1[1], 4096, rw)
T1: maps(M1)
""")
    assert got[7] == {"maps(0-2:rw-s)"}
    assert got[8] == {"maps(0-1:rw-s,1-2:rw-s,2-3:rw-s)"}
    assert got[11] == {"maps(0-3:rw-s)"}


def test_C03_R43_a_growth_in_place_leaves_the_record_before_it_apart():
    """mremap's growth merges only the new range (vma_merge_extend): the record before the grown
    one, whose lock fork cleared, stays apart until a call changes the grown record (case
    r43-growth-keeps-record-before-apart; random case 196 of seed 1 found them joined)."""
    got = allowed("""
T0: M0 = mmap(anon, shared, rw, 8192)
T0: mlock(M0, 4096)
T0: T1 = fork()
T1: mremap(M0[1], 4096, 8192, grow)
T1: maps(M0)
T1: mprotect(M0[1], 8192, r)
T1: mprotect(M0[1], 8192, rw)
T1: maps(M0)
""")
    assert got[4] == {"maps(0-1:rw-s,1-3:rw-s)"}
    assert got[7] == {"maps(0-3:rw-s)"}


def test_C09_dontunmap_clears_the_lock_of_any_record_it_moves_not_only_the_first():
    """A random case of seed 1 moved an unlocked page and a locked one with MREMAP_DONTUNMAP;
    the model left the second locked, the host cleared it (observed, 6.18)."""
    got = allowed("""
T0: M0 = mmap(anon, private, rw, 8192)
T0: mlock(M0[1], 4096)
T0: mremap(M0, 8192, 8192, fixed, to=M0[2], maymove, dontunmap)
T0: vmlck()
T0: madvise(M0[1], 4096, dontneed)
T0: madvise(M0[3], 4096, dontneed)
T0: mprotect(M0, 8192, r)
T0: maps(M0)
""")
    assert got[3:] == [{"vmlck(2)"}, {"ok"}, {"EINVAL"}, {"ok"},
                       {"maps(0-2:r--p,2-3:rw-p,3-4:rw-p)"}]


def test_mremap_grows_a_locked_record_faulted_in_and_dontunmap_leaves_its_count():
    got = allowed("""
T0: F0 = open(file, f, creat)
T0: ftruncate(F0, 8192)
T0: M0 = mmap(F0, private, rw, 4096)
T0: mlock(M0, 4096)
T0: mremap(M0, 4096, 8192, grow)
T0: pwrite(F0, 4096, 3)
T0: read(M0[1])
T0: M1 = mmap(anon, private, rw, 8192, locked)
T0: vmlck()
T0: M2 = mremap(M1, 8192, 8192, move, dontunmap)
T0: vmlck()
T0: madvise(M1, 8192, dontneed)
T0: munmap(M2, 8192)
T0: munmap(M1, 8192)
T0: vmlck()
T0: exec()
T0: vmlck()
""")
    assert got[6] == {"0"}
    assert [got[i] for i in (8, 10, 11, 14, 16)] == [{"vmlck(4)"}, {"vmlck(6)"}, {"ok"},
                                                     {"vmlck(4)"}, {"vmlck(0)"}]


def test_a_process_without_CAP_IPC_LOCK_may_be_held_to_RLIMIT_MEMLOCK():
    got = allowed("""
T0: setuid(other)
T0: M0 = mmap(anon, private, rw, 4096, locked)
T0: M1 = mmap(anon, private, rw, 4096)
T0: mlock(M1, 4096)
""")
    assert got[1] == {"ok", "EPERM", "EAGAIN"} and got[3] == {"ok", "EPERM", "ENOMEM"}


def test_C01_map_shared_validate():
    got = allowed("""
T0: F0 = open(file, f, creat)
T0: M0 = mmap(F0, shared, rw, 4096, validate, unknown)
T0: M1 = mmap(F0, shared, rw, 4096, validate)
T0: M2 = mmap(F0, shared, rw, 4096, unknown)
T0: M3 = mmap(anon, shared, rw, 4096, validate)
T0: M4 = mmap(F0, shared, r, 4096, at=M3, noreplace, validate)
T0: M5 = mmap(F0, shared, r, 4096, at=M1, noreplace, validate, unknown)
""")
    assert got[1:] == [{"EOPNOTSUPP"}, {"ok"}, {"ok"}, {"EINVAL"}, {"EOPNOTSUPP"}, {"EEXIST"}]


def test_C08_msync_checks_its_arguments():
    got = allowed("""
T0: M0 = mmap(anon, shared, rw, 8192, locked)
T0: msync(M0, 4096, sync+async)
T0: msync(M0, 4096, unknown)
T0: msync(M0+1, 4096)
T0: msync(M0, 0, invalidate)
T0: msync(M0, 4096, invalidate)
T0: msync(M0, 4096, none)
T0: munlock(M0, 8192)
T0: munmap(M0[1], 4096)
T0: msync(M0, 8192, async)
T0: msync(M0, 4096, invalidate)
""")
    assert got[1:7] == [{"EINVAL"}, {"EINVAL"}, {"EINVAL"}, {"ok"}, {"EBUSY"}, {"ok"}]
    assert got[9:] == [{"ENOMEM"}, {"ok"}]


LAG = """
T0: F0 = open(file, f, creat)
T0: ftruncate(F0, 1)
T0: M0 = mmap(F0, shared, rw, 4096)
T0: write(M0, 89)
T0: msync(M0, 4096, {flags})
T0: pread(F0, 0)
"""


def test_R12_under_posix_msync_sync_ends_the_read_lag_and_async_does_not():
    assert last(LAG.format(flags="sync"), "posix") == {"89"}
    assert last(LAG.format(flags="async"), "posix") == {"0", "89"}
    assert last(LAG.format(flags="sync"), "linux") == {"89"}
    assert allowed("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: msync(M0+1, 4096)",
                   "posix")[1] == {"EINVAL", "ok"}


def test_the_locks_are_linux_only_and_msync_is_posix():
    with pytest.raises(NotApplicable):
        allowed("T0: vmlck()", "posix")
    with pytest.raises(NotApplicable):
        allowed("T0: M0 = mmap(anon, shared, rw, 4096, populate)", "posix")


# --- the action menu and the symbolic core -------------------------------------------------

def test_every_generator_is_offered_every_new_class():
    from sharespec.model.state import initial as fresh
    state = reach("T0: F0 = open(file, f, creat)\nT0: ftruncate(F0, 8192)\n"
                  "T0: M0 = mmap(anon, private, rw, 8192)")
    acts = actions(state, DEFAULT, fds_bound=1)
    offered = by_family(acts)
    assert {"mlock", "munlock", "msync", "vmlck", "mmap_flags"} <= set(offered)
    seen = {(a.family, arg, cls) for a in acts for arg, cls in a.classes}
    assert {cls for f, arg, cls in seen if (f, arg) == ("mmap_flags", "flags")} == \
        set(CLASSES["map_flags"])
    assert {cls for f, arg, cls in seen if (f, arg) == ("msync", "flags")} == \
        set(CLASSES["msync_flags"])
    for a in acts:
        assert classify(state, a.step) == a
    posix = by_family(actions(state, DEFAULT, fds_bound=1, linux=False))
    assert "msync" in posix and not {"mlock", "munlock", "vmlck", "mmap_flags"} & set(posix)
    assert fresh() is not None


@pytest.mark.parametrize("line", ["T0: mlock(M0, 4096)", "T0: msync(M0, 4096)", "T0: vmlck()",
                                  "T0: M1 = mmap(anon, shared, rw, 4096, locked)"])
def test_the_symbolic_core_refuses_the_new_steps(line):
    from sharespec.model.symbolic.core import OutsideCore, SymbolicScope, program_to_args
    steps = program("T0: M0 = mmap(anon, shared, rw, 4096)\n" + line)
    with pytest.raises(OutsideCore):
        program_to_args(steps, SymbolicScope())


def test_C09_a_locked_move_refused_by_the_memlock_limit_still_binds_its_handle():
    """An unprivileged process's locked record that grows as it moves may meet RLIMIT_MEMLOCK
    (EAGAIN); the refused call binds its handle as every failed call does, so the write that
    names it faults there instead of crashing the model (random walks found it: KeyError 'M1'
    in the mutation benchmark's random source, seed 1, case 885)."""
    got = allowed("""
T0: setuid(other)
T0: M0 = mmap(anon, private, rw, 8192, locked)
T0: M1 = mremap(M0[1], 4096, 8192, move)
T0: write(M1[1]+1, 2)
T0: read(M1[1]+1)
""")
    assert "EAGAIN" in got[2] and got[3] == {"ok", "SIGSEGV"} and got[4] == {"2", "dead"}


def test_C09_R30_dontunmap_beside_itself_clears_the_lock_of_the_merged_record():
    """An anonymous record never faulted in merges with its own copy moved next to it
    (copy_vma), and MREMAP_DONTUNMAP clears VM_LOCKED on that merged record, the new page
    included; VmLck counts both pages. A record written first keeps its copy apart and
    locked. (Observed on Linux 6.18; a random case of seed 1 found the model counting 5.)"""
    move = "T0: mremap(M0[1], 4096, 4096, fixed, to=M0[2], maymove, dontunmap)\n"
    after = "T0: madvise(M0[2], 4096, dontneed)\nT0: vmlck()\nT0: maps(M0)\n"
    never_faulted = allowed("T0: M0 = mmap(anon, private, rx, 8192)\n"
                            "T0: mlock(M0[1], 4097)\n" + move + after)
    assert never_faulted[1:] == [{"ENOMEM"}, {"ok"}, {"ok"}, {"vmlck(2)"},
                                 {"maps(0-1:r-xp,1-3:r-xp)"}]
    written = allowed("T0: M0 = mmap(anon, private, rw, 8192)\nT0: write(M0[1], 1)\n"
                      "T0: mlock(M0[1], 4097)\n" + move + after)
    assert written[2:] == [{"ENOMEM"}, {"ok"}, {"EINVAL"}, {"vmlck(2)"},
                           {"maps(0-1:rw-p,1-2:rw-p,2-3:rw-p)"}]
