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
from sharespec.model.actions import FAMILY_WEIGHTS, by_family
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.scope import DEFAULT, Scope
from sharespec.model.semantics import NotApplicable

from .walk import Walk


def _choose(rng: random.Random, acts: list):
    """A family by FAMILY_WEIGHTS among those the menu offers, then one of its actions."""
    families = by_family(acts)
    names = list(families)
    family = rng.choices(names, weights=[FAMILY_WEIGHTS[f] for f in names])[0]
    return rng.choice(families[family])


def random_program(rng: random.Random, scope: Scope = DEFAULT, profile="linux") -> list:
    """One random valid program of at most ``scope.steps`` steps: a walk over the model's
    action menu (model/actions.py) from the states the program so far may have reached."""
    walk = Walk(scope, profile)
    for _ in range(scope.steps):
        alive = walk.live_threads()
        if not alive:
            break
        acts = walk.menu(rng.choice(alive))
        if not acts:
            break
        st = _choose(rng, acts).step
        nxt = walk.successors(st)
        if nxt is None:
            continue
        if len(nxt) > 2000:
            break
        walk.take(st, nxt)
    return walk.steps


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
