"""The random walk and the Hypothesis strategies reach the program break's classes
(model/brk.py) through the one action menu: brk raising, lowering and keeping the break, and
shmat below, at and just past it. Statistical over some hundred programs, so in the host tier.

    pytest tests/host/test_generator_reach_brk.py
"""
from __future__ import annotations

import random

from sharespec.model.scope import DEFAULT, Scope

from test_generator_reach_addresses import classes_reached
from drawn_programs import drawn_programs

NEW_CLASSES = ({("brk", "move", move) for move in ("raise", "lower")}
               | {("brk", "at", where) for where in ("below", "at", "unaligned")})


def test_random_programs_reach_the_break():
    from sharespec.generators.random_programs import random_program
    rng = random.Random(5)
    scope = Scope(steps=10, families=("shmget", "brk"))
    programs = [random_program(rng, scope) for _ in range(300)]
    assert NEW_CLASSES - classes_reached(programs) == set()
    assert "brk" in {st.op.OP for program in (random_program(rng, DEFAULT) for _ in range(400))
                     for st in program}


def test_hypothesis_programs_reach_the_break():
    from sharespec.generators.strategies import programs
    kinds = ("shmget", "brk")
    scope = Scope(steps=10, families=kinds)
    drawn = drawn_programs(programs(scope, kinds=kinds), 300)
    assert NEW_CLASSES - classes_reached(drawn) == set()
