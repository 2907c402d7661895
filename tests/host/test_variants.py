"""The catalogue of named semantic variants (model/profiles.py, model/variants.py): each is
linux with one deliberate change to one catalogue rule, the change is written in variants.py
keyed by operation, and the default profiles are left exactly as they were.

(That every variant is observable, and how, is tests/host/test_distinguish.py's business.)
"""
from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from sharespec.model.oracle import allowed_per_step
from sharespec.model.ops import Place, ShmAt, ShmDt, ShmGet, Read, Step
from sharespec.model.profiles import LINUX, POSIX, PROFILES, Profile, get_profile
from sharespec.model.rules import OBSERVABLE_RULES
from sharespec.model.variants import (DEVIATIONS, VARIANT_BY_NAME, get_variant, resolve_profile,
                                      variant_profile, variants)

def test_at_least_twenty_named_variants_each_citing_one_rule():
    vs = variants()
    assert len(vs) >= 20
    assert len({v.name for v in vs}) == len(vs)
    for v in vs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v.name), v.name
        assert v.rule in OBSERVABLE_RULES, v
        assert v.description and "\n" not in v.description


@pytest.mark.parametrize("variant", [v.name for v in variants()])
def test_a_variant_is_linux_with_one_change(variant):
    prof = variant_profile(f"linux+{variant}")
    assert prof.name == f"linux+{variant}" and str(prof) == prof.name
    changed = [f.name for f in fields(Profile)
               if f.name != "name" and getattr(prof, f.name) != getattr(LINUX, f.name)]
    assert len(changed) == 1, changed
    if changed == ["deviations"]:
        assert prof.deviations == {variant}


def test_default_profiles_are_untouched():
    assert set(PROFILES) == {"linux", "posix"}
    assert LINUX.deviations == frozenset() and POSIX.deviations == frozenset()
    assert get_profile("linux") is LINUX and get_profile("posix") is POSIX
    for v in variants():
        v.profile()
    assert LINUX.deviations == frozenset()


def test_every_deviation_has_its_change_in_variants_citing_its_rule():
    """Each flag variant's change is written in model/variants.py (a replacement handler or a
    transform keyed by operation), and says which rule it changes."""
    from sharespec.model.variants import CHANGES, Replace
    assert set(CHANGES) == DEVIATIONS   # no variant forgotten, none misspelt
    for flag, changes in CHANGES.items():
        rule = VARIANT_BY_NAME[flag].rule
        assert changes
        for change in changes:
            fn = change.handler if isinstance(change, Replace) else change.transform
            assert f"{rule} changed" in (fn.__doc__ or ""), f"{flag}: cite {rule} in {fn.__name__}"


def test_names_resolve_and_bad_names_say_what_is_wrong():
    assert get_profile("linux+shmdt-keeps-mapping") == resolve_profile("shmdt-keeps-mapping")
    assert resolve_profile("posix") is POSIX
    # one parser: host settings resolve here as everywhere else (distinguish used to refuse them)
    assert resolve_profile("linux:shm_rmid_forced") == get_profile("linux:shm_rmid_forced")
    assert resolve_profile("linux+shmdt-keeps-mapping:shm_rmid_forced").shm_rmid_forced
    assert get_variant("excl-ignored").rule == "R21"
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        get_profile("linux+nope")
    with pytest.raises(ValueError, match="unknown profile 'bsd'"):
        get_profile("bsd+excl-ignored")


def test_the_oracle_takes_a_variant_by_name():
    program = (Step("T0", ShmGet("private", 4096, creat=True), "S0"),
               Step("T0", ShmAt("S0"), "M0"),
               Step("T0", ShmDt(Place("M0"))),
               Step("T0", Read(Place("M0"))))
    assert {str(r) for r in allowed_per_step(program, "linux")[-1]} == {"SIGSEGV"}
    assert {str(r) for r in allowed_per_step(program, "linux+shmdt-keeps-mapping")[-1]} == {"0"}
    assert {str(r) for r in allowed_per_step(program[:2] + program[3:],
                                             "linux+segment-not-zeroed")[-1]} == {"170"}


# --- every variant can match its bug (issue 14, item 5) ----------------------------------------

def _mutants_by_variant():
    from sharespec.mutants import MUTANTS
    found = {}
    for m in MUTANTS.values():
        if m.variant:
            found.setdefault(m.variant, []).append(m.name)
    return found


def test_every_variant_has_a_mutant_with_its_bug():
    by_variant = _mutants_by_variant()
    assert set(by_variant) <= set(VARIANT_BY_NAME)            # no misspelt variant
    assert {v.name for v in variants()} <= set(by_variant), \
        sorted({v.name for v in variants()} - set(by_variant))


@pytest.mark.parametrize("variant", [v.name for v in variants()])
def test_a_mutant_with_the_variants_bug_is_diagnosed_as_that_variant(variant):
    """The mutant's witness (tests/host/mutant_cases/NAME.case) FAILs under linux, and the
    diagnosis of what the mutant did keeps the variant among the consistent ones."""
    from sharespec.casefiles import read_case_file
    from sharespec.diagnosis import diagnose
    from sharespec.runner import resolve_impl, run_cases
    witnesses = Path(__file__).resolve().parent / "mutant_cases"
    for name in _mutants_by_variant().get(variant, []):
        (case,) = read_case_file(witnesses / f"{name}.case")
        (result,) = run_cases([case], impl=resolve_impl(f"mutant:{name}"))
        assert result.verdict == "FAIL", (name, result.verdict, result.detail)
        assert variant in diagnose([result]).names, (name, result.results)


def test_exit_keeps_attaches_keeps_nattch():
    """R28 changed: after _exit (exit, or thread_exit of the last thread) the attaches stay
    counted, as in an implementation whose exit forgets them; death by a signal is not _exit."""
    from sharespec.model.ops import Exit, Fork, ShmCtl, ThreadExit
    start = (Step("T0", ShmGet("private", 4096, creat=True), "S0"), Step("T0", Fork(), "T1"),
             Step("T1", ShmAt("S0"), "A0"))
    stat = Step("T0", ShmCtl("S0", "stat"))
    for ending in (Exit(), ThreadExit()):
        program = start + (Step("T1", ending), stat)
        assert {str(r) for r in allowed_per_step(program, "linux")[-1]} == \
            {"stat(nattch=0,segsz=4096,dest=0,key=private)"}
        assert {str(r) for r in allowed_per_step(program, "linux+exit-keeps-attaches")[-1]} == \
            {"stat(nattch=1,segsz=4096,dest=0,key=private)"}
    from sharespec.model.ops import Write
    faulted = start[:2] + (Step("T1", ShmAt("S0", rdonly=True), "A0"),
                           Step("T1", Write(Place("A0"), 1)), stat)     # SIGSEGV kills T1
    assert {str(r) for r in allowed_per_step(faulted, "linux+exit-keeps-attaches")[-1]} == \
        {"stat(nattch=0,segsz=4096,dest=0,key=private)"}
