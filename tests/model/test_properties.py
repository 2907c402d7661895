"""The named properties (isolation, visibility, thread sharing, copy-on-write, segment
lifetime, zero fill, protection, attach accounting) hold in every state the generators and
the built-in suite reach, under both profiles."""
import random

import pytest

from sharespec.generators.random_programs import random_program
from sharespec.model.oracle import StateExplosion
from sharespec.model.profiles import LINUX, POSIX
from sharespec.model.properties import PROPERTIES, check_all
from sharespec.model.scope import Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial


def reachable_states(steps, profile):
    states = {initial()}
    seen = [initial()]
    for st in steps:
        states = {s2 for s in states for s2, _ in step(s, st, profile)}
        seen.extend(states)
    return seen


@pytest.mark.parametrize("profile", [LINUX, POSIX], ids=["linux", "posix"])
def test_properties_hold_on_random_programs(profile):
    rng = random.Random(1234)
    scope = Scope(steps=10)
    checked = 0
    for _ in range(150):
        steps = random_program(rng, scope, profile)
        try:
            states = reachable_states(steps, profile)
        except (NotApplicable, StateExplosion):
            continue
        for s in states:
            assert check_all(s, profile) == {}, steps
            checked += 1
    assert checked > 500


def test_every_property_is_named():
    assert set(PROPERTIES) == {"isolation", "visibility", "thread sharing", "segment lifetime",
                               "zero fill", "protection", "attach accounting"}


def test_builtin_suite_states_keep_the_properties():
    from sharespec.suite import builtin_cases
    for case in builtin_cases():
        for s in reachable_states(case.steps, LINUX):
            assert check_all(s, LINUX) == {}, case.name
