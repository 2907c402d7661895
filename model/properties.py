"""The named properties every reachable state must keep, asked of the sharing graph.

Each property is a function from a state to the list of its violations (empty: it holds),
named in prose as the textbook would. ``check_all`` runs them all; the tests run it on every
state the suite and the generators reach.
"""
from __future__ import annotations

from typing import Callable

from .address_space import nattch
from .graph import frame_node, pages_reaching, sharing_graph
from .memory import read
from .profiles import LINUX, Profile
from .results import Value
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
            if not any(r == Value(value) for _, r in outcomes) and not any(
                    r.__class__.__name__ == "Fault" for _, r in outcomes):
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
    memfd) is never writable (R24, C01, R47)."""
    return [f"P{pid} pages {v.start}-{v.end}: writable without write permission"
            for pid, p in enumerate(state.processes) if p.alive
            for v in p.vmas if v.prot == "rw" and not v.may_write]


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


PROPERTIES: dict[str, Callable] = {
    "isolation": isolation,
    "visibility": visibility,
    "thread sharing": thread_sharing,
    "segment lifetime": segment_lifetime,
    "zero fill": zero_fill,
    "protection": protection,
    "attach accounting": attach_accounting,
}


def check_all(state: State, profile: Profile = LINUX) -> dict:
    """{property name: violations} for the properties that do not hold (empty: all hold)."""
    out = {}
    for name, prop in PROPERTIES.items():
        bad = prop(state, profile)
        if bad:
            out[name] = bad
    return out

