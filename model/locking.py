"""Memory locks and msync: mlock/munlock, MAP_LOCKED and MAP_POPULATE, the VmLck figure, and
msync (Linux mm/mlock.c, mm/gup.c, mm/madvise.c, mm/msync.c, kernel/fork.c; every claim below
was observed on Linux 6.18 x86-64, the way docs/rules.md says).

What a lock changes, seen from a case:

- C09: no value read changes because memory is locked, and nothing is written anywhere.
- But locking *faults the pages in* (``populate``), as MAP_POPULATE does: a private writable
  page gets a write fault, i.e. its private copy, so a private file mapping stops showing later
  changes of the file there (R13 ends for that page) and private anonymous memory gets zeroed
  frames of its own. Read-only and shared pages get a read fault (page table entries only).
  Population goes page by page in address order and stops at the first page it cannot fault:
  PROT_NONE, a guard marker (R49), a page past its object's end (R06, R43). mlock then returns
  ENOMEM, though every record of the range is VM_LOCKED; MAP_POPULATE ignores it.
- VM_LOCKED is a record flag: mlock of part of a record splits it, munlock joins it again (R30,
  SysV pieces never join); mprotect, munmap and mremap keep it on what they keep or move.
- mlock with a hole in the range: the records before the hole are locked, then ENOMEM, with
  nothing faulted in; mlock and munlock round the start down to its page (no EINVAL) and take
  length 0 as success.
- C03: fork clears VM_LOCKED in the child (dup_mmap), whose VmLck starts at 0. The child's
  records are copied one by one, never merged: a record that was locked stays apart from a
  neighbour it now equals (``Vma.lock_cleared``) until a call changes, makes or moves it or
  that neighbour (the kernel's merge attempt, address_space.merged).
- madvise DONTNEED, FREE, REMOVE, COLD, PAGEOUT and GUARD_INSTALL refuse a VM_LOCKED record
  with EINVAL (madvise_dontneed_free_valid_vma, madvise_remove, can_madv_lru_vma,
  is_valid_guard_vma), record by record: the records before it in the range are advised.
- mprotect making a locked private record writable faults it in with write faults
  (mprotect_fixup: populate_vma_page_range), as mlock would; mremap growing a locked record
  faults in the new tail.
- MREMAP_DONTUNMAP clears VM_LOCKED on the old record but leaves its pages counted in VmLck
  (``Process.lock_leak``) until the process ends or execs; where the move merged the new
  range into the old record, on the merged record, new range and all.
- A process without CAP_IPC_LOCK (here: after setuid(other)) is held to RLIMIT_MEMLOCK, which
  the case does not fix: mlock may be EPERM (a limit of 0) or ENOMEM (over the limit), and
  MAP_LOCKED EPERM or EAGAIN, besides succeeding.

msync (mm/msync.c) changes nothing on Linux (C08: visibility needs no msync, R12), but it
checks its arguments: EINVAL for an unknown flag, an unaligned address, or MS_SYNC|MS_ASYNC;
length 0 is success; EBUSY when MS_INVALIDATE meets a VM_LOCKED record; ENOMEM when part of
the range is unmapped. Under a profile whose read(2) may lag the stores made through a shared
mapping (posix, model/read_lag.py, R12), MS_SYNC brings the file in sync with the pages it
covers: a later pread shows the stored byte. MS_ASYNC only schedules the write-back (POSIX: the
writes are "initiated or queued"), so the lag may go on.
"""
from __future__ import annotations

from dataclasses import replace

from . import address_space as aspace
from . import cow, frames, memory, read_lag
from .ops import PAGE_SIZE, Place
from .protections import WRITABLE
from .results import OK, Errno, LockedPages
from .state import State, Vma, contents_get

EINVAL, ENOMEM, EBUSY, EPERM, EAGAIN = (Errno(n) for n in ("EINVAL", "ENOMEM", "EBUSY", "EPERM",
                                                             "EAGAIN"))

# madvise advices that refuse a VM_LOCKED record with EINVAL (mm/madvise.c)
REFUSED_ON_LOCKED = frozenset({"dontneed", "free", "remove", "cold", "pageout", "guard_install"})


def locked_pages(state: State, pid: int) -> int:
    """VmLck in pages: the VM_LOCKED records' pages, plus what MREMAP_DONTUNMAP left counted."""
    proc = state.processes[pid]
    return sum(v.pages for v in proc.vmas if v.locked) + proc.lock_leak


def may_be_limited(state: State, pid: int) -> bool:
    """Without CAP_IPC_LOCK, RLIMIT_MEMLOCK applies (can_do_mlock, mlock_future_ok)."""
    return not state.processes[pid].creds.privileged


def _faultable(state: State, proc, vma: Vma, vpn: int) -> bool:
    return (vma.prot != "none" and vpn not in proc.guarded
            and not memory.beyond_object(state, vma, vpn))


def populate(state: State, pid: int, start: int, end: int, profile) -> tuple:
    """Fault in [start, end) as __mm_populate does: (the state, whether every mapped page was
    faulted in). A private writable page gets a write fault: a private copy of what it shows
    (R11, R13); the others a read fault. It stops at the first page it cannot fault."""
    for vpn in range(start, end):
        proc = state.processes[pid]
        vma = proc.vma_at(vpn)
        if vma is None:
            continue
        if not _faultable(state, proc, vma, vpn):
            return state, False
        written = not vma.shared and vma.prot in WRITABLE
        if written:
            fid = proc.private.get(vpn)
            if fid is None:
                base = () if vma.obj is None else memory.object_page_contents(
                    state, vma.obj, vma.object_page(vpn))
            else:
                base = state.frames[fid]
            if fid is None or cow.frame_references(state, fid) > 1:
                state = cow.store_private(state, pid, vpn, fid, base, 0, contents_get(base, 0))
        # the entry (and, for a write fault, the record's anon_vma) as a load or store would
        state = frames.accessed(state, pid, vpn, [(state, OK)], profile, written=written)[0][0]
    return state, True


def _set_lock(state: State, pid: int, start: int, end: int, locked: bool) -> tuple:
    """apply_vma_lock_flags: (the state, the first unmapped page or None). The records up to
    the first hole change; a range that starts in a hole changes nothing."""
    hole = aspace.first_hole(state.processes[pid], start, end)
    stop = end if hole is None else hole
    if stop > start:
        state = aspace.modify(state, pid, start, stop, lambda v: replace(v, locked=locked))
    return state, hole


def _page_range(state: State, at: Place, length: int) -> tuple:
    """mlock's range: the start rounded down to its page, the length rounded up with it."""
    start = state.vpn(at)
    return start, start + -(-(at.offset + length) // PAGE_SIZE)


def mlock(state: State, pid: int, st, profile) -> list:
    op = st.op
    if op.length == 0:
        return [(state, OK)]
    start, end = _page_range(state, op.at, op.length)
    changed, hole = _set_lock(state, pid, start, end, True)
    if hole is not None:
        outcomes = [(changed, ENOMEM)]     # nothing faulted in
    else:
        done, complete = populate(changed, pid, start, end, profile)
        outcomes = [(done, OK if complete else ENOMEM)]
    if may_be_limited(state, pid):
        # do_mlock checks RLIMIT_MEMLOCK first: 0 (EPERM) or exceeded (ENOMEM), nothing done
        outcomes += [(state, EPERM), (state, ENOMEM)]
    return outcomes


def munlock(state: State, pid: int, st, profile) -> list:
    op = st.op
    if op.length == 0:
        return [(state, OK)]
    start, end = _page_range(state, op.at, op.length)
    changed, hole = _set_lock(state, pid, start, end, False)
    return [(changed, OK if hole is None else ENOMEM)]


def vmlck(state: State, pid: int, st, profile) -> list:
    return [(state, LockedPages(locked_pages(state, pid)))]


def refuses_locked(v: Vma, advice: str) -> bool:
    """madvise refuses record ``v`` with EINVAL because it is VM_LOCKED and the advice does
    not take locked records (the records before it in the range are advised)."""
    return v.locked and advice in REFUSED_ON_LOCKED


def after_mprotect(before: State, state: State, pid: int, start: int, end: int, prot: str,
                   profile) -> State:
    """mprotect_fixup faults in a locked private record made writable (write faults)."""
    if prot not in WRITABLE:
        return state
    for v in aspace.overlapping(before.processes[pid], start, end):
        if v.locked and not v.shared and v.prot not in WRITABLE:
            state = populate(state, pid, max(v.start, start), min(v.end, end), profile)[0]
    return state


def after_grow(state: State, pid: int, tail_start: int, tail_end: int, profile) -> State:
    """mremap growing a locked record faults in the new tail (mm_populate, errors ignored)."""
    vma = state.processes[pid].vma_at(tail_start)
    if vma is None or not vma.locked:
        return state
    return populate(state, pid, tail_start, tail_end, profile)[0]


def after_dontunmap(before: State, state: State, pid: int, start: int, end: int) -> State:
    """MREMAP_DONTUNMAP clears VM_LOCKED on the old record (mm/mremap.c dontunmap_complete),
    without taking its pages off VmLck, which the move has already grown by the moved pages
    (vrm_stat_account): VmLck keeps counting every page whose lock it clears (observed).

    The record cleared is the one the old range lies in *after* the move: an anonymous record
    never faulted in takes the new place's offset and may merge with its own new copy
    (copy_vma's merge with self), and then the lock is cleared on the merged record, new
    range and all (observed: a locked page moved next to itself leaves no locked record and
    VmLck 2; a random case, seed 1, found it)."""
    old = [v for v in aspace.overlapping(before.processes[pid], start, end) if v.locked]
    if not old:
        return state
    proc = state.processes[pid]
    # cleared in place (vm_flags_clear): no merge with a neighbour it now equals (observed)
    cleared = [v for v in proc.vmas if v.locked and any(v.start < o.end and o.start < v.end
                                                          for o in old)]
    vmas = tuple(replace(v, locked=False, lock_cleared=True) if v in cleared else v
                 for v in proc.vmas)
    return state.with_process(pid, replace(proc, vmas=vmas, lock_leak=proc.lock_leak
                                           + sum(v.pages for v in cleared)))


# --- msync -------------------------------------------------------------------------------

def msync(state: State, pid: int, st, profile) -> list:
    op = st.op
    flags = set(op.flags.split("+"))
    if op.flags == "unknown" or {"sync", "async"} <= flags:
        return [(state, EINVAL)]
    if op.at.offset:
        # POSIX: "may fail" for an address that is not a multiple of the page size
        return [(state, EINVAL)] + ([] if profile.linux_interfaces else [(state, OK)])
    if op.length == 0:
        return [(state, OK)]
    start, end = state.span(op.at, op.length)
    proc = state.processes[pid]
    inside = aspace.overlapping(proc, start, end)
    if "invalidate" in flags and any(v.locked for v in inside):
        return [(state, EBUSY)]
    if len(aspace.mapped_pages(proc, start, end)) < end - start:
        return [(state, ENOMEM)]   # the pages around the hole are synced, but Linux lags not
    if "sync" in flags:
        state = synced(state, inside, start, end)   # R12 (posix): read(2) sees the stores
    return [(state, OK)]


def synced(state: State, vmas, start: int, end: int) -> State:
    """The objects' pages behind the shared records ``vmas`` over [start, end), in sync."""
    for v in vmas:
        if not v.shared or v.obj is None:
            continue
        first = v.object_page(max(v.start, start))
        last = v.object_page(min(v.end, end))
        state = read_lag.in_sync(state, v.obj, lambda i, o: first <= i < last)
    return state
