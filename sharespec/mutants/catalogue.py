"""The mutants: the bundled implementation with one deliberate bug each.

A mutant is data (name, what is wrong, the catalogue rules it breaks, a built-in case that
should kill it) and an ``install(impl)`` that patches one function of the implementation's
modules. Patch points are at the system-call layer (impl/syscalls.py) wherever the bug can be
expressed there, since that layer changes least; the few bugs about processes and threads
(fork, spawn, thread_exit, exec) patch impl/worker.py. Every patch goes through
``patching.replace``, which checks that the function and its parameters are still there.
A mutant must leave nothing behind either: one whose bug makes processes the executor is
not told of (threads-as-processes) also widens the executor's clean-up to them
(``patching.widen_in_executor``), which changes nothing the case can observe.

A patch lives in the memory of the implementation's process, so every case process forked
from it carries the bug; an ``exec`` step starts the unmutated implementation afresh (the new
image imports impl/ from disk), so a mutant's bug ends where a case execs.

Standard library only; ``impl`` is the namespace of the implementation's modules.
"""
import ctypes
import fcntl
import os
from .patching import constant, replace

from .registry import (JUNK, MUTANTS, Mutant, clean_up_unremoved, clean_up_unreported_processes,
                       mutant, syscall)

# --- mappings --------------------------------------------------------------------------

def _mmap_flag_swapped(impl, asked: str, done: str) -> None:
    """mmap asked with ``asked`` (MAP_SHARED or MAP_PRIVATE) is performed with ``done``."""
    asked_bit, done_bit = constant(impl.syscalls, asked), constant(impl.syscalls, done)

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            if flags & asked_bit:
                flags = (flags & ~asked_bit) | done_bit
            return mmap(addr, length, prot, flags, fd, offset)
        return patched
    syscall(impl, "mmap", make)


@mutant("shared-mapped-private", "R10 R12", "r10-shared-anon-fork")
def _shared_as_private(impl):
    """mmap with MAP_SHARED is performed as MAP_PRIVATE."""
    _mmap_flag_swapped(impl, "MAP_SHARED", "MAP_PRIVATE")


@mutant("private-mapped-shared", "R11", "r11-private-anon-cow")
def _private_as_shared(impl):
    """mmap with MAP_PRIVATE is performed as MAP_SHARED (no copy-on-write)."""
    _mmap_flag_swapped(impl, "MAP_PRIVATE", "MAP_SHARED")


@mutant("mmap-offset-ignored", "R14", "r14-file-mapped-twice")
def _offset_ignored(impl):
    """mmap of a file maps from offset 0 whatever offset is asked."""
    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            return mmap(addr, length, prot, flags, fd, 0)
        return patched
    syscall(impl, "mmap", make)


@mutant("fixed-noreplace-replaces", "C01", "c01-map-fixed")
def _noreplace_replaces(impl):
    """MAP_FIXED_NOREPLACE is performed as MAP_FIXED: an existing mapping is replaced instead
    of EEXIST."""
    noreplace, fixed = (constant(impl.syscalls, "MAP_FIXED_NOREPLACE"),
                        constant(impl.syscalls, "MAP_FIXED"))

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            if flags & noreplace:
                flags = (flags & ~noreplace) | fixed
            return mmap(addr, length, prot, flags, fd, offset)
        return patched
    syscall(impl, "mmap", make)


@mutant("munmap-ignored", "R05 R32", "r32-access-after-munmap", variant="munmap-ignored")
def _munmap_ignored(impl):
    """munmap returns success and unmaps nothing (its argument checks stay: EINVAL for an
    unaligned address or a zero length)."""
    syscall(impl, "munmap", lambda munmap: lambda addr, length:
            "EINVAL" if addr % 4096 or length == 0 else "ok")


@mutant("munmap-first-page-only", "R05 R31", "r31-munmap-whole-attach")
def _munmap_one_page(impl):
    """munmap unmaps only the first page of the range."""
    def make(munmap):
        def patched(addr, length):
            return munmap(addr, min(length, 4096))
        return patched
    syscall(impl, "munmap", make)


@mutant("mprotect-ignored", "R33", "r33-mprotect", variant="mprotect-ignored")
def _mprotect_ignored(impl):
    """mprotect returns success and changes no protection."""
    syscall(impl, "mprotect", lambda mprotect: lambda addr, length, prot: "ok")


def _advice_ignored(impl, advice_name, undo_name=None):
    """madvise(advice_name) (every advice when None) has no effect. With ``undo_name`` the
    advice is still made and at once undone, so its errors (EINVAL where it does not apply)
    stay the real ones: the bug is only the missing effect."""
    advices = constant(impl.syscalls, "MADVICES")
    ignored = set(advices.values()) if advice_name is None else {advices[advice_name]}
    undo = advices[undo_name] if undo_name else None

    def make(madvise):
        def patched(addr, length, advice):
            if advice not in ignored:
                return madvise(addr, length, advice)
            if undo is None:
                return "ok"
            result = madvise(addr, length, advice)
            if result == "ok":
                madvise(addr, length, undo)
            return result
        return patched
    syscall(impl, "madvise", make)


@mutant("madvise-ignored", "R35 R36 R39 R40 R41", "r35-dontneed-private-anon")
def _madvise_ignored(impl):
    """madvise returns success and does nothing, whatever the advice."""
    _advice_ignored(impl, None)


@mutant("dontneed-ignored", "R35 R37", "r35-dontneed-private-anon",
        variant="dontneed-ignored")
def _dontneed_ignored(impl):
    """MADV_DONTNEED returns success and drops nothing (private pages keep their contents)."""
    _advice_ignored(impl, "dontneed")


@mutant("remove-ignored", "R39", "r39-madv-remove")
def _remove_ignored(impl):
    """MADV_REMOVE returns success and frees nothing (the object keeps its contents)."""
    _advice_ignored(impl, "remove")


@mutant("dontfork-ignored", "R40", "r40-dontfork", variant="dontfork-ignored")
def _dontfork_ignored(impl):
    """MADV_DONTFORK has no effect: the range is still inherited by fork."""
    _advice_ignored(impl, "dontfork", "dofork")


@mutant("wipeonfork-ignored", "R41", "r41-wipeonfork", variant="wipeonfork-ignored")
def _wipeonfork_ignored(impl):
    """MADV_WIPEONFORK has no effect: the child still sees the parent's data."""
    _advice_ignored(impl, "wipeonfork", "keeponfork")


@mutant("mremap-refused", "R42 R43 R44", "r43-mremap-grow-private")
def _mremap_refused(impl):
    """mremap always fails with EINVAL."""
    syscall(impl, "mremap", lambda mremap: lambda addr, old, new, flags, new_addr: ("EINVAL", None))


@mutant("mremap-alias-copies", "R42", "r42-mremap-alias")
def _mremap_alias_copies(impl):
    """mremap with old_size 0 (an alias of a shared mapping) makes a private copy instead."""
    constant(impl.syscalls, "libc")

    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            if old_length != 0 or new_addr is None:
                return mremap(addr, old_length, new_length, flags, new_addr)
            result, got = mremap(addr, old_length, new_length, flags, new_addr)
            if result == "ok":
                data = ctypes.string_at(got, new_length)
                impl.syscalls.libc.munmap(got, new_length)
                result, got = impl.syscalls.mmap(got, new_length, 3, 0x22 | 0x10, -1, 0)
                if result == "ok":
                    ctypes.memmove(got, data, new_length)
            return result, got
        return patched
    syscall(impl, "mremap", make)


# --- System V shared memory -------------------------------------------------------------

@mutant("shmdt-skipped", "R16 R32", "r32-access-after-shmdt", variant="shmdt-keeps-mapping")
def _shmdt_skipped(impl):
    """shmdt returns success and detaches nothing."""
    syscall(impl, "shmdt", lambda shmdt: lambda addr: "ok")


@mutant("rmid-ignored", "R17 R18 R20", "r18-rmid-frees-key")
def _rmid_ignored(impl):
    """shmctl(IPC_RMID) returns success and marks nothing for removal (the key stays taken).
    The implementation's cleanup still removes the segment after the case."""
    syscall(impl, "shmctl_rmid", lambda rmid: lambda ident: "ok")
    clean_up_unremoved(impl)


@mutant("rmid-immediate", "R17", "r17-rmid-deferred")
def _rmid_immediate(impl):
    """shmctl(IPC_RMID) destroys the segment at once: the calling process loses its attaches
    of it (later accesses fault), instead of the removal waiting for the last detach. (The
    variant rmid-destroys-at-once keeps the attaches' memory: see rmid-forgets-identifier.)"""
    def make(rmid):
        def patched(ident):
            result = rmid(ident)
            if result == "ok":
                for low, high in _sysv_attaches(ident):
                    impl.syscalls.libc.munmap(low, high - low)
            return result
        return patched
    syscall(impl, "shmctl_rmid", make)


def _sysv_attaches(ident):
    """[start, end) of this process's attaches of segment ``ident`` (/proc/self/maps shows a
    SysV attach as /SYSV<key> with the segment id as its inode)."""
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5].startswith("/SYSV") and fields[4] == str(ident):
                low, high = fields[0].split("-")
                found.append((int(low, 16), int(high, 16)))
    return found


@mutant("new-segment-junk", "R01", "r01-sysv-zero-filled", variant="segment-not-zeroed")
def _segment_junk(impl):
    """A newly created SysV segment is filled with junk (0xA5) instead of zeros."""
    private = constant(impl.syscalls, "IPC_PRIVATE")

    def make(shmget):
        def patched(key, size, flags):
            existed = key != private and impl.syscalls.key_exists(key)
            result, ident = shmget(key, size, flags)
            if result == "ok" and not existed:
                address = impl.syscalls.libc.shmat(ident, None, 0)
                if address not in (None, 2 ** 64 - 1):
                    ctypes.memset(address, JUNK, -(-size // 4096) * 4096)   # whole pages
                    impl.syscalls.libc.shmdt(address)
            return result, ident
        return patched
    syscall(impl, "shmget", make)


@mutant("shmget-key-ignored", "R21", "r21-creat-excl")
def _key_ignored(impl):
    """shmget treats every key as IPC_PRIVATE: a key never finds an existing segment."""
    private = constant(impl.syscalls, "IPC_PRIVATE")
    syscall(impl, "shmget", lambda shmget: lambda key, size, flags: shmget(private, size, flags))


@mutant("shmget-excl-ignored", "R21", "r21-creat-excl", variant="excl-ignored")
def _excl_ignored(impl):
    """shmget ignores IPC_EXCL: an existing key is returned instead of EEXIST."""
    excl = constant(impl.syscalls, "IPC_EXCL")
    syscall(impl, "shmget", lambda shmget: lambda key, size, flags: shmget(key, size, flags & ~excl))


@mutant("shmget-size-unchecked", "R22", "r22-size-check", variant="size-not-checked")
def _size_unchecked(impl):
    """shmget of an existing key never checks the requested size against the segment's."""
    private, creat, excl = (constant(impl.syscalls, "IPC_PRIVATE"),
                            constant(impl.syscalls, "IPC_CREAT"), constant(impl.syscalls, "IPC_EXCL"))

    def make(shmget):
        def patched(key, size, flags):
            if key != private and not flags & excl:
                result, ident = shmget(key, 0, flags & ~creat)
                if result == "ok":
                    return result, ident
            return shmget(key, size, flags)
        return patched
    syscall(impl, "shmget", make)


@mutant("shm-rdonly-dropped", "R24", "r24-rdonly-attach", variant="rdonly-attach-writable")
def _rdonly_dropped(impl):
    """shmat ignores SHM_RDONLY: the attach is writable."""
    rdonly = constant(impl.syscalls, "SHM_RDONLY")
    syscall(impl, "shmat", lambda shmat: lambda ident, addr, flags: shmat(ident, addr, flags & ~rdonly))


@mutant("shm-remap-dropped", "R27", "r27-shmat-over-mapping")
def _remap_dropped(impl):
    """shmat ignores SHM_REMAP: attaching over an existing mapping fails instead of replacing it."""
    remap = constant(impl.syscalls, "SHM_REMAP")
    syscall(impl, "shmat", lambda shmat: lambda ident, addr, flags: shmat(ident, addr, flags & ~remap))


@mutant("stat-nattch-off-by-one", "R28", "r28-nattch-fork-exit")
def _nattch_off(impl):
    """shmctl(IPC_STAT) reports one attach more than there are."""
    def make(stat):
        def patched(ident):
            result, fields = stat(ident)
            if result == "ok":
                fields = dict(fields, nattch=fields["nattch"] + 1)
            return result, fields
        return patched
    syscall(impl, "shmctl_stat", make)


@mutant("stat-dest-never-set", "R17", "r17-rmid-deferred")
def _dest_never_set(impl):
    """shmctl(IPC_STAT) never reports SHM_DEST (a removed, still attached segment looks live)."""
    dest = constant(impl.syscalls, "SHM_DEST")

    def make(stat):
        def patched(ident):
            result, fields = stat(ident)
            if result == "ok":
                fields = dict(fields, mode=fields["mode"] & ~dest)
            return result, fields
        return patched
    syscall(impl, "shmctl_stat", make)


# --- files, POSIX shm, memfd ------------------------------------------------------------

def _os_call_ignoring(impl, should_ignore):
    def make(os_call):
        def patched(function, *args):
            if should_ignore(function, args):
                return "ok", None
            return os_call(function, *args)
        return patched
    syscall(impl, "os_call", make)


@mutant("ftruncate-ignored", "R03 R08", "r03-ftruncate-zero-memfd")
def _ftruncate_ignored(impl):
    """ftruncate returns success and leaves the size unchanged."""
    _os_call_ignoring(impl, lambda function, args: function is os.ftruncate)


@mutant("seal-ignored", "R47", "r47-memfd-seal-write")
def _seal_ignored(impl):
    """F_ADD_SEALS returns success and adds no seal."""
    _os_call_ignoring(impl, lambda function, args: function is fcntl.fcntl
                      and len(args) > 1 and args[1] == fcntl.F_ADD_SEALS)


@mutant("shm-unlink-ignored", "R46", "r46-shm-unlink-while-mapped")
def _unlink_ignored(impl):
    """shm_unlink returns success and the name stays (the implementation's cleanup removes it)."""
    syscall(impl, "shm_unlink", lambda shm_unlink: lambda name: "ok")


# --- processes and threads --------------------------------------------------------------

@mutant("threads-as-processes", "R15", "r15-threads-share-private",
        variant="threads-get-copies")
def _threads_as_processes(impl):
    """spawn starts a forked process instead of a thread: the "thread" gets a copy of the
    address space instead of sharing it."""
    worker = impl.worker
    constant(worker, "STATE")
    serve = constant(worker, "serve")

    def make(perform):
        def patched(command, command_fd):
            if command.get("op") != "spawn":
                return perform(command, command_fd)
            if os.fork() == 0:
                try:
                    worker.STATE["threads"] = 1
                    serve(command["cmd"])
                finally:
                    os._exit(0)
            return {"r": "ok"}
        return patched
    replace(worker, "perform", make, ("command", "command_fd"))
    clean_up_unreported_processes(impl)      # the forked "threads" are never reported


@mutant("fork-fresh-process", "R09 R10 R11", "r10-shared-anon-fork")
def _fork_fresh(impl):
    """fork starts the child with an empty address space (like a freshly started program)
    instead of a copy of the parent's mappings and attaches."""
    start = constant(impl.addresses, "ARENA_BASE")
    slot = constant(impl.addresses, "SLOT_BYTES")

    def make(start_process):
        def patched(result_fd, command_fd, message):
            impl.syscalls.libc.munmap(start, 1024 * slot)
            return start_process(result_fd, command_fd, message)
        return patched
    replace(impl.worker, "start_process", make, ("result_fd", "command_fd", "message"))


@mutant("thread-exit-ends-process", "R15", "r15-threads-share-private")
def _thread_exit_ends_process(impl):
    """thread_exit of any thread ends the whole process (as exit would)."""
    def make(perform):
        def patched(command, command_fd):
            if command.get("op") == "thread_exit":
                # End at once, before replying: replying first would race the next step
                # against the process's exit.
                os._exit(0)
            return perform(command, command_fd)
        return patched
    replace(impl.worker, "perform", make, ("command", "command_fd"))


@mutant("exec-keeps-memory", "C04 R29", "c04-exec-removes-mappings")
def _exec_keeps_memory(impl):
    """exec returns success without replacing the process image: mappings and attaches survive."""
    replace(impl.worker, "execute", lambda execute: lambda command_fd: "ok", ("command_fd",))


# The other mutants, one module per area; importing them registers them in MUTANTS.
from . import bugs_mappings, bugs_files, bugs_processes, bugs_sysv, bugs_hints, bugs_shmctl   # noqa: E402,F401,E501
from . import bugs_addresses   # noqa: E402,F401
from . import bugs_credentials   # noqa: E402,F401
from . import bugs_memfd  # noqa: E402,F401
from . import bugs_ipc_figures  # noqa: E402,F401
from . import bugs_absolute  # noqa: E402,F401
from . import bugs_locking  # noqa: E402,F401
from . import bugs_hugepages  # noqa: E402,F401
from . import bugs_brk  # noqa: E402,F401
from . import bugs_growsdown  # noqa: E402,F401
from . import bugs_stat_times  # noqa: E402,F401
from . import bugs_map_type  # noqa: E402,F401
