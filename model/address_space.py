"""Mapping records of one process: insertion, splitting, merging, unmapping; SysV attach
accounting that follows the records (R28, R30) and segment destruction (R17, R20, R45)."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from .profiles import Profile
from .state import Process, State, Vma


def nattch(state: State, sid: int, profile: Profile) -> int:
    """shm_nattch. Linux counts shm VMAs, so fragments count one each (R30); POSIX counts
    attaches (one per shmat or inherited attach, however it was split)."""
    if profile.nattch_counts_fragments:
        return sum(1 for p in state.processes if p.alive for v in p.vmas if v.segment == sid)
    return len({(pid, v.origin) for pid, p in enumerate(state.processes) if p.alive
                for v in p.vmas if v.segment == sid})


def settle_segment(state: State, sid: int, profile: Profile) -> State:
    """Destroy a segment whose last attach went away after IPC_RMID (R17), or at once under
    shm_rmid_forced (R45)."""
    seg = state.segments[sid]
    if seg.destroyed or nattch(state, sid, profile):
        return state
    if seg.removed or (profile.shm_rmid_forced and seg.ever_attached):
        return state.with_segment(sid, replace(seg, destroyed=True, key=None))
    return state


def settle_segments(state: State, sids, profile: Profile) -> State:
    for sid in sorted(set(sids)):
        state = settle_segment(state, sid, profile)
    return state


def _can_merge(a: Vma, b: Vma) -> bool:
    return (a.end == b.start and a.origin == b.origin and a.segment is None and b.segment is None
            and a.prot == b.prot and a.shared == b.shared and a.obj == b.obj
            and a.may_write == b.may_write and a.dontfork == b.dontfork
            and a.wipeonfork == b.wipeonfork
            and (a.obj is None or a.pgoff + a.pages == b.pgoff))


def merged(vmas) -> tuple:
    """Sorted records with adjacent pieces of one mapping joined again. Pieces of a SysV
    attach never join (shm VMAs have a ->close, R30)."""
    out: list[Vma] = []
    for v in sorted(vmas, key=lambda v: v.start):
        if out and _can_merge(out[-1], v):
            out[-1] = replace(out[-1], end=v.end, anon_vma=out[-1].anon_vma or v.anon_vma)
        else:
            out.append(v)
    return tuple(out)


def _piece(v: Vma, start: int, end: int) -> Vma:
    return replace(v, start=start, end=end, pgoff=v.pgoff + (start - v.start))


def split_at(vmas, start: int, end: int):
    """(outside pieces, inside pieces) of the records cut at ``start`` and ``end``."""
    outside, inside = [], []
    for v in vmas:
        if v.end <= start or v.start >= end:
            outside.append(v)
            continue
        if v.start < start:
            outside.append(_piece(v, v.start, start))
        if v.end > end:
            outside.append(_piece(v, end, v.end))
        inside.append(_piece(v, max(v.start, start), min(v.end, end)))
    return outside, inside


def mapped_pages(process: Process, start: int, end: int) -> set:
    return {vpn for v in process.vmas for vpn in range(max(v.start, start), min(v.end, end))}


def is_range_free(process: Process, start: int, end: int) -> bool:
    return not any(v.start < end and start < v.end for v in process.vmas)


def unmap(state: State, pid: int, start: int, end: int, profile: Profile) -> State:
    """Remove [start, end) from a process: its records, private frames and MADV_FREE marks.
    Unmapping SysV pages is detaching them (R28, R31, R32)."""
    proc = state.processes[pid]
    outside, inside = split_at(proc.vmas, start, end)
    if not inside:
        return state
    gone = {vpn for v in inside for vpn in range(v.start, v.end)}
    proc = replace(proc, vmas=merged(outside),
                   private=proc.private.remove(*[vpn for vpn in proc.private if vpn in gone]),
                   lazyfree=proc.lazyfree - gone)
    state = state.with_process(pid, proc)
    return settle_segments(state, [v.segment for v in inside if v.segment is not None], profile)


def insert(state: State, pid: int, vma: Vma, profile: Profile) -> State:
    """Map a new record, replacing whatever was there (MAP_FIXED, SHM_REMAP)."""
    state = unmap(state, pid, vma.start, vma.end, profile)
    proc = state.processes[pid]
    state = state.with_process(pid, replace(proc, vmas=merged(proc.vmas + (vma,))))
    if vma.segment is not None:
        seg = state.segments[vma.segment]
        if not seg.ever_attached:
            state = state.with_segment(vma.segment, replace(seg, ever_attached=True))
    return state


def modify(state: State, pid: int, start: int, end: int, change: Callable[[Vma], Vma]) -> State:
    """Apply ``change`` to the pages [start, end) of a process, splitting records at the edges
    (so a SysV attach gains a fragment, R30)."""
    proc = state.processes[pid]
    outside, inside = split_at(proc.vmas, start, end)
    vmas = merged(outside + [change(v) for v in inside])
    return state.with_process(pid, replace(proc, vmas=vmas))


def teardown(state: State, pid: int, profile: Profile, *, keep_alive: bool) -> State:
    """exit, death by a signal, or exec: every mapping and attach goes (R28, R29, C04) and
    every descriptor closes (descriptors are close-on-exec in the case format)."""
    proc = state.processes[pid]
    sids = [v.segment for v in proc.vmas if v.segment is not None]
    state = state.with_process(pid, replace(proc, alive=keep_alive, vmas=(),
                                            private=proc.private.remove(*proc.private),
                                            lazyfree=frozenset(), fds=proc.fds.remove(*proc.fds)))
    if not keep_alive:
        threads = state.threads
        for name, t in threads.items():
            if t.process == pid and t.alive:
                threads = threads.set(name, replace(t, alive=False))
        state = replace(state, threads=threads)
        if profile.shm_rmid_forced:
            # R45: a segment this process created and nobody ever attached goes with it.
            for sid, seg in enumerate(state.segments):
                if seg.creator == pid and not seg.ever_attached and not seg.destroyed:
                    state = state.with_segment(sid, replace(seg, destroyed=True, key=None))
        if profile.deviates("exit-keeps-attaches"):
            return state  # R28 changed (variant): the attaches are never dropped
    return settle_segments(state, sids, profile)


def find_vma(process: Process, vpn: int) -> Optional[Vma]:
    return process.vma_at(vpn)
