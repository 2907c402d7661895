"""Every generator draws from the one action menu (model/actions.py): random walks and
Hypothesis programs reach every family and the argument classes no generator reached before.
Statistical over hundreds of programs, so in the host tier (tests/host) with the other slow
tests, though it runs no process; the menu's own tests are tests/model/test_actions.py.

    pytest tests/host/test_generator_reach.py
"""
from __future__ import annotations

import random

from sharespec.model import brk as brk_model

from sharespec.model.actions import FAMILIES
from sharespec.model.ops import PAGE_SIZE, Mmap, Mprotect, Munmap, Step
from sharespec.model.scope import DEFAULT, Scope
from drawn_programs import drawn_programs


# --- every generator draws from the menu -----------------------------------------------------

def _reaches_what_no_generator_reached(programs) -> set:
    hits = set()
    for program in programs:
        for st in program:
            op = st.op
            if isinstance(op, Mmap) and op.fd is not None and op.prot == "r":
                hits.add("mmap of an object, read-only")
            if isinstance(op, (Munmap, Mprotect)) and op.length > PAGE_SIZE:
                hits.add(f"{op.OP} of several pages")
    return hits


WANTED = {"mmap of an object, read-only", "munmap of several pages", "mprotect of several pages"}


def test_random_programs_reach_every_family_and_the_missing_classes():
    from sharespec.generators.random_programs import random_program
    rng = random.Random(5)
    programs = [random_program(rng, DEFAULT) for _ in range(400)]
    assert _reaches_what_no_generator_reached(programs) == WANTED
    families = {classify_family(p) for program in programs for p in program}
    assert families == set(FAMILIES)


def classify_family(st: Step) -> str:
    at = getattr(st.op, "at", None)
    if at is not None and at.mapping == brk_model.PLACE:
        return "brk"               # model/brk.py: brk(), shmat near the break
    if at is not None and at.mapping.startswith("@"):
        return "absolute"          # model/absolute_addresses.py: @zero, @high, @kernel
    if isinstance(st.op, Mmap):
        if st.op.growsdown:
            return "growsdown"     # model/growsdown.py
        if st.op.neither:
            return "mmap_neither"  # model/map_type.py
        if st.op.locked or st.op.populate or st.op.validate or st.op.unknown:
            return "mmap_flags"     # model/locking.py
        return "mmap_fixed" if st.op.fixed != "none" else "mmap_fd" if st.op.fd else "mmap"
    return st.op.OP


def test_hypothesis_programs_reach_the_missing_classes():
    from sharespec.generators.strategies import programs
    drawn = drawn_programs(programs(Scope(steps=10)), 300)
    assert _reaches_what_no_generator_reached(drawn) == WANTED
