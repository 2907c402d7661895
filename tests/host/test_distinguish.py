"""Distinguishing programs (generators/distinguish.py): every named variant parts from linux
within the bound, each program found really parts the two (replayed through the oracle), and
each passes under linux on the real kernel (the bundled implementation), which shows that the
program is meaningful and the linux side is right.

    pytest tests/host/test_distinguish.py
"""
from __future__ import annotations

import pytest

from sharespec.generators.distinguish import (MENUS, describe, distinction_case, distinguish,
                                              parts_on, where_they_part)
from sharespec.model.oracle import allowed_per_step
from sharespec.model.profiles import LINUX, POSIX
from sharespec.model.variants import variant_profile, variants

BOUND = 8


@pytest.fixture(scope="module")
def found():
    """variant name -> the search for a program that tells it apart from linux."""
    return {v.name: distinguish(LINUX, variant_profile(f"linux+{v.name}"), BOUND)
            for v in variants()}


def test_every_variant_is_distinguished_from_linux(found):
    missing = [name for name, search in found.items() if search.found is None]
    assert not missing, f"no distinguishing program within {BOUND} steps for {missing}"
    assert len(found) >= 20


@pytest.mark.parametrize("variant", [v.name for v in variants()])
def test_the_program_really_parts_the_two(found, variant):
    d = found[variant].found
    other = variant_profile(f"linux+{variant}")
    assert d.allowed_a != d.allowed_b
    assert parts_on(d.program, d.observed, LINUX, other)
    # The observed prefix is what linux allows, step by step.
    per_step = allowed_per_step(d.program, LINUX)
    assert all(obs in allowed for obs, allowed in zip(d.observed, per_step))
    assert per_step[-1] == d.allowed_a
    # Shortest first: nothing shorter parts them, in the same menus.
    shorter = distinguish(LINUX, other, len(d.program) - 1)
    assert shorter.found is None and shorter.complete


def test_found_programs_pass_under_linux_on_the_kernel(found):
    from sharespec.runner import run_cases

    cases = [distinction_case(s.found, "linux", name=f"distinguish-{name}", rules=(v.rule,))
             for v in variants() for name, s in [(v.name, found[v.name])]]
    results = list(run_cases(cases, profile="linux", jobs=2, timeout=20))
    assert len(results) == len(cases)
    bad = [(r.case.name, r.verdict, r.detail) for r in results if r.verdict != "PASS"]
    assert not bad, bad


def test_linux_against_itself_parts_nowhere():
    search = distinguish(LINUX, LINUX, 5)
    assert search.found is None and search.complete and search.deepest == 5
    # Not vacuous: the menus were really searched (590 nodes, 5775 steps when written).
    assert search.nodes > 400 and search.steps_tried > 4000


def test_posix_needs_no_linux_only_call_to_part():
    search, groups = where_they_part(LINUX, POSIX, 5)
    rules = {r for key, _ in groups for r in key}
    assert {"R04", "R13", "R17", "R19", "R30", "R31", "R07", "R24"} <= rules
    assert search.not_applicable > 0   # madvise and mremap were left out, not judged
    for key, d in groups:
        assert parts_on(d.program, d.observed, LINUX, POSIX), key


def test_a_nondeterministic_side_is_an_exists_forall_question():
    # posix may snapshot a MAP_PRIVATE file page (R13): after pwrite, a read may give 0 or 1.
    d = distinguish(LINUX, "linux+private-file-may-snapshot", BOUND).found
    assert {str(r) for r in d.allowed_a} == {"1"}
    assert {str(r) for r in d.allowed_b} == {"0", "1"}


def test_describe_prints_the_case_and_both_sides():
    other = variant_profile("linux+mremap-alias-refused")
    d = distinguish(LINUX, other, BOUND).found
    text = describe(d, LINUX, other)
    assert "mremap(M0, 0, 4096, alias)" in text
    assert "# step 2: linux allows ok" in text
    assert "# step 2: linux+mremap-alias-refused allows EINVAL" in text


def test_menus_are_named_once():
    assert len({m.name for m in MENUS}) == len(MENUS)


def test_cli_distinguish(capsys):
    from sharespec.cli import main
    assert main(["distinguish", "--list"]) == 0
    assert "linux+shmdt-keeps-mapping" in capsys.readouterr().out
    assert main(["distinguish", "linux", "linux+excl-ignored"]) == 0
    out = capsys.readouterr().out
    assert "shmget(K1, 4096, creat, excl)" in out and "EEXIST" in out
    assert main(["distinguish", "linux", "linux+excl-ignored", "--menu", "anon", "--bound", "3"]) == 0
    assert "no program of at most 3 steps" in capsys.readouterr().out
    assert main(["distinguish", "linux", "linux+nope"]) == 2
    assert "unknown variant 'nope'" in capsys.readouterr().err
    assert main(["distinguish", "linux", "linux+excl-ignored", "--scope", "pages=2"]) == 2
    assert main(["distinguish", "linux", "linux+excl-ignored", "--menu", "bogus"]) == 2


def test_cli_scope_caps_each_menus_scope(capsys):
    """--scope caps the bounds of every menu's scope: with one segment handle, IPC_EXCL being
    ignored cannot be seen (it takes a second shmget of the key)."""
    from sharespec.cli import main
    assert main(["distinguish", "linux", "linux+excl-ignored", "--menu", "sysv-keys",
                 "--scope", "segments=1"]) == 0
    assert "no program of at most" in capsys.readouterr().out
    assert main(["distinguish", "linux", "linux+excl-ignored", "--menu", "sysv-keys",
                 "--scope", "segments=2"]) == 0
    assert "EEXIST" in capsys.readouterr().out
