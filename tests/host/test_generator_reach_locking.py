"""The random walk and the Hypothesis strategies reach the argument classes of the memory
locks and msync (model/locking.py) through the one action menu: every mmap flag class
(MAP_LOCKED, MAP_POPULATE, MAP_SHARED_VALIDATE with and without an unknown bit, the unknown
bit alone), every msync flag class, mlock, munlock and vmlck. Statistical over some hundred
programs, so in the host tier.

    pytest tests/host/test_generator_reach_locking.py
"""
from __future__ import annotations

import random

from sharespec.model.scope import CLASSES, DEFAULT, Scope

from test_generator_reach_addresses import classes_reached
from drawn_programs import drawn_programs

NEW_CLASSES = ({("mmap_flags", "flags", flag) for flag in CLASSES["map_flags"]}
               | {("msync", "flags", flags) for flags in CLASSES["msync_flags"]}
               | {(family, "at", "start") for family in ("mlock", "munlock")})


def families_reached(programs) -> set:
    return {family for family, _, _ in classes_reached(programs)}


def test_random_programs_reach_the_new_classes():
    """As random_cases draws them, the least used labels first (Usage): without it, since
    calls on unmapped pages are drawn least (walk.Walk.acts_on_nothing), 400 programs of this
    seed held 26 msync steps for its eight flag classes and missed one; with it, 33 and none."""
    from sharespec.generators.random_programs import Usage, random_program
    rng, usage = random.Random(5), Usage()
    programs = [random_program(rng, DEFAULT, usage=usage) for _ in range(400)]
    assert NEW_CLASSES - classes_reached(programs) == set()
    ops = {st.op.OP for program in programs for st in program}
    assert "vmlck" in ops


def test_hypothesis_programs_reach_the_new_classes():
    """Over the families concerned (with room for the mappings mmap_flags binds), as the
    strategy's vocabulary too: over every family, the kinds outside the scope mostly fall back
    to mmap, and 600 programs held too few msync steps for its eight classes."""
    from sharespec.generators.strategies import programs
    kinds = ("mmap", "mmap_flags", "mlock", "munlock", "msync", "vmlck")
    scope = Scope(steps=10, mappings=6, families=kinds)
    drawn = drawn_programs(programs(scope, kinds=kinds), 600)
    assert NEW_CLASSES - classes_reached(drawn) == set()
    assert "vmlck" in {st.op.OP for program in drawn for st in program}
