"""Diagnosis: the named variant a mutant behaves like is named; a plain deviation gets none."""
import pytest

from sharespec.diagnosis import Observation, RunDiagnosis, diagnose, variant_catalogue
from sharespec.mutants import MUTANTS
from sharespec.runner import resolve_impl, run_cases
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}
LABELLED = sorted(m.name for m in MUTANTS.values() if m.variant)


def test_the_catalogue_of_variants_is_there():
    assert len(variant_catalogue()) >= 20


@pytest.mark.parametrize("name", LABELLED)
def test_a_mutant_is_diagnosed_as_its_variant(name):
    mutant = MUTANTS[name]
    (result,) = run_cases([CASES[mutant.killed_by]], impl=resolve_impl(f"mutant:{name}"))
    assert result.verdict == "FAIL"
    diagnosis = diagnose([result])
    assert mutant.variant in diagnosis.names, diagnosis.sentence()
    assert f"behaves like {mutant.variant}" in diagnosis.sentence() or \
        mutant.variant in diagnosis.sentence()


def test_a_deviation_no_variant_explains_gets_none():
    case = CASES["r10-shared-anon-fork"]
    results = ["ok"] * len(case.steps)        # "ok" where a read returns a byte: nothing allows it
    diagnosis = diagnose([Observation(case, tuple(results), failed=True)])
    assert diagnosis.considered >= 20 and diagnosis.consistent == ()
    assert "consistent with none" in diagnosis.sentence()


def test_run_diagnosis_waits_for_a_failure_and_uses_every_observation():
    good = list(run_cases([CASES["r40-dontfork"], CASES["r10-shared-anon-fork"]]))
    run = RunDiagnosis()
    for r in good:
        run.add(r)
    assert run.current() is None             # nothing failed: no diagnosis
    (bad,) = run_cases([CASES["r41-wipeonfork"]], impl=resolve_impl("mutant:wipeonfork-ignored"))
    run.add(bad)
    assert run.current().names == ("wipeonfork-ignored",)
    assert run.current().observations == 3
    # A correct r41 observation contradicts the variant: nothing explains both.
    (correct,) = run_cases([CASES["r41-wipeonfork"]])
    run.add(correct)
    assert run.current().names == ()
