"""The random walk and the Hypothesis strategies reach every class of the absolute family
(model/absolute_addresses.py: @kernel, @high, @zero, @zero+1, by mmap fixed, munmap, mprotect,
shmat with and without SHM_REMAP, shmdt) through the one action menu, and every program they
draw is a valid case. Statistical over some hundred programs, so in the host tier.

    pytest tests/host/test_generator_reach_absolute.py
"""
from __future__ import annotations

import random
from dataclasses import replace

from sharespec.model.scope import CLASSES, DEFAULT, Scope
from sharespec.model.validate import validate_program

from test_generator_reach_addresses import classes_reached

NEW_CLASSES = ({("absolute", "address", name) for name in CLASSES["absolutes"]}
               | {("absolute", "call", call) for call in
                  ("mmap", "munmap", "mprotect", "shmat", "shmat_remap", "shmdt")})


def test_random_programs_reach_the_absolute_classes():
    from sharespec.generators.random_programs import random_program
    rng = random.Random(7)
    # the families that make what the absolute calls need, and those calls: with every family
    # in the walk, whether 300 programs reach SHM_REMAP at @zero depends on the seed's luck
    # (it did not, once the locking families joined)
    scope = replace(DEFAULT, families=("mmap", "shmget", "absolute"))
    programs = [random_program(rng, scope) for _ in range(300)]
    for program in programs:
        validate_program(program)
    assert NEW_CLASSES - classes_reached(programs) == set()


def test_hypothesis_programs_reach_the_absolute_classes():
    from hypothesis import HealthCheck, given, settings
    from sharespec.generators.strategies import programs
    scope = Scope(steps=8, mappings=6, families=("shmget", "absolute"))
    drawn = []

    @settings(max_examples=600, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(programs(scope, kinds=("shmget", "absolute")))
    def collect(program):
        validate_program(program)
        drawn.append(program)

    collect()
    assert NEW_CLASSES - classes_reached(drawn) == set()
