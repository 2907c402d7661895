"""benchmarks/mutation.py counts a kill only for a case the real implementation passes: a case
that fails both the mutant and the real implementation is a finding about the model or the
host, not a kill (one such case once "killed" 26 mutants in a Hypothesis corpus)."""
from __future__ import annotations

import sys
from pathlib import Path

from sharespec.casefiles import read_case_file

ROOT = Path(__file__).resolve().parents[2]
WITNESS = ROOT / "tests" / "host" / "mutant_cases" / "shmdt-skipped.case"
sys.path.insert(0, str(ROOT / "benchmarks"))

import mutation as bench  # noqa: E402  (benchmarks/ is not a package)


def test_a_case_the_real_implementation_passes_kills():
    (case,) = read_case_file(WITNESS)
    reference = bench.Reference(5.0)
    try:
        hunt = bench.hunt("shmdt-skipped", [case], False, 5.0, reference)
    finally:
        reference.close()
    assert hunt.killed and hunt.by == case.name and not reference.failing


def test_a_case_the_reference_fails_too_kills_nothing():
    (case,) = read_case_file(WITNESS)
    reference = bench.Reference(5.0, impl="mutant:shmdt-skipped")   # a "real" one with the bug
    try:
        hunt = bench.hunt("shmdt-skipped", [case], False, 5.0, reference)
    finally:
        reference.close()
    assert not hunt.killed and hunt.verdicts == {"FAIL-on-real": 1}
    assert list(reference.failing) == [case.name]
