"""Diagnosis: the named variant a mutant behaves like is named; a plain deviation gets none."""
import pytest

from sharespec.diagnosis import (DiagnosisTable, Observation, diagnose, diagnose_failure,
                                 variant_catalogue)
from sharespec.mutants import MUTANTS
from sharespec.runner import resolve_impl, run_cases
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}
# (every variant against its mutant's witness: tests/host/test_variants.py)
LABELLED = sorted(m.name for m in MUTANTS.values() if m.variant and m.killed_by)


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


def test_each_failure_is_diagnosed_on_its_own_observation():
    # Two different bugs in one run (R41 and R10): together nothing explains both, which the
    # old run-wide diagnosis then said of every case; each on its own is named, and the
    # table maps each variant to its failure.
    (wipe,) = run_cases([CASES["r41-wipeonfork"]], impl=resolve_impl("mutant:wipeonfork-ignored"))
    (dontfork,) = run_cases([CASES["r40-dontfork"]], impl=resolve_impl("mutant:dontfork-ignored"))
    assert wipe.verdict == dontfork.verdict == "FAIL"
    assert diagnose([wipe, dontfork]).names == ()
    table = DiagnosisTable()
    for result, variant in ((wipe, "wipeonfork-ignored"), (dontfork, "dontfork-ignored")):
        diagnosis = diagnose_failure(result)
        assert variant in diagnosis.names and diagnosis.complete, diagnosis.sentence()
        table.add(result.case.name, diagnosis)
    text = "\n".join(table.lines())
    assert "wipeonfork-ignored (R41): 1 failure(s): r41-wipeonfork" in text
    assert "dontfork-ignored (R40): 1 failure(s): r40-dontfork" in text


def test_a_failure_no_variant_explains_says_the_rule_and_what_was_observed():
    from sharespec.runner import CaseResult
    case = CASES["r10-shared-anon-fork"]
    last = len(case.steps) - 1
    results = ["ok"] * last + ["ok"]         # the last step, a read, answered "ok"
    failed = CaseResult(case, "FAIL", step=last, observed="ok", allowed=("7",),
                        results=tuple(results))
    diagnosis = diagnose_failure(failed)
    assert diagnosis.names == ()
    # R10 is the case's rule among the read's; the observation and the allowed result follow
    assert diagnosis.unexplained.startswith(f"breaks R10 at step {last + 1} (")
    assert "observed ok, allowed 7" in diagnosis.unexplained
    assert "no named variant" in diagnosis.sentence() and "\n" not in diagnosis.sentence()


def test_a_diagnosis_past_its_deadline_is_incomplete_and_rules_nothing_out():
    (wipe,) = run_cases([CASES["r41-wipeonfork"]], impl=resolve_impl("mutant:wipeonfork-ignored"))
    diagnosis = diagnose_failure(wipe, deadline=0.0)      # already past
    assert not diagnosis.complete and diagnosis.considered >= 20
    assert "cut short" in diagnosis.sentence()
