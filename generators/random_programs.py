"""Random programs within a scope, driven by the model so that every step is meaningful.

A random walk: at each step, choose a thread that is alive in some state the model allows,
and an operation over the handles bound so far. Reproducible from a seed.
"""
from __future__ import annotations

import random
from typing import Iterator, Optional

from sharespec.model.case import Case
from sharespec.model.ops import (PAGE_SIZE, Exit, Fork, Madvise, Mmap, Mprotect, Mremap, Munmap,
                                 Open, Place, Pread, Pwrite, Read, ShmAt, ShmCtl, ShmDt, ShmGet,
                                 Spawn, Step, ThreadExit, Write, Ftruncate)
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.profiles import get_profile
from sharespec.model.scope import DEFAULT, Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial


class _Walk:
    def __init__(self, rng: random.Random, scope: Scope, profile):
        self.rng, self.scope, self.profile = rng, scope, get_profile(profile)
        self.threads = ["T0"]
        self.ended: set = set()
        self.processes = 1
        self.segments: list = []
        self.mappings: list = []
        self.fds: list = []
        self.steps: list = []

    def place(self) -> Place:
        return Place(self.rng.choice(self.mappings), self.rng.randrange(self.scope.pages + 1),
                     self.rng.choice(self.scope.offsets))

    def page_place(self) -> Place:
        return Place(self.rng.choice(self.mappings), self.rng.randrange(self.scope.pages))

    def length(self) -> int:
        return PAGE_SIZE * self.rng.randint(1, max(1, self.scope.pages))

    def candidates(self) -> list:
        s, rng = self.scope, self.rng
        out = []
        n = len(self.threads)
        if n < s.threads and self.processes < s.processes:
            out += [(3, lambda: (Fork(), f"T{n}"))]
        if n < s.threads:
            out += [(1, lambda: (Spawn(), f"T{n}"))]
        if len(self.segments) < s.segments:
            key = rng.choice(["private", "K1"])
            out += [(3, lambda: (ShmGet(key, rng.choice([PAGE_SIZE, 100, 2 * PAGE_SIZE]),
                                        creat=True, excl=rng.random() < 0.3), f"S{len(self.segments)}"))]
        if len(self.mappings) < s.mappings:
            out += [(3, lambda: (Mmap(rng.random() < 0.5, "rw", self.length()), f"M{len(self.mappings)}"))]
            if self.segments:
                out += [(3, lambda: (ShmAt(rng.choice(self.segments), rdonly=rng.random() < 0.2),
                                     f"M{len(self.mappings)}"))]
            if self.fds:
                out += [(2, lambda: (Mmap(rng.random() < 0.6, "rw", self.length(), fd=rng.choice(self.fds)),
                                     f"M{len(self.mappings)}"))]
            if self.mappings and self.profile.linux_interfaces:
                out += [(1, lambda: (Mremap(Place(rng.choice(self.mappings)), PAGE_SIZE, PAGE_SIZE, "move"),
                                     f"M{len(self.mappings)}")),
                        (1, lambda: (Mremap(Place(rng.choice(self.mappings)), 0, PAGE_SIZE, "alias"),
                                     f"M{len(self.mappings)}")),
                        (1, lambda: (Mremap(Place(rng.choice(self.mappings)), PAGE_SIZE, 2 * PAGE_SIZE,
                                            "grow"), None))]
        if len(self.fds) < s.objects:
            kinds = ["file", "shm"] + (["memfd"] if self.profile.linux_interfaces else [])
            out += [(2, lambda: (Open(rng.choice(kinds), "obj", creat=True), f"F{len(self.fds)}"))]
        if self.fds:
            out += [(2, lambda: (Ftruncate(rng.choice(self.fds), rng.choice([0, 100, PAGE_SIZE, 2 * PAGE_SIZE])), None)),
                    (1, lambda: (Pwrite(rng.choice(self.fds), rng.choice(self.scope.offsets),
                                        rng.choice(self.scope.values)), None)),
                    (1, lambda: (Pread(rng.choice(self.fds), rng.choice(self.scope.offsets)), None))]
        if self.mappings:
            out += [(6, lambda: (Write(self.place(), rng.choice(self.scope.values)), None)),
                    (6, lambda: (Read(self.place()), None)),
                    (1, lambda: (Munmap(self.page_place(), PAGE_SIZE), None)),
                    (1, lambda: (Mprotect(self.page_place(), PAGE_SIZE, rng.choice(["r", "none", "rw"])), None)),
                    (1, lambda: (ShmDt(Place(rng.choice(self.mappings))), None))]
            if self.profile.linux_interfaces:
                out += [(2, lambda: (Madvise(self.page_place(), PAGE_SIZE,
                                             rng.choice(["dontneed", "dontfork", "wipeonfork", "remove"])),
                                     None))]
        if self.segments:
            out += [(2, lambda: (ShmCtl(rng.choice(self.segments), rng.choice(["rmid", "stat"])), None))]
        out += [(1, lambda: (ThreadExit(), None)), (1, lambda: (Exit(), None))]
        return out

    def choose(self):
        weighted = self.candidates()
        total = sum(w for w, _ in weighted)
        pick = self.rng.uniform(0, total)
        for w, make in weighted:
            pick -= w
            if pick <= 0:
                return make()
        return weighted[-1][1]()

    def bind(self, op, name: Optional[str]) -> None:
        if name is None:
            return
        if isinstance(op, (Fork, Spawn)):
            self.threads.append(name)
            self.processes += isinstance(op, Fork)
        elif isinstance(op, ShmGet):
            self.segments.append(name)
        elif isinstance(op, Open):
            self.fds.append(name)
        else:
            self.mappings.append(name)


def random_program(rng: random.Random, scope: Scope = DEFAULT, profile="linux") -> list:
    """One random valid program of at most ``scope.steps`` steps."""
    walk = _Walk(rng, scope, profile)
    states = {initial()}
    prof = get_profile(profile)
    for _ in range(scope.steps):
        alive = [t for t in walk.threads if t not in walk.ended and
                 any(s.threads.get(t) is not None and s.threads[t].alive for s in states)]
        if not alive:
            break
        actor = rng.choice(alive)
        op, name = walk.choose()
        st = Step(actor, op, name)
        try:
            nxt = {s2 for s in states for s2, _ in step(s, st, prof)}
        except NotApplicable:
            continue
        if len(nxt) > 2000:
            break
        states = nxt
        walk.bind(op, name)
        walk.steps.append(st)
        if isinstance(op, (ThreadExit, Exit)):
            # A thread that has certainly ended may not act again (validate.py); one that is
            # dead only in some states may, and gets "dead" there.
            walk.ended.update(t for t in walk.threads
                              if all(t not in s.threads or not s.threads[t].alive for s in states))
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
