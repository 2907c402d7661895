"""The named properties of the specification, in their explicit form: asked of the states
and steps the explicit semantics reaches.

A property is named in prose as the textbook would, and has a *state* form (state -> the list
of its violations; empty: it holds), a *step* form (a state, a step, and the outcomes the
semantics allows for it -> violations), or both. ``check_all`` and ``check_step`` run them;
the tests run them on every state and step the suite and the generators reach.

The same names have a symbolic form, proved for programs of every length
(symbolic/induction.py). The two forms are held together per property: the same names in both,
and each symbolic witness program, run by the explicit semantics, keeps and exercises the
explicit form (``exercised``) (tests/host/test_property_forms.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .address_space import nattch
from .graph import frame_node, pages_reaching, sharing_graph
from .memory import object_page_contents, read, write
from .ops import Exec, Fallocate, Fork, Ftruncate, Reopen, ShmUnlink, Step
from .profiles import LINUX, Profile
from .results import OK, Fault, Value
from .state import State


def isolation(state: State, profile: Profile = LINUX) -> list:
    """No write through a private page is ever seen through another process's page: a frame
    that a private page has of its own is never an object's frame, and any other page that
    reaches it does so privately too (copy-on-write sharing, until either side writes)."""
    g = sharing_graph(state)
    object_frames = {fid for o in state.objects for fid in o.pages.values()}
    bad = []
    for pid, proc in enumerate(state.processes):
        if not proc.alive:
            continue
        for vpn, fid in proc.private.items():
            if fid in object_frames:
                bad.append(f"P{pid} page {vpn}: private frame {fid} is also an object's page")
            for page in pages_reaching(g, frame_node(fid)):
                data = g.edges[page, frame_node(fid)]
                if page[1] != pid and not data.get("private"):
                    bad.append(f"P{pid} page {vpn}: frame {fid} also reached by shared page {page}")
    return bad


def visibility(state: State, profile: Profile = LINUX) -> list:
    """A read through any page that reaches a frame returns that frame's last write."""
    g = sharing_graph(state)
    bad = []
    for a, b, d in g.edges(data=True):
        if d.get("kind") != "reaches":
            continue
        pid, vpn = a[1], a[2]
        if vpn in state.processes[pid].lazyfree or g.nodes[a].get("prot") == "none":
            continue
        contents = state.frames[b[1]]
        for offset, value in contents[:4]:
            outcomes = read(state, pid, vpn, offset, profile)
            if not any(r == Value(value) or isinstance(r, Fault) for _, r in outcomes):
                bad.append(f"P{pid} page {vpn} offset {offset}: frame {b[1]} holds {value}, "
                           f"a read gives {[str(r) for _, r in outcomes]}")
    return bad


def thread_sharing(state: State, profile: Profile = LINUX) -> list:
    """The threads of a process share its whole address space: a live thread runs in exactly
    one live process, and so sees exactly that process's page table."""
    return [f"thread {name} is alive in dead process {t.process}"
            for name, t in state.threads.items() if t.alive and not state.processes[t.process].alive]


def segment_lifetime(state: State, profile: Profile = LINUX) -> list:
    """A segment lives until it is removed and its last attach has gone (R17, R20); a removed
    segment is found by no key (R18); nothing maps a destroyed segment."""
    bad = []
    for sid, seg in enumerate(state.segments):
        n = nattch(state, sid, profile)
        if seg.destroyed and n:
            bad.append(f"segment {sid} destroyed while {n} attaches remain")
        if seg.removed and not seg.destroyed and n == 0:
            bad.append(f"segment {sid} removed, unattached, yet alive")
        if seg.removed and seg.key is not None:
            bad.append(f"segment {sid} removed but still has key {seg.key}")
    return bad


def zero_fill(state: State, profile: Profile = LINUX) -> list:
    """New memory is zero: no object holds a frame past its end (truncation drops them, so a
    later extension reads zeros), and a private page without a frame reads zero."""
    bad = []
    for oid, obj in enumerate(state.objects):
        for index in obj.pages:
            if index >= obj.page_count():
                bad.append(f"object {oid} keeps page {index} past its end ({obj.size} bytes)")
    return bad


def protection(state: State, profile: Profile = LINUX) -> list:
    """A mapping that may not be written (read-only attach, read-only descriptor, sealed
    memfd) is never writable (R24, C01, R47). Under posix a SysV attach is exempt: mprotect
    of a mapping not made by mmap is unspecified there (R24), as the symbolic form says."""
    return [f"P{pid} pages {v.start}-{v.end}: writable without write permission"
            for pid, p in enumerate(state.processes) if p.alive
            for v in p.vmas if v.prot == "rw" and not v.may_write
            and not (v.segment is not None and profile.shm_mprotect_unspecified)]


def attach_accounting(state: State, profile: Profile = LINUX) -> list:
    """Only live processes have mappings, and every attach belongs to a live segment (R28)."""
    bad = []
    for pid, p in enumerate(state.processes):
        if not p.alive and (p.vmas or len(p.private)):
            bad.append(f"dead process P{pid} still maps memory")
        for v in p.vmas:
            if v.segment is not None and state.segments[v.segment].destroyed:
                bad.append(f"P{pid} maps destroyed segment {v.segment}")
    return bad



def object_lifetime_state(state: State, profile: Profile = LINUX) -> list:
    """Every file name and POSIX shm name finds an object (R46)."""
    return [f"{kind} name {name!r} names object {oid}, which does not exist"
            for kind, names in (("file", state.file_names), ("POSIX shm", state.shm_names))
            for name, oid in names.items() if not 0 <= oid < len(state.objects)]


def sealing_state(state: State, profile: Profile = LINUX) -> list:
    """Only a memfd is write-sealed, and nothing maps a write-sealed object shared and
    writable (R47: F_SEAL_WRITE fails with EBUSY while such a mapping exists)."""
    bad = [f"object {oid} ({obj.kind}) is write-sealed" for oid, obj in enumerate(state.objects)
           if obj.write_sealed and obj.kind != "memfd"]
    return bad + [f"P{pid} pages {v.start}-{v.end} map write-sealed object {v.obj} writably"
                  for pid, p in enumerate(state.processes) if p.alive for v in p.vmas
                  if v.obj is not None and state.objects[v.obj].write_sealed and v.shared
                  and v.may_write]


# --- step forms: a state, a step and the outcomes the semantics allows for it -------------

MARKER = 0x5A       # a byte a property's probe stores (any byte would do)


def _actor(state: State, st: Step) -> Optional[int]:
    thread = state.threads.get(st.thread)
    return thread.process if thread is not None and thread.alive else None


def _copy_on_write(before: State, st: Step, outcomes: list, profile: Profile,
                   child_writes: bool) -> list:
    """After fork, a store through a private page by one side is not seen by the other: probe
    every private writable page of the child with a store, and read the other side."""
    parent = _actor(before, st)
    if not isinstance(st.op, Fork) or parent is None:
        return []
    bad = []
    for after, _ in outcomes:
        child = after.threads[st.bind].process
        writer, reader = (child, parent) if child_writes else (parent, child)
        for v in after.processes[child].vmas:
            if v.shared or v.prot != "rw":
                continue
            for vpn in range(v.start, v.end):
                seen = {r for _, r in read(after, reader, vpn, 0, profile)}
                for stored, result in write(after, writer, vpn, 0, MARKER, profile):
                    now = {r for _, r in read(stored, reader, vpn, 0, profile)}
                    if result == OK and now != seen:
                        bad.append(f"page {vpn}: P{writer}'s store changed what P{reader} reads "
                                   f"from {sorted(map(str, seen))} to {sorted(map(str, now))}")
    return bad


def copy_on_write_child_writes(before: State, st: Step, outcomes: list,
                               profile: Profile = LINUX) -> list:
    """R11: after fork, the child's store to private memory is not seen by the parent."""
    return _copy_on_write(before, st, outcomes, profile, child_writes=True)


def copy_on_write_parent_writes(before: State, st: Step, outcomes: list,
                                profile: Profile = LINUX) -> list:
    """R11, R41: after fork, the parent's store to private memory is not seen by the child."""
    return _copy_on_write(before, st, outcomes, profile, child_writes=False)


def exec_step(before: State, st: Step, outcomes: list, profile: Profile = LINUX) -> list:
    """R29, C04: exec leaves the process a fresh address space, no other thread and no
    descriptor."""
    pid = _actor(before, st)
    if not isinstance(st.op, Exec) or pid is None:
        return []
    bad = []
    for after, _ in outcomes:
        proc = after.processes[pid]
        if proc.vmas or len(proc.private):
            bad.append(f"P{pid} still maps memory after exec")
        if len(proc.fds):
            bad.append(f"P{pid} still holds descriptors after exec")
        bad += [f"thread {name} of P{pid} outlives exec" for name, t in after.threads.items()
                if t.alive and t.process == pid and name != st.thread]
    return bad


def object_lifetime_step(before: State, st: Step, outcomes: list, profile: Profile = LINUX) -> list:
    """R46: after shm_unlink the name finds nothing, and the object lives on unchanged for
    whoever maps or holds it."""
    if not isinstance(st.op, ShmUnlink) or st.op.name not in before.shm_names:
        return []
    oid = before.shm_names[st.op.name]
    pages = range(before.objects[oid].page_count())
    bad = []
    for after, result in outcomes:
        if result != OK:
            continue
        if st.op.name in after.shm_names:
            bad.append(f"{st.op.name!r} still names an object after shm_unlink")
        if any(object_page_contents(before, oid, i) != object_page_contents(after, oid, i)
               for i in pages):
            bad.append(f"object {oid} changed when its name was unlinked")
    return bad


def sealing_step(before: State, st: Step, outcomes: list, profile: Profile = LINUX) -> list:
    """R47: a step other than a resize (ftruncate, fallocate's allocation, a reopen with
    O_TRUNC: F_SEAL_WRITE leaves the size alone) never changes a write-sealed memfd's size or
    contents."""
    if isinstance(st.op, Ftruncate) or (isinstance(st.op, Fallocate) and not st.op.punch) \
            or (isinstance(st.op, Reopen) and st.op.trunc):
        return []
    bad = []
    for oid, obj in enumerate(before.objects):
        if not obj.write_sealed:
            continue
        for after, _ in outcomes:
            now = after.objects[oid]
            if now.size != obj.size or any(object_page_contents(before, oid, i) !=
                                           object_page_contents(after, oid, i)
                                           for i in range(obj.page_count())):
                bad.append(f"write-sealed object {oid} changed by {st.op.OP}")
    return bad


# --- the properties ----------------------------------------------------------------------

def _shared_frame(state: State) -> bool:
    """Some frame is reached, not privately, from pages of two processes."""
    g = sharing_graph(state)
    pids: dict = {}
    for page, frame, d in g.edges(data=True):
        if d.get("kind") == "reaches" and not d.get("private"):
            pids.setdefault(frame, set()).add(page[1])
    return any(len(p) > 1 for p in pids.values())


def _live(state: State) -> list:
    return [p for p in state.processes if p.alive]


def _private_rw_before_fork(before: State, st: Step, after: State) -> bool:
    pid = _actor(before, st)
    return (isinstance(st.op, Fork) and pid is not None and
            any(not v.shared and v.prot == "rw" for v in before.processes[pid].vmas))


def _new_memory(before: State, st: Step, after: State) -> bool:
    """The step made memory: a mapping, or an object."""
    mappings = lambda s: sum(len(p.vmas) for p in _live(s))
    return len(after.objects) > len(before.objects) or mappings(after) > mappings(before)


@dataclass(frozen=True)
class Property:
    """A named property: its state form, its step form (either may be absent), and when a
    step exercises it (``exercised(before, step, after)``: the property says something about
    it), so that a program can be shown not to keep it vacuously."""
    name: str
    state: Optional[Callable] = None
    step: Optional[Callable] = None
    exercised: Callable = lambda before, st, after: False


PROPERTIES: dict[str, Property] = {p.name: p for p in (
    Property("isolation", isolation, exercised=lambda b, st, a: len(_live(a)) > 1 and any(
        len(p.private) for p in _live(a))),
    Property("visibility", visibility, exercised=lambda b, st, a: _shared_frame(a)),
    Property("thread sharing", thread_sharing, exercised=lambda b, st, a: any(
        sum(1 for t in a.threads.values() if t.alive and t.process == pid) > 1
        for pid, p in enumerate(a.processes) if p.alive)),
    Property("copy-on-write (child writes)", step=copy_on_write_child_writes,
             exercised=_private_rw_before_fork),
    Property("copy-on-write (parent writes)", step=copy_on_write_parent_writes,
             exercised=_private_rw_before_fork),
    Property("segment lifetime", segment_lifetime, exercised=lambda b, st, a: any(
        s.removed and not s.destroyed for s in a.segments)),
    Property("zero fill", zero_fill, exercised=_new_memory),
    Property("exec", step=exec_step, exercised=lambda b, st, a: isinstance(st.op, Exec) and
             _actor(b, st) is not None and bool(b.processes[_actor(b, st)].vmas)),
    Property("protection", protection, exercised=lambda b, st, a: any(
        not v.may_write for p in _live(a) for v in p.vmas)),
    Property("attach accounting", attach_accounting, exercised=lambda b, st, a: any(
        v.segment is not None for p in _live(a) for v in p.vmas)),
    Property("object lifetime", object_lifetime_state, object_lifetime_step,
             exercised=lambda b, st, a: isinstance(st.op, ShmUnlink) and st.op.name not in a.shm_names
             and st.op.name in b.shm_names),
    Property("sealing", sealing_state, sealing_step,
             exercised=lambda b, st, a: any(o.write_sealed for o in a.objects)),
)}


def check_all(state: State, profile: Profile = LINUX) -> dict:
    """{property name: violations} of the state forms that do not hold (empty: all hold)."""
    out = {}
    for name, prop in PROPERTIES.items():
        bad = prop.state(state, profile) if prop.state else []
        if bad:
            out[name] = bad
    return out


def check_step(before: State, st: Step, outcomes: list, profile: Profile = LINUX) -> dict:
    """{property name: violations} of the step forms that do not hold for ``st`` from
    ``before`` with the allowed ``outcomes`` [(state, result)] (empty: all hold)."""
    out = {}
    for name, prop in PROPERTIES.items():
        bad = prop.step(before, st, outcomes, profile) if prop.step else []
        if bad:
            out[name] = bad
    return out
