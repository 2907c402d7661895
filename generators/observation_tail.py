"""An observation tail for generated programs: steps appended at the end that look at everything
the program touched, so that a wrong effect anywhere in it shows in a result.

    from sharespec.generators.observation_tail import observed
    program = observed(program, "linux")     # the same steps, then the observations

A generated program rarely reads what its effects changed: an munmap of 4097 bytes that leaves
the second page mapped, a MADV_DONTFORK that a fork ignores, a nattch that counts wrong, all
pass unless a later step happens to look there. Random walks, Hypothesis and the exhaustive
enumeration therefore end every case with the tail, which changes nothing the program did (it
only reads, and forks probe children): the model says what each observation must give.

What the tail observes, from the states the model allows after the program, in this order:

1. every live thread reads every place the program wrote; the first live thread of each
   process then reads offset 0 of every page of every bound mapping, up to the page past its
   end (a hole), and every other place the program read; a page unmapped in every state is
   probed by an mprotect that must fail with ENOMEM instead (``mapped_probe``: no fault, and
   in a fork child it tells an unmapped page from a kept one, MADV_DONTFORK or PROT_NONE);
2. under linux, each process reads its records (maps) over every slot a handle names: a
   split or merge (R30, the hints of R48) shows whatever the bytes;
   every descriptor the program opened is pread in each process: at 0, at every offset the
   program wrote, at the last byte and at the end of its object if the process holds it, at 0
   if not (closed, or gone at exec: EBADF); every segment handle gets an IPC_STAT; every
   descriptor still held gets an fstat, an F_GET_SEALS and a pwrite of the byte it already
   holds at offset 0 (does the descriptor write: its access mode, a dup's, the seals);
   if the first process has a SysV attach, a fork child exits and another's only thread
   ends, each followed by IPC_STAT of every segment (the child's attaches must go, R28),
   and a third that detaches them with shmdt and then makes the IPC_STATs (the last
   detacher);
   a fork child becomes the other user and asks for every segment's IPC_STAT and a
   read-only attach of it (then detaches), and opens every file and POSIX shm object the
   program named, read-only and read-write (C07);
3. a fork probe: each process forks a child, which reads the same places (what a child
   inherits: MADV_DONTFORK, MADV_WIPEONFORK, SysV attaches, copies), writes every place it
   can and forks a grandchild that reads them (what the child passes on: the settings it
   inherited, R41), after which the parent reads them again (what is shared, what is copied);
   the first process's child first asks IPC_STAT of every segment (a pid field that names
   the caller, not the creator, shows only when someone else asks);
4. under the guards: each process with guard markers (MADV_GUARD_INSTALL, R49) on pages it
   reads forks a child that removes them (MADV_GUARD_REMOVE) and reads those pages: what an
   install kept or threw away shows only once the markers are gone, and the parent keeps its
   markers for the faulting observations;
5. a removal: IPC_RMID of each segment the first process has attached (and has not removed),
   then its IPC_STAT, a read through the attach, a shmat of it again and a shmget of its key
   (R17, R18, R19): a program seldom removes a segment it has attached, and what a removal
   does shows only after one; last but for the faulting ones, since it changes the segment;
6. the observations that fault, last: a fault kills its process (R28), so each process gets
   one, and every further one runs in a fork child of its own. A write to each page that the
   model says is readable but not writable is such an observation (a protection kept).

An observation whose result differs between the states the model allows is as good as any
(the oracle allows each); one that faults in some states and not in others is kept for the
end with the faulting ones. The tail stops at ``limit`` steps, the last ``RESERVED`` of them
kept for the faulting observations; the other user's read-only attaches come on top, so that
they push nothing else out.
"""
from __future__ import annotations

from typing import Iterable, Optional

from sharespec.model.actions import extent
from sharespec.model.descriptors import held_fd
from sharespec.model.ops import (PAGE_SIZE, Dup, Exit, Fork, Fstat, Madvise, Maps, Mprotect, Open,
                                 Place, Pread, Pwrite, Read, Reopen, Seals, SetUid, ShmAt, ShmCtl,
                                 ShmDt, ShmGet, Step, ThreadExit, Write)
from sharespec.model.results import Errno
from sharespec.model.profiles import get_profile
from sharespec.model.results import Fault, Value
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import SLOT_PAGES, initial

from .frame_observations import live_everywhere

# Steps the tail adds at most: enough for 3 processes x 3 mappings of 2 pages and a hole each,
# their descriptors and segments, a fork probe each, and the faulting observations.
LIMIT = 48
RESERVED = 12     # of them for the faulting observations, which come last
REMOVAL = 5       # and before them for the removal of one attached segment (5.)
PROBE_VALUE = 3   # what a protection probe writes (outside the scopes' usual values 1 and 2)
ENOMEM = Errno("ENOMEM")


def stat_command(profile) -> str:
    """The IPC_STAT a probe makes: with SHM_LOCKED, the creator and the last attacher where
    the profile has Linux's shmctl (model/shmctl_commands.py), else the four POSIX fields."""
    return "stat_full" if profile.linux_interfaces else "stat"


def states_after(program: Iterable[Step], profile) -> list:
    """Every state the profile allows after ``program``, in a fixed order."""
    states = [initial()]
    for st in program:
        states = list(dict.fromkeys(s2 for s in states for s2, _ in step(s, st, profile)))
    return states


class _Tail:
    """The tail built so far, with the states it may leave."""

    def __init__(self, states: list, profile, limit: int):
        self.states, self.profile, self.limit = states, profile, limit
        self.steps: list = []
        self.own_room = 0    # steps added beyond every limit (``grant``)

    def grant(self, steps: int) -> None:
        """Room for ``steps`` more that no later part pays for (the limit rises by as much,
        and the final one too)."""
        self.limit += steps
        self.own_room += steps

    def full(self) -> bool:
        return len(self.steps) >= self.limit

    def outcomes(self, st: Step) -> Optional[list]:
        try:
            return [(s2, r) for s in self.states for s2, r in step(s, st, self.profile)]
        except NotApplicable:
            return None

    def faults(self, st: Step) -> Optional[bool]:
        """True if ``st`` may fault, False if it never does, None if it cannot be taken."""
        found = self.outcomes(st)
        if found is None:
            return None
        return any(isinstance(r, Fault) for _, r in found)

    def add(self, st: Step, found: Optional[list] = None) -> bool:
        """Append ``st`` unless the tail is full or the profile does not cover it; ``found``:
        its outcomes, when the caller has them already."""
        if self.full():
            return False
        found = self.outcomes(st) if found is None else found
        if found is None:
            return False
        self.states = list(dict.fromkeys(s2 for s2, _ in found))
        self.steps.append(st)
        return True

    def fresh_thread(self) -> str:
        """The handle the next fork's child gets (threads are named in creation order)."""
        return f"T{len(self.states[0].threads)}"

    def live(self) -> list:
        """Thread handles alive in every state, in the order they were created."""
        return live_everywhere(self.states)

    def representatives(self) -> list:
        """The first live thread of each process."""
        seen, out = set(), []
        for h in self.live():
            pid = self.states[0].threads[h].process
            if pid not in seen:
                seen.add(pid)
                out.append(h)
        return out


def _written(program) -> list:
    """The places the program wrote, in order of first write (each once)."""
    return list(dict.fromkeys(st.op.at for st in program if isinstance(st.op, Write)))


def _places(program, tail: _Tail, actor: str) -> list:
    """The places ``actor`` reads: the written ones, offset 0 of every page of every bound
    mapping up to the page past its end, and the places the program read."""
    state = tail.states[0]
    out = list(_written(program))
    for m in state.mapping_handles:
        # (a handle bound at an absolute address, below every slot, is never read)
        if all(s.slot_base(m) is not None for s in tail.states):
            n = max(extent(s, s.processes[s.threads[actor].process], m) for s in tail.states)
            out += [Place(m, p) for p in range(min(n + 1, SLOT_PAGES))]
    out += [st.op.at for st in program if isinstance(st.op, Read)]
    return list(dict.fromkeys(out))


def mapped_probe(thread: str, place: Place) -> Step:
    """A probe of whether the page of ``place`` is mapped at all that does not fault: mprotect
    of an unmapped page fails with ENOMEM and changes nothing (R32, POSIX mprotect). A read of
    it would end the process, and in a fork child it cannot tell an unmapped page from a
    MADV_DONTFORK one or a PROT_NONE one."""
    return Step(thread, Mprotect(Place(place.mapping, place.page), PAGE_SIZE, "r"))


def _unmapped(tail: _Tail, probe: Step) -> bool:
    found = tail.outcomes(probe)
    return bool(found) and all(r == ENOMEM for _, r in found)


def _read_all(program, tail: _Tail, actor: str, places: list, faulting: list) -> list:
    """``actor`` reads every place that never faults, and probes with ``mapped_probe`` the
    pages that are unmapped in every state; the other places go to ``faulting``. The places
    read."""
    read = []
    for place in places:
        st = Step(actor, Read(place))
        faults = tail.faults(st)
        if faults is None:
            continue
        if faults and _unmapped(tail, mapped_probe(actor, place)):
            if not tail.add(mapped_probe(actor, place)):
                return read
        elif faults:
            faulting.append(st)
        elif not tail.add(st):
            return read
        else:
            read.append(place)
    # protection probes: each readable page that a write would fault at
    for place in places:
        probe = Step(actor, Write(place, PROBE_VALUE))
        if tail.faults(Step(actor, Read(place))) is False and tail.faults(probe):
            faulting.append(probe)
    return read


def _objects(program, tail: _Tail) -> None:
    """pread of every descriptor of each process at its interesting offsets; IPC_STAT of
    every segment handle; then what each descriptor says of its object and of its own access:
    fstat, the seals, and a write-back of the byte at offset 0 (``_write_back``)."""
    written = {}
    for st in program:
        if isinstance(st.op, Pwrite):
            written.setdefault(st.op.fd, []).append(st.op.offset)
    opened = descriptor_handles(program)
    for actor in tail.representatives():
        state = tail.states[0]
        proc = state.processes[state.threads[actor].process]
        for fd in opened:
            held = proc.fds.get(fd)
            if held is None:   # closed, or gone at exec: pread must say EBADF
                tail.add(Step(actor, Pread(fd, 0)))
                continue
            size = state.objects[held.obj].size
            offsets = [0, *written.get(fd, ()), size - 1, size]
            for off in dict.fromkeys(o for o in offsets if o >= 0):
                tail.add(Step(actor, Pread(fd, off)))
    reps = tail.representatives()
    if reps:
        for seg in tail.states[0].segment_handles:
            tail.add(Step(reps[0], ShmCtl(seg, stat_command(tail.profile))))
    for actor in reps:
        for fd in opened:
            if held_everywhere(tail, actor, fd):
                tail.add(Step(actor, Fstat(fd)))
                tail.add(Step(actor, Seals(fd)))
                _write_back(tail, actor, fd)


def descriptor_handles(program) -> list:
    """The descriptor handles the program binds (open, dup, reopen), in order."""
    return [st.bind for st in program if isinstance(st.op, (Open, Dup, Reopen)) and st.bind]


def held_everywhere(tail: _Tail, actor: str, fd: str) -> bool:
    """``actor``'s process holds ``fd`` in every state the tail may be in."""
    return all(held_fd(s, s.threads[actor].process, fd) is not None for s in tail.states)


def _write_back(tail: _Tail, actor: str, fd: str) -> None:
    """pwrite through ``fd`` of the byte its object holds at offset 0, when every state agrees
    on that byte: the contents stay as they were, and the result shows whether the descriptor
    may write (its access mode, a dup's or a reopen's, R47's seals)."""
    found = tail.outcomes(Step(actor, Pread(fd, 0)))
    if not found:
        return
    values = {r.byte if isinstance(r, Value) else None for _, r in found}
    if len(values) == 1 and None not in values:
        tail.add(Step(actor, Pwrite(fd, 0, values.pop())))


def mapped_slots(state) -> list:
    """One mapping handle per slot that some handle names (the first), for a maps probe."""
    slots = {}
    for m in state.mapping_handles:
        base = state.slot_base(m)
        if base is not None:
            slots.setdefault(base // SLOT_PAGES, m)
    return list(slots.values())


def _maps(tail: _Tail) -> None:
    """Under a profile with /proc, each process reads its records over every slot (maps): a
    split or a merge a call made or missed shows there, whatever the bytes (R30, R48)."""
    if not tail.profile.linux_interfaces:
        return
    handles = [m for m in mapped_slots(tail.states[0])
               if all(s.slot_base(m) is not None for s in tail.states)]
    for actor in tail.representatives():
        for m in handles:
            tail.add(Step(actor, Maps(m)))


def _exit_probes(tail: _Tail) -> None:
    """If the first process has a SysV attach: a fork child that exits, and one whose only
    thread ends, each followed by IPC_STAT of every segment (both must drop the child's
    attaches, R28); then a fork child that detaches them (shmdt) and makes the IPC_STATs."""
    reps = tail.representatives()
    if not reps or not tail.states[0].segment_handles:
        return
    actor = reps[0]
    state = tail.states[0]
    if not any(v.segment is not None
               for v in state.processes[state.threads[actor].process].vmas):
        return
    for ending in (Exit(), ThreadExit()):
        child = tail.fresh_thread()
        if tail.add(Step(actor, Fork(), child)) and tail.add(Step(child, ending)):
            for seg in tail.states[0].segment_handles:
                tail.add(Step(actor, ShmCtl(seg, stat_command(tail.profile))))
    # and one that detaches them itself: shmdt, not an exit, sets the last detacher (lpid)
    attaches = attach_handles(tail.states[0], actor)
    child = tail.fresh_thread()
    if attaches and tail.add(Step(actor, Fork(), child)):
        for m in attaches:
            tail.add(Step(child, ShmDt(Place(m, 0))))
        for seg in tail.states[0].segment_handles:
            tail.add(Step(child, ShmCtl(seg, stat_command(tail.profile))))


def _removal(tail: _Tail) -> None:
    """What IPC_RMID does to a segment still attached, asked of each segment the first
    process has attached, live and not yet removed in every state: IPC_RMID, then its
    IPC_STAT (SHM_DEST, the key made private, the id still found while attached: R17), a
    read through the attach (the memory lives on until the last detach), a shmat of it again
    (Linux lets a removed segment be attached while attached: R19) and, for a keyed segment,
    a shmget of its key without IPC_CREAT (a removed segment's key finds nothing: R18).

    A generated program seldom removes a segment it has attached (IPC_RMID is one of
    shmctl's nineteen commands, and it needs a shmat before it): in a corpus of a thousand
    random programs, one did. So the tail makes the removal itself, after every observation
    but the faulting ones, since it changes the segment for good."""
    reps = tail.representatives()
    if not reps or tail.full():
        return
    actor = reps[0]
    attaches = [attached_segments(s, actor) for s in tail.states]
    for seg in tail.states[0].segment_handles:
        sids = [s.live_segment(seg) for s in tail.states]
        if None in sids or any(s.segments[i].removed for s, i in zip(tail.states, sids)):
            continue
        attached = [m for m in attaches[0]
                    if all(a.get(m) == i for a, i in zip(attaches, sids))]
        keys = {s.segments[i].key for s, i in zip(tail.states, sids)}
        if not attached or not tail.add(Step(actor, ShmCtl(seg, "rmid"))):
            continue
        tail.add(Step(actor, ShmCtl(seg, stat_command(tail.profile))))
        if tail.faults(Step(actor, Read(Place(attached[0], 0)))) is False:
            tail.add(Step(actor, Read(Place(attached[0], 0))))
        tail.add(Step(actor, ShmAt(seg), f"M{len(tail.states[0].mapping_handles)}"))
        if len(keys) == 1 and None not in keys:
            tail.add(Step(actor, ShmGet(keys.pop(), PAGE_SIZE),
                          f"S{len(tail.states[0].segment_handles)}"))


def _stat_by_another(tail: _Tail, child: str) -> None:
    """The first process's fork child asks IPC_STAT of every segment: the tail's other
    IPC_STATs are made by the first process, mostly the creator, so a shm_cpid or shm_lpid
    that names the caller instead of the creator or the last attacher (R28) would look right
    there."""
    for seg in tail.states[0].segment_handles:
        tail.add(Step(child, ShmCtl(seg, stat_command(tail.profile))))


def attached_segments(state, thread: str) -> dict:
    """mapping handle -> segment, for the handles whose first page starts a SysV attach in
    ``thread``'s process; not one bound at an absolute place (@brk, @zero: a negative page),
    which no later step may name (validate)."""
    proc = state.processes[state.threads[thread].process]
    segment_at = {v.start: v.segment for v in proc.vmas if v.segment is not None}
    return {m: segment_at[state.slot_base(m)] for m in state.mapping_handles
            if state.slot_base(m) in segment_at}


def attach_handles(state, thread: str) -> list:
    """The mapping handles of ``attached_segments``, in the order they were bound."""
    return list(attached_segments(state, thread))


def _as_other(program, tail: _Tail) -> None:
    """A fork child of the first process becomes the other user (setuid(other), C07) and asks
    for what the modes let it have: IPC_STAT and a read-only attach (then detach) of every
    segment (read permission), an open of
    every file and POSIX shm object the program named, read-only then read-write, and a
    read-only reopen of every descriptor it inherited. A mode, an owner or an IPC_SET that was
    ignored shows there, and nothing of the parent changes."""
    reps = tail.representatives()
    names = list(dict.fromkeys((st.op.kind, st.op.name) for st in program
                               if isinstance(st.op, Open) and st.op.kind != "memfd"))
    segments = list(tail.states[0].segment_handles)
    if not reps or not (names or segments) or tail.full():
        return
    child = tail.fresh_thread()
    if not (tail.add(Step(reps[0], Fork(), child)) and tail.add(Step(child, SetUid("other")))):
        return
    for seg in segments:
        tail.add(Step(child, ShmCtl(seg, stat_command(tail.profile))))
        _attach_read_only(tail, child, seg)
    bound = sum(1 for st in (*program, *tail.steps) if st.bind and st.op.BINDS == "fd")
    for kind, name in names:
        for rdonly in (True, False):
            if tail.add(Step(child, Open(kind, name, rdonly=rdonly), f"F{bound}")):
                bound += 1
    # a descriptor it inherited stays usable, but a reopen of it is a new open (C07)
    for fd in descriptor_handles(program):
        if held_everywhere(tail, child, fd) and tail.add(Step(child, Reopen(fd, "rdonly"),
                                                              f"F{bound}")):
            bound += 1


def _attach_read_only(tail: _Tail, actor: str, seg: str) -> None:
    """shmat(SHM_RDONLY) of ``seg`` by the other user, which asks read permission only (C07:
    a segment of mode 0644 attaches, one of 0600 says EACCES), then shmdt of what it attached,
    so that no nattch after it counts the probe."""
    handle = f"M{len(tail.states[0].mapping_handles)}"
    attach = Step(actor, ShmAt(seg, rdonly=True), handle)
    found = tail.outcomes(attach)
    if not found or tail.full():
        return
    # room of its own: counted against the limit, these steps pushed the fork probe's reads
    # out of the tail (random, seed 1: 93 steps lost in 300 cases)
    detach = any(not isinstance(r, Errno) for _, r in found)   # attached in some state
    tail.grant(1 + detach)
    tail.add(attach, found)
    if detach:
        tail.add(Step(actor, ShmDt(Place(handle, 0))))


def guarded_places(state, thread: str, places: Iterable[Place]) -> list:
    """The places among ``places`` whose page carries a guard marker (R49) in ``thread``'s
    process: what only a MADV_GUARD_REMOVE lets a probe read."""
    proc = state.processes[state.threads[thread].process]
    out = []
    for place in places:
        base = state.slot_base(place.mapping)
        if base is not None and base + place.page in proc.guarded:
            out.append(place)
    return out


def lift_guard(thread: str, place: Place) -> Step:
    """``thread`` removes the guard marker of the page of ``place`` (R49)."""
    return Step(thread, Madvise(Place(place.mapping, place.page), PAGE_SIZE, "guard_remove"))


def _under_guards(program, tail: _Tail, actor: str, places: list) -> None:
    """A fork child of ``actor`` lifts the guard markers over the pages ``actor`` reads and
    reads them (4. in the module text)."""
    guarded = list(dict.fromkeys(p for s in tail.states for p in guarded_places(s, actor, places)))
    if not guarded or tail.full():
        return
    child = tail.fresh_thread()
    if not tail.add(Step(actor, Fork(), child)):
        return
    lifted = [place for place in guarded if tail.add(lift_guard(child, place))]
    _read_all(program, tail, child, lifted, [])


def _fault_last(tail: _Tail, actor: str, faulting: list) -> None:
    """Each faulting observation of ``actor``'s process: all but the last in a fork child of
    its own, the last by ``actor`` itself (a fault ends the process)."""
    faulting = list(dict.fromkeys(faulting))
    for st in faulting[:-1]:
        if tail.full():
            return
        child = tail.fresh_thread()
        if tail.add(Step(actor, Fork(), child)):
            tail.add(Step(child, st.op))
    if faulting:
        tail.add(Step(actor, faulting[-1].op))


def observation_tail(program, profile="linux", limit: int = LIMIT) -> tuple:
    """The observations to append to ``program`` (the module text says which)."""
    program = tuple(program)
    prof = get_profile(profile)
    try:
        states = states_after(program, prof)
    except NotApplicable:
        return ()
    # the faulting observations come last but matter most (an unmapping or a protection
    # ignored shows only there): the steps before them leave room for RESERVED of them
    tail = _Tail(states, prof, max(0, limit - RESERVED))
    if not tail.live():
        return ()
    reps = tail.representatives()
    removal_room = REMOVAL if attach_handles(tail.states[0], reps[0]) else 0
    tail.limit -= removal_room     # the removal (5.) of one segment fits however much comes first
    places = {actor: _places(program, tail, actor) for actor in reps}
    faulting: dict = {actor: [] for actor in reps}
    written = _written(program)
    for actor in tail.live():                      # 1. every thread: the written places
        if actor not in reps:
            _read_all(program, tail, actor, written, [])
    for actor in reps:                             # 1. each process: everything
        _read_all(program, tail, actor, places[actor], faulting[actor])
    _objects(program, tail)                        # 2.
    _maps(tail)                                    # 2.
    _exit_probes(tail)                             # 2.
    _as_other(program, tail)                       # 2.
    for actor in reps:                             # 3. the fork probe
        if tail.full():
            break
        child = tail.fresh_thread()
        if tail.add(Step(actor, Fork(), child)):
            if actor == reps[0]:
                _stat_by_another(tail, child)
            child_faulting: list = []
            read = _read_all(program, tail, child, places[actor], child_faulting)
            wrote = [place for place in read
                     if tail.faults(Step(child, Write(place, PROBE_VALUE))) is False
                     and tail.add(Step(child, Write(place, PROBE_VALUE)))]
            grandchild = tail.fresh_thread()
            if wrote and tail.add(Step(child, Fork(), grandchild)):   # what the child passes on
                _read_all(program, tail, grandchild, wrote, [])
            _fault_last(tail, child, child_faulting[:1])
            for place in wrote:                    # what the child's writes reached
                if tail.faults(Step(actor, Read(place))) is False:
                    tail.add(Step(actor, Read(place)))
    for actor in reps:                             # 4. under the guards
        _under_guards(program, tail, actor, places[actor])
    tail.limit += removal_room
    _removal(tail)                                 # 5.
    tail.limit = limit + tail.own_room
    for actor in reps:                             # 6. what faults, last
        if actor in tail.live():
            _fault_last(tail, actor, faulting[actor])
    return tuple(tail.steps)


def observed(program, profile="linux", limit: int = LIMIT) -> tuple:
    """``program`` followed by its observation tail."""
    program = tuple(program)
    return program + observation_tail(program, profile, limit)

