"""The transition relation: ``step(state, step, profile)`` -> the allowed (state, result) pairs.

Each operation is a guard (which error, if any, the call must return) followed by an update.
Rules cite the catalogue (../shared/semantics/CATALOGUE.md) by id.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Optional

from . import address_space as aspace
from . import frames, memory
from .ops import (PAGE_SIZE, Close, Exec, Exit, Fork, Ftruncate, Madvise, Mmap, Mprotect, Mremap,
                  Munmap, Open, Place, PosixMadvise, Pread, Pwrite, Read, Seal, ShmAt, ShmCtl, ShmDt,
                  ShmGet, ShmUnlink, Spawn, Step, ThreadExit, Write)
from .profiles import Profile
from .results import DEAD, EOF, OK, Errno, Fault, SegmentId, Stat, Value
from .state import (Fd, MemObject, Process, Segment, State, Thread, Vma, contents_get,
                    contents_zero_from)

SHMMAX = 2 ** 63   # larger than any size a case can name: limits are not modelled (R23)
EINVAL, ENOENT, EEXIST, EACCES, ENOMEM, EBADF, EPERM, EBUSY, EFAULT = (
    Errno(n) for n in ("EINVAL", "ENOENT", "EEXIST", "EACCES", "ENOMEM", "EBADF", "EPERM", "EBUSY",
                       "EFAULT"))


class NotApplicable(Exception):
    """The profile says nothing about this program (a Linux-only interface under posix)."""


def pages_for(length: int) -> int:
    return -(-length // PAGE_SIZE)


def step(state: State, st: Step, profile: Profile) -> list:
    """Every (next state, result) the profile allows for one step. Never empty."""
    thread = state.threads.get(st.thread)
    if thread is None or not thread.alive:
        return [(_bind_dead(state, st), DEAD)]
    pid = thread.process
    outcomes = _dispatch(state, pid, st, profile)
    tracked = profile.linux_interfaces  # page table entries: model/frames.py
    return [(frames.track(state, _after_fault(s, pid, r, profile), pid, st, r, tracked), r)
            for s, r in outcomes]


def _after_fault(state: State, pid: int, result, profile: Profile) -> State:
    """A fault kills the process, with everything that follows: its attaches detach (R28)."""
    if isinstance(result, Fault):
        return aspace.teardown(state, pid, profile, keep_alive=False)
    return state


def _bind_dead(state: State, st: Step) -> State:
    """A step of a dead thread does nothing, but what it would have bound still gets a name."""
    op = st.op
    if isinstance(op, (Fork, Spawn)):
        return replace(state, threads=state.threads.set(st.bind, Thread(-1, alive=False)))
    if isinstance(op, ShmGet):
        return replace(state, segment_handles=state.segment_handles.set(st.bind, -1))
    if st.bind is not None and op.BINDS == "mapping":
        return _bind_slot(state, st.bind)
    return state


def _bind_slot(state: State, handle: str, base: Optional[int] = None) -> State:
    if base is None:
        base = state.next_slot_base()
    return replace(state, mapping_handles=state.mapping_handles.set(handle, base))


def _vpn(state: State, place: Place) -> int:
    return state.mapping_handles[place.mapping] + place.page


def _require_linux(profile: Profile, what: str) -> None:
    if not profile.linux_interfaces:
        raise NotApplicable(f"{what} is Linux-only")


def _dispatch(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    match op:
        case frames.Frames():
            _require_linux(profile, "frame observation (/proc/PID/pagemap)")
            return frames.observe(state, op)
        case Read(at=at):
            return memory.read(state, pid, _vpn(state, at), at.offset, profile)
        case Write(at=at, value=value):
            return memory.write(state, pid, _vpn(state, at), at.offset, value, profile)
        case Fork():
            return [(fork(state, pid, st.bind, profile), OK)]
        case Spawn():
            if profile.deviates("threads-get-copies"):
                return [(fork(state, pid, st.bind, profile), OK)]  # R15 changed (variant)
            return [(replace(state, threads=state.threads.set(st.bind, Thread(pid))), OK)]
        case ThreadExit():
            return [(thread_exit(state, st.thread, profile), OK)]
        case Exit():
            return [(aspace.teardown(state, pid, profile, keep_alive=False, by_exit=True), OK)]
        case Exec():
            return [(exec_(state, pid, st.thread, profile), OK)]
        case ShmGet():
            return shmget(state, pid, op, st.bind, profile)
        case ShmAt():
            return shmat(state, pid, op, st.bind, profile)
        case ShmDt():
            return shmdt(state, pid, op, profile)
        case ShmCtl():
            return shmctl(state, op, profile)
        case Mmap():
            return mmap(state, pid, op, st.bind, profile)
        case Munmap():
            return munmap(state, pid, op, profile)
        case Mprotect():
            return mprotect(state, pid, op, profile)
        case Madvise():
            _require_linux(profile, "madvise")
            return madvise(state, pid, op, profile)
        case PosixMadvise():
            return [(state, OK)]  # R38: glibc ignores POSIX_MADV_DONTNEED
        case Mremap():
            _require_linux(profile, "mremap")
            return mremap(state, pid, op, st.bind, profile)
        case Open():
            return open_(state, pid, op, st.bind, profile)
        case Close():
            return close(state, pid, op)
        case Ftruncate():
            return ftruncate(state, pid, op, profile)
        case Pread():
            return pread(state, pid, op)
        case Pwrite():
            return pwrite(state, pid, op, profile)
        case ShmUnlink():
            if op.name not in state.shm_names:
                return [(state, ENOENT)]
            if profile.deviates("shm-unlink-destroys"):
                state = memory.destroy_object(state, state.shm_names[op.name])  # R46 changed (variant)
            return [(replace(state, shm_names=state.shm_names.remove(op.name)), OK)]  # R46
        case Seal():
            _require_linux(profile, "memfd sealing")
            return seal(state, pid, op)
    raise TypeError(f"not an operation: {op!r}")


# --- processes and threads ----------------------------------------------------------

def fork(state: State, pid: int, child_thread: str, profile: Profile) -> State:
    """R09-R11, R16, R28, R34, R40, R41, C03: the child gets a copy of the address space with
    one thread (the caller's), private pages shared copy-on-write, shared mappings and SysV
    attaches inherited, MADV_DONTFORK ranges left out, MADV_WIPEONFORK ranges zeroed."""
    parent = state.processes[pid]
    vmas, private = [], {}
    for v in parent.vmas:
        if v.dontfork and not profile.deviates("dontfork-ignored"):
            continue  # R40
        if v.segment is not None and profile.deviates("sysv-not-inherited"):
            continue  # R09 changed (variant)
        if v.wipeonfork and profile.deviates("wipeonfork-not-inherited"):
            vmas.append(replace(v, wipeonfork=False))  # R41 changed (variant)
        else:
            vmas.append(v)
        if v.wipeonfork and not profile.deviates("wipeonfork-ignored"):
            continue  # R41: the child sees zeros; the setting itself is inherited
        for vpn in range(v.start, v.end):
            if vpn in parent.private:
                private[vpn] = parent.private[vpn]
    if profile.deviates("shared-anon-copied-on-fork"):
        state, vmas = memory.copy_anonymous_objects(state, vmas)  # R10 changed (variant)
    child = Process(alive=True, vmas=tuple(vmas), private=parent.private.remove(*parent.private)
                    .update(private), lazyfree=frozenset(v for v in parent.lazyfree if v in private),
                    fds=parent.fds)
    state = replace(state, processes=state.processes + (child,))
    cid = len(state.processes) - 1
    return replace(state, threads=state.threads.set(child_thread, Thread(cid)))


def thread_exit(state: State, thread: str, profile: Profile) -> State:
    t = state.threads[thread]
    state = replace(state, threads=state.threads.set(thread, replace(t, alive=False)))
    if not any(o.alive and o.process == t.process for o in state.threads.values()):
        state = aspace.teardown(state, t.process, profile, keep_alive=False, by_exit=True)
    return state


def exec_(state: State, pid: int, thread: str, profile: Profile) -> State:
    """R29, C04: a fresh address space; the other threads of the process are gone."""
    threads = state.threads
    for name, t in threads.items():
        if t.process == pid and name != thread and t.alive:
            threads = threads.set(name, replace(t, alive=False))
    state = replace(state, threads=threads)
    return aspace.teardown(state, pid, profile, keep_alive=True)


# --- System V shared memory -----------------------------------------------------------

def _live_segment(state: State, handle: str) -> Optional[int]:
    sid = state.segment_handles.get(handle, -1)
    if sid < 0 or state.segments[sid].destroyed:
        return None
    return sid


def shmget(state: State, pid: int, op: ShmGet, bind: str, profile: Profile) -> list:
    existing = None
    if op.key != "private":
        existing = next((i for i, s in enumerate(state.segments)
                         if s.key == op.key and not s.destroyed), None)  # R18: removed keys are private
    if existing is None:
        if op.key != "private" and not op.creat:
            return [(_bind_segment(state, bind, -1), ENOENT)]  # R23
        if op.size < 1 or op.size > SHMMAX:
            return [(_bind_segment(state, bind, -1), EINVAL)]  # R23
        state, oid = state.new_object(MemObject("sysv", pages_for(op.size) * PAGE_SIZE))  # R01, R04
        if profile.deviates("segment-not-zeroed"):
            state = memory.fill_with_junk(state, oid)  # R01 changed (variant)
        seg = Segment(key=None if op.key == "private" else op.key, size=op.size, obj=oid, creator=pid)
        state = replace(state, segments=state.segments + (seg,))
        return [(_bind_segment(state, bind, len(state.segments) - 1), SegmentId())]
    if op.creat and op.excl and not profile.deviates("excl-ignored"):
        return [(_bind_segment(state, bind, -1), EEXIST)]  # R21
    if op.size > state.segments[existing].size and not profile.deviates("size-not-checked"):
        return [(_bind_segment(state, bind, -1), EINVAL)]  # R22: against shm_segsz, unrounded
    same = next(h for h, sid in state.segment_handles.items() if sid == existing)  # first bound
    return [(_bind_segment(state, bind, existing), SegmentId(same))]  # R21, R22


def _bind_segment(state: State, handle: str, sid: int) -> State:
    return replace(state, segment_handles=state.segment_handles.set(handle, sid))


def shmat(state: State, pid: int, op: ShmAt, bind: str, profile: Profile) -> list:
    if op.remap:
        _require_linux(profile, "SHM_REMAP")
    failed = _bind_slot(state, bind)
    if op.at is None:
        if op.remap:
            return [(failed, EINVAL)]  # R27: SHM_REMAP needs an address
        base = state.next_slot_base()
    else:
        if op.at.offset and not op.rnd:
            return [(failed, EINVAL)]  # R26
        base = _vpn(state, op.at)  # SHM_RND rounds down to SHMLBA = the page (R26)
    sid = _live_segment(state, op.segment)
    if sid is None:
        return [(failed, EINVAL)]  # R19, R20
    seg = state.segments[sid]
    if seg.removed and not profile.attach_removed_segment:
        return [(failed, EINVAL)]  # R19 (POSIX)
    pages = state.objects[seg.obj].page_count()
    proc = state.processes[pid]
    if op.at is not None and not op.remap and not aspace.is_range_free(proc, base, base + pages):
        # R27. R45: do_shmat counts the attach (shm_nattch++) before it checks the range, and
        # undoes it on the way out (out_nattch, then shm_may_destroy): under shm_rmid_forced
        # an unattached segment goes with that undo, as if it had been attached and detached.
        if profile.shm_rmid_forced:
            failed = aspace.settle_segment(failed.with_segment(sid, replace(seg, ever_attached=True)),
                                           sid, profile)
        return [(failed, EINVAL)]
    state = _bind_slot(state, bind, base)
    state, origin = state.next_origin()
    rdonly = op.rdonly and not profile.deviates("rdonly-attach-writable")  # R24
    vma = Vma(start=base, end=base + pages, prot="r" if rdonly else "rw", shared=True,
              obj=seg.obj, pgoff=0, may_write=not rdonly, origin=origin, segment=sid)
    return [(aspace.insert(state, pid, vma, profile), OK)]  # R14, R24, R27, R28


def shmdt(state: State, pid: int, op: ShmDt, profile: Profile) -> list:
    """R25, R31, as ksys_shmdt: the first shm record at or after addr whose page offset in its
    segment equals its distance from addr, then every record of that segment within its size."""
    if op.at.offset:
        return [(state, EINVAL)]
    addr = _vpn(state, op.at)
    proc = state.processes[pid]
    candidates = [v for v in proc.vmas if v.end > addr and v.start >= addr]
    first = next((v for v in candidates if v.segment is not None and v.start - addr == v.pgoff), None)
    if first is None:
        return [(state, EINVAL)]
    size = state.objects[first.obj].page_count()
    doomed = [first] + [v for v in candidates if v.start > first.start and v.end - addr <= size
                        and v.obj == first.obj and v.start - addr == v.pgoff]
    if profile.deviates("shmdt-keeps-mapping"):
        return [(state, OK)]  # R25 changed (variant)
    for v in doomed:
        state = aspace.unmap(state, pid, v.start, v.end, profile)
    return [(state, OK)]


def shmctl(state: State, op: ShmCtl, profile: Profile) -> list:
    sid = _live_segment(state, op.segment)
    if sid is None:
        return [(state, EINVAL)]  # R17, R20: a destroyed segment's id is gone
    seg = state.segments[sid]
    if op.cmd == "stat":
        stat = Stat(nattch=aspace.nattch(state, sid, profile), segsz=seg.size, dest=seg.removed,
                    key=seg.key or "private")
        outcomes = [(state, stat)]  # R17
        if seg.removed and profile.removed_stat_may_fail:
            # R17 (POSIX): IPC_RMID removes the identifier, so IPC_STAT may fail; SHM_DEST
            # and the key reset are Linux's, so what a surviving IPC_STAT shows of them is
            # unspecified.
            keys = {stat.key, seg.removed_key or "private"}
            outcomes = [(state, replace(stat, dest=dest, key=key))
                        for dest in (True, False) for key in sorted(keys)]
            outcomes.append((state, EINVAL))
        return outcomes
    key = seg.key if profile.deviates("removed-key-still-found") else None  # R18
    destroyed = profile.deviates("rmid-destroys-at-once")  # R17
    kept = seg.key if profile.removed_stat_may_fail and not seg.removed else seg.removed_key
    state = state.with_segment(sid, replace(seg, removed=True, key=key, destroyed=destroyed,
                                            removed_key=kept))
    if profile.deviates("rmid-unattached-deferred"):
        return [(state, OK)]  # R20 changed (variant)
    return [(aspace.settle_segment(state, sid, profile), OK)]  # R20


# --- mappings ---------------------------------------------------------------------------

def _fd(state: State, pid: int, handle: Optional[str]) -> Optional[Fd]:
    return state.processes[pid].fds.get(handle)


def mmap(state: State, pid: int, op: Mmap, bind: str, profile: Profile) -> list:
    if op.fixed == "noreplace":
        _require_linux(profile, "MAP_FIXED_NOREPLACE")
    failed = _bind_slot(state, bind)
    if op.length == 0 or op.offset % PAGE_SIZE:
        return [(failed, EINVAL)]  # C01
    if op.fixed != "none" and op.at.offset:
        return [(failed, EINVAL)]
    pages = pages_for(op.length)
    base = state.next_slot_base() if op.fixed == "none" else _vpn(state, op.at)
    writable = op.prot == "rw"
    may_write = True
    obj_id: Optional[int] = None
    if op.fd is not None:
        fd = _fd(state, pid, op.fd)
        if fd is None:
            return [(failed, EBADF)]
        obj = state.objects[fd.obj]
        if obj.kind == "memfd":
            _require_linux(profile, "memfd")
        if op.shared and fd.rdonly:
            if writable:
                return [(failed, EACCES)]  # C01
            may_write = False
        if op.shared and obj.write_sealed:
            if writable:
                return [(failed, EPERM)]  # R47
            may_write = False
        obj_id = fd.obj
    if op.fixed == "noreplace" and not aspace.is_range_free(state.processes[pid], base, base + pages):
        return [(failed, EEXIST)]  # C01
    state = _bind_slot(state, bind, base)
    if op.fixed == "replace" and profile.deviates("map-fixed-keeps-old") and \
            not aspace.is_range_free(state.processes[pid], base, base + pages):
        return [(state, OK)]  # C01 changed (variant)
    if op.fd is None and op.shared:
        state, obj_id = state.new_object(MemObject("anon", pages * PAGE_SIZE))  # R02, R10
    elif obj_id is not None and profile.slack_zero_filled_when_mapped \
            and not memory.is_mapped_anywhere(state, obj_id):
        state = memory.zero_slack(state, obj_id)  # R07 (POSIX: a new mapping zero-fills it)
    state, origin = state.next_origin()
    vma = Vma(start=base, end=base + pages, prot=op.prot, shared=op.shared, obj=obj_id,
              pgoff=op.offset // PAGE_SIZE, may_write=may_write, origin=origin)
    return [(aspace.insert(state, pid, vma, profile), OK)]  # C01: MAP_FIXED replaces


def _range(state: State, at: Place, length: int):
    start = _vpn(state, at)
    return start, start + pages_for(length)


def munmap(state: State, pid: int, op: Munmap, profile: Profile) -> list:
    if op.at.offset or op.length == 0:
        return [(state, EINVAL)]  # R05
    start, end = _range(state, op.at, op.length)
    if profile.deviates("munmap-ignored"):
        return [(state, OK)]  # R32 changed (variant)
    outcomes = [(aspace.unmap(state, pid, start, end, profile), OK)]  # R05, R31, R32
    if profile.partial_shm_munmap_may_fail and _splits_attach(state.processes[pid], start, end):
        outcomes.append((state, EINVAL))  # R31 (POSIX leaves it unspecified)
    return outcomes


def _splits_attach(proc: Process, start: int, end: int) -> bool:
    return any(v.segment is not None and v.start < end and start < v.end
               and (v.start < start or v.end > end) for v in proc.vmas)


def mprotect(state: State, pid: int, op: Mprotect, profile: Profile) -> list:
    if op.at.offset:
        return [(state, EINVAL)]
    start, end = _range(state, op.at, op.length)
    proc = state.processes[pid]
    refusing = [v for v in proc.vmas if v.start < end and start < v.end and not v.may_write]
    if op.prot == "rw" and refusing:
        if profile.shm_mprotect_unspecified and all(v.segment is not None for v in refusing):
            # R24 (POSIX): mprotect is unspecified for a mapping mmap did not make, so a
            # SHM_RDONLY attach may also become writable (it is Linux that says EACCES).
            return [(state, EACCES)] + _mprotect(state, pid, start, end, op.prot, profile)
        return [(state, EACCES)]  # R24, C01, R47
    return _mprotect(state, pid, start, end, op.prot, profile)


def _mprotect(state: State, pid: int, start: int, end: int, prot: str, profile: Profile) -> list:
    proc = state.processes[pid]
    mapped = aspace.mapped_pages(proc, start, end)
    # C01: an unmapped page stops mprotect there with ENOMEM; pages before it are changed.
    hole = next((vpn for vpn in range(start, end) if vpn not in mapped), None)
    stop = end if hole is None else hole
    if stop > start and not profile.deviates("mprotect-ignored"):  # R33
        state = aspace.modify(state, pid, start, stop, lambda v: replace(v, prot=prot))  # R30, R33
    return [(state, OK if hole is None else ENOMEM)]


def madvise(state: State, pid: int, op: Madvise, profile: Profile) -> list:
    if op.at.offset:
        return [(state, EINVAL)]
    start, end = _range(state, op.at, op.length)
    proc = state.processes[pid]
    inside = [v for v in proc.vmas if v.start < end and start < v.end]
    advice = op.advice
    if advice == "wipeonfork" and any(v.shared or v.obj is not None for v in inside):
        return [(state, EINVAL)]  # R41
    if advice == "free" and any(v.shared or v.obj is not None for v in inside):
        return [(state, EINVAL)]  # C05
    if advice == "remove":
        # R39, as madvise_remove(), VMA by VMA: no file behind it (private anonymous memory)
        # -> EINVAL; a file but not VM_SHARED|VM_MAYWRITE (a MAP_PRIVATE file mapping, a
        # read-only fd or SHM_RDONLY attach) -> EACCES. The current protection does not matter:
        # a shared PROT_READ mapping of a writable object is punched (observed, Linux 6.18).
        for v in inside:
            if v.obj is None:
                return [(state, EINVAL)]
            if not (v.shared and v.may_write):
                return [(state, EACCES)]
    covered = aspace.mapped_pages(proc, start, end)
    enomem = len(covered) < end - start
    pages = sorted(covered)
    if advice in ("dontfork", "dofork", "wipeonfork", "keeponfork"):
        flag, on = {"dontfork": ("dontfork", True), "dofork": ("dontfork", False),
                    "wipeonfork": ("wipeonfork", True), "keeponfork": ("wipeonfork", False)}[advice]
        for lo, hi in _runs(pages):
            state = aspace.modify(state, pid, lo, hi, lambda v: replace(v, **{flag: on}))  # R30
    elif advice == "dontneed":
        # R35, R36, R37: private copies are thrown away; shared contents stay in the object.
        drop = [vpn for vpn in pages if vpn in proc.private]
        if profile.deviates("dontneed-ignored"):
            drop = []  # R35 changed (variant)
        if profile.deviates("dontneed-zeroes-shared"):
            for v in inside:  # R36 changed (variant): shared contents thrown away
                if v.shared:
                    obj = state.objects[v.obj]
                    idx = [v.object_page(vpn) for vpn in range(max(v.start, start), min(v.end, end))]
                    state = state.with_object(v.obj, replace(obj, pages=obj.pages.remove(*idx)))
        state = state.with_process(pid, replace(proc, private=proc.private.remove(*drop),
                                                lazyfree=proc.lazyfree - set(drop)))
    elif advice == "free":
        keep = {vpn for vpn in pages if vpn in proc.private}
        state = state.with_process(pid, replace(proc, lazyfree=proc.lazyfree | keep))  # C05
    elif advice == "remove":
        for v in inside:  # R39: a hole punched in the object, seen by every mapping
            lo, hi = max(v.start, start), min(v.end, end)
            obj = state.objects[v.obj]
            idx = [v.object_page(vpn) for vpn in range(lo, hi)]
            state = state.with_object(v.obj, replace(obj, pages=obj.pages.remove(*idx)))
    return [(state, ENOMEM if enomem else OK)]


def _runs(pages: list) -> Iterable:
    run_start = prev = None
    for vpn in pages:
        if run_start is None:
            run_start = prev = vpn
        elif vpn == prev + 1:
            prev = vpn
        else:
            yield run_start, prev + 1
            run_start = prev = vpn
    if run_start is not None:
        yield run_start, prev + 1


def mremap(state: State, pid: int, op: Mremap, bind: Optional[str], profile: Profile) -> list:
    failed = state if bind is None else _bind_slot(state, bind)
    if op.at.offset or op.new_length == 0:
        return [(failed, EINVAL)]
    start = _vpn(state, op.at)
    old_pages, new_pages = pages_for(op.old_length), pages_for(op.new_length)
    proc = state.processes[pid]
    vma = proc.vma_at(start)
    if vma is None:
        return [(failed, EFAULT)]
    if op.mode != "grow" and op.old_length == 0:
        # R42: old_size 0 with MREMAP_MAYMOVE duplicates; "move" and "alias" are the same call
        # (MAYMOVE|FIXED to the bound handle's slot), told apart only by old_size.
        if not vma.shared or profile.deviates("mremap-alias-refused"):
            return [(failed, EINVAL)]  # R42: only shared mappings can be duplicated
        dest = state.next_slot_base()
        state = _bind_slot(state, bind, dest)
        state, origin = state.next_origin()
        copy = replace(vma, start=dest, end=dest + new_pages, pgoff=vma.object_page(start),
                       origin=origin)
        return [(aspace.insert(state, pid, copy, profile), OK)]  # R42: the same frames
    if old_pages == 0:
        return [(failed, EINVAL)]  # old size 0 needs MREMAP_MAYMOVE (the alias mode)
    if op.mode == "grow" and new_pages <= old_pages:
        # A shrink only unmaps the tail: the old range need not be one mapping, or be mapped
        # beyond its first page (observed, Linux 6.18).
        return [(aspace.unmap(state, pid, start + new_pages, start + old_pages, profile), OK)]
    if op.mode == "move" and old_pages > new_pages:
        # mremap_to() unmaps the old tail first and moves only what is left (Linux 6.18)
        state = aspace.unmap(state, pid, start + new_pages, start + old_pages, profile)
        failed = _bind_slot(state, bind)
        old_pages = new_pages
        proc = state.processes[pid]
        vma = proc.vma_at(start)
    # A move that keeps the size (MREMAP_FIXED, old == new) may span several records and the
    # gaps between them, each record moving by the same distance (Linux 6.17+, mm/mremap.c
    # remap_move; observed, Linux 6.18). A record whose file picks its own addresses (a SysV
    # attach: vma_multi_allowed) moves only alone: first, it must hold the whole range; later,
    # it stops the move with EFAULT, the records before it already moved.
    spans = op.mode == "move" and old_pages == new_pages and vma.segment is None
    if start + old_pages > vma.end and not spans:
        return [(failed, EFAULT)]  # the old range is one mapping (R44)
    if op.mode == "grow":
        if start + old_pages != vma.end or \
                not aspace.is_range_free(proc, vma.end, start + new_pages):
            return [(state, ENOMEM)]  # no room in place, and no MREMAP_MAYMOVE
        return [(aspace.modify(state, pid, vma.start, vma.end,
                               lambda v: replace(v, end=start + new_pages)), OK)]  # R43
    # move: MREMAP_MAYMOVE | MREMAP_FIXED to the bound handle's slot (R44)
    dest = state.next_slot_base()
    state = _bind_slot(state, bind, dest)
    end, refused = start + old_pages, None
    if spans:
        inside = aspace.split_at(proc.vmas, start, end)[1]
        refused = next((n for n, v in enumerate(inside) if n and v.segment is not None), None)
        moving = inside if refused is None else inside[:refused]
        end = moving[-1].end
        pieces = [replace(v, start=v.start + dest - start, end=v.end + dest - start) for v in moving]
    else:
        pieces = [replace(vma, start=dest, end=dest + new_pages, pgoff=vma.object_page(start))]
    moved_private = {dest + (vpn - start): fid for vpn, fid in proc.private.items() if start <= vpn < end}
    moved_lazy = {dest + (vpn - start) for vpn in proc.lazyfree if start <= vpn < end}
    # The record moves: it is not a new attach, so the origin and the segment stay.
    for piece in pieces:
        state = aspace.unmap(state, pid, piece.start, piece.end, profile)
    proc = state.processes[pid]
    outside, _ = aspace.split_at(proc.vmas, start, end)
    kept_private = proc.private.remove(*[v for v in proc.private if start <= v < end])
    proc = replace(proc, vmas=aspace.merged(outside + pieces),
                   private=kept_private.update(moved_private),
                   lazyfree=(proc.lazyfree - {v for v in proc.lazyfree if start <= v < end}) | moved_lazy)
    return [(state.with_process(pid, proc), OK if refused is None else EFAULT)]


# --- backing objects --------------------------------------------------------------------

def open_(state: State, pid: int, op: Open, bind: str, profile: Profile) -> list:
    proc = state.processes[pid]
    if op.kind == "memfd":
        _require_linux(profile, "memfd_create")
        state, oid = state.new_object(MemObject("memfd", 0))
        return [(_add_fd(state, pid, bind, Fd(oid, rdonly=False)), OK)]
    names = state.file_names if op.kind == "file" else state.shm_names
    oid = names.get(op.name)
    if oid is None:
        if not op.creat:
            return [(state, ENOENT)]  # R46
        state, oid = state.new_object(MemObject(op.kind, 0))
        names = names.set(op.name, oid)
        state = replace(state, **{"file_names" if op.kind == "file" else "shm_names": names})
    elif op.creat and op.excl:
        return [(state, EEXIST)]
    del proc
    return [(_add_fd(state, pid, bind, Fd(oid, rdonly=op.rdonly)), OK)]


def _add_fd(state: State, pid: int, handle: str, fd: Fd) -> State:
    proc = state.processes[pid]
    return state.with_process(pid, replace(proc, fds=proc.fds.set(handle, fd)))


def close(state: State, pid: int, op: Close) -> list:
    proc = state.processes[pid]
    if op.fd not in proc.fds:
        return [(state, EBADF)]
    return [(state.with_process(pid, replace(proc, fds=proc.fds.remove(op.fd))), OK)]


def ftruncate(state: State, pid: int, op: Ftruncate, profile: Profile) -> list:
    fd = _fd(state, pid, op.fd)
    if fd is None:
        return [(state, EBADF)]
    if fd.rdonly:
        return [(state, EINVAL)]
    obj = state.objects[fd.obj]
    if op.length < obj.size and not profile.deviates("truncate-keeps-data"):
        # R03, R08: pages wholly past the new end go; the rest of the last page is zeroed.
        keep = pages_for(op.length)
        pages = obj.pages.remove(*[i for i in obj.pages if i >= keep])
        if op.length % PAGE_SIZE and (keep - 1) in pages:
            fid = pages[keep - 1]
            state = state.with_frame(fid, contents_zero_from(state.frames[fid], op.length % PAGE_SIZE))
        obj = replace(obj, pages=pages)
        shrunk = state.with_object(fd.obj, replace(obj, size=op.length))
        # R08: truncation also throws away private copies of the pages wholly past the new end
        # (truncate_pagecache unmaps them with even_cows), so a later extension reads zeros.
        outcomes = [(_drop_private_copies(shrunk, fd.obj, keep), OK)]
        if profile.private_copy_beyond_eof_may_survive:
            outcomes.append((shrunk, OK))
        return outcomes
    # Growing zeroes nothing on Linux: bytes written into the slack past the old end (R07)
    # become file data (observed on tmpfs, Linux 6.18). POSIX: memory.slack_on_growth.
    if op.length <= obj.size:
        return [(state.with_object(fd.obj, replace(obj, size=op.length)), OK)]
    return [(s.with_object(fd.obj, replace(s.objects[fd.obj], size=op.length)), OK)
            for s in memory.slack_on_growth(state, fd.obj, profile)]  # R07


def _drop_private_copies(state: State, oid: int, first_page: int) -> State:
    for pid, proc in enumerate(state.processes):
        if not proc.alive:
            continue
        doomed = [vpn for v in proc.vmas if not v.shared and v.obj == oid
                  for vpn in range(v.start, v.end)
                  if v.object_page(vpn) >= first_page and vpn in proc.private]
        if doomed:
            state = state.with_process(pid, replace(proc, private=proc.private.remove(*doomed),
                                                    lazyfree=proc.lazyfree - set(doomed)))
    return state


def pread(state: State, pid: int, op: Pread) -> list:
    fd = _fd(state, pid, op.fd)
    if fd is None:
        return [(state, EBADF)]
    obj = state.objects[fd.obj]
    if op.offset >= obj.size:
        return [(state, EOF)]
    index, offset = divmod(op.offset, PAGE_SIZE)
    return [(state, Value(contents_get(memory.object_page_contents(state, fd.obj, index), offset)))]  # R12


def pwrite(state: State, pid: int, op: Pwrite, profile: Profile) -> list:
    fd = _fd(state, pid, op.fd)
    if fd is None or fd.rdonly:
        return [(state, EBADF)]
    obj = state.objects[fd.obj]
    if obj.write_sealed:
        return [(state, EPERM)]  # R47
    index, offset = divmod(op.offset, PAGE_SIZE)
    outcomes = []
    grown = (memory.slack_on_growth(state, fd.obj, profile) if op.offset >= obj.size
             else [state])  # R07: the old slack becomes part of the file
    for s in (w for g in grown
              for w in memory.write_object_byte(g, fd.obj, index, offset, op.value, profile)):
        o = s.objects[fd.obj]
        outcomes.append((s.with_object(fd.obj, replace(o, size=max(o.size, op.offset + 1))), OK))
    return outcomes


def seal(state: State, pid: int, op: Seal) -> list:
    fd = _fd(state, pid, op.fd)
    if fd is None:
        return [(state, EBADF)]
    obj = state.objects[fd.obj]
    if obj.kind != "memfd" or fd.rdonly:
        return [(state, EPERM)]  # regular tmpfs files and shm objects carry F_SEAL_SEAL
    writably_mapped = any(v.obj == fd.obj and v.shared and v.may_write
                          for p in state.processes if p.alive for v in p.vmas)
    if writably_mapped:
        return [(state, EBUSY)]  # R47
    return [(state.with_object(fd.obj, replace(obj, write_sealed=True)), OK)]
