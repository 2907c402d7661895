"""The transition relation: ``step(state, step, profile)`` -> the allowed (state, result) pairs.

Each operation has one handler here, written as Linux does it: guards first (which error the
call must return, named where the name says more than the test), then the update, then the
operation's own effect on page table entries (model/frames.py). Rules cite docs/rules.md by
id. A named variant (model/variants.py) replaces a handler or transforms its outcomes; no
handler asks which profile it runs under except through the profile's data (posix allows
more outcomes where POSIX leaves a behaviour open: model/posix.py, model/profiles.py).
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Callable, Iterable, Optional

from . import absolute_addresses, brk
from . import address_space as aspace
from . import (cow, credentials, descriptors, frames, growsdown, hugepages, locking, map_type, maps,
               memory, posix, protections, read_lag, shm_times, shmctl_commands, variants)
from .credentials import READ
from .ops import (PAGE_SIZE, Brk, Close, Dup, Exec, Exit, Fallocate, Fork, Frames, Fstat, Ftruncate,
                  Madvise, Maps, Mlock, Mmap, Mprotect, Mremap, Msync, Munlock, Munmap, Open,
                  PosixMadvise, Pread, Pwrite, Read, Reopen, Seal, Seals, SetGid, SetUid, ShmAt,
                  ShmCtl, ShmDt, ShmGet, ShmUnlink, Spawn, Step, ThreadExit, Vmlck, Write)
from .profiles import Profile
from .protections import WRITABLE
from .results import DEAD, EOF, OK, Errno, Fault, SegmentId, Stat, Value
from .state import Fd, MemObject, Segment, State, Thread, Vma, contents_get

SHMMAX = 2 ** 63   # larger than any size a case can name: limits are not modelled (R23)
EINVAL, ENOENT, EEXIST, EACCES, ENOMEM, EBADF, EPERM, EBUSY, EFAULT, EOPNOTSUPP, EAGAIN = (
    Errno(n) for n in ("EINVAL", "ENOENT", "EEXIST", "EACCES", "ENOMEM", "EBADF", "EPERM", "EBUSY",
                       "EFAULT", "EOPNOTSUPP", "EAGAIN"))


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
    handler = handlers(profile).get(type(st.op))
    if handler is None:
        raise TypeError(f"not an operation: {st.op!r}")
    return [(timed, r)
            for s, r in handler(state, pid, st, profile)
            for timed in shm_times.note_times(state, shmctl_commands.note_last_attacher(
                state, _settled(_after_fault(s, pid, r, profile), profile), pid))]


@functools.lru_cache(maxsize=64)
def handlers(profile: Profile) -> dict:
    """The handler of every operation under a profile: Linux's, with what POSIX leaves open
    added where the profile allows it (model/posix.py), then the profile's named variants
    applied (model/variants.py)."""
    allowed = {op: posix.widened(op, profile, handler) for op, handler in HANDLERS.items()}
    return {op: variants.handler(op, profile, allowed) for op in allowed}


def _after_fault(state: State, pid: int, result, profile: Profile) -> State:
    """A fault kills the process, with everything that follows: its attaches detach (R28)."""
    if isinstance(result, Fault):
        return aspace.teardown(state, pid, profile, keep_alive=False)
    return state


def _settled(state: State, profile: Profile) -> State:
    """Page table entries that cannot exist any more go (model/frames.py, ``settle``)."""
    return frames.settle(state) if profile.linux_interfaces else state


def _bind_dead(state: State, st: Step) -> State:
    """A step of a dead thread does nothing, but what it would have bound still gets a name."""
    op = st.op
    if isinstance(op, (Fork, Spawn)):
        return replace(state, threads=state.threads.set(st.bind, Thread(-1, alive=False)))
    if isinstance(op, ShmGet):
        return replace(state, segment_handles=state.segment_handles.set(st.bind, -1))
    if st.bind is not None and op.BINDS == "mapping":
        return state.bind_mapping(st.bind)
    return state


def _require_linux(profile: Profile, what: str) -> None:
    if not profile.linux_interfaces:
        raise NotApplicable(f"{what} is Linux-only")


# --- loads, stores and frame observation ----------------------------------------------------

def read(state: State, pid: int, st: Step, profile: Profile) -> list:
    at = st.op.at
    vpn = state.vpn(at)
    return frames.accessed(state, pid, vpn, memory.read(state, pid, vpn, at.offset, profile),
                           profile, written=False)


def write(state: State, pid: int, st: Step, profile: Profile, **rules) -> list:
    """``rules``: Linux's store rules (memory.write) replaced by a variant's."""
    at = st.op.at
    vpn = state.vpn(at)
    outcomes = memory.write(state, pid, vpn, at.offset, st.op.value, profile, **rules)
    return frames.accessed(state, pid, vpn, outcomes, profile, written=True)


def observe_frames(state: State, pid: int, st: Step, profile: Profile) -> list:
    _require_linux(profile, "frame observation (/proc/PID/pagemap)")
    return frames.observe(state, st.op)


def observe_maps(state: State, pid: int, st: Step, profile: Profile) -> list:
    _require_linux(profile, "mapping observation (/proc/PID/maps)")
    return maps.observe(state, pid, st.op)  # R30


# --- processes and threads ----------------------------------------------------------

def inherited_at_fork(v: Vma) -> bool:
    """MADV_DONTFORK ranges are left out of the child (R40)."""
    return not v.dontfork


def copied_at_fork(v: Vma) -> bool:
    """The child sees the parent's private pages, except in MADV_WIPEONFORK ranges, which it
    sees zeroed; the setting itself is inherited (R41)."""
    return not v.wipeonfork


def fork(state: State, pid: int, st: Step, profile: Profile, *,
         inherited_by: Callable[[Vma], bool] = inherited_at_fork,
         copied_by: Callable[[Vma], bool] = copied_at_fork) -> list:
    """R09-R11, R16, R28, R34, R40, R41, C03: the child gets a copy of the address space with
    one thread (the caller's): private pages shared copy-on-write (model/cow.py), shared
    mappings and SysV attaches inherited. ``inherited_by`` and ``copied_by`` are Linux's
    rules; a variant (model/variants.py) may pass its own."""
    # C03: dup_mmap clears VM_LOCKED in the child's records (model/locking.py)
    inherited = [replace(v, locked=False, lock_cleared=v.locked or v.lock_cleared)
                 for v in state.processes[pid].vmas if inherited_by(v)]
    copied = [v for v in inherited if copied_by(v)]
    return [(cow.fork_child(state, pid, st.bind, inherited, copied, profile), OK)]


def spawn(state: State, pid: int, st: Step, profile: Profile) -> list:
    """R15: a new thread shares its process's address space."""
    return [(replace(state, threads=state.threads.set(st.bind, Thread(pid))), OK)]


def thread_exit(state: State, pid: int, st: Step, profile: Profile) -> list:
    """The last thread of a process to exit takes the process with it (R28)."""
    t = state.threads[st.thread]
    state = replace(state, threads=state.threads.set(st.thread, replace(t, alive=False)))
    if not any(o.alive and o.process == t.process for o in state.threads.values()):
        state = aspace.teardown(state, t.process, profile, keep_alive=False)
    return [(state, OK)]


def exit_(state: State, pid: int, st: Step, profile: Profile) -> list:
    """R28: every mapping and attach goes with the process."""
    return [(aspace.teardown(state, pid, profile, keep_alive=False), OK)]


def exec_(state: State, pid: int, st: Step, profile: Profile) -> list:
    """R29, C04: a fresh address space; the other threads of the process are gone."""
    threads = state.threads
    for name, t in threads.items():
        if t.process == pid and name != st.thread and t.alive:
            threads = threads.set(name, replace(t, alive=False))
    state = replace(state, threads=threads)
    state = aspace.teardown(state, pid, profile, keep_alive=True)
    # a new mm: nothing left counted in VmLck (model/locking.py)
    # a fresh image: its own break, which @brk places count from (model/brk.py)
    return [(state.with_process(pid, replace(state.processes[pid], lock_leak=0, brk=0)), OK)]


def _set_credentials(state: State, pid: int, changed: Optional[credentials.Creds]) -> list:
    if changed is None:
        return [(state, EPERM)]  # C07: no CAP_SETUID / CAP_SETGID, and not its own id
    return [(state.with_process(pid, replace(state.processes[pid], creds=changed)), OK)]


def setuid(state: State, pid: int, st: Step, profile: Profile) -> list:
    """C07: setuid(root | other) for the whole process (glibc: every thread, nptl(7))."""
    return _set_credentials(state, pid, credentials.changed_uid(state.processes[pid].creds,
                                                                st.op.uid))


def setgid(state: State, pid: int, st: Step, profile: Profile) -> list:
    """C07: setgid(root | other) for the whole process."""
    return _set_credentials(state, pid, credentials.changed_gid(state.processes[pid].creds,
                                                                st.op.gid))


# --- System V shared memory -----------------------------------------------------------

def shmget(state: State, pid: int, st: Step, profile: Profile) -> list:
    op, bind = st.op, st.bind
    existing = state.segment_with_key(op.key)  # R18
    if existing is None:
        if op.key != "private" and not op.creat:
            return [(_bind_segment(state, bind, -1), ENOENT)]  # R23
        if op.size < 1 or op.size > SHMMAX:
            return [(_bind_segment(state, bind, -1), EINVAL)]  # R23
        state, oid = state.new_object(MemObject("sysv", pages_for(op.size) * PAGE_SIZE))  # R01, R04
        seg = Segment(key=None if op.key == "private" else op.key, size=op.size, obj=oid, creator=pid,
                      perm=credentials.created_by(state.processes[pid].creds, op.mode))  # C07
        state = replace(state, segments=state.segments + (seg,))
        return [(_bind_segment(state, bind, len(state.segments) - 1), SegmentId())]
    if op.creat and op.excl:
        return [(_bind_segment(state, bind, -1), EEXIST)]  # R21
    if op.size > state.segments[existing].size:
        return [(_bind_segment(state, bind, -1), EINVAL)]  # R22: against shm_segsz, unrounded
    if not credentials.ipc_permits(state.segments[existing].perm, state.processes[pid].creds,
                                   credentials.shmget_wants(op.mode)):
        return [(_bind_segment(state, bind, -1), EACCES)]  # C07: ipcperms, after the size check
    same = next(h for h, sid in state.segment_handles.items() if sid == existing)  # first bound
    return [(_bind_segment(state, bind, existing), SegmentId(same))]  # R21, R22


def _bind_segment(state: State, handle: str, sid: int) -> State:
    return replace(state, segment_handles=state.segment_handles.set(handle, sid))


def may_attach(seg: Segment, profile: Profile) -> bool:
    """R19: Linux attaches a removed segment that is still attached somewhere (its id lives
    until the last detach); POSIX's IPC_RMID removes the id at once."""
    return not seg.removed or profile.attach_removed_segment


def shmat(state: State, pid: int, st: Step, profile: Profile) -> list:
    op, bind = st.op, st.bind
    if op.remap:
        _require_linux(profile, "SHM_REMAP")
    failed = state.bind_mapping(bind)
    if op.at is None:
        if op.remap:
            return [(failed, EINVAL)]  # R27: SHM_REMAP needs an address
        base = state.next_slot_base()
    else:
        if op.at.offset and not op.rnd:
            return [(failed, EINVAL)]  # R26
        base = state.vpn(op.at)  # SHM_RND rounds down to SHMLBA = the page (R26)
    sid = state.live_segment(op.segment)
    if sid is None:
        return [(failed, EINVAL)]  # R19, R20
    seg = state.segments[sid]
    if not may_attach(seg, profile):
        return [(failed, EINVAL)]  # R19 (POSIX)
    if not credentials.ipc_permits(seg.perm, state.processes[pid].creds,
                                   credentials.shmat_wants(op.rdonly)):
        return [(failed, EACCES)]  # C07: do_shmat's ipcperms, before the range is looked at
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
    state = state.bind_mapping(bind, base)
    state, origin = state.next_origin()
    prot = "r" if op.rdonly else "rw"  # R24
    vma = Vma(start=base, end=base + pages, prot=prot, shared=True, obj=seg.obj, pgoff=0,
              may_write=not op.rdonly, origin=origin, segment=sid)
    state = aspace.insert(state, pid, vma, profile)  # R14, R24, R27, R28
    return [(frames.fresh_mapping(state, pid, vma.start, vma.end, profile), OK)]


def shmdt(state: State, pid: int, st: Step, profile: Profile) -> list:
    """R25, R31, as ksys_shmdt: the first shm record at or after addr whose page offset in its
    segment equals its distance from addr, then every record of the same attach (``vm_file ==
    file``: each shmat makes a file of its own, which ``origin`` stands for) within the
    segment's size from addr. A piece of another attach of the segment that an mremap put
    there stays (the kernel's comment: "someone could place page from another segment")."""
    op = st.op
    if op.at.offset:
        return [(state, EINVAL)]
    addr = state.vpn(op.at)
    proc = state.processes[pid]
    candidates = [v for v in proc.vmas if v.end > addr and v.start >= addr]
    first = next((v for v in candidates if v.segment is not None and v.start - addr == v.pgoff), None)
    if first is None:
        return [(state, EINVAL)]
    size = state.objects[first.obj].page_count()
    doomed = [first] + [v for v in candidates if v.start > first.start and v.end - addr <= size
                        and v.origin == first.origin and v.start - addr == v.pgoff]
    for v in doomed:
        state = aspace.unmap(state, pid, v.start, v.end, profile)
    return [(state, OK)]


def shmctl(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    if op.cmd in shm_times.COMMANDS:
        _require_linux(profile, f"shmctl {op.cmd}")
        return shm_times.observe(state, pid, op)
    if op.cmd in shmctl_commands.COMMANDS:
        if op.cmd in shmctl_commands.LINUX_ONLY:
            _require_linux(profile, f"shmctl {op.cmd}")
        return shmctl_commands.perform(state, pid, op, profile)
    sid = state.live_segment(op.segment)
    if sid is None:
        return [(state, EINVAL)]  # R17, R20: a destroyed segment's id is gone
    seg = state.segments[sid]
    creds = state.processes[pid].creds
    if op.cmd == "stat" and not credentials.ipc_permits(seg.perm, creds, READ):
        return [(state, EACCES)]  # C07: shmctl_stat's ipcperms(S_IRUGO)
    if op.cmd in ("rmid", "set") and not credentials.may_change_ipc(seg.perm, creds):
        return [(state, EPERM)]  # C07: ipcctl_obtain_check
    if op.cmd == "set":
        perm = credentials.ipc_set(seg.perm, op.mode, op.uid, op.gid)
        return [(state.with_segment(sid, replace(seg, perm=perm)), OK)]  # C07: ipc_update_perm
    if op.cmd == "stat":
        stat = Stat(nattch=aspace.nattch(state, sid, profile), segsz=seg.size, dest=seg.removed,
                    key=seg.key or "private")
        return [(state, stat)]  # R17
    state = aspace.remove_segment(state, sid, profile)  # R17, R18
    return [(aspace.settle_segment(state, sid, profile), OK)]  # R20: unattached, it goes now


# --- mappings ---------------------------------------------------------------------------

def mmap(state: State, pid: int, st: Step, profile: Profile) -> list:
    outcomes = _mmap(state, pid, st, profile)
    op = st.op
    if op.prot in protections.EXECUTABLE and op.fd is not None and \
            all(r == OK for _, r in outcomes):
        fd = descriptors.held_fd(state, pid, op.fd)
        if protections.exec_may_be_refused(state.objects[fd.obj].kind):
            outcomes.append((state.bind_mapping(st.bind), EPERM))  # C01: a noexec mount
    return outcomes


def _mmap(state: State, pid: int, st: Step, profile: Profile) -> list:
    op, bind = st.op, st.bind
    if op.fixed == "noreplace":
        _require_linux(profile, "MAP_FIXED_NOREPLACE")
    if op.locked or op.populate or op.validate:
        _require_linux(profile, "MAP_LOCKED, MAP_POPULATE and MAP_SHARED_VALIDATE")
    failed = state.bind_mapping(bind)
    before = state
    if op.length == 0 or op.offset % PAGE_SIZE:
        return [(failed, EINVAL)]  # C01
    if op.fixed != "none" and op.at.offset:
        return [(failed, EINVAL)]
    pages = pages_for(op.length)
    base = state.next_slot_base() if op.fixed == "none" else state.vpn(op.at)
    if op.neither:   # neither MAP_SHARED nor MAP_PRIVATE: model/map_type.py (C01)
        return map_type.refused(state, pid, op, base, pages, failed,
                                lambda what: _require_linux(profile, what))
    writable = protections.allows_store(op.prot)
    may_write = True
    obj_id: Optional[int] = None
    if op.fd is not None:
        fd = descriptors.held_fd(state, pid, op.fd)
        if fd is None:
            return [(failed, EBADF)]
        obj = state.objects[fd.obj]
        if obj.kind == "memfd":
            _require_linux(profile, "memfd")
        refused = _validate_refused(state, pid, op, base, pages)
        if refused is not None:
            return [(failed, refused)]
        if fd.wronly:
            return [(failed, EACCES)]  # C01: mmap needs a descriptor open for reading
        if op.shared and fd.rdonly:
            if writable:
                return [(failed, EACCES)]  # C01
            may_write = False
        if op.shared and descriptors.denies_writes(obj):
            if writable:
                return [(failed, EPERM)]  # R47 (seal_check_write: F_SEAL_FUTURE_WRITE too)
            may_write = False
        obj_id = fd.obj
    if op.fixed == "noreplace" and not aspace.is_range_free(state.processes[pid], base, base + pages):
        return [(failed, EEXIST)]  # C01
    if op.validate and op.fd is None:
        return [(failed, EINVAL)]  # do_mmap: MAP_SHARED_VALIDATE is no type of anonymous map
    state = state.bind_mapping(bind, base)
    if op.fd is None and op.shared:
        state, obj_id = state.new_object(MemObject("anon", pages * PAGE_SIZE))  # R02, R10
    elif obj_id is not None and profile.slack_zero_filled_when_mapped \
            and not memory.is_mapped_anywhere(state, obj_id):
        state = memory.zero_slack(state, obj_id)  # R07 (POSIX: a new mapping zero-fills it)
    state, origin = state.next_origin()
    # An anonymous private record's page offset is its page number (mmap_region sets vm_pgoff to
    # addr >> PAGE_SHIFT), so that records made apart merge only where their pages line up.
    pgoff = base if obj_id is None else op.offset // PAGE_SIZE
    vma = Vma(start=base, end=base + pages, prot=op.prot, shared=op.shared, obj=obj_id,
              pgoff=pgoff, may_write=may_write, origin=origin,
              accounted=not op.shared and op.prot in WRITABLE,  # accountable_mapping
              locked=op.locked, growsdown=op.growsdown)
    state = aspace.insert(state, pid, vma, profile)  # C01: MAP_FIXED replaces
    state = frames.fresh_mapping(state, pid, vma.start, vma.end, profile)
    if op.locked or op.populate:
        # model/locking.py: faulted in, errors ignored (C09: no value changes, but a private
        # writable page gets its copy)
        state = locking.populate(state, pid, vma.start, vma.end, profile)[0]
    outcomes = [(state, OK)]
    if op.locked and locking.may_be_limited(before, pid):
        # can_do_mlock (EPERM), mlock_future_ok (EAGAIN): RLIMIT_MEMLOCK, not fixed by a case
        outcomes += [(failed, EPERM), (failed, EAGAIN)]
    return outcomes


def _validate_refused(state: State, pid: int, op: Mmap, base: int, pages: int):
    """MAP_SHARED_VALIDATE of a file (do_mmap): a flag outside what it knows (an unknown bit;
    MAP_FIXED_NOREPLACE too, observed on 6.18) is EOPNOTSUPP, after the EEXIST of an overlap;
    without them it is MAP_SHARED. None: not refused here."""
    if not op.validate or not (op.unknown or op.fixed == "noreplace"):
        return None
    if op.fixed == "noreplace" and not aspace.is_range_free(state.processes[pid], base,
                                                            base + pages):
        return EEXIST
    return EOPNOTSUPP


def _moved(vma: Vma, start: int, end: int, pgoff: int) -> Vma:
    """A record moved by mremap keeps its page offset, except an anonymous private one that was
    never written: copy_vma gives it the page number of its new place (mm/vma.c), as mmap
    would, so it merges where a fresh mapping would."""
    if vma.obj is None and not vma.anon_vma:
        pgoff = start
    return replace(vma, start=start, end=end, pgoff=pgoff)


def munmap(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    if op.at.offset or op.length == 0:
        return [(state, EINVAL)]  # R05
    start, end = state.span(op.at, op.length)
    return [(aspace.unmap(state, pid, start, end, profile), OK)]  # R05, R31, R32


def mprotect(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    if op.at.offset:
        return [(state, EINVAL)]
    start, end = state.span(op.at, op.length)
    proc = state.processes[pid]
    hole = aspace.first_hole(proc, start, end)
    refusing = next((max(v.start, start) for v in aspace.overlapping(proc, start, end)
                     if not v.may_write), None) if protections.allows_store(op.prot) else None
    # do_mprotect_pkey changes the records in order: a hole stops it (ENOMEM, C01), and so does
    # the first record without VM_MAYWRITE (EACCES: R24, C01, R47); those before either changed
    refused = refusing is not None and (hole is None or refusing < hole)
    stop = refusing if refused else end if hole is None else hole
    changed, _ = aspace.protect(state, pid, start, stop, op.prot)  # R30, R33
    changed = locking.after_mprotect(state, changed, pid, start, stop, op.prot,
                                     profile)  # a locked record made writable
    if refused:
        return [(changed, EACCES)]
    outcomes = [(changed, OK if hole is None else ENOMEM)]  # C01: stopped at a hole
    if op.prot in protections.EXECUTABLE and any(
            v.obj is not None and protections.exec_may_be_refused(state.objects[v.obj].kind)
            for v in aspace.overlapping(proc, start, end)):
        outcomes.append((state, EACCES))  # C01: no VM_MAYEXEC on a noexec mount
    return outcomes


# madvise hints that set a VMA flag (R48): advice -> (field, value). MADV_MERGEABLE leaves
# shared records alone (KSM merges only private anonymous pages: vma_ksm_compatible()).
HINT_FLAGS = {
    "normal": ("readahead", "normal"), "random": ("readahead", "random"),
    "sequential": ("readahead", "sequential"),
    "dontdump": ("dontdump", True), "dodump": ("dontdump", False),
    "hugepage": ("thp", "huge"), "nohugepage": ("thp", "nohuge"),
    "mergeable": ("mergeable", True), "unmergeable": ("mergeable", False),
    "dontfork": ("dontfork", True), "dofork": ("dontfork", False),
    "wipeonfork": ("wipeonfork", True), "keeponfork": ("wipeonfork", False),
}
# Advices a kernel built without the feature refuses with EINVAL (madvise_behavior_valid():
# CONFIG_TRANSPARENT_HUGEPAGE, CONFIG_KSM); the effect is all or nothing (R48).
CONFIG_DEPENDENT = {"hugepage", "nohugepage", "mergeable", "unmergeable"}


def _hint_change(advice: str):
    field, value = HINT_FLAGS[advice]
    if advice == "mergeable":
        return lambda v: v if v.shared else replace(v, mergeable=True)
    return lambda v: replace(v, **{field: value})


def madvise(state: State, pid: int, st: Step, profile: Profile) -> list:
    _require_linux(profile, "madvise")
    op = st.op
    advice = op.advice
    if advice == "invalid":
        return [(state, EINVAL)]  # C01: madvise_behavior_valid() comes before the range checks
    outcomes = _madvise(state, pid, op, profile)
    if advice in CONFIG_DEPENDENT and all(r != EINVAL for _, r in outcomes):
        outcomes = outcomes + [(state, EINVAL)]
    return outcomes


def _madvise(state: State, pid: int, op: Madvise, profile: Profile) -> list:
    if op.at.offset:
        return [(state, EINVAL)]
    start, end = state.span(op.at, op.length)
    proc = state.processes[pid]
    inside = aspace.overlapping(proc, start, end)
    advice = op.advice
    refusal = next(((v, e) for v in inside for e in [_advice_refused(state, v, advice)] if e),
                   None)
    if refusal is not None:
        # madvise_walk_vmas advises the records in order, holes skipped, and returns the first
        # record's error: the records before it keep the advice (C09, R39, R41, C05)
        first, error = refusal
        if first.start <= start:
            return [(state, error)]
        before = replace(op, length=(first.start - start) * PAGE_SIZE)
        return [(s, error) for s, _ in _madvise(state, pid, before, profile)]
    covered = aspace.mapped_pages(proc, start, end)
    result = ENOMEM if len(covered) < end - start else OK
    pages = sorted(covered)
    if advice in HINT_FLAGS:
        # R40, R41, R48: the flag on the mapped part; a record that already has it is not
        # split (R30: madvise_update_vma() returns early when the flags do not change).
        change = _hint_change(advice)
        for lo, hi in _runs(pages):
            state = aspace.modify(state, pid, lo, hi, change)
    elif advice in ("dontneed", "guard_install"):
        # R35, R36, R37: private copies are thrown away; shared contents stay in the object.
        # R49: MADV_GUARD_INSTALL zaps the range the same way, then leaves a marker in each
        # entry: an access faults until MADV_GUARD_REMOVE; the VMA is not split.
        drop = [vpn for vpn in pages if vpn in proc.private]
        guards = proc.guarded | set(pages) if advice == "guard_install" else proc.guarded
        vmas = proc.vmas
        if advice == "guard_install":
            # Linux 6.18 madvise_guard_install: anon_vma_prepare(vma) on each record advised,
            # "the range is no longer empty from a page table perspective": the record now
            # has an anon_vma, so mremap keeps its page offset and it merges as written memory
            # does (random corpus seed 47: a DONTUNMAP move next to it stays a record apart)
            # (address_space.anon_vma_prepare: the neighbour's when reusable, else a new one)
            for v in inside:
                state, vmas = aspace.anon_vma_prepare(state, vmas, v)
            proc = state.processes[pid]
        state = state.with_process(pid, replace(proc, private=proc.private.remove(*drop),
                                                lazyfree=proc.lazyfree - set(drop),
                                                guarded=guards, vmas=vmas))
        state = frames.zapped(state, pid, start, end, profile)
    elif advice == "guard_remove":
        state = state.with_process(pid, replace(proc, guarded=proc.guarded - set(pages)))  # R49
    elif advice == "free":
        keep = {vpn for vpn in pages if vpn in proc.private}
        state = state.with_process(pid, replace(proc, lazyfree=proc.lazyfree | keep))  # C05
    elif advice == "remove":
        for v in inside:  # R39: a hole punched in the object, seen by every mapping
            state = memory.punch_hole(state, v, start, end)
    elif advice == "pageout":
        # R48: reclaim may unmap what it pages out (an entry mapped by this process alone);
        # the contents stay (swap or the page cache), only frame observations can tell.
        return frames.maybe_reclaimed(state, pid, pages, profile, result)
    # willneed, cold: no flag, no contents, no entries (R48)
    return [(state, result)]


def _advice_refused(state: State, v, advice: str):
    """The error madvise gives for record ``v`` itself (None: it takes the advice)."""
    if locking.refuses_locked(v, advice):
        return EINVAL  # C09: model/locking.py (madvise_remove checks VM_LOCKED first)
    if advice in ("wipeonfork", "free") and (v.shared or v.obj is not None):
        return EINVAL  # R41, C05: anonymous private memory only
    if advice == "remove":
        # R39, as madvise_remove(): no file behind it (private anonymous memory) -> EINVAL; a
        # file but not VM_SHARED|VM_MAYWRITE (a MAP_PRIVATE file mapping, a read-only fd or
        # SHM_RDONLY attach) -> EACCES. The current protection does not matter: a shared
        # PROT_READ mapping of a writable object is punched (observed, Linux 6.18).
        if v.obj is None:
            return EINVAL
        if not (v.shared and v.may_write):
            return EACCES
        if descriptors.denies_writes(state.objects[v.obj]):
            # R47: the hole is vfs_fallocate(PUNCH_HOLE), which a write seal refuses; only
            # F_SEAL_FUTURE_WRITE leaves a writable shared mapping to advise (observed)
            return EPERM
    return None


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


def mremap(state: State, pid: int, st: Step, profile: Profile) -> list:
    _require_linux(profile, "mremap")
    op, bind = st.op, st.bind
    outcomes = _locked_remap(state, pid, op, bind, _remap(state, pid, op, bind, profile), profile)
    if op.mode != "grow" and op.old_length:
        # a move carries page table entries, also one that a SysV attach stopped with EFAULT
        return [(frames.moved(state, s, pid, op, _destination(state, s, op, bind), profile)
                 if r == OK or (r == EFAULT and s is not state and _moved_some(state, s, op, pid))
                 else s, r)
                for s, r in outcomes]
    return outcomes


def _locked_remap(before: State, pid: int, op: Mremap, bind: Optional[str], outcomes: list,
                  profile: Profile) -> list:
    """model/locking.py: a locked record that grows has its new tail faulted in (and, for a
    process held to RLIMIT_MEMLOCK, may be refused with EAGAIN); MREMAP_DONTUNMAP clears the
    lock of the old range and leaves its pages counted in VmLck."""
    start = before.vpn(op.at)
    if op.at.offset or op.old_length == 0:
        return outcomes
    old_pages, new_pages = pages_for(op.old_length), pages_for(op.new_length)
    vma = before.processes[pid].vma_at(start)
    # a move may take several records, and any of them may be the locked one (a random case
    # of seed 1 moved an unlocked page and a locked one with MREMAP_DONTUNMAP)
    locked_first = vma is not None and vma.locked
    if not any(v.locked for v in aspace.overlapping(before.processes[pid], start,
                                                     start + old_pages)):
        return outcomes   # the first record, when locked, is one of them
    out = []
    for s, r in outcomes:
        if r == OK and new_pages > old_pages and locked_first:
            first = start if op.mode == "grow" else _destination(before, s, op, bind)
            if first is not None:
                s = locking.after_grow(s, pid, first + old_pages, first + new_pages, profile)
        if r == OK and op.dontunmap:
            s = locking.after_dontunmap(before, s, pid, start, start + old_pages)
        out.append((s, r))
    if new_pages > old_pages and locked_first and locking.may_be_limited(before, pid) and \
            any(r == OK for _, r in outcomes):
        # mlock_future_ok: RLIMIT_MEMLOCK. A refused move binds its handle as every failed
        # call does (State.bind_mapping), so that a later step naming it still resolves.
        out.append((before if bind is None else before.bind_mapping(bind), EAGAIN))
    return out


def _moved_some(before: State, after: State, op: Mremap, pid: int) -> bool:
    """Whether an EFAULT move had moved records before it stopped: the old range's first
    record has left its place (with MREMAP_DONTUNMAP: it lost its anon_vma links)."""
    start = before.vpn(op.at)
    now = after.processes[pid].vma_at(start)
    return now is None or (op.dontunmap and now != before.processes[pid].vma_at(start))


def _destination(before: State, state: State, op: Mremap, bind: Optional[str]) -> Optional[int]:
    """The first page a move goes to: the place ``to`` (mode fixed), else the bound handle's slot."""
    if op.mode == "fixed":
        return before.vpn(op.to)
    return state.mapping_handles.get(bind)


def _new_address_refused(state: State, op: Mremap, start: int) -> bool:
    """check_mremap_params (mm/mremap.c) for a call with a new address (MREMAP_FIXED or
    MREMAP_DONTUNMAP): EINVAL for an unaligned new address, for no MREMAP_MAYMOVE, for
    MREMAP_DONTUNMAP with two sizes (compared before rounding), and for a new range that
    overlaps the old one (Linux 6.18 checks it here, before the old range is looked up:
    an unmapped old range that overlaps is EINVAL, not EFAULT; mremap05). C01, R44."""
    if op.dontunmap and op.old_length != op.new_length:
        return True
    if op.mode != "fixed":
        return False          # move: MAYMOVE|FIXED to a slot of its own, which nothing overlaps
    if op.to.offset or not op.maymove:
        return True
    dest = state.vpn(op.to)
    old_end = start + pages_for(op.old_length)
    return old_end > dest and dest + pages_for(op.new_length) > start


def _remap(state: State, pid: int, op: Mremap, bind: Optional[str], profile: Profile) -> list:
    failed = state if bind is None else state.bind_mapping(bind)
    if op.at.offset or op.new_length == 0:
        return [(failed, EINVAL)]
    start = state.vpn(op.at)
    if (op.mode == "fixed" or op.dontunmap) and _new_address_refused(state, op, start):
        return [(failed, EINVAL)]
    old_pages, new_pages = pages_for(op.old_length), pages_for(op.new_length)
    proc = state.processes[pid]
    vma = proc.vma_at(start)
    if vma is None:
        return [(failed, EFAULT)]
    # Where a move goes: the place ``to``, or the bound handle's slot (move, alias).
    dest = state.vpn(op.to) if op.mode == "fixed" else state.next_slot_base()
    if op.mode != "grow" and op.old_length == 0:
        # R42: old_size 0 with MREMAP_MAYMOVE duplicates; "move" and "alias" are the same call
        # (MAYMOVE|FIXED to the bound handle's slot), told apart only by old_size.
        if not vma.shared:
            return [(failed, EINVAL)]  # R42: only shared mappings can be duplicated
        state = state.bind_mapping(bind, dest) if bind is not None else state
        origin = vma.origin
        if vma.segment is None:
            state, origin = state.next_origin()
        # A SysV attach's copy holds the attach's own file (copy_vma: get_file(vm_file)), which
        # its origin stands for: shmdt of either place finds the other (R25, ksys_shmdt).
        copy = replace(vma, start=dest, end=dest + new_pages, pgoff=vma.object_page(start),
                       origin=origin)
        state = aspace.insert(state, pid, copy, profile)  # R42: the same frames
        return [(frames.fresh_mapping(state, pid, copy.start, copy.end, profile), OK)]
    if old_pages == 0:
        return [(failed, EINVAL)]  # old size 0 needs MREMAP_MAYMOVE (the alias mode)
    if op.mode == "grow" and new_pages <= old_pages:
        # A shrink only unmaps the tail: the old range need not be one mapping, or be mapped
        # beyond its first page (observed, Linux 6.18).
        return [(aspace.unmap(state, pid, start + new_pages, start + old_pages, profile), OK)]
    if op.mode != "grow" and old_pages > new_pages:
        # mremap_to() unmaps the old tail first and moves only what is left (Linux 6.18)
        state = aspace.unmap(state, pid, start + new_pages, start + old_pages, profile)
        failed = state if bind is None else state.bind_mapping(bind)
        old_pages = new_pages
        proc = state.processes[pid]
        vma = proc.vma_at(start)
    # A move that keeps the size (MREMAP_FIXED, old == new) may span several records and the
    # gaps between them, each record moving by the same distance (Linux 6.17+, mm/mremap.c
    # remap_move; observed, Linux 6.18, with MREMAP_DONTUNMAP too). A record whose file picks
    # its own addresses (a SysV attach: vma_multi_allowed) moves only alone: first, it must hold
    # the whole range; later, it stops the move with EFAULT, the records before it already moved.
    spans = op.mode != "grow" and old_pages == new_pages and vma.segment is None
    if start + old_pages > vma.end and not spans:
        return [(failed, EFAULT)]  # the old range is one mapping (R44); mremap_to leaves
        # the new range alone then (observed, Linux 6.18)
    if op.mode == "grow":
        if start + old_pages != vma.end or \
                not aspace.is_range_free(proc, vma.end, start + new_pages):
            return [(state, ENOMEM)]  # no room in place, and no MREMAP_MAYMOVE
        return [(aspace.extended(state, pid, vma, start + new_pages), OK)]  # R43
    if op.mode == "fixed" and not spans:
        # MREMAP_FIXED unmaps the new range first, as MAP_FIXED would (mremap05, mremap08). A
        # move of the same size goes record by record (remap_move), each unmapping only its own
        # new range: what faces a hole of the old range stays (observed, Linux 6.18).
        state = aspace.unmap(state, pid, dest, dest + new_pages, profile)
        proc = state.processes[pid]
    if bind is not None:
        state = state.bind_mapping(bind, dest)
    end, refused = start + old_pages, None
    if spans:
        inside = aspace.split_at(proc.vmas, start, end)[1]
        refused = next((n for n, v in enumerate(inside) if n and v.segment is not None), None)
        moving = inside if refused is None else inside[:refused]
        end = moving[-1].end
        pieces = [_moved(v, v.start + dest - start, v.end + dest - start, v.pgoff) for v in moving]
    else:
        pieces = [_moved(vma, dest, dest + new_pages, vma.object_page(start))]
    moved_private = {dest + (vpn - start): fid for vpn, fid in proc.private.items() if start <= vpn < end}
    was = proc
    # The record moves: it is not a new attach, so the origin and the segment stay.
    for piece in pieces:
        state = aspace.unmap(state, pid, piece.start, piece.end, profile)
    proc = state.processes[pid]
    outside, _ = aspace.split_at(proc.vmas, start, end)
    if op.dontunmap:
        # MREMAP_DONTUNMAP: the old range stays mapped with its page tables moved away, so it
        # faults afresh (private anonymous memory reads 0 again, a shared mapping reads its
        # object), mremap07. Nothing unmaps it, so its records are not split (a SysV attach
        # keeps one VMA: nattch counts it and the copy); a record moved whole loses its
        # anon_vma links (dontunmap_complete).
        outside = [v if v.end <= start or v.start >= end else
                   replace(v, anon_vma=False, fork_anon_vma=False)
                   if start <= v.start and v.end <= end else v
                   for v in proc.vmas]
    kept_private = proc.private.remove(*[v for v in proc.private if start <= v < end])
    proc = replace(proc, vmas=aspace.merged(outside + pieces, [p.start for p in pieces]),
                   private=kept_private.update(moved_private),
                   lazyfree=_carried(was.lazyfree, proc.lazyfree, start, end, dest),
                   guarded=_carried(was.guarded, proc.guarded, start, end, dest))  # R49
    return [(state.with_process(pid, proc), OK if refused is None else EFAULT)]


def _carried(marks_then: frozenset, marks_now: frozenset, start: int, end: int,
             dest: int) -> frozenset:
    """mremap's move of per-page marks (MADV_FREE, guard markers): ``marks_now`` with the
    pages of [start, end) replaced by ``marks_then``'s there, moved to ``dest``."""
    return (frozenset(v for v in marks_now if not start <= v < end)
            | {dest + (v - start) for v in marks_then if start <= v < end})


# --- backing objects --------------------------------------------------------------------

def open_(state: State, pid: int, st: Step, profile: Profile) -> list:
    op, bind = st.op, st.bind
    if op.kind == "memfd":
        _require_linux(profile, "memfd_create")
        if op.invalid == "null_name":
            # memfd_create (mm/memfd.c alloc_name) reads the name at address 0 with
            # strnlen_user: EFAULT (LTP memfd_create02.c) unless a privileged mmap put a
            # readable nil page there (model/absolute_addresses.py, C07), whose zeros are an
            # empty name (the case format lets no write reach it)
            return [(s, EFAULT) if isinstance(result, Fault) else created
                    for s, result in memory.read(state, pid, absolute_addresses.page_base("@zero"),
                                                 0, profile)
                    for created in _memfd_create(s, pid, op, bind)]
        if op.invalid != "none":
            # unknown flags, or a name longer than MFD_NAME_MAX_LEN (EINVAL)
            return [(state, EINVAL)]
        return _memfd_create(state, pid, op, bind)
    names = state.file_names if op.kind == "file" else state.shm_names
    oid = names.get(op.name)
    creds = state.processes[pid].creds
    if oid is None:
        if not op.creat:
            return [(state, ENOENT)]  # R46
        state, oid = state.new_object(MemObject(op.kind, 0,
                                                perm=credentials.created_by(creds, op.mode)))  # C07
        names = names.set(op.name, oid)
        state = replace(state, **{"file_names" if op.kind == "file" else "shm_names": names})
        return [(_add_fd(state, pid, bind, Fd(oid, rdonly=op.rdonly, wronly=op.wronly)), OK)]
    if op.creat and op.excl:
        return [(state, EEXIST)]
    perm = state.objects[oid].perm
    outcomes = [(_add_fd(state, pid, bind, Fd(oid, rdonly=op.rdonly, wronly=op.wronly)), OK)
                if credentials.file_permits(perm, creds, op.rdonly, op.wronly)
                else (state, EACCES)]  # C07: may_open's permission check
    if op.creat and credentials.sticky_create_may_refuse(perm, creds) \
            and outcomes[0][1] != EACCES:
        outcomes.append((state, EACCES))  # C07: fs.protected_regular (may_create_in_sticky)
    return outcomes


def _memfd_create(state: State, pid: int, op, bind: str) -> list:
    # R47: without MFD_ALLOW_SEALING the memfd keeps the F_SEAL_SEAL every shmem inode has
    seals = frozenset({"seal"}) if op.nosealing else frozenset()
    # C07: a memfd's inode is made with mode 0777 and the caller's ids (shmem_file_setup,
    # S_IRWXUGO); only a reopen through /proc/self/fd ever checks them
    perm = credentials.created_by(state.processes[pid].creds, 0o777)
    state, oid = state.new_object(MemObject("memfd", 0, seals=seals, perm=perm))
    return [(_add_fd(state, pid, bind, Fd(oid, rdonly=False)), OK)]


def _add_fd(state: State, pid: int, handle: str, fd: Fd) -> State:
    proc = state.processes[pid]
    return state.with_process(pid, replace(proc, fds=proc.fds.set(handle, fd)))


def close(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    proc = state.processes[pid]
    if op.fd not in proc.fds:
        return [(state, EBADF)]
    return [(state.with_process(pid, replace(proc, fds=proc.fds.remove(op.fd))), OK)]


def ftruncate(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    fd = descriptors.held_fd(state, pid, op.fd)
    if fd is None:
        return [(state, EBADF)]
    if fd.rdonly:
        return [(state, EINVAL)]
    if descriptors.resize_refused(state.objects[fd.obj], op.length):
        return [(state, EPERM)]  # R47: F_SEAL_SHRINK, F_SEAL_GROW (shmem_setattr)
    return [(s, OK) for s in descriptors.truncated(state, fd.obj, op.length, profile)]


def pread(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    fd = descriptors.held_fd(state, pid, op.fd)
    if fd is None or fd.wronly:
        return [(state, EBADF)]
    obj = state.objects[fd.obj]
    if op.offset >= obj.size:
        return [(state, EOF)]
    index, offset = divmod(op.offset, PAGE_SIZE)
    current = contents_get(memory.object_page_contents(state, fd.obj, index), offset)
    return [(s, Value(v)) for s, v in read_lag.pread_choices(state, fd.obj, index, offset, current)]  # R12


def pwrite(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    fd = descriptors.held_fd(state, pid, op.fd)
    if fd is None or fd.rdonly:
        return [(state, EBADF)]
    obj = state.objects[fd.obj]
    if descriptors.denies_writes(obj):
        return [(state, EPERM)]  # R47 (F_SEAL_FUTURE_WRITE too)
    if descriptors.resize_refused(obj, max(obj.size, op.offset + 1)):
        return [(state, EPERM)]  # R47: F_SEAL_GROW refuses a write past the end
    index, offset = divmod(op.offset, PAGE_SIZE)
    outcomes = []
    grown = (memory.slack_on_growth(state, fd.obj, profile) if op.offset >= obj.size
             else [state])  # R07: the old slack becomes part of the file
    for s in (w for g in grown
              for w in memory.write_object_byte(g, fd.obj, index, offset, op.value, profile)):
        s = read_lag.in_sync(s, fd.obj, lambda i, o: (i, o) == (index, offset))  # R12
        o = s.objects[fd.obj]
        outcomes.append((s.with_object(fd.obj, replace(o, size=max(o.size, op.offset + 1))), OK))
    return outcomes


def shm_unlink(state: State, pid: int, st: Step, profile: Profile) -> list:
    """R46: the name goes; the object lives on while it is open or mapped."""
    if st.op.name not in state.shm_names:
        return [(state, ENOENT)]
    if not credentials.may_unlink_in_sticky(state.objects[state.shm_names[st.op.name]].perm,
                                            state.processes[pid].creds):
        # C07: /dev/shm is sticky (check_sticky: EPERM), and glibc's shm_unlink turns EPERM
        # into EACCES, the error POSIX names (sysdeps/pthread/shm-unlink.c)
        return [(state, EACCES)]
    return [(replace(state, shm_names=state.shm_names.remove(st.op.name)), OK)]


def posix_madvise(state: State, pid: int, st: Step, profile: Profile) -> list:
    op = st.op
    if op.advice == "dontneed":
        return [(state, OK)]  # R38: glibc ignores POSIX_MADV_DONTNEED
    if profile.linux_interfaces:
        # R48: glibc passes the other advices to madvise: the same checks, the same VMA flags
        return _madvise(state, pid, Madvise(op.at, op.length, op.advice), profile)
    # POSIX: advice that changes nothing; EINVAL for an unaligned address or a length 0 "may"
    # be returned, and a range outside what the process may address is ENOMEM (R48).
    outcomes = [(state, OK)]
    if op.at.offset or op.length == 0:
        outcomes.append((state, EINVAL))
    if not op.at.offset:
        start, end = state.span(op.at, op.length)
        if len(aspace.mapped_pages(state.processes[pid], start, end)) < end - start:
            outcomes.append((state, ENOMEM))
    return outcomes


# The seals and open-file calls: model/descriptors.py; the Linux-only ones guarded here.
def _linux_only(handler: Callable, what: str) -> Callable:
    """A handler of model/descriptors.py behind the Linux-only guard."""
    @functools.wraps(handler)
    def guarded(state: State, pid: int, st: Step, profile: Profile) -> list:
        _require_linux(profile, what)
        return handler(state, pid, st, profile)
    return guarded


seal = _linux_only(descriptors.seal, "memfd sealing")   # Seal's handler (its twin's name)


# Linux's handler of each operation. A variant's handler for an operation replaces or wraps
# this one (model/variants.py, ``handler``).
HANDLERS = {
    **{op: absolute_addresses.guard(h, _require_linux)   # @zero, @high, @kernel around these
       for op, h in ((Mmap, mmap), (Munmap, munmap), (Mprotect, mprotect), (ShmAt, shmat),
                     (ShmDt, shmdt))},
    Frames: observe_frames, Maps: observe_maps, Read: read, Write: write,
    Fork: fork, Spawn: spawn, ThreadExit: thread_exit, Exit: exit_, Exec: exec_,
    SetUid: setuid, SetGid: setgid,
    ShmGet: shmget, ShmCtl: shmctl,
    Madvise: madvise, PosixMadvise: posix_madvise,
    Mremap: mremap,
    Open: open_, Close: close, Ftruncate: ftruncate, Pread: pread, Pwrite: pwrite,
    ShmUnlink: shm_unlink, Seal: seal,
    Seals: _linux_only(descriptors.get_seals, "F_GET_SEALS"), Dup: descriptors.dup,
    Reopen: _linux_only(descriptors.reopen, "/proc/self/fd"),
    Fallocate: _linux_only(descriptors.fallocate, "fallocate"), Fstat: descriptors.fstat,
    Mlock: _linux_only(locking.mlock, "mlock (model/locking.py)"),
    Munlock: _linux_only(locking.munlock, "munlock (model/locking.py)"),
    Vmlck: _linux_only(locking.vmlck, "VmLck (/proc/PID/status)"), Msync: locking.msync,
    Brk: _linux_only(brk.brk, "brk (model/brk.py)"),
}
# Huge-page objects (MFD_HUGETLB, SHM_HUGETLB) around the calls they change: model/hugepages.py
HANDLERS = {op: hugepages.wrapped(op, handler, _require_linux) for op, handler in HANDLERS.items()}
# MAP_GROWSDOWN: growth before loads and stores (R50): model/growsdown.py
HANDLERS = {op: growsdown.wrapped(op, handler, _require_linux, NotApplicable)
            for op, handler in HANDLERS.items()}
