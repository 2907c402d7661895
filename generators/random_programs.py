"""Random programs within a scope, driven by the model so that every step is meaningful.

A random walk: at each step, choose a thread that is alive in some state the model allows, an
operation family of the model's action menu (model/actions.py, weighted by FAMILY_WEIGHTS) and
one of its actions, so every argument class the scope offers is reached. Reproducible from a
seed.

Five biases make a corpus kill more wrong implementations for its size (benchmarks/mutation.py):

- *the least used classes first*: ``random_cases`` counts the actions it has drawn by label
  (family and argument classes, ``Action.label``), and within a family gives the actions whose
  first argument class, then label, it has drawn least ``LEAST`` times the weight of the
  others (``Usage``). So a corpus
  reaches every class of every argument early (an unaligned munmap, mremap alias,
  MADV_KEEPONFORK) instead of drawing the common ones again;
- *steps that act*: within a family, an action that would succeed and change nothing in any
  state (``Walk.changes_nothing``: SHM_UNLOCK of a segment not locked, a hole punched where
  there is no data, MADV_DONTNEED of memory never touched) has ``IDLE`` times the weight.
  It shows only that the call succeeds, and, drawn, it would use up its label: SHM_UNLOCK
  would rarely be least used when a segment is locked;
- *follow up what the program did*: each action is weighted by its heat (``Walk.heat``): the
  handles and pages it shares with the last few steps, a range operation (madvise, mprotect,
  munmap, mremap, shmdt) or a truncate over written data, a first write into a mapping; each
  family by its hottest action's heat (to the power ``FOLLOW_UP``). Wrong effects show when
  steps land on one place in order (a write, then MADV_DONTNEED of that page; an attach split
  by mprotect, then shmdt), which a uniform draw over the handles rarely lines up. Every action
  keeps a weight of at least 1, so the walk still reaches all of the menu;
- *swarms*: half the programs draw from a random half of the families and of the madvise
  advices (``walk.Swarm``), so that the steps of a bug that needs several families lined up
  (shmget, shmat, IPC_RMID, shmat again) meet far more often than in a program that spreads
  its steps over all of them;
- *the program goes on*: a step after which no thread is alive in any state (a fault or exit
  of the last process) is drawn again, a few times, unless it is the last step: a program
  that ends itself early has nothing left to observe what it did.

Each case ends with the observation tail (observation_tail.py): reads of everything the
program touched, pread and IPC_STAT of its objects, a fork probe and the faulting
observations last, so that a wrong effect anywhere shows in a result.
"""
from __future__ import annotations

import random
from collections import Counter
from typing import Iterator, Optional

from sharespec.model.case import Case
from sharespec.model.actions import FAMILY_WEIGHTS, by_family
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.scope import DEFAULT, Scope
from sharespec.model.semantics import NotApplicable
from sharespec.model.validate import CaseError, validate_program

from .observation_tail import observed
from .walk import CASES_SCOPE, NO_SWARM, Swarm, Walk

LEAST = 8     # weight factor of the least used labels of a family, given a walk
FOLLOW_UP = 0.5  # a family's weight grows as its hottest action's heat to this power
RETRIES = 4   # draws of a step that would end the program early, before one is taken
IDLE = 0.25   # the weight factor of an action that changes nothing (Walk.changes_nothing)
SWARM_SHARE = 0.5       # of the programs, those drawn from a swarm (walk.Swarm), not the whole menu
SWARM_LEAVES_OUT = 0.5  # the chance a swarm leaves out each family and each madvise advice


class Usage(Counter):
    """How often each action label, and each family's first argument class, was drawn (over a
    whole corpus).

    The least used are found level by level: first the first argument class (the object an
    open makes: file, shm object or memfd), then the whole label. A flat count over labels
    would give each kind of the first argument a share in proportion to its sub-classes: the
    file and shm opens have 60 labels (name, flags, mode) and the memfd ones 8, so a memfd
    made with MFD_ALLOW_SEALING, the only object that takes seals (R47), was one open in 68."""

    def count(self, action) -> None:
        self[action.label] += 1
        self[_first_class(action)] += 1

    def least_used(self, acts: list) -> list:
        fewest = min(self[_first_class(a)] for a in acts)
        acts = [a for a in acts if self[_first_class(a)] == fewest]
        fewest = min(self[a.label] for a in acts)
        return [a for a in acts if self[a.label] == fewest]


def _first_class(action) -> tuple:
    """The key of ``action``'s family and first argument class (a tuple, never a label)."""
    return (action.family, action.classes[0] if action.classes else None)


def _choose(rng: random.Random, acts: list, usage: Optional[Usage] = None,
            walk: Optional[Walk] = None):
    """A family by FAMILY_WEIGHTS among those the menu offers, then one of its actions (one of
    the least used so far, given ``usage``), weighted by how much it follows up what the walk
    did (``Walk.heat``: recent handles, written pages) and less if it changes nothing
    (``Walk.changes_nothing``), given ``walk``."""
    families = by_family(acts)
    names = list(families)
    weights = [FAMILY_WEIGHTS[f] for f in names]
    if walk is not None:   # a family that can follow up the program is drawn more often
        weights = [w * max(walk.heat(a.step) for a in families[f]) ** FOLLOW_UP
                   for w, f in zip(weights, names)]
    options = families[rng.choices(names, weights=weights)[0]]
    least = options if usage is None else usage.least_used(options)
    if walk is None:
        return rng.choice(least)
    # The least used labels keep most of the weight, the others some, so that an action that
    # follows up the program (a high heat) is not ruled out by its label having been drawn.
    favoured = set(map(id, least))
    return rng.choices(options, weights=[walk.heat(a.step) * (LEAST if id(a) in favoured else 1)
                                         * (IDLE if walk.changes_nothing(a.step) else 1)
                                         for a in options])[0]


def random_program(rng: random.Random, scope: Scope = DEFAULT, profile="linux",
                   usage: Optional[Usage] = None, follow_up: bool = True,
                   swarm: Swarm = NO_SWARM) -> list:
    """One random valid program of at most ``scope.steps`` steps: a walk over the model's
    action menu (model/actions.py) from the states the program so far may have reached.
    ``usage``: draw the least used labels first, and count the ones drawn. ``follow_up``:
    weight the draws by how much they follow up the program (``Walk.heat``). ``swarm``: the
    part of the menu it draws from (walk.Swarm)."""
    walk = Walk(scope, profile, swarm)
    for index in range(scope.steps):
        alive = walk.live_threads()
        if not alive:
            break
        for attempt in range(RETRIES + 1):
            acts = walk.menu(rng.choice(alive))
            if not acts:
                break
            action = _choose(rng, acts, usage, walk if follow_up else None)
            nxt = walk.successors(action.step)
            last = index == scope.steps - 1 or attempt == RETRIES
            if nxt is None or last or not walk.ends_everything(nxt):
                break
        if not acts:
            break
        if nxt is None:
            continue
        if len(nxt) > 2000:
            break
        if usage is not None:
            usage.count(action)
        walk.take(action.step, nxt)
    return walk.steps


def random_cases(seed: int, count: int, scope: Scope = CASES_SCOPE, profile="linux",
                 observe: bool = True) -> Iterator[Case]:
    """``count`` random cases from one seed, with their allowed results, of programs within
    ``scope`` (by default ``walk.CASES_SCOPE``); ``observe``: each program followed by its
    observation tail (observation_tail.py)."""
    rng = random.Random(seed)
    usage = Usage()
    made = 0
    while made < count:
        swarm = (Swarm.drawn(lambda: rng.random() < SWARM_LEAVES_OUT)
                 if rng.random() < SWARM_SHARE else NO_SWARM)
        steps = tuple(random_program(rng, scope, profile, usage, swarm=swarm))
        if not steps:
            continue
        try:
            if observe:
                steps = observed(steps, profile)
            validate_program(steps)   # the case format's rules (a range within its slot ...)
            allowed = tuple(allowed_per_step(steps, profile))
        except (NotApplicable, StateExplosion, CaseError):
            continue
        yield Case(name=f"random-{seed}-{made}", profile=str(profile), rules=(), origin="random",
                   description=f"random program {made} of seed {seed}", steps=steps, allowed=allowed)
        made += 1
