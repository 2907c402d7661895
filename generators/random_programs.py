"""Random programs within a scope, driven by the model so that every step is meaningful.

A random walk: at each step, choose a thread that is alive in some state the model allows, an
operation family of the model's action menu (model/actions.py, weighted by FAMILY_WEIGHTS) and
one of its actions, so every argument class the scope offers is reached. Reproducible from a
seed.
"""
from __future__ import annotations

import random
from typing import Iterator

from sharespec.model.case import Case
from sharespec.model.actions import FAMILY_WEIGHTS, actions, by_family
from sharespec.model.ops import Exec, Exit, Open, ThreadExit
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.profiles import get_profile
from sharespec.model.scope import DEFAULT, Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial


def _choose(rng: random.Random, acts: list):
    """A family by FAMILY_WEIGHTS among those the menu offers, then one of its actions."""
    families = by_family(acts)
    names = list(families)
    family = rng.choices(names, weights=[FAMILY_WEIGHTS[f] for f in names])[0]
    return rng.choice(families[family])


def random_program(rng: random.Random, scope: Scope = DEFAULT, profile="linux") -> list:
    """One random valid program of at most ``scope.steps`` steps: a walk over the model's
    action menu (model/actions.py) from the states the program so far may have reached."""
    prof = get_profile(profile)
    states = [initial()]            # in a fixed order: the walk is reproducible from the seed
    steps: list = []
    ended: set = set()
    fds_bound = 0
    for _ in range(scope.steps):
        alive = [t for t in states[0].threads if t not in ended and
                 any(s.threads.get(t) is not None and s.threads[t].alive for s in states)]
        if not alive:
            break
        actor = rng.choice(alive)
        here = next(s for s in states if s.threads.get(actor) is not None and s.threads[actor].alive)
        acts = actions(here, scope, fds_bound=fds_bound, actors=[actor],
                       linux=prof.linux_interfaces)
        if not acts:
            break
        st = _choose(rng, acts).step
        try:
            nxt = list(dict.fromkeys(s2 for s in states for s2, _ in step(s, st, prof)))
        except NotApplicable:
            continue
        if len(nxt) > 2000:
            break
        states = nxt
        fds_bound += isinstance(st.op, Open)
        steps.append(st)
        if isinstance(st.op, (ThreadExit, Exit, Exec)):
            # A thread that has certainly ended may not act again (validate.py); one that is
            # dead only in some states may, and gets "dead" there.
            ended.update(t for t in states[0].threads
                         if all(t not in s.threads or not s.threads[t].alive for s in states))
    return steps


def random_cases(seed: int, count: int, scope: Scope = DEFAULT, profile="linux") -> Iterator[Case]:
    """``count`` random cases from one seed, with their allowed results."""
    rng = random.Random(seed)
    made = 0
    while made < count:
        steps = tuple(random_program(rng, scope, profile))
        if not steps:
            continue
        try:
            allowed = tuple(allowed_per_step(steps, profile))
        except (NotApplicable, StateExplosion):
            continue
        yield Case(name=f"random-{seed}-{made}", profile=str(profile), rules=(), origin="random",
                   description=f"random program {made} of seed {seed}", steps=steps, allowed=allowed)
        made += 1
