"""Every generator that draws from the action menu reaches MAP_GROWSDOWN (model/growsdown.py,
R50): a growsdown mapping. Statistical, so in the host tier (as
tests/host/test_generator_reach.py is for the other classes). The load or store at the page
just below it is offered by the menu (tests/model/test_growsdown.py) but drawn rarely: in 300
random programs of the default scope, 20 map a growsdown page and none touches the page below
(measured at seed 50), so it is not asserted here."""
from __future__ import annotations

import random

from sharespec.model.ops import Mmap, Read, Write
from sharespec.model.scope import Scope
from drawn_programs import drawn_programs

WANTED = {"growsdown mmap"}


def reached(programs) -> set:
    hits = set()
    for program in programs:
        below = set()
        for st in program:
            op = st.op
            if isinstance(op, Mmap) and op.growsdown:
                hits.add("growsdown mmap")
                below.add((op.at.mapping, op.at.page - 1))
            if isinstance(op, (Read, Write)) and (op.at.mapping, op.at.page) in below:
                hits.add("access just below")
    return hits


def test_R50_random_programs_reach_growsdown():
    from sharespec.generators.random_programs import random_program
    rng = random.Random(50)
    assert WANTED <= reached(random_program(rng, Scope()) for _ in range(300))


def test_R50_hypothesis_programs_reach_growsdown():
    from sharespec.generators.strategies import programs
    drawn = drawn_programs(programs(Scope(steps=10)), 300)
    assert WANTED <= reached(drawn)
