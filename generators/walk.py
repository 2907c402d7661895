"""A program built one step at a time over the model's action menu, with the states it may
have reached: what the random walk (random_programs.py) and the Hypothesis strategies
(strategies.py) share.

Each generator chooses the next step its own way (a seeded random choice, a shrinkable
``StepChoice``); the walk says who may act and what the menu offers them (model/actions.py),
and follows the step into every state the profile allows. A thread that has certainly ended
(dead in every state the program may have reached, as validate.py counts it) acts no more;
one that is dead only in some states may, and gets "dead" there.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Optional

from sharespec.model.actions import NEEDS, actions
from sharespec.model.ops import (MADVICES, PAGE_SIZE, Exec, Exit, Fallocate, Ftruncate, Madvise,
                                 Mlock, Mmap, Mprotect, Mremap, Msync, Munlock, Munmap, Place,
                                 PosixMadvise, Pwrite, Read, Seal, ShmDt, Step, ThreadExit,
                                 Write)
from sharespec.model.descriptors import seals_of
from sharespec.model.memory import store_faults
from sharespec.model.profiles import get_profile
from sharespec.model.results import Ok
from sharespec.model.scope import DEFAULT, FAMILIES, Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial


# The scope of generated cases by default (random_programs.random_cases, strategies.cases):
# the default scope's classes, programs twice as long. A wrong effect shows when two or three
# steps line up on one object (a write, then a madvise of that page), which a program twice
# as long meets about four times as often, for little more running time (the observation
# tail is most of a case). Measured for random cases (benchmarks/mutation.py --sources random
# --no-shrink, 1000 cases, side by side): 151 and 155 of 173 mutants killed with seeds 1 and
# 2, against 148 and 149 at 8 steps.
CASES_SCOPE = replace(DEFAULT, steps=2 * DEFAULT.steps)


@dataclass(frozen=True)
class Swarm:
    """The part of the menu one program draws from (swarm testing: Groce et al., ISSTA 2012).

    A program that may use every family spreads its few steps over all of them, and a bug
    that needs four steps of three families lined up (shmget, shmat, IPC_RMID, shmat again) is
    rare; a program that leaves out half the families meets each remaining combination far
    more often. ``left_out``: families the program never draws; ``advices_left_out``: madvise
    advices it never gives. The families that make the handles a kept family needs stay in
    (``kept_families``)."""
    left_out: frozenset = frozenset()
    advices_left_out: frozenset = frozenset()

    def keeps(self, action) -> bool:
        if action.family in self.left_out:
            return False
        advice = getattr(action.step.op, "advice", None)
        return action.family != "madvise" or advice not in self.advices_left_out

    @staticmethod
    def drawn(coin, families=FAMILIES, advices=MADVICES) -> "Swarm":
        """A swarm that leaves out each family and each advice on ``coin()`` (a bool)."""
        out = {f for f in families if coin()}
        return Swarm(frozenset(out - set(kept_families(set(families) - out))),
                     frozenset(a for a in advices if coin()))


# The families that make a handle of each kind (model/actions.NEEDS), the first the one kept
# when a swarm leaves them all out.
MAKERS = {"mapping": ("mmap", "mmap_fd", "shmat"), "segment": ("shmget",), "fd": ("open",)}


def kept_families(families: set) -> set:
    """``families`` with a maker of every handle kind they need (and what that maker needs)."""
    kept = set(families) | {"write"}   # data for everything else to act on
    changed = True
    while changed:
        changed = False
        for family in list(kept):
            need = NEEDS.get(family)
            if need and not kept & set(MAKERS[need]):
                kept.add(MAKERS[need][0])
                changed = True
    return kept


NO_SWARM = Swarm()


class Walk:
    """The steps so far, the states they may lead to (in a fixed order, so that a walk is
    reproducible), the threads that have certainly ended and the descriptors bound; ``swarm``
    the part of the menu it draws from."""

    def __init__(self, scope: Scope, profile="linux", swarm: Swarm = NO_SWARM):
        self.scope = scope
        self.swarm = swarm
        self.profile = get_profile(profile)
        self.states = [initial()]
        self.steps: list = []
        self.ended: set = set()
        self.fds_bound = 0
        self.last_named: dict = {}   # handle or (mapping, page) -> the last step naming it
        self.written: set = set()    # (mapping, page) written, descriptors written or mapped
        self.sealed: set = set()     # descriptors of a memfd the program added seals to (R47)
        self._outcomes: dict = {}    # step -> Walk.outcomes from the states so far

    def live_threads(self) -> list:
        """The threads that may act next: alive in some state, not certainly ended."""
        return [t for t in self.states[0].threads if t not in self.ended and
                any(s.threads.get(t) is not None and s.threads[t].alive for s in self.states)]

    def menu(self, actor: str) -> list:
        """The actions of ``actor`` from a state where it is alive (model/actions.py)."""
        here = next(s for s in self.states
                    if s.threads.get(actor) is not None and s.threads[actor].alive)
        menu = actions(here, self.scope, fds_bound=self.fds_bound, actors=[actor],
                       linux=self.profile.linux_interfaces)
        return menu if self.swarm is NO_SWARM else [a for a in menu if self.swarm.keeps(a)]

    def processes_of(self, actor: str):
        """(state, process) for each state the program may have reached where ``actor`` is
        alive: where a call of ``actor`` acts."""
        for state in self.states:
            thread = state.threads.get(actor)
            if thread is not None and thread.alive:
                yield state, state.processes[thread.process]

    def objects_held(self, actor: str, fd: str):
        """(state, object) for each state the program may have reached where ``actor`` is
        alive and its process holds descriptor ``fd``: the object a call on ``fd`` acts on."""
        for state, proc in self.processes_of(actor):
            held = proc.fds.get(fd)
            if held is not None:
                yield state, state.objects[held.obj]

    def stores(self, actor: str, place) -> bool:
        """Whether a store by ``actor`` at ``place`` succeeds in some state the program may
        have reached (``memory.store_faults``)."""
        return any(not store_faults(proc, state.vpn(place))
                   for state, proc in self.processes_of(actor)
                   if place.mapping in state.mapping_handles)

    def successors(self, st: Step) -> Optional[list]:
        """Every state ``st`` may lead to from the states so far (None: the profile does not
        cover it)."""
        found = self.outcomes(st)
        return None if found is None else after(found)

    def outcomes(self, st: Step) -> Optional[list]:
        """(state before, state after, result) for every way ``st`` may go from the states so
        far (None: the profile does not cover it). Kept until the next ``take``: a draw steps
        the options of its family (``changes_nothing``), then the one it drew again."""
        if st not in self._outcomes:
            try:
                found = [(s, s2, r) for s in self.states for s2, r in step(s, st, self.profile)]
            except NotApplicable:
                found = None
            self._outcomes[st] = found
        return self._outcomes[st]

    def changes_nothing(self, st: Step) -> bool:
        """``st`` succeeds and leaves every state as it was: SHM_UNLOCK of a segment that is
        not locked, a hole punched where the object holds no page, MADV_DONTNEED of memory
        never touched. All it shows is that the call succeeds."""
        found = self.outcomes(st)
        return found is not None and all(s2 == s and isinstance(r, Ok) for s, s2, r in found)

    @staticmethod
    def ends_everything(states: list) -> bool:
        """True if no thread is alive in any of ``states``: nothing more can happen, and nothing
        the program did can be observed after it."""
        return not any(t.alive for s in states for t in s.threads.values())

    def sealable(self, st: Step) -> bool:
        """``st`` adds seals through a descriptor of a memfd that takes them in some state (not
        yet F_SEAL_SEAL): a seal on anything else fails with EPERM whatever it asks (R47)."""
        if not isinstance(st.op, Seal):
            return False
        return any("seal" not in seals_of(obj) for _, obj in self.objects_held(st.thread, st.op.fd))

    def maps_data(self, st: Step) -> bool:
        """``st`` maps a descriptor whose object reaches past the mapping's offset in some
        state. A file, POSIX shm object or memfd starts empty: mapped then, each page of the
        mapping is past the end of the object (SIGBUS, R03) and shows nothing of what a
        MAP_PRIVATE or MAP_SHARED mapping of it shares or copies (R12, R13)."""
        return any(obj.size > st.op.offset for _, obj in self.objects_held(st.thread, st.op.fd))

    def fills_empty(self, st: Step) -> bool:
        """``st`` gives size to an object that is empty in some state: an ftruncate to a
        length, a pwrite, or a fallocate that allocates (``maps_data``)."""
        op = st.op
        if not (isinstance(op, Pwrite) or isinstance(op, Ftruncate) and op.length
                or isinstance(op, Fallocate) and not op.punch):
            return False
        return any(not obj.size for _, obj in self.objects_held(st.thread, op.fd))

    def acts_on_nothing(self, st: Step) -> bool:
        """``st`` is a range call, read or write whose pages the acting thread's process maps
        in no state: it fails the same way whatever came before (ENOMEM, EFAULT, SIGSEGV), so
        it follows up nothing. Without this, a handle munmapped or never mapped in a process
        drew the heat of its written pages and of its recent naming, and half the madvise,
        mprotect and mlock calls of a corpus fell on nothing."""
        at = getattr(st.op, "at", None)
        if not isinstance(st.op, PLACE_CALLS) or at is None:
            return False
        pages = range_pages(st.op)
        return not any(proc.vma_at(state.vpn(Place(m, p))) is not None
                       for state, proc in self.processes_of(st.thread)
                       if at.mapping in state.mapping_handles for m, p in pages)

    def take(self, st: Step, states: list) -> None:
        """Add ``st``, which leads to ``states``."""
        if self.sealable(st):
            self.sealed.add(st.op.fd)
        # a write that faults in every state leaves no data for later calls to act on
        stored = isinstance(st.op, Write) and self.stores(st.thread, st.op.at)
        self.states = states
        self._outcomes.clear()
        self.fds_bound += st.op.BINDS == "fd"   # open, dup, reopen
        if isinstance(st.op, (ThreadExit, Exit, Exec)):
            self.ended.update(t for t in self.states[0].threads
                              if all(t not in s.threads or not s.threads[t].alive
                                     for s in self.states))
        index = len(self.steps)
        for key in names(st):
            self.last_named[key] = index
        if isinstance(st.op, Write) and stored:
            self.written.add((st.op.at.mapping, st.op.at.page))
        elif isinstance(st.op, Pwrite) or isinstance(st.op, Mmap) and st.op.fd:
            self.written.add(st.op.fd)   # data in the object, or a mapping that shows it
        self.steps.append(st)

    def heat(self, st: Step) -> float:
        """How much ``st`` follows up what the program did: ``ON_NOTHING`` if it acts on pages
        its process does not map (``acts_on_nothing``: still drawn, its error is part of the
        model, but less often than a call on something); else 1, plus ``RECENT`` for each handle or
        page it names that one of the last ``RECENT_STEPS`` steps named, plus ``ON_DATA`` if it
        is a range operation over a written page (or truncates, seals or pwrites a descriptor that
        was written or mapped: what a mapping shows of it changes; or maps a descriptor whose
        object holds something there, ``maps_data``), or ``FILL`` if
        it is the first write into its mapping that stores in some state (one that faults
        everywhere leaves no data) or gives an empty object a size (``fills_empty``).

        Effects that kill wrong implementations land on one place in order (a write, then an
        advice on that page; an attach, a split, a detach; a pwrite, then a truncate), and a
        uniform draw over the handles rarely lines them up; this weight makes the walk do so
        more often while every action stays possible."""
        if self.acts_on_nothing(st):
            return ON_NOTHING
        weight = 1
        for key in names(st):
            if self.last_named.get(key, -RECENT_STEPS - 1) >= len(self.steps) - RECENT_STEPS:
                weight += RECENT
        if any(key in self.written for key in covered(st)) or self.sealable(st):
            weight += ON_DATA
        if isinstance(st.op, (Mmap, *DATA_CALLS)) and st.op.fd in self.sealed:
            weight += ON_DATA   # what the seals forbid or let through (R47)
        if isinstance(st.op, Mmap) and st.op.fd and self.maps_data(st):
            weight += ON_DATA   # a mapping that shows the object, not only SIGBUS past its end
        if isinstance(st.op, Write) and self.stores(st.thread, st.op.at) and not any(
                isinstance(key, tuple) and key[0] == st.op.at.mapping for key in self.written):
            weight += FILL   # data for the range operations to act on, and the tail to read
        elif self.fills_empty(st):
            weight += FILL   # an object for its mappings to show (maps_data)
        return weight


RECENT_STEPS = 3   # a handle named this recently is "recent"
RECENT = 2         # weight added per recent handle or page an action names
ON_DATA = 6        # weight added to a range operation over written data
FILL = 4           # weight added to the first write into a mapping
ON_NOTHING = 0.25  # the weight of a call on pages its process maps in no state (acts_on_nothing)
RANGE_OPS = (Madvise, PosixMadvise, Mprotect, Munmap, Mremap, ShmDt)
PLACE_CALLS = RANGE_OPS + (Mlock, Munlock, Msync, Read, Write)   # calls that act on mapped pages
DATA_CALLS = (Ftruncate, Seal, Pwrite, Fallocate)   # calls on a descriptor that change its object


def after(outcomes: list) -> list:
    """The states ``outcomes`` (``Walk.outcomes``) lead to, each once, in order."""
    return list(dict.fromkeys(s2 for _, s2, _ in outcomes))


def names(st: Step) -> list:
    """The handles (mappings, segments, descriptors) and pages ``st`` names, and what it binds."""
    out = [st.bind] if st.bind else []
    for f in fields(st.op):
        value = getattr(st.op, f.name)
        if isinstance(value, Place):
            out += [value.mapping, (value.mapping, value.page)]
        elif f.name in ("fd", "segment") and value:
            out.append(value)
    return out


def covered(st: Step) -> list:
    """What a range operation (or a truncate, seal or pwrite of a descriptor) acts on: the
    (mapping, page) pairs of its range, or its descriptor; nothing for other steps."""
    op = st.op
    if isinstance(op, RANGE_OPS):
        return range_pages(op)
    if isinstance(op, DATA_CALLS):
        return [op.fd]
    return []


def range_pages(op) -> list:
    """The (mapping, page) pairs from a call's ``at`` over its ``length`` (or ``old_length``;
    one page when it has neither)."""
    length = getattr(op, "length", None) or getattr(op, "old_length", 0) or PAGE_SIZE
    pages = -(-(op.at.offset + length) // PAGE_SIZE)
    return [(op.at.mapping, op.at.page + i) for i in range(pages)]
