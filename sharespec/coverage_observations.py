"""Observed witnesses: a coverage witness (the shortest program that hits a cell, coverage.py)
made into a test of the effect it has, not only of the result the step returns.

A step that hits a cell can still go wrong unseen: ``munmap(M0, 4097)`` returns 0 whether it
unmapped one page or two, ``madvise(dontneed)`` of a page nobody wrote leaves zeros either way,
and a ``madvise(dontfork)`` kept or dropped by a later ``mprotect`` only shows in a fork child.
So ``observed_program`` wraps the witness's last step (the one that hits the cell):

- before it, a *fill*: the acting thread writes a distinct nonzero byte to every page of every
  mapping where the model says the write succeeds, and pwrites one to every page of every
  object it has a descriptor of, so that dropped, zeroed, copied, stale or misplaced (an
  ignored offset) contents differ from the right ones (skipped when it would change the kind of result of the
  last step, which would leave the cell unhit);
- after it, *probes*, each judged by the model like any step (and, where guard markers
  hide pages, a fork child that lifts them and reads what is under them, R49):
  - in every live process: a read of byte 0 of every page of every mapping handle, up to the
    page after its end (R05, R31-R33: what is mapped, and with what contents), a pread at
    offset 0 and at the end of every descriptor handle the program opened (R29: descriptors
    closed at exec; R03, R07: the object's size), and an IPC_STAT of every segment handle
    (R17, R28: nattch and SHM_DEST);
  - every probe the model expects to fault (a read of an unmapped or PROT_NONE page, a write
    to a page that is not writable) in a fork child of its own, since a fault ends the process
    and everything after it would be unobserved (R32, R33);
  - inheritance: a fork child of the acting thread reads every page, writes a byte to those
    it may, and forks a grandchild that reads them all again (R09-R11, R40, R41: DONTFORK and
    WIPEONFORK settings that must survive mprotect, mremap and a second fork); then the parent
    reads its pages again (R11: the child's writes to private pages stay the child's).

Nothing here knows any particular bug: the probes are the same for every program, and the
model says what each must see.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Optional, Sequence

from sharespec.generators.observation_tail import (ENOMEM, guarded_places, lift_guard, mapped_probe,
                                                  mapped_slots, stat_command)
from sharespec.model.case import CaseError
from sharespec.model.ops import (PAGE_SIZE, Fork, Ftruncate, Maps, Place, Pread, Pwrite, Read, ShmCtl,
                                 ShmGet, Step, Write)
from sharespec.model.oracle import StateExplosion, outcomes
from sharespec.model.profiles import get_profile
from sharespec.model.results import Fault, Ok
from sharespec.model.semantics import NotApplicable
from sharespec.model.state import SLOT_PAGES, initial
from sharespec.model.validate import validate_program

MAX_PAGES = 4          # pages probed per mapping handle (a mapping of the coverage scopes has
#                        at most 3; the one after its end is the fourth)
MAX_FAULT_PROBES = 8   # faulting probes, each in a fork child of its own
# tried after every whole program: the calls that end or copy a process, and those that change
# what a program mapped or wrote (their effect depends on all it made: a DONTFORK range
# mprotect or mremap must keep, R40; the bytes a shrinking ftruncate cuts, R03; a key, a
# segment or a name after IPC_RMID or shm_unlink, R17-R19, R46; SHM_RND over a mapping, R26)
PROCESS_FAMILIES = ("exec", "exit", "fork", "thread_exit")
AFTER_FAMILIES = PROCESS_FAMILIES + ("munmap", "mprotect", "madvise", "mremap", "ftruncate",
                                     "shmget", "shmat", "shmdt", "shmctl", "shm_unlink")
MAX_STATES = 64        # states followed per step (as coverage.case_cells does)


class _Run:
    """The model's states along a growing program (the first MAX_STATES of them)."""

    def __init__(self, profile):
        self.profile = get_profile(profile)
        self.states = [initial()]
        self.steps: list = []
        self.threads = {"T0"}

    def results(self, st: Step) -> Optional[dict]:
        """result -> next states, or None when the model cannot take the step."""
        out: dict = {}
        try:
            for s in self.states:
                for nxt, res in outcomes(s, st, self.profile):
                    out.setdefault(res, []).append(nxt)
        except (NotApplicable, StateExplosion, KeyError, ValueError):
            return None
        return out

    def take(self, st: Step, by: Optional[dict] = None) -> bool:
        by = self.results(st) if by is None else by
        if by is None:
            return False
        self.states = list(dict.fromkeys(s for ss in by.values() for s in ss))[:MAX_STATES]
        self.steps.append(st)
        if st.bind is not None and st.op.BINDS == "thread":
            self.threads.add(st.bind)
        return True

    def take_if_ok(self, st: Step) -> bool:
        """Take ``st`` if the model says it succeeds in every state (a fill, a regrowth)."""
        by = self.results(st)
        return by is not None and set(by) == {Ok()} and self.take(st, by)

    def take_unless_faulting(self, st: Step) -> bool:
        """Take ``st`` if the model can and it faults in no state (a fault would end the
        process, and everything after it would be unobserved)."""
        by = self.results(st)
        return by is not None and not _faults(by) and self.take(st, by)

    def new_thread(self) -> str:
        used = [int(t[1:]) for t in self.threads if re.fullmatch(r"T\d+", t)]
        return f"T{max(used, default=0) + 1}"

    # --- what the state holds ----------------------------------------------------------

    @property
    def state(self):
        return self.states[0]

    def alive(self, thread: str) -> bool:
        t = self.state.threads.get(thread)
        return t is not None and t.alive

    def live_processes(self) -> list:
        """One live thread per live process (the first by name), in the order of their pid."""
        first: dict = {}
        for name in sorted(self.state.threads, key=_thread_order):
            t = self.state.threads[name]
            if t.alive and t.process not in first:
                first[t.process] = name
        return [first[p] for p in sorted(first)]

    def pages(self, m: str) -> int:
        """Pages of mapping handle ``m`` to probe: the furthest any process maps in its slot,
        and the page after it."""
        base = self.state.mapping_handles.get(m)
        if base is None or base < 0:
            return 0
        ends = [v.end - base for p in self.state.processes for v in p.vmas
                if base <= v.start < base + SLOT_PAGES]
        return min(MAX_PAGES, max(ends, default=1) + 1)


def _thread_order(name: str):
    return (0, int(name[1:])) if re.fullmatch(r"T\d+", name) else (1, name)


def _handles(steps: Sequence[Step], kind: str) -> list:
    return list(dict.fromkeys(st.bind for st in steps
                              if st.bind is not None and st.op.BINDS == kind))


def _kinds(results) -> set:
    return {type(r).__name__ if not isinstance(r, Fault) else str(r) for r in results}


def _faults(by: dict) -> bool:
    return any(isinstance(r, Fault) for r in by)


def observed_program(program: Sequence[Step], profile="linux") -> tuple:
    """``program`` with a fill before its last step and probes after it (see the module's
    doc); ``program`` itself when the model cannot judge the result."""
    program = tuple(program)
    if not program:
        return program
    run = _Run(profile)
    for st in program[:-1]:
        if not run.take(st):
            return program
    last = program[-1]
    plain = run.results(last)
    if plain is None:
        return program
    _fill(run, last, _kinds(plain))
    shrunk = _shrunk_from(run, last)
    if not run.take(last):
        return program
    _probe(run, program, last.thread)
    if shrunk:
        _regrow(run, last, shrunk)
    steps = tuple(run.steps)
    try:
        validate_program(steps)
    except CaseError:
        return program
    return steps


def _fill(run: _Run, last: Step, kinds: set) -> None:
    """Writes of a distinct byte to every page the acting thread may write, unless they change
    the kind of result of ``last``."""
    if not run.alive(last.thread):
        return
    saved = (list(run.states), list(run.steps), set(run.threads))
    for i, m in enumerate(sorted(run.state.mapping_handles)):
        for page in range(run.pages(m)):
            run.take_if_ok(Step(last.thread, Write(Place(m, page), 0x21 + 0x10 * i + page)))
    proc = run.state.processes[run.state.threads[last.thread].process]
    for j, fd in enumerate(sorted(proc.fds)):    # the object's pages, through its descriptor
        size = run.state.objects[proc.fds[fd].obj].size
        for page in range(min(MAX_PAGES, -(-size // PAGE_SIZE))):
            run.take_if_ok(Step(last.thread, Pwrite(fd, page * PAGE_SIZE, 0x81 + 0x10 * j + page)))
    after = run.results(last)
    if after is None or _kinds(after) != kinds:
        run.states, run.steps, run.threads = saved


def _shrunk_from(run: _Run, last: Step) -> int:
    """The object's size before ``last``, when ``last`` is an ftruncate that shrinks it."""
    if not isinstance(last.op, Ftruncate) or not run.alive(last.thread):
        return 0
    found = run.state.processes[run.state.threads[last.thread].process].fds.get(last.op.fd)
    size = run.state.objects[found.obj].size if found is not None else 0
    return size if last.op.length < size else 0


def _regrow(run: _Run, last: Step, size: int) -> None:
    """What a shrink cut shows only when the object grows again: it must read as zeros
    (R03, R08). The acting thread grows the object back to ``size`` and preads every page,
    then reads its mappings again."""
    if not run.alive(last.thread):
        return
    if not run.take_if_ok(Step(last.thread, Ftruncate(last.op.fd, size))):
        return
    probes = [Step(last.thread, Pread(last.op.fd, page * PAGE_SIZE))
              for page in range(min(MAX_PAGES, -(-size // PAGE_SIZE)))]
    for st in probes + _reads(run, last.thread):
        run.take_unless_faulting(st)


def _reads(run: _Run, thread: str) -> list:
    """A read by ``thread`` of byte 0 of every page of every mapping handle."""
    return [Step(thread, Read(Place(m, page)))
            for m in sorted(run.state.mapping_handles) for page in range(run.pages(m))]


def _observations(run: _Run, thread: str, program: Sequence[Step]) -> list:
    """The probes of one process, as steps of ``thread``: reads, preads and IPC_STATs of the
    descriptors and segments ``program`` binds."""
    out = _reads(run, thread)
    proc = run.state.processes[run.state.threads[thread].process]
    for fd in _handles(program, "fd"):
        out.append(Step(thread, Pread(fd, 0)))
        found = proc.fds.get(fd)
        size = run.state.objects[found.obj].size if found is not None else 0
        if size:
            out.append(Step(thread, Pread(fd, size)))
    for seg in _handles(program, "segment"):
        out.append(Step(thread, ShmCtl(seg, stat_command(run.profile))))
    if run.profile.linux_interfaces:   # the records: a split or merge (R30, R48)
        out += [Step(thread, Maps(m)) for m in mapped_slots(run.state)]
    return out


def _write_probes(run: _Run, thread: str) -> list:
    """A write to every page of every mapping handle (whose faults are probes too)."""
    return [Step(thread, Write(Place(m, page), 0x61 + page))
            for m in sorted(run.state.mapping_handles) for page in range(run.pages(m))]


def _probe(run: _Run, program: Sequence[Step], actor: str) -> None:
    faulting: list = []
    actor_faults: set = set()      # a probe faulting in the actor needs no second process
    order = run.live_processes()
    if actor in order:
        order.remove(actor)
        order.insert(0, actor)
    for thread in order:
        for st in _observations(run, thread, program):
            by = run.results(st)
            if by is None:
                continue
            if _faults(by) and _probe_mapped(run, st):
                continue
            if _faults(by):
                if thread == actor or st.op not in actor_faults:
                    faulting.append(st)
                if thread == actor:
                    actor_faults.add(st.op)
            else:
                run.take(st, by)
        unreadable = {st.op.at for st in faulting if isinstance(st.op, Read)}
        for st in _write_probes(run, thread):
            by = run.results(st) if st.op.at not in unreadable else None
            if by is not None and _faults(by):
                faulting.append(st)
    for st in faulting[:MAX_FAULT_PROBES]:
        if not run.alive(st.thread):
            continue
        child = run.new_thread()
        if run.take(Step(st.thread, Fork(), child)):
            run.take(Step(child, st.op))
    if run.alive(actor):
        _under_guards(run, actor)
        _inherit(run, actor, {st.op for st in faulting if st.thread == actor})


def _probe_mapped(run: _Run, read: Step) -> bool:
    """Instead of a faulting ``read`` of a page unmapped in every state, its thread's
    ``mapped_probe`` (an mprotect that must fail with ENOMEM, no fault). True if taken."""
    if not isinstance(read.op, Read):
        return False
    probe = mapped_probe(read.thread, read.op.at)
    by = run.results(probe)
    return by is not None and set(by) == {ENOMEM} and run.take(probe, by)


def _under_guards(run: _Run, actor: str) -> None:
    """A fork child of ``actor`` lifts the guard markers (R49) over the pages it reads and
    reads them: what MADV_GUARD_INSTALL kept or threw away shows only once they are gone."""
    places = [st.op.at for st in _reads(run, actor)]
    guarded = guarded_places(run.state, actor, places)
    child = run.new_thread()
    if not guarded or not run.take(Step(actor, Fork(), child)):
        return
    for place in guarded:
        if run.take_if_ok(lift_guard(child, place)):
            run.take_unless_faulting(Step(child, Read(place)))


def _inherit(run: _Run, parent: str, parent_faults: set) -> None:
    """A fork child reads, writes, and forks a grandchild that reads. The child's reads the
    model expects to fault where the parent's did not (a DONTFORK range) are made each in a
    fork child of the parent of its own, after the rest."""
    child = run.new_thread()
    if not run.take(Step(parent, Fork(), child)):
        return
    late: list = []
    for st in _reads(run, child):
        by = run.results(st)
        if by is None:
            continue
        if _faults(by) and _probe_mapped(run, st):
            continue
        if _faults(by):
            if st.op not in parent_faults:
                late.append(st.op)
        else:
            run.take(st, by)
    for i, m in enumerate(sorted(run.state.mapping_handles)):
        for page in range(run.pages(m)):
            run.take_unless_faulting(Step(child, Write(Place(m, page), 0x41 + 0x10 * i + page)))
    grandchild = run.new_thread()
    if run.take(Step(child, Fork(), grandchild)):
        for st in _reads(run, grandchild):
            run.take_unless_faulting(st)
    # the parent again: what the child wrote to private pages must not show here (R11)
    for st in _reads(run, parent):
        run.take_unless_faulting(st)
    for op in late[:MAX_FAULT_PROBES // 2]:
        if not run.alive(parent):
            break
        probe = run.new_thread()
        if run.take(Step(parent, Fork(), probe)):
            run.take(Step(probe, op))


# --- widening: the argument classes a generator cannot express --------------------------

def widened_programs(programs: Sequence[tuple], profile="linux", scope=None) -> list:
    """Programs that hit the coverage cells (coverage.py) ``programs`` miss, each made of the
    prefix of one of them (all steps but the last) and an action of the action menu
    (model/actions.py) of the same family as its last step, by the same thread.

    A generator whose language is a part of the case language (the z3 encoding: whole-page
    lengths, byte 0, no placement) reaches states the menu's other argument classes can start
    from: an unaligned length, an offset into the object, a fixed place, SHM_RND. Greedy, in
    the order of ``programs``: an action is taken when it hits a cell nothing before hit."""
    from sharespec.coverage import step_cells
    from sharespec.model.actions import actions, classify
    from sharespec.model.scope import DEFAULT, FAMILIES
    scope = scope or DEFAULT
    prof = get_profile(profile)
    hit: set = set()
    prefixes: list = []
    ends: list = []
    for program in programs:
        run = _Run(prof)
        for st in program:
            before = run.state
            by = run.results(st)
            if by is None:
                break
            hit |= step_cells(before, st, by)
            if st is program[-1]:
                prefixes.append((tuple(run.steps), before, st))
            run.take(st, by)
        else:
            ends.append((tuple(run.steps), run.state))
    out: list = []
    seen: set = set()
    # families no program ends with (outside the generator's language) are tried everywhere
    ending = {classify(state, last).family for _, state, last in prefixes}
    absent = [f for f in (scope.families or FAMILIES) if f not in ending]
    # the calls that end or copy a process, after each whole program: what they must drop
    # or pass on is all the program made (R28, R29, R40, R41)
    points = [(prefix, state, [last.thread], [classify(state, last).family] + absent)
              for prefix, state, last in prefixes]
    # first, the calls the key changes after a removal (R17, R18), after each program that
    # removes an IPC_PRIVATE segment, made with the key K1 instead
    points = [(keyed, state, [keyed[-1].thread], ["shmget", "shmctl"])
              for keyed, state in map(lambda p: _end_state(p, prof),
                                      filter(None, (_rekeyed(p, prof) for p in programs)))
              if state is not None] + points
    # (the last thread first: a child that exits leaves its parent to observe what it dropped)
    points += [(program, state, sorted((t for t, th in state.threads.items() if th.alive),
                                       key=_thread_order, reverse=True), list(AFTER_FAMILIES))
               for program, state in ends]
    for prefix, state, actors, families in points:
        try:
            menu = actions(state, scope, actors=actors, linux=prof.linux_interfaces,
                           families=families)
        except (KeyError, ValueError, IndexError):
            continue
        for action in menu:
            program = prefix + (action.step,)
            if program in seen or not _observable(state, action):
                continue
            try:
                by: dict = {}
                for nxt, res in outcomes(state, action.step, prof):
                    by.setdefault(res, []).append(nxt)
                validate_program(program)
            except (NotApplicable, StateExplosion, CaseError, KeyError, ValueError):
                continue
            cells = step_cells(state, action.step, by)
            if cells - hit:
                hit |= cells
                seen.add(program)
                out.append(program)
    return out


def _end_state(program: tuple, profile) -> tuple:
    """``program`` and the model's (first) state after it, None when it cannot take a step."""
    run = _Run(profile)
    return program, (run.state if all(run.take(st) for st in program) else None)


def _rekeyed(program: tuple, profile) -> Optional[tuple]:
    """``program`` with its IPC_PRIVATE segments made with the key K1, when it removes a segment
    (IPC_RMID) and the model gives every step the same kind of result: IPC_RMID frees the key
    at once (R18) and IPC_STAT then reports IPC_PRIVATE (R17), which only a segment made with
    a key shows. (The cells cannot tell: after IPC_RMID the model's segment has no key.)"""
    if not any(isinstance(st.op, ShmCtl) and st.op.cmd == "rmid" for st in program):
        return None
    if [isinstance(st.op, ShmGet) and st.op.key for st in program
            if isinstance(st.op, ShmGet)] != ["private"]:
        return None      # one segment only: a second shmget of K1 would find the first
    keyed = tuple(replace(st, op=replace(st.op, key="K1", creat=True))
                  if isinstance(st.op, ShmGet) and st.op.key == "private" else st
                  for st in program)
    plain, other = _Run(profile), _Run(profile)
    for a, b in zip(program, keyed):
        ra, rb = plain.results(a), other.results(b)
        if ra is None or rb is None or _kinds(ra) != _kinds(rb):
            return None
        plain.take(a, ra)
        other.take(b, rb)
    try:
        validate_program(keyed)
    except CaseError:
        return None
    return keyed


def _observable(state, action) -> bool:
    """An exit is seen only by a process that outlives it, a thread_exit by another thread
    (nattch, a removed segment's end, R28; a process's end, R15)."""
    if action.family not in ("exit", "thread_exit"):
        return True
    actor = state.threads[action.step.thread]
    others = [t for name, t in state.threads.items() if t.alive and name != action.step.thread]
    if action.family == "exit":
        return any(t.process != actor.process for t in others)
    return bool(others)
