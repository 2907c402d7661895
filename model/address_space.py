"""Mapping records of one process: insertion, splitting, merging, unmapping; SysV attach
accounting that follows the records (R28, R30) and segment destruction (R17, R20, R45)."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from .profiles import Profile
from .protections import WRITABLE
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


def remove_segment(state: State, sid: int, profile: Profile) -> State:
    """IPC_RMID's mark: SHM_DEST set and the key reset to IPC_PRIVATE, so that shmget no longer
    finds it (R17, R18); it is destroyed once nothing attaches it (``settle_segment``, R20).
    Where IPC_STAT may still show the old key (posix), the key is kept aside."""
    seg = state.segments[sid]
    kept = seg.key if profile.removed_stat_may_fail and not seg.removed else seg.removed_key
    return state.with_segment(sid, replace(seg, removed=True, key=None, removed_key=kept))


def settle_segments(state: State, sids, profile: Profile) -> State:
    for sid in sorted(set(sids)):
        state = settle_segment(state, sid, profile)
    return state


def _can_merge(a: Vma, b: Vma) -> bool:
    """Linux's vma_merge for records that touch: the same flags, file and following page
    offsets. Records of different mapping calls merge too (a MAP_FIXED mapping over the middle
    of a private anonymous one, R30; two mappings of one file, memfd or POSIX shm object at
    following offsets, placed next to each other or brought there by mremap: observed on 6.18),
    unless both have an anon_vma of their own: pages already written privately belong to
    different anon_vmas (is_mergeable_anon_vma). Pieces of a SysV attach never merge (shm VMAs
    have a ->close, R30); shared anonymous mappings of different calls differ in ``obj``.

    A record whose anon_vma a fork gave it (``fork_anon_vma``) merges only with pieces of its
    own record: each record of a fork child has an anon_vma of its own (anon_vma_fork), and
    is_mergeable_anon_vma refuses a fork child's anon_vma to a record without one
    (vma_is_fork_child: its anon_vma_chain is not singular). Observed on Linux 6.18 (R30)."""
    if not (a.prot == b.prot and _anon_vma_compatible(a, b)):
        return False
    if a.anon_vma and b.anon_vma:
        # one anon_vma each: the same one, or no merge (is_mergeable_anon_vma). ``origin``
        # names a record's anon_vma once it has one (``anon_vma_prepare``, ``fork_anon_vmas``)
        return a.origin == b.origin
    return not (a.fork_anon_vma or b.fork_anon_vma)


def _anon_vma_compatible(a: Vma, b: Vma) -> bool:
    """mm/vma.c anon_vma_compatible(a, b): ``a`` just before ``b``, the same file (or none),
    flags equal but for the access bits (VM_ACCESS_FLAGS: the protection may differ), page
    offsets continuous; neither a SysV attach. Two records merge only if this holds and their
    protections are equal too (``_can_merge``)."""
    return (a.end == b.start and a.segment is None and b.segment is None
            and a.shared == b.shared and a.obj == b.obj and a.may_write == b.may_write
            and a.advice_flags() == b.advice_flags() and a.accounted == b.accounted
            and a.pgoff + a.pages == b.pgoff)


def anon_vma_prepare(state: State, vmas, vma: Vma) -> tuple:
    """(state, records) once the private record ``vma`` has an anon_vma (mm/rmap.c
    anon_vma_prepare -> __anon_vma_prepare, on a write fault or MADV_GUARD_INSTALL). It takes
    its neighbour's when find_mergeable_anon_vma (mm/vma.c) finds one reusable: the next record
    first, then the previous one, compatible (``_anon_vma_compatible``) and with an anon_vma
    whose chain is singular, i.e. not a fork child's (reusable_anon_vma). Otherwise a new one,
    which a fresh ``origin`` stands for: pieces of one mapping that each got an anon_vma by a
    first write of their own hold different ones and never merge again (R30; observed on
    Linux 6.18, case r30-anon-vma-per-first-write)."""
    if vma.anon_vma:
        return state, vmas
    if vma.shared:
        # MADV_GUARD_INSTALL on shared memory: the pieces of a SysV attach never merge (their
        # origin stands for the attach, nattch), and other shared pieces guarded one by one
        # still merge (observed on 6.18): the origin stays
        return state, tuple(replace(v, anon_vma=True) if v == vma else v for v in vmas)
    following = next((v for v in vmas if v.start == vma.end), None)
    before = next((v for v in vmas if v.end == vma.start), None)
    for old, a, b in ((following, vma, following), (before, before, vma)):
        if (old is not None and old.anon_vma and not old.fork_anon_vma
                and _anon_vma_compatible(a, b)):
            origin = old.origin
            break
    else:
        state, origin = state.next_origin()
    return state, tuple(replace(v, anon_vma=True, origin=origin) if v == vma else v
                        for v in vmas)


def fork_anon_vmas(state: State, vmas) -> tuple:
    """(state, the fork child's records) from the parent's records ``vmas`` (dup_mmap): a
    record with an anon_vma gets one of its own (anon_vma_fork; a fresh origin stands for it,
    ``_can_merge``), except a MADV_WIPEONFORK record, which starts with none (R41). A SysV
    attach keeps its origin, which stands for the attach in nattch (R30)."""
    out = []
    for v in vmas:
        if v.wipeonfork:
            v = replace(v, anon_vma=False, fork_anon_vma=False)
        elif v.anon_vma and v.segment is None:
            state, origin = state.next_origin()
            v = replace(v, origin=origin, fork_anon_vma=True)
        out.append(v)
    return state, tuple(out)


def merged(vmas, fresh=()) -> tuple:
    """Sorted records with adjacent mergeable records joined (``_can_merge``). A merged record
    keeps the origin of the one that has an anon_vma, whose pages it now holds.

    ``fresh``: the start pages of the records a call has just made, moved or changed. The
    kernel tries a merge only for those (vma_merge_new_range, vma_merge_existing_range: the
    record and its two neighbours), so a record whose VM_LOCKED was cleared in place
    (``Vma.lock_cleared``) stays apart from an equal neighbour unless one of the two is
    fresh; once joined, the record stays apart from its other equal neighbours."""
    fresh = set(fresh)
    out: list[Vma] = []
    out_fresh: list[bool] = []
    for v in sorted(vmas, key=lambda v: v.start):
        is_fresh = v.start in fresh
        if out and _can_merge(out[-1], v) and (
                is_fresh or out_fresh[-1] or not (out[-1].lock_cleared or v.lock_cleared)):
            keep = out[-1] if out[-1].anon_vma or not v.anon_vma else v
            out[-1] = replace(out[-1], end=v.end, origin=keep.origin,
                              anon_vma=out[-1].anon_vma or v.anon_vma,
                              lock_cleared=out[-1].lock_cleared or v.lock_cleared)
            out_fresh[-1] = out_fresh[-1] or is_fresh
        else:
            out.append(v)
            out_fresh.append(is_fresh)
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


def first_hole(process: Process, start: int, end: int) -> Optional[int]:
    """The first page of [start, end) that no record maps (None: all are mapped)."""
    mapped = mapped_pages(process, start, end)
    return next((vpn for vpn in range(start, end) if vpn not in mapped), None)


def overlapping(process: Process, start: int, end: int) -> list:
    """The records that have a page in [start, end), in order."""
    return [v for v in process.vmas if v.start < end and start < v.end]


def is_range_free(process: Process, start: int, end: int) -> bool:
    return not overlapping(process, start, end)


def splits_attach(proc: Process, start: int, end: int) -> bool:
    """Whether [start, end) cuts a SysV attach in two or trims it (R31)."""
    return any(v.segment is not None and (v.start < start or v.end > end)
               for v in overlapping(proc, start, end))


def protect(state: State, pid: int, start: int, end: int, prot: str):
    """mprotect's change: (the state, the first unmapped page or None). An unmapped page stops
    it there; the pages before it are changed (C01, R30, R33)."""
    hole = first_hole(state.processes[pid], start, end)
    stop = end if hole is None else hole
    if stop > start:
        state = modify(state, pid, start, stop, lambda v: replace(v, prot=prot,
                                                                  accounted=_accounted(v, prot)))
    return state, hole


def _accounted(v: Vma, prot: str) -> bool:
    """VM_ACCOUNT after mprotect_fixup: a private record made writable is charged; one made
    unwritable keeps its charge, unless it is anonymous and has no anon_vma yet (Linux 6.2+:
    nothing was written, so nothing is committed). Observed on 6.18 through the records it
    lets merge (R30: maps, mremap over two records is EFAULT)."""
    if v.shared or v.segment is not None:
        return False
    if prot == v.prot:
        return v.accounted        # the flags do not change: mprotect_fixup returns early
    if prot in WRITABLE:
        return True
    return v.accounted and not (v.obj is None and not v.anon_vma)


def unmap(state: State, pid: int, start: int, end: int, profile: Profile,
          keep: Optional[int] = None) -> State:
    """Remove [start, end) from a process: its records, private frames, MADV_FREE marks and
    guard markers (R49). Unmapping SysV pages is detaching them (R28, R31, R32); segment
    ``keep`` is not settled (``insert``)."""
    proc = state.processes[pid]
    outside, inside = split_at(proc.vmas, start, end)
    if not inside:
        return state
    gone = {vpn for v in inside for vpn in range(v.start, v.end)}
    proc = replace(proc, vmas=merged(outside),
                   private=proc.private.remove(*[vpn for vpn in proc.private if vpn in gone]),
                   lazyfree=proc.lazyfree - gone, guarded=proc.guarded - gone)
    state = state.with_process(pid, proc)
    return settle_segments(state, [v.segment for v in inside
                                   if v.segment is not None and v.segment != keep], profile)


def insert(state: State, pid: int, vma: Vma, profile: Profile) -> State:
    """Map a new record, replacing whatever was there (MAP_FIXED, SHM_REMAP). An attach that
    replaces an attach of its own segment keeps the segment, even a removed one: do_shmat
    counts the new attach (shm_nattch++) before do_mmap unmaps the old, so the old one's
    shm_close never meets a count of zero (R19, R20, R27)."""
    state = unmap(state, pid, vma.start, vma.end, profile, keep=vma.segment)
    proc = state.processes[pid]
    state = state.with_process(pid, replace(proc, vmas=merged(proc.vmas + (vma,), [vma.start])))
    if vma.segment is not None:
        seg = state.segments[vma.segment]
        if not seg.ever_attached:
            state = state.with_segment(vma.segment, replace(seg, ever_attached=True))
    return state


def extended(state: State, pid: int, vma: Vma, end: int) -> State:
    """mremap's growth of ``vma`` in place to ``end`` (R43). The kernel tries a merge of the new
    range only (vma_merge_extend: ``vma`` before it, the next record after it), never of
    ``vma`` with the record before it: one that fork's cleared VM_LOCKED kept apart
    (``Vma.lock_cleared``) stays apart (observed, Linux 6.18). A SysV attach's record takes
    the new pages itself: its pieces never merge (``_can_merge``), but expanding it removes no
    record, so the kernel lets it grow as one VMA."""
    if vma.segment is not None:
        return modify(state, pid, vma.start, vma.end, lambda v: replace(v, end=end))
    proc = state.processes[pid]
    tail = replace(vma, start=vma.end, end=end, pgoff=vma.pgoff + vma.pages)
    return state.with_process(pid, replace(proc, vmas=merged(proc.vmas + (tail,), [tail.start])))


def modify(state: State, pid: int, start: int, end: int, change: Callable[[Vma], Vma]) -> State:
    """Apply ``change`` to the pages [start, end) of a process, record by record, as Linux's
    mprotect_fixup() and madvise_update_vma() do (mm/mprotect.c, mm/madvise.c, mm/vma.c):

    - a record that ``change`` leaves as it is, is left alone: it is not split (the kernel
      returns early when the new flags equal the old ones), so a SysV attach gains no
      fragment (R30);
    - other records are split at the edges of the range and changed, and pieces of one
      mapping join again (``merged``); except for SysV pieces, see ``_modify_attach``.
    """
    proc = state.processes[pid]
    vmas = sorted(proc.vmas, key=lambda v: v.start)
    out: list[Vma] = []
    changed: list[int] = []     # the start of every piece changed: a merge attempt each
    for n, v in enumerate(vmas):
        if v.end <= start or v.start >= end or change(v) == v:
            out.append(v)
            continue
        if v.segment is not None:
            following = vmas[n + 1] if n + 1 < len(vmas) else None
            out, following = _modify_attach(out, v, following, start, end, change)
            if following is not None:
                vmas[n + 1] = following
            continue
        outside, inside = split_at([v], start, end)
        # a changed piece is a merge attempt (vma_merge): whatever kept it apart is gone
        out.extend(outside + [replace(change(p), lock_cleared=False) for p in inside])
        changed += [p.start for p in inside]
    return state.with_process(pid, replace(proc, vmas=merged(out, changed)))


def _joins(a: Vma, b: Vma) -> bool:
    """Two pieces of one SysV attach that the kernel would make one VMA (vma_merge: same
    file, flags and continuous page offsets; ``origin`` stands for the attach's file)."""
    return (a.end == b.start and a.segment == b.segment and a.origin == b.origin
            and a.prot == b.prot and a.may_write == b.may_write
            and a.advice_flags() == b.advice_flags() and a.pgoff + a.pages == b.pgoff)


def _modify_attach(out: list, v: Vma, following: Optional[Vma], start: int, end: int,
                   change: Callable[[Vma], Vma]):
    """Change the part [start, end) of one SysV piece ``v`` (R30: nattch counts the VMAs).

    vma_merge_existing_range() (mm/vma.c) never removes a VMA whose vm_ops has ->close, and
    shm_vm_ops has one: a piece changed whole stays one VMA, even beside a piece it now
    equals. A change at one edge of the piece that makes it equal to its neighbour there
    moves the boundary instead (the neighbour grows, the piece shrinks: no VMA is created or
    removed, so nattch stays). Anything else splits. Returns the records so far and the
    (possibly shrunk) next record."""
    lo, hi = max(v.start, start), min(v.end, end)
    changed = change(_piece(v, lo, hi))
    left_side, right_side = lo == v.start, hi == v.end
    if left_side and right_side:
        return out + [changed], following
    prev = out[-1] if out else None
    if left_side and prev is not None and _joins(prev, changed):
        return out[:-1] + [replace(prev, end=hi), _piece(v, hi, v.end)], following
    if right_side and following is not None and _joins(changed, following):
        return out + [_piece(v, v.start, lo)], _piece(following, lo, following.end)
    pieces = [_piece(v, v.start, lo)] if lo > v.start else []
    pieces.append(changed)
    if hi < v.end:
        pieces.append(_piece(v, hi, v.end))
    return out + pieces, following


def teardown(state: State, pid: int, profile: Profile, *, keep_alive: bool) -> State:
    """exit, death by a signal, or exec: every mapping and attach goes (R28, R29, C04) and
    every descriptor closes (descriptors are close-on-exec in the case format)."""
    proc = state.processes[pid]
    sids = [v.segment for v in proc.vmas if v.segment is not None]
    state = state.with_process(pid, replace(proc, alive=keep_alive, vmas=(),
                                            private=proc.private.remove(*proc.private),
                                            lazyfree=frozenset(), guarded=frozenset(),
                                            fds=proc.fds.remove(*proc.fds)))
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
    return settle_segments(state, sids, profile)

