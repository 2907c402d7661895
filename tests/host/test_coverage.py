"""Coverage you can see (sharespec/coverage.py, ``sharespec coverage``): the cells a case hits,
the reachable cells, and the default suite hitting every reachable cell."""
from __future__ import annotations

import pytest

from sharespec.coverage import case_cells, hits, reachable, table
from sharespec.model.case_text import case_from_text
from sharespec.suite import builtin_cases, observed_witnesses

CASE = """case c
profile linux
origin test

T0: S0 = shmget(private, 8192, creat)  -> new
T0: M0 = shmat(S0, rdonly)             -> ok
T0: mprotect(M0, 8192, rw)             -> EACCES
T0: write(M0[1]+4095, 1)               -> SIGSEGV
"""


@pytest.fixture(scope="module")
def reach():
    return reachable()


def test_a_case_hits_its_operation_argument_class_and_outcome_kind_cells():
    cells = case_cells(case_from_text(CASE, "<t>"))
    assert ("shmget", "size=pages", "segment") in cells
    assert ("shmat", "attach=rdonly", "ok") in cells
    assert {("mprotect", "length=pages", "errno"), ("mprotect", "prot=rw", "errno"),
            ("mprotect", "at=start", "errno")} <= cells
    assert {("write", "at=last", "fault"), ("write", "byte=last", "fault")} <= cells


def test_reachable_cells_include_the_argument_classes_of_every_family(reach):
    families = {family for family, _, _ in reach}
    assert {"mmap", "mmap_fd", "munmap", "mprotect", "madvise", "mremap", "shmat", "shmget",
            "read", "write", "pread", "pwrite", "ftruncate", "open", "fork"} <= families
    assert ("munmap", "length=past_end", "ok") in reach
    assert ("mmap_fd", "prot=r", "ok") in reach


def test_the_default_suite_hits_every_reachable_cell(reach):
    cases = builtin_cases()
    missed = set(reach) - set(hits(cases))
    assert missed   # the hand-written cases alone do not: the witnesses are needed
    witnesses = observed_witnesses()
    assert witnesses and all(c.origin == "coverage" for c in witnesses)
    assert set(reach) <= set(hits(witnesses))     # observed, each still hits its cell


# What a step finds (coverage.context_classes): each class a cell of its own, so that the
# default suite's witnesses reach the range over several records (R05, R33), the unaligned
# length whose partial page is mapped (R05, R33, R35), the fork settings mprotect and mremap
# must keep (R40), private memory grown by mremap (R43), a process that execs holding
# descriptors (R29).
CONTEXT = """case c
profile linux
origin test

T0: M0 = mmap(anon, private, rw, 8192)
T0: mprotect(M0[1], 4096, r)
T0: munmap(M0, 8192)
T0: M1 = mmap(anon, private, rw, 8192)
T0: madvise(M1, 4097, dontfork)
T0: mprotect(M1, 4096, r)
T0: M2 = mmap(anon, private, rw, 4096)
T0: mremap(M2, 4096, 8192, grow)
T0: F0 = open(memfd)
T0: ftruncate(F0, 8192)
T0: ftruncate(F0, 4096)
T0: exec()
T0: thread_exit()
"""
CONTEXT_CELLS = {("munmap", "span=several", "ok"), ("madvise", "tail=mapped", "ok"),
                 ("mprotect", "advised=dontfork", "ok"),
                 ("mremap", "remapped=private anon grow", "ok"), ("exec", "holds=fds", "ok"),
                 ("thread_exit", "holds=nothing, last thread", "ok")}


def test_a_step_is_counted_by_what_it_finds():
    from dataclasses import replace

    from sharespec.model.oracle import allowed_per_step
    case = case_from_text(CONTEXT, "<t>")
    cells = case_cells(replace(case, allowed=tuple(allowed_per_step(case.steps, "linux"))))
    assert CONTEXT_CELLS <= cells
    assert ("munmap", "span=one", "ok") not in cells
    assert ("ftruncate", "size=shrinks", "ok") in cells     # (beyond the coverage scopes)


def test_the_default_suite_hits_every_class_of_what_a_step_finds(reach):
    assert CONTEXT_CELLS <= set(reach)
    assert CONTEXT_CELLS <= set(hits(observed_witnesses()))


def test_the_table_lists_what_nothing_hits(reach):
    text = table(hits([case_from_text(CASE, "<t>")]), reach)
    assert "mprotect length=pages" in text
    assert "reachable in the coverage scope" in text and "unhit:" in text
    assert "  mremap remap=grow -> ok" in text


def test_cli_coverage(tmp_path, capsys):
    from sharespec.cli import main
    path = tmp_path / "c.case"
    path.write_text(CASE)
    assert main(["coverage", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 cases") and "cells hit" in out
    assert main(["coverage"]) == 2
    assert main(["coverage", str(tmp_path / "missing")]) == 2


def test_cli_coverage_refuses_an_impossible_name(capsys):
    """A CORPUS no file can be named (longer than NAME_MAX) is bad usage, exit 2, not a
    traceback: it is looked up as every case path is (casefiles.path_kind)."""
    from sharespec.cli import main
    assert main(["coverage", "a" * 5000]) == 2
    assert "too long" in capsys.readouterr().err


def _cells(text: str) -> set:
    """The cells of a program, with the model's expectations."""
    from dataclasses import replace
    from sharespec.model.oracle import allowed_per_step
    case = case_from_text("case c\nprofile linux\norigin test\n\n" + text, "<t>")
    return case_cells(replace(case, allowed=tuple(allowed_per_step(case.steps, "linux"))))


def test_cells_tell_a_removed_but_attached_segment_from_a_live_one():
    """R17-R19: after IPC_RMID of an attached segment, shmat and IPC_STAT still work, and
    shmget of the key no longer finds it: each call meeting that state is a cell of its own."""
    cells = _cells("T0: S0 = shmget(K1, 4096, creat)\nT0: M0 = shmat(S0)\n"
                   "T0: shmctl(S0, stat)\nT0: shmctl(S0, rmid)\nT0: shmctl(S0, stat)\n"
                   "T0: M1 = shmat(S0)\nT0: S1 = shmget(K1, 4096)\n")
    assert {("shmctl", "segment=live", "stat"), ("shmctl", "segment=removed attached", "stat"),
            ("shmat", "segment=live", "ok"), ("shmat", "segment=removed attached", "ok"),
            ("shmget", "segments=none removed", "segment"),
            ("shmget", "segments=removed attached", "errno")} <= cells


def test_cells_tell_a_split_attach_from_a_whole_one():
    """R25, R31: shmdt of an attach split by madvise or mprotect unmaps every piece."""
    whole = _cells("T0: S0 = shmget(private, 8192, creat)\nT0: M0 = shmat(S0)\nT0: shmdt(M0)\n")
    split = _cells("T0: S0 = shmget(private, 8192, creat)\nT0: M0 = shmat(S0)\n"
                   "T0: mprotect(M0[1], 4096, r)\nT0: shmdt(M0)\n")
    assert ("shmdt", "pieces=one", "ok") in whole - split
    assert ("shmdt", "pieces=several", "ok") in split - whole


def test_cells_tell_shm_unlink_of_a_mapped_object():
    """R46: shm_unlink of an object still mapped removes the name, not the memory."""
    cells = _cells("T0: F0 = open(shm, obj, creat)\nT0: ftruncate(F0, 4096)\n"
                   "T0: M0 = mmap(F0, shared, rw, 4096)\nT0: shm_unlink(obj)\n")
    assert ("shm_unlink", "object=mapped, sized", "ok") in cells
    assert ("shm_unlink", "object=open, empty", "ok") in _cells(
        "T0: F0 = open(shm, obj, creat)\nT0: shm_unlink(obj)\n")


def test_cells_tell_an_advice_by_the_memory_it_meets():
    """R48, R49: a guard install keeps shared pages and drops private ones, and a hint on
    part of an attach may split it: each advice on each kind of memory is a cell of its own,
    so a witness (and the z3 corpus's widening) reaches every pair."""
    shared = _cells("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: madvise(M0, 4096, guard_install)\n")
    private = _cells("T0: M0 = mmap(anon, private, rw, 4096)\nT0: madvise(M0, 4096, guard_install)\n")
    assert ("madvise", "advice on=guard_install shared anon", "ok") in shared - private
    assert ("madvise", "advice on=guard_install private anon", "ok") in private - shared
