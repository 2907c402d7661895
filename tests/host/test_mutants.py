"""The mutants: each plants its bug (its own witness, tests/host/mutant_cases/NAME.case, and its
built-in case where it has one, FAIL on it, and PASS on the bundled implementation), a missing
patch point fails loudly, and none is used unless named."""
import subprocess
import types
from pathlib import Path

import pytest

from sharespec.mutants import MUTANTS, PatchPointGone, mutant_argv
from sharespec.mutants.patching import replace
from sharespec.runner import resolve_impl, run_cases
from sharespec.casefiles import read_case_file
from sharespec.model.rules import OBSERVABLE_RULES
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}
WITNESSES = Path(__file__).resolve().parent / "mutant_cases"


def witness(name):
    (case,) = read_case_file(WITNESSES / f"{name}.case")
    return case


def test_at_least_sixty_mutants_each_with_a_witness():
    assert len(MUTANTS) >= 60
    assert {p.stem for p in WITNESSES.glob("*.case")} == set(MUTANTS)   # one each, no stale one
    for m in MUTANTS.values():
        assert m.killed_by is None or m.killed_by in CASES, m.name
        assert m.description and set(m.rules) <= set(OBSERVABLE_RULES), m.name


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_fails_its_witness_and_its_case(name):
    mutant = MUTANTS[name]
    cases = [witness(name)] + ([CASES[mutant.killed_by]] if mutant.killed_by else [])
    for result in run_cases(cases, impl=resolve_impl(f"mutant:{name}")):
        assert result.verdict == "FAIL", (result.case.name, result.verdict, result.detail)


def test_the_witnesses_and_cases_pass_on_the_bundled_implementation():
    wanted = sorted({m.killed_by for m in MUTANTS.values() if m.killed_by})
    cases = [witness(name) for name in sorted(MUTANTS)] + [CASES[n] for n in wanted]
    verdicts = {r.case.name: r.verdict for r in run_cases(cases)}
    assert set(verdicts.values()) == {"PASS"}, {n: v for n, v in verdicts.items() if v != "PASS"}


def test_a_missing_patch_point_fails_loudly():
    module = types.ModuleType("fake_syscalls")
    with pytest.raises(PatchPointGone, match="fake_syscalls.mmap is gone"):
        replace(module, "mmap", lambda f: f)
    module.mmap = lambda address, size: None
    with pytest.raises(PatchPointGone, match="takes"):
        replace(module, "mmap", lambda f: f, ("addr", "length"))


def test_an_unknown_mutant_exits_3_and_never_runs_the_implementation():
    argv, env = mutant_argv("wipeonfork-ignored")
    argv[argv.index("wipeonfork-ignored")] = "no-such-mutant"
    done = subprocess.run(argv, env=env, input=b"", capture_output=True, timeout=30)
    assert done.returncode == 3 and b"name a mutant" in done.stderr


def test_mutants_are_used_only_when_named():
    assert resolve_impl(None) is None
    assert resolve_impl("my-impl --flag") == "my-impl --flag"
    assert "-m mutants shmdt-skipped" in resolve_impl("mutant:shmdt-skipped")
    with pytest.raises(ValueError, match="unknown mutant"):
        resolve_impl("mutant:nope")
