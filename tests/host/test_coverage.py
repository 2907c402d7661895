"""Coverage you can see (sharespec/coverage.py, ``sharespec coverage``): the cells a case hits,
the reachable cells, and the default suite hitting every reachable cell."""
from __future__ import annotations

import pytest

from sharespec.coverage import case_cells, hits, reachable, table
from sharespec.model.case_text import case_from_text
from sharespec.suite import builtin_cases, missed_cell_witnesses

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
    witnesses = missed_cell_witnesses(set(hits(cases)))
    assert witnesses and all(c.origin == "coverage" for c in witnesses)
    assert set(reach) <= set(hits(cases + witnesses))


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
