"""Seals and open files: what F_ADD_SEALS/F_GET_SEALS, dup, a reopen through /proc/self/fd,
fallocate and fstat do. The seals extend R47 (F_SEAL_WRITE) to F_SEAL_SHRINK, GROW, SEAL and
FUTURE_WRITE, as fcntl(2) "File Sealing" and mm/memfd.c, mm/shmem.c have them; the catalogue
says nothing of dup, /proc/self/fd or fallocate, so those cite dup(2), proc(5), fallocate(2)
and the kernel functions, and LTP's memfd_create01.c / memfd_create_common.c.

A memfd's seals live in its inode (struct shmem_inode_info.seals): every descriptor of the
object, dup'd, reopened or inherited, sees and adds to the same set. Here that set is the
object's (MemObject.write_sealed for F_SEAL_WRITE, MemObject.seals for the others; a file or
POSIX shm object on tmpfs, and a memfd made without MFD_ALLOW_SEALING, carry F_SEAL_SEAL from
the start: shmem_get_inode). An open file's access mode is the descriptor's (Fd.rdonly,
Fd.wronly); dup copies it, a reopen chooses its own.

The handlers are registered in semantics.HANDLERS (which adds the Linux-only guard); the
guards that other calls take from the seals (ftruncate, pwrite, mmap) are the predicates here,
read by semantics.py, as is ``truncated`` (ftruncate and O_TRUNC change a size one way).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from . import credentials, memory, read_lag
from .ops import PAGE_SIZE, SEAL_NAMES
from .profiles import Profile
from .results import OK, Errno, FileSize, SealSet
from .state import Fd, MemObject, State, contents_zero_from

EINVAL, ENOENT, EBADF, EPERM, EBUSY, EACCES = (
    Errno(n) for n in ("EINVAL", "ENOENT", "EBADF", "EPERM", "EBUSY", "EACCES"))


def held_fd(state: State, pid: int, handle: Optional[str]) -> Optional[Fd]:
    """The descriptor ``handle`` names in process ``pid``, None if it holds none (EBADF)."""
    return state.processes[pid].fds.get(handle)


# --- the seals of an object -------------------------------------------------------------

def seals_of(obj: MemObject) -> frozenset:
    """Every seal the object carries (names of ops.SEAL_NAMES). A tmpfs file or POSIX shm
    object is born with F_SEAL_SEAL (shmem_get_inode); only memfd_create with
    MFD_ALLOW_SEALING clears it."""
    born = {"seal"} if obj.kind in ("file", "shm") else set()
    return obj.seals | born | ({"write"} if obj.write_sealed else set())


def seal_text(seals) -> str:
    """The canonical spelling of a set of seals (ops.SEAL_SETS)."""
    return "+".join(name for name in SEAL_NAMES if name in seals) or "none"


def seal_names(text: str) -> frozenset:
    return frozenset() if text == "none" else frozenset(text.split("+"))


def denies_writes(obj: MemObject) -> bool:
    """R47: F_SEAL_WRITE, and F_SEAL_FUTURE_WRITE the same way, refuse write(), a new shared
    writable mapping and a hole (shmem_write_begin, seal_check_write, shmem_fallocate)."""
    return obj.write_sealed or "future_write" in obj.seals


def resize_refused(obj: MemObject, new_size: int) -> bool:
    """R47: F_SEAL_SHRINK refuses a smaller size, F_SEAL_GROW a larger one (shmem_setattr,
    shmem_fallocate, shmem_write_begin); the same size is no change and is allowed."""
    return ((new_size < obj.size and "shrink" in obj.seals)
            or (new_size > obj.size and "grow" in obj.seals))


def writably_mapped(state: State, oid: int) -> bool:
    """A shared mapping that may write the object (VM_SHARED with VM_MAYWRITE: the
    i_mmap_writable count mapping_deny_writable looks at)."""
    return any(v.obj == oid and v.shared and v.may_write
               for p in state.processes if p.alive for v in p.vmas)


# --- handlers -----------------------------------------------------------------------------

def seal(state: State, pid: int, st, profile: Profile) -> list:
    """fcntl(F_ADD_SEALS), as memfd_add_seals (mm/memfd.c): EPERM unless the descriptor is open
    for writing, EPERM once F_SEAL_SEAL is set (whatever is asked, even nothing: LTP
    memfd_create01.c), EBUSY for F_SEAL_WRITE while a shared writable mapping exists (R47);
    F_SEAL_FUTURE_WRITE needs no such check. The seals are the object's: every descriptor
    of it sees them (LTP memfd_create01.c test_share_dup, test_share_open)."""
    op = st.op
    fd = held_fd(state, pid, op.fd)
    if fd is None:
        return [(state, EBADF)]
    if fd.rdonly:
        return [(state, EPERM)]
    obj = state.objects[fd.obj]
    if "seal" in seals_of(obj):
        return [(state, EPERM)]  # R47: files, shm objects, memfds made without sealing
    wanted = seal_names(op.seal)
    if "write" in wanted and not obj.write_sealed and writably_mapped(state, fd.obj):
        return [(state, EBUSY)]  # R47
    sealed = replace(obj, write_sealed=obj.write_sealed or "write" in wanted,
                     seals=obj.seals | (wanted - {"write"}))
    return [(state.with_object(fd.obj, sealed), OK)]


def get_seals(state: State, pid: int, st, profile: Profile) -> list:
    """fcntl(F_GET_SEALS): the object's seals, whichever descriptor asks (R47; memfd_get_seals)."""
    fd = held_fd(state, pid, st.op.fd)
    if fd is None:
        return [(state, EBADF)]
    return [(state, SealSet(seal_text(seals_of(state.objects[fd.obj]))))]


def dup(state: State, pid: int, st, profile: Profile) -> list:
    """dup(2): the same open file under a second descriptor: same object, same access mode."""
    fd = held_fd(state, pid, st.op.fd)
    if fd is None:
        return [(state, EBADF)]
    return [(_add_fd(state, pid, st.bind, fd), OK)]


def _add_fd(state: State, pid: int, handle: str, fd: Fd) -> State:
    proc = state.processes[pid]
    return state.with_process(pid, replace(proc, fds=proc.fds.set(handle, fd)))


def reopen(state: State, pid: int, st, profile: Profile) -> list:
    """open("/proc/self/fd/N", mode [| O_TRUNC]): a new open file of the same object with its
    own access mode (proc(5): /proc/PID/fd). A descriptor the process does not hold has no
    /proc entry: ENOENT. O_TRUNC truncates to 0 as ftruncate does, and F_SEAL_SHRINK refuses
    it (EPERM, LTP memfd_create_common.c check_mfd_non_shrinkable). The open through the
    link is a new open of the inode, checked as any open is (C07, may_open): after setuid a
    descriptor the process holds may not be reopened (EACCES), whatever its own mode."""
    op = st.op
    fd = held_fd(state, pid, op.fd)
    if fd is None:
        return [(state, ENOENT)]
    new = Fd(fd.obj, rdonly=op.mode == "rdonly", wronly=op.mode == "wronly")
    if not credentials.file_permits(state.objects[fd.obj].perm, state.processes[pid].creds,
                                    new.rdonly, new.wronly):
        return [(state, EACCES)]  # C07
    if not op.trunc or state.objects[fd.obj].size == 0:
        return [(_add_fd(state, pid, st.bind, new), OK)]
    if resize_refused(state.objects[fd.obj], 0):
        return [(state, EPERM)]  # R47
    return [(_add_fd(s, pid, st.bind, new), OK) for s in truncated(state, fd.obj, 0, profile)]


def fallocate(state: State, pid: int, st, profile: Profile) -> list:
    """fallocate(), as vfs_fallocate and shmem_fallocate (mm/shmem.c): EBADF for no descriptor,
    then EINVAL for a length 0, then EBADF unless open for writing. Mode 0 allocates the range
    and extends the size to its end (EPERM past the end under F_SEAL_GROW); the contents do
    not change (R47). A punched hole
    (PUNCH_HOLE|KEEP_SIZE) is refused under F_SEAL_WRITE or FUTURE_WRITE (EPERM); otherwise
    the range reads zeros in every shared mapping and through the descriptor, pages wholly
    inside it are freed, the partial pages at its ends zeroed; the size stays and private
    copies are kept (unmap_mapping_range without even_cows) (R39, R47)."""
    op = st.op
    fd = held_fd(state, pid, op.fd)
    if fd is None:
        return [(state, EBADF)]
    if op.length == 0:
        return [(state, EINVAL)]
    if fd.rdonly:
        return [(state, EBADF)]
    obj = state.objects[fd.obj]
    end = op.offset + op.length
    if op.punch:
        if denies_writes(obj):
            return [(state, EPERM)]  # R47
        return [(punched(state, fd.obj, op.offset, end), OK)]
    if end <= obj.size:
        return [(state, OK)]
    if "grow" in obj.seals:
        return [(state, EPERM)]  # R47
    return [(s.with_object(fd.obj, replace(s.objects[fd.obj], size=end)), OK)
            for s in memory.slack_on_growth(state, fd.obj, profile)]  # R07, as ftruncate's growth


def punched(state: State, oid: int, start: int, end: int) -> State:
    """The object with the bytes [start, end) zeroed: pages wholly inside freed, the pages at
    the ends zeroed in part (shmem_truncate_range)."""
    obj = state.objects[oid]
    first, last = start // PAGE_SIZE, (end - 1) // PAGE_SIZE
    pages = obj.pages
    for index in [i for i in pages if first <= i <= last]:
        lo, hi = max(start, index * PAGE_SIZE), min(end, (index + 1) * PAGE_SIZE)
        if lo == index * PAGE_SIZE and hi == (index + 1) * PAGE_SIZE:
            pages = pages.remove(index)
            continue
        fid = pages[index]
        low, high = lo - index * PAGE_SIZE, hi - index * PAGE_SIZE
        state = state.with_frame(fid, tuple((o, v) for o, v in state.frames[fid]
                                            if not low <= o < high))
    return state.with_object(oid, replace(state.objects[oid], pages=pages))


def fstat(state: State, pid: int, st, profile: Profile) -> list:
    """fstat(2): st_size, the object's size in bytes."""
    fd = held_fd(state, pid, st.op.fd)
    if fd is None:
        return [(state, EBADF)]
    return [(state, FileSize(state.objects[fd.obj].size))]


def truncated(state: State, oid: int, length: int, profile: Profile) -> list:
    """The states the object may be in once its size is ``length`` (ftruncate, open with
    O_TRUNC)."""
    obj = state.objects[oid]
    if length < obj.size:
        # R03, R08: pages wholly past the new end go; the rest of the last page is zeroed.
        keep = -(-length // PAGE_SIZE)
        pages = obj.pages.remove(*[i for i in obj.pages if i >= keep])
        if length % PAGE_SIZE and (keep - 1) in pages:
            fid = pages[keep - 1]
            state = state.with_frame(fid, contents_zero_from(state.frames[fid], length % PAGE_SIZE))
        obj = replace(obj, pages=pages)
        shrunk = read_lag.in_sync(state.with_object(oid, replace(obj, size=length)), oid,
                                  lambda i, o: i * PAGE_SIZE + o >= length)  # R12
        # R08: truncation also throws away private copies of the pages wholly past the new end
        # (truncate_pagecache unmaps them with even_cows), so a later extension reads zeros.
        outcomes = [_drop_private_copies(shrunk, oid, keep)]
        if profile.private_copy_beyond_eof_may_survive:
            outcomes.append(shrunk)
        return outcomes
    if length == obj.size:
        # R07: shmem_setattr truncates from the new size whenever it does not grow
        # (shmem_truncate_range, newsize <= oldsize), so the same size zeroes what was stored
        # into the slack of the last page (observed on tmpfs, Linux 6.18: a random case of
        # seed 1 found it). A profile where the slack may read 0 anyway allows either.
        zeroed = memory.zero_slack(state, oid)
        return list(dict.fromkeys([zeroed, state] if profile.file_slack_may_read_zero
                                  else [zeroed]))
    # Growing zeroes nothing on Linux: bytes written into the slack past the old end (R07)
    # become file data (observed on tmpfs, Linux 6.18). POSIX: memory.slack_on_growth.
    return [s.with_object(oid, replace(s.objects[oid], size=length))
            for s in memory.slack_on_growth(state, oid, profile)]  # R07


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
