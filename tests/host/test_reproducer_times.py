"""The standalone reproducer (generators/reproducer_template.py) reports a segment's times
(``shmctl(S, times)``, ``shm_stat_times``; model/shm_times.py) as the bundled implementation
does: the built-in case shmctl-times and the LTP shmctl01 ctime case reproduce with exit 0."""
from __future__ import annotations

from pathlib import Path

from sharespec.model.case_text import case_from_text
from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}
LTP = Path(__file__).resolve().parent / "ltp_cases" / "shmctl01-stat-ctime.case"


def test_the_reproducer_agrees_with_the_kernel(tmp_path):
    assert_reproducer_agrees(CASES["shmctl-times"], tmp_path)


def test_the_reproducer_reports_shm_stat_times(tmp_path):
    assert_reproducer_agrees(case_from_text(LTP.read_text(), str(LTP)), tmp_path)
