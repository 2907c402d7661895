"""The mutants: each plants its bug (its own case FAILs), a missing patch point fails loudly,
and none is used unless named."""
import subprocess
import types

import pytest

from sharespec.mutants import MUTANTS, PatchPointGone, mutant_argv
from sharespec.mutants.patching import replace
from sharespec.runner import resolve_impl, run_cases
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}


def test_at_least_twenty_mutants_each_with_a_real_case():
    assert len(MUTANTS) >= 20
    for m in MUTANTS.values():
        assert m.killed_by in CASES, m.name
        assert m.description and m.rules


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_fails_its_case(name):
    mutant = MUTANTS[name]
    (result,) = run_cases([CASES[mutant.killed_by]], impl=resolve_impl(f"mutant:{name}"))
    assert result.verdict == "FAIL", (result.verdict, result.detail)


def test_the_same_case_passes_on_the_bundled_implementation():
    wanted = sorted({m.killed_by for m in MUTANTS.values()})
    verdicts = {r.case.name: r.verdict for r in run_cases([CASES[n] for n in wanted])}
    assert set(verdicts.values()) == {"PASS"}, verdicts


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
