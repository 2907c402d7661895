"""The random walk and the Hypothesis strategies reach the argument classes of issue 16's item
5 (addresses and protections) through the one action menu: every mremap to a chosen place
(fixed, without MAYMOVE, unaligned, overlapping, DONTUNMAP) and the protections w, x and rx of
mmap and mprotect. Statistical over some hundred programs, so in the host tier.

    pytest tests/host/test_generator_reach_addresses.py
"""
from __future__ import annotations

import random

from sharespec.model.actions import classify
from sharespec.model.profiles import LINUX
from sharespec.model.scope import DEFAULT, Scope
from sharespec.model.semantics import step
from sharespec.model.state import initial
from drawn_programs import drawn_programs

NEW_CLASSES = ({("mremap", "remap", kind) for kind in (
    "fixed", "fixed_nomaymove", "fixed_unaligned", "fixed_overlap", "dontunmap",
    "fixed_dontunmap")}
    | {(family, "prot", prot) for family in ("mmap", "mprotect") for prot in ("w", "x", "rx")})


def classes_reached(programs) -> set:
    """(family, argument, class) of every step, each classified in the state before it."""
    seen = set()
    for program in programs:
        state = initial()
        for st in program:
            action = classify(state, st)
            seen.update((action.family, arg, cls) for arg, cls in action.classes)
            state = step(state, st, LINUX)[0][0]
    return seen


def test_random_programs_reach_the_new_classes():
    from sharespec.generators.random_programs import random_program
    rng = random.Random(5)
    programs = [random_program(rng, DEFAULT) for _ in range(200)]
    assert NEW_CLASSES - classes_reached(programs) == set()


def test_hypothesis_programs_reach_the_new_classes():
    """Over a scope that offers the new classes of the families concerned (with room for the
    handles that move and DONTUNMAP bind): over every family and class, 300 programs hold
    about 36 mremap steps, too few for its eleven classes."""
    from sharespec.generators.strategies import programs
    scope = Scope(steps=10, mappings=6, families=("mmap", "mprotect", "mremap"),
                  map_prots=("rw", "w", "x", "rx"), prots=("w", "x", "rx"),
                  remaps=tuple(kind for family, _, kind in sorted(NEW_CLASSES)
                               if family == "mremap"))
    drawn = drawn_programs(programs(scope), 1200)
    assert NEW_CLASSES - classes_reached(drawn) == set()
