"""Each named property's two forms checked against each other: the witness program z3 finds
for the symbolic form (symbolic/induction.py), run by the explicit semantics, keeps the
explicit form (model/properties.py) on every state and step of every path, and exercises it
(the explicit form says something about one of its steps, so it is not kept vacuously).
Names present in one form only fail tests/model/test_properties.py."""
import pytest

from sharespec.model.profiles import LINUX
from sharespec.model.properties import PROPERTIES, check_all, check_step
from sharespec.model.semantics import step
from sharespec.model.state import initial
from sharespec.model.symbolic.core import SymbolicScope
from sharespec.model.symbolic.induction import PROPERTIES as SYMBOLIC_PROPERTIES, find_witness

SCOPE = SymbolicScope(processes=2, threads=2, mappings=2, pages=1, segments=1)


def run_explicitly(program, profile) -> set:
    """Every path of the program keeps the explicit forms of every property; the names of
    the properties some step of it exercised."""
    states, exercised = {initial()}, set()
    for st in program:
        following = set()
        for s in states:
            assert check_all(s, profile) == {}, (program, st)
            outcomes = step(s, st, profile)
            assert check_step(s, st, outcomes, profile) == {}, (program, st)
            for after, _ in outcomes:
                exercised |= {name for name, p in PROPERTIES.items() if p.exercised(s, st, after)}
                following.add(after)
        states = following
    for s in states:
        assert check_all(s, profile) == {}, program
    return exercised


@pytest.mark.parametrize("prop", SYMBOLIC_PROPERTIES, ids=lambda p: p.name)
def test_the_symbolic_witness_keeps_and_exercises_the_explicit_form(prop):
    witness = find_witness(prop, SCOPE, "linux", bound=6, timeout_ms=60000)
    assert witness.status == "proved", witness.detail
    assert witness.program, "the witness carries its program"
    assert prop.name in run_explicitly(witness.program, LINUX), witness.detail
