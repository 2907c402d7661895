"""The random walk and the Hypothesis strategies reach a segment's times (model/shm_times.py)
through the one action menu: shmctl's ``times`` and ``shm_stat_times`` commands, after the steps
that set each time, so that a generated case can kill the three times mutants (ctime not set at
creation, atime not set at shmat, dtime set at shmat) by itself. The observation tail never asks
the times (a wall-clock observation in every case with a segment: tests/model/test_shm_times.py),
so the menu is the only way a generator reaches them. Statistical over some hundred programs,
so in the host tier.

    pytest tests/host/test_generator_reach_times.py
"""
from __future__ import annotations

import random

from sharespec.model.oracle import allowed_per_step
from sharespec.model.ops import ShmCtl
from sharespec.model.scope import Scope

from test_generator_reach_addresses import classes_reached
from drawn_programs import drawn_programs

NEW_CLASSES = {("shmctl", "cmd", "times"), ("shmctl", "cmd", "shm_stat_times")}
# what each mutant's witness observes: a fresh segment (ctime-not-set-at-creation), one
# attached and not detached (atime-not-set-at-shmat, dtime-set-at-shmat), one detached too
OUTCOMES = {"times(atime=0,dtime=0,ctime=set)", "times(atime=set,dtime=0,ctime=set)",
            "times(atime=set,dtime=set,ctime=set)"}
SEGMENT_FAMILIES = ("shmget", "shmat", "shmdt", "shmctl")


def times_outcomes(programs) -> set:
    """Every result the model allows a times observation of the programs."""
    seen = set()
    for program in programs:
        asked = [i for i, st in enumerate(program)
                 if isinstance(st.op, ShmCtl) and st.op.cmd in ("times", "shm_stat_times")]
        if asked:
            allowed = allowed_per_step(program, "linux")
            seen.update(str(r) for i in asked for r in allowed[i])
    return seen


def test_random_programs_reach_the_times():
    """Over the segment families with every shmctl command the menu offers (seventeen)."""
    from sharespec.generators.random_programs import random_program
    rng = random.Random(5)
    scope = Scope(steps=10, families=SEGMENT_FAMILIES)
    programs = [random_program(rng, scope) for _ in range(300)]
    assert NEW_CLASSES - classes_reached(programs) == set()
    assert OUTCOMES - times_outcomes(programs) == set()


def test_hypothesis_programs_reach_the_times():
    """Over the segment families, with the times among four shmctl commands: among all
    seventeen, 300 programs drew shm_stat_times not once."""
    from sharespec.generators.strategies import programs
    scope = Scope(steps=10, families=SEGMENT_FAMILIES,
                  shmctl_cmds=("stat", "rmid", "times", "shm_stat_times"))
    drawn = drawn_programs(programs(scope, kinds=SEGMENT_FAMILIES), 300)
    assert NEW_CLASSES - classes_reached(drawn) == set()
    assert OUTCOMES - times_outcomes(drawn) == set()
