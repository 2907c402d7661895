"""The catalogue of named semantic variants (model/variants.py): each is linux with one
deliberate change to one catalogue rule, the change is consulted where the rule is
implemented, and the default profiles are left exactly as they were.

(That every variant is observable, and how, is tests/test_distinguish.py's business.)
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

MODEL = Path(__file__).resolve().parent.parent / "model"


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


def test_every_deviation_is_consulted_where_its_rule_is_implemented():
    source = "\n".join(p.read_text() for p in sorted(MODEL.glob("*.py")) if p.name != "variants.py")
    consulted = set(re.findall(r'deviates\("([a-z0-9-]+)"\)', source))
    assert consulted == DEVIATIONS   # no flag forgotten, none misspelt
    lines = source.splitlines()
    for flag in DEVIATIONS:
        rule = VARIANT_BY_NAME[flag].rule
        places = [i for i, line in enumerate(lines) if f'deviates("{flag}")' in line]
        assert places
        for i in places:   # the rule's id on the line, or just before or after it
            assert rule in "\n".join(lines[max(0, i - 1):i + 3]), f"{flag}: cite {rule} there"


def test_names_resolve_and_bad_names_say_what_is_wrong():
    assert get_profile("linux+shmdt-keeps-mapping") == resolve_profile("shmdt-keeps-mapping")
    assert resolve_profile("posix") is POSIX
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
