"""What each named variant does instead of Linux's rule, keyed by operation.

A variant is linux with one rule changed (its catalogue entry: model/profiles.py, VARIANTS).
Its change is written here, never inside a rule of model/semantics.py, in one of two forms:

- ``Replace(op, handler)``: the variant's handler for the operation; it gets Linux's handlers
  (``linux``) to reuse what it does not change;
- ``After(op, transform)``: Linux's outcomes of the operation, changed afterwards.

``handler`` composes them for a profile: the one replacement (if any) first, then every
transform. Variants whose change is a profile field (attach_removed_segment, ...) need
nothing here: the rule already reads that field.

    >>> get_variant("shmdt-keeps-mapping").rule
    'R25'
    >>> str(variant_profile("linux+shmdt-keeps-mapping"))
    'linux+shmdt-keeps-mapping'
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Callable

from . import address_space as aspace
from . import cow, memory
from .ops import (PAGE_SIZE, Exit, Fork, Ftruncate, Madvise, Mmap, Mprotect, Mremap, Munmap,
                  ShmAt, ShmCtl, ShmDt, ShmGet, ShmUnlink, Spawn, ThreadExit, Write)
# The catalogue (names, rules, descriptions) is profile data; it is named here too, where the
# variants are.
from .profiles import (DEVIATIONS, VARIANT_BY_NAME, VARIANTS, Variant,  # noqa: F401
                       get_variant, resolve_profile, variant_profile, variants)
from .results import OK, Errno, SegmentId
from .state import Process, State, contents_set

# The byte a variant that forgets to zero new memory leaves in it (observable, unlike 0).
JUNK_BYTE = 0xAA
EINVAL, EFAULT = Errno("EINVAL"), Errno("EFAULT")


@dataclass(frozen=True)
class Replace:
    """The variant's own handler for ``op``: (linux, state, pid, step, profile) -> outcomes."""
    op: type
    handler: Callable


@dataclass(frozen=True)
class After:
    """A change to Linux's outcomes of ``op``: (before, pid, step, outcomes) -> outcomes."""
    op: type
    transform: Callable


def handler(op: type, profile, linux: dict) -> Callable:
    """The handler of ``op`` under ``profile``: Linux's, with the profile's variants applied."""
    if op not in linux:
        raise TypeError(f"not an operation: {op!r}")
    changes = [c for name in sorted(profile.deviations) for c in CHANGES[name] if c.op is op]
    if not changes:
        return linux[op]
    replacing = [c.handler for c in changes if isinstance(c, Replace)]
    if len(replacing) > 1:
        raise ValueError(f"{profile}: two variants replace {op.OP}")
    transforms = [c.transform for c in changes if isinstance(c, After)]

    def changed(state, pid, st, prof):
        if replacing:
            outcomes = replacing[0](linux, state, pid, st, prof)
        else:
            outcomes = linux[op](state, pid, st, prof)
        for transform in transforms:
            outcomes = transform(state, pid, st, outcomes)
        return outcomes
    return changed


def _ok_only(transform: Callable) -> Callable:
    """A transform of the successful outcomes; errors stay as Linux gives them. It keeps the
    transform's name and text (the rule it changes)."""
    @functools.wraps(transform)
    def on_success(before, pid, st, outcomes):
        return [transform(before, pid, st, s) if r == OK else (s, r) for s, r in outcomes]
    return on_success


def _child(state: State, st) -> int:
    return state.threads[st.bind].process


# --- creation and zero fill --------------------------------------------------------------

def fill_with_junk(state: State, oid: int) -> State:
    """Every page of an object holds the junk byte instead of zeros."""
    junk = tuple((off, JUNK_BYTE) for off in range(PAGE_SIZE))
    obj = state.objects[oid]
    pages = {}
    for index in range(obj.page_count()):
        state, pages[index] = state.new_frame(junk)
    return state.with_object(oid, replace(obj, pages=obj.pages.update(pages.items())))


def _segment_not_zeroed(before, pid, st, outcomes):
    """R01 changed: a new segment's memory is not zeroed."""
    return [(fill_with_junk(s, s.segments[-1].obj) if r == SegmentId() else s, r)
            for s, r in outcomes]


def _truncate_keeps_data(linux, state, pid, st, profile):
    """R03 changed: shrinking sets the size and throws nothing away."""
    fd = state.processes[pid].fds.get(st.op.fd)
    if fd is None or fd.rdonly or st.op.length >= state.objects[fd.obj].size:
        return linux[Ftruncate](state, pid, st, profile)
    obj = state.objects[fd.obj]
    return [(state.with_object(fd.obj, replace(obj, size=st.op.length)), OK)]


# --- fork and threads (copy-on-write itself: model/cow.py) -----------------------------------

def _dontfork_ignored(linux, state, pid, st, profile):
    """R40 changed: MADV_DONTFORK ranges are inherited too."""
    return linux[Fork](state, pid, st, profile, inherited_by=lambda v: True)


def _wipeonfork_ignored(linux, state, pid, st, profile):
    """R41 changed: the child sees the data of MADV_WIPEONFORK ranges."""
    return linux[Fork](state, pid, st, profile, copied_by=lambda v: True)


def _wipeonfork_not_inherited(linux, state, pid, st, profile):
    """R41 changed: the child's ranges are wiped, but lose the setting (the child's records
    are made here: cow.fork_child reads the setting from them)."""
    vmas = [v for v in state.processes[pid].vmas if not v.dontfork]
    child = cow.fork_child(state, pid, st.bind, [replace(v, wipeonfork=False) for v in vmas],
                           [v for v in vmas if not v.wipeonfork], profile)
    return [(child, OK)]


def _sysv_not_inherited(before, pid, st, state):
    """R09 changed: the child gets no SysV attaches."""
    cid = _child(state, st)
    child = state.processes[cid]
    vmas = tuple(v for v in child.vmas if v.segment is None)
    return state.with_process(cid, replace(child, vmas=vmas)), OK


def _shared_anon_copied(before, pid, st, state):
    """R10 changed: the child's shared anonymous mappings reach a copy of the memory."""
    cid = _child(state, st)
    copies: dict = {}
    vmas = []
    for v in state.processes[cid].vmas:
        if v.obj is not None and state.objects[v.obj].kind == "anon":
            if v.obj not in copies:
                obj = state.objects[v.obj]
                pages = {}
                for index, fid in obj.pages.items():
                    state, pages[index] = state.new_frame(state.frames[fid])
                state, copies[v.obj] = state.new_object(
                    replace(obj, pages=type(obj.pages)(pages.items())))
            v = replace(v, obj=copies[v.obj])
        vmas.append(v)
    return state.with_process(cid, replace(state.processes[cid], vmas=tuple(vmas))), OK


def _threads_get_copies(linux, state, pid, st, profile):
    """R15 changed: a new thread gets a copy-on-write copy of the address space."""
    return linux[Fork](state, pid, st, profile)


def _write_without_cow(linux, state, pid, st, profile):
    """R11 changed: a private page's frame is written in place even when fork shares it."""
    def store(s, p, vpn, fid, base, offset, value):
        if fid is None:
            return cow.store_private(s, p, vpn, fid, base, offset, value)
        return s.with_frame(fid, contents_set(base, offset, value))
    return linux[Write](state, pid, st, profile, store=store)


def _private_file_write_reaches_file(linux, state, pid, st, profile):
    """R12 changed: a store through a MAP_PRIVATE file mapping goes to the file."""
    return linux[Write](state, pid, st, profile,
                        reaches_object=lambda vma: vma.shared or vma.obj is not None)


# --- SysV lifecycle ------------------------------------------------------------------------

def _rmid(linux, state, pid, st, profile, *, destroyed=False, keep_key=False, settle=True):
    """IPC_RMID with the removed segment ``destroyed`` at once or not, its key kept or not,
    then destroyed if nothing attaches it (``settle``) or not; IPC_STAT and errors as Linux."""
    sid = state.live_segment(st.op.segment)
    if sid is None or st.op.cmd != "rmid":
        return linux[ShmCtl](state, pid, st, profile)
    key = state.segments[sid].key
    state = aspace.remove_segment(state, sid, profile)
    seg = state.segments[sid]
    state = state.with_segment(sid, replace(seg, destroyed=destroyed,
                                            key=key if keep_key else seg.key))
    return [(aspace.settle_segment(state, sid, profile) if settle else state, OK)]


def _rmid_destroys_at_once(linux, state, pid, st, profile):
    """R17 changed: IPC_RMID destroys the segment even while it is attached."""
    return _rmid(linux, state, pid, st, profile, destroyed=True)


def _removed_key_still_found(linux, state, pid, st, profile):
    """R18 changed: IPC_RMID keeps the key, so shmget still finds the segment."""
    return _rmid(linux, state, pid, st, profile, keep_key=True)


def _rmid_unattached_deferred(linux, state, pid, st, profile):
    """R20 changed: IPC_RMID of an unattached segment does not destroy it."""
    return _rmid(linux, state, pid, st, profile, settle=False)


def _excl_ignored(linux, state, pid, st, profile):
    """R21 changed: IPC_EXCL is not looked at."""
    return linux[ShmGet](state, pid, replace(st, op=replace(st.op, excl=False)), profile)


def _size_not_checked(linux, state, pid, st, profile):
    """R22 changed: the size asked of an existing segment is not checked against shm_segsz."""
    op = st.op
    found = state.segment_with_key(op.key)
    if found is not None:
        st = replace(st, op=replace(op, size=min(op.size, state.segments[found].size)))
    return linux[ShmGet](state, pid, st, profile)


def _rdonly_attach_writable(linux, state, pid, st, profile):
    """R24 changed: SHM_RDONLY is not looked at."""
    return linux[ShmAt](state, pid, replace(st, op=replace(st.op, rdonly=False)), profile)


def _shmdt_keeps_mapping(before, pid, st, state):
    """R25 changed: shmdt succeeds and detaches nothing."""
    return before, OK


def _park_attaches(state: State, pid: int) -> State:
    """The attaches of ``pid`` held by a process with no thread: still counted, never gone."""
    kept = tuple(v for v in state.processes[pid].vmas if v.segment is not None)
    if not kept:
        return state
    return replace(state, processes=state.processes + (Process(vmas=kept),))


def _exit_keeps_attaches(linux, state, pid, st, profile):
    """R28 changed: _exit drops the mappings but not the attaches (death by a signal does)."""
    return linux[Exit](_park_attaches(state, pid), pid, st, profile)


def _last_thread_exit_keeps_attaches(linux, state, pid, st, profile):
    """R28 changed, as ``_exit_keeps_attaches``: the last thread's exit is the process's _exit."""
    others = any(t.alive and t.process == pid and name != st.thread
                 for name, t in state.threads.items())
    if not others:
        state = _park_attaches(state, pid)
    return linux[ThreadExit](state, pid, st, profile)


# --- protection and mappings -----------------------------------------------------------------

def _munmap_ignored(before, pid, st, outcomes):
    """R32 changed: munmap succeeds and unmaps nothing."""
    if any(r == OK for _, r in outcomes):
        return [(before, OK)]
    return outcomes


def _mprotect_ignored(before, pid, st, outcomes):
    """R33 changed: mprotect answers as Linux does and changes nothing."""
    return [(before, r) for _, r in outcomes]


def _map_fixed_keeps_old(before, pid, st, outcomes):
    """C01 changed: MAP_FIXED over a mapping succeeds, binds its handle there, maps nothing."""
    op = st.op
    if op.fixed != "replace" or op.at.offset:
        return outcomes
    base, end = before.span(op.at, op.length)
    if aspace.is_range_free(before.processes[pid], base, end):
        return outcomes
    return [(before.bind_mapping(st.bind, base), OK) if r == OK else (s, r) for s, r in outcomes]


# --- madvise -----------------------------------------------------------------------------------

def _dontneed_ignored(before, pid, st, outcomes):
    """R35 changed: MADV_DONTNEED keeps the private pages (the entries are zapped as on Linux)."""
    if st.op.advice != "dontneed":
        return outcomes
    was = before.processes[pid]
    return [(s.with_process(pid, replace(s.processes[pid], private=was.private,
                                         lazyfree=was.lazyfree)), r) for s, r in outcomes]


def _dontneed_zeroes_shared(before, pid, st, outcomes):
    """R36 changed: MADV_DONTNEED throws away the shared object's pages in the range too."""
    if st.op.advice != "dontneed":
        return outcomes
    start, end = before.span(st.op.at, st.op.length)
    inside = [v for v in aspace.overlapping(before.processes[pid], start, end) if v.shared]
    out = []
    for s, r in outcomes:
        if r == OK or r == Errno("ENOMEM"):
            for v in inside:
                s = memory.punch_hole(s, v, start, end)
        out.append((s, r))
    return out


# --- mremap, POSIX shm ---------------------------------------------------------------------------

def _mremap_alias_refused(before, pid, st, outcomes):
    """R42 changed: mremap with old_size 0 fails with EINVAL."""
    if st.op.mode == "grow" or st.op.old_length:
        return outcomes
    failed = before if st.bind is None else before.bind_mapping(st.bind)
    return [(failed, EINVAL) if r == OK else (s, r) for s, r in outcomes]


def _shm_unlink_destroys(before, pid, st, state):
    """R46 changed: shm_unlink destroys the memory; its mappings now lie beyond its end."""
    oid = before.shm_names[st.op.name]
    obj = state.objects[oid]
    return state.with_object(oid, replace(obj, size=0, pages=obj.pages.remove(*obj.pages))), OK


# Each variant's change, by name (the names of model/profiles.py's VARIANTS with a
# ``deviation``); the variants that set a profile field have none.
CHANGES: dict = {
    "segment-not-zeroed": (After(ShmGet, _segment_not_zeroed),),
    "truncate-keeps-data": (Replace(Ftruncate, _truncate_keeps_data),),
    "sysv-not-inherited": (After(Fork, _ok_only(_sysv_not_inherited)),),
    "shared-anon-copied-on-fork": (After(Fork, _ok_only(_shared_anon_copied)),),
    "private-not-copied-on-write": (Replace(Write, _write_without_cow),),
    "private-file-write-reaches-file": (Replace(Write, _private_file_write_reaches_file),),
    "threads-get-copies": (Replace(Spawn, _threads_get_copies),),
    "rmid-destroys-at-once": (Replace(ShmCtl, _rmid_destroys_at_once),),
    "removed-key-still-found": (Replace(ShmCtl, _removed_key_still_found),),
    "rmid-unattached-deferred": (Replace(ShmCtl, _rmid_unattached_deferred),),
    "excl-ignored": (Replace(ShmGet, _excl_ignored),),
    "size-not-checked": (Replace(ShmGet, _size_not_checked),),
    "rdonly-attach-writable": (Replace(ShmAt, _rdonly_attach_writable),),
    "shmdt-keeps-mapping": (After(ShmDt, _ok_only(_shmdt_keeps_mapping)),),
    "exit-keeps-attaches": (Replace(Exit, _exit_keeps_attaches),
                            Replace(ThreadExit, _last_thread_exit_keeps_attaches)),
    "munmap-ignored": (After(Munmap, _munmap_ignored),),
    "mprotect-ignored": (After(Mprotect, _mprotect_ignored),),
    "map-fixed-keeps-old": (After(Mmap, _map_fixed_keeps_old),),
    "dontneed-ignored": (After(Madvise, _dontneed_ignored),),
    "dontneed-zeroes-shared": (After(Madvise, _dontneed_zeroes_shared),),
    "dontfork-ignored": (Replace(Fork, _dontfork_ignored),),
    "wipeonfork-ignored": (Replace(Fork, _wipeonfork_ignored),),
    "wipeonfork-not-inherited": (Replace(Fork, _wipeonfork_not_inherited),),
    "mremap-alias-refused": (After(Mremap, _mremap_alias_refused),),
    "shm-unlink-destroys": (After(ShmUnlink, _ok_only(_shm_unlink_destroys)),),
}
