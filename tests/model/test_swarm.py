"""Swarm testing in the random walk and the Hypothesis strategies (generators/walk.py Swarm):
a program drawn from a swarm never uses what the swarm leaves out, and still has the handles
the families it keeps need."""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sharespec.generators.random_programs import random_program
from sharespec.generators.strategies import interpret, step_choices, swarms
from sharespec.generators.walk import NO_SWARM, Swarm, kept_families
from sharespec.model.actions import classify
from sharespec.model.ops import Madvise
from sharespec.model.scope import DEFAULT
from sharespec.model.semantics import step
from sharespec.model.state import initial
from sharespec.model.profiles import LINUX


def _families(program) -> list:
    state, out = initial(), []
    for st in program:
        out.append(classify(state, st).family)
        state = step(state, st, LINUX)[0][0]
    return out


def test_a_swarm_keeps_the_makers_of_the_handles_its_families_need():
    kept = kept_families({"shmdt", "pread"})
    assert {"shmdt", "pread", "write"} <= kept
    assert kept & {"mmap", "mmap_fd", "shmat"} and "open" in kept
    # shmat itself needs a segment: its maker comes too
    assert "shmget" in kept_families({"shmat"})


def test_everything_left_out_leaves_the_makers_and_write():
    swarm = Swarm.drawn(lambda: True)
    assert "write" not in swarm.left_out and "mmap" not in swarm.left_out
    assert "fork" in swarm.left_out and "madvise" in swarm.left_out


def test_a_random_program_of_a_swarm_uses_only_what_it_keeps():
    rng = random.Random(5)
    for _ in range(30):
        swarm = Swarm.drawn(lambda: rng.random() < 0.5)
        program = random_program(rng, DEFAULT, swarm=swarm)
        assert not set(_families(program)) & swarm.left_out
        assert not {st.op.advice for st in program if isinstance(st.op, Madvise)} & swarm.advices_left_out


def test_no_swarm_is_the_whole_menu():
    assert NO_SWARM.left_out == frozenset() and Swarm.drawn(lambda: False) == NO_SWARM


@settings(max_examples=40, deadline=None)
@given(swarms(), st.lists(step_choices(), max_size=12))
def test_a_hypothesis_program_of_a_swarm_uses_only_what_it_keeps(swarm, choices):
    program = interpret(choices, DEFAULT, "linux", swarm=swarm)
    assert not set(_families(program)) & swarm.left_out
