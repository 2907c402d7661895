"""The register of mutants, and the small helpers their bugs are written with.

A mutant is data (name, what is wrong, the catalogue rules it breaks, a built-in case that
kills it when one is known, the named variant of the specification it behaves like) and an
``install(impl)`` that patches one function of the implementation. Its witness, the smallest
program that exposes it, is tests/host/mutant_cases/NAME.case.

The helpers read what the kernel says about this process (/proc/self/maps, smaps, mem), so
that a bug can be planted around the real call instead of imitating it. Standard library only.
"""
import ctypes
import os
import select
import signal
from collections import namedtuple

from .patching import PatchPointGone, constant, replace, widen_in_executor

# variant: the named variant of the specification (model/variants.py) the mutant behaves
# like, when there is one: the diagnosis of its failures should name it.
Mutant = namedtuple("Mutant", "name description rules killed_by install variant")

MUTANTS = {}
JUNK = 0xAA      # the byte model/variants.py's segment-not-zeroed leaves
PAGE = 4096
SYSCALL_PARAMS = {
    "mmap": ("addr", "length", "prot", "flags", "fd", "offset"),
    "munmap": ("addr", "length"),
    "mprotect": ("addr", "length", "prot"),
    "madvise": ("addr", "length", "advice"),
    "posix_madvise": ("addr", "length", "advice"),
    "mremap": ("addr", "old_length", "new_length", "flags", "new_addr"),
    "shmget": ("key", "size", "flags"),
    "shmat": ("ident", "addr", "flags"),
    "shmdt": ("addr",),
    "shmctl_rmid": ("ident",),
    "shmctl_stat": ("ident",),
    "shm_open": ("name", "flags", "mode"),
    "shm_unlink": ("name",),
    "os_call": ("function",),
    "load": ("addr",),
    "store": ("addr", "value"),
}


def mutant(name, rules, killed_by=None, variant=None):
    """Register the decorated ``install(impl)`` as mutant ``name``; its docstring says what is
    wrong. ``killed_by``: a built-in case that kills it, if one is known."""
    def register(install):
        if name in MUTANTS:
            raise ValueError("mutant %r registered twice" % name)
        MUTANTS[name] = Mutant(name, " ".join(install.__doc__.split()), tuple(rules.split()),
                               killed_by, install, variant)
        return install
    return register


def syscall(impl, name, make):
    return replace(impl.syscalls, name, make, SYSCALL_PARAMS[name])


def worker_call(impl, op, make):
    """Replace the worker's handler of command ``op`` (worker.CALLS[op], which takes the
    command), in the case processes only, as ``patching.replace`` does for a function."""
    calls = getattr(impl.worker, "CALLS", None)
    if not isinstance(calls, dict) or op not in calls:
        raise PatchPointGone("patch point %s.CALLS[%r] is gone (update sharespec/mutants)"
                             % (impl.worker.__name__, op))
    before = calls[op]
    buggy = make(before)
    executor = os.getpid()

    def after(command):
        return (before if os.getpid() == executor else buggy)(command)
    calls[op] = after
    return before


def worker_fork(impl, make):
    """Replace worker.fork(command) -> (result, child pid; 0 in the child)."""
    return replace(impl.worker, "fork", make, ("command",))


def clean_up_unremoved(impl):
    """For a mutant whose IPC_RMID answers "ok" without removing: the executor's clean-up
    (impl.hygiene.remove_segments) skips the segments the case removed itself, so it is
    made to look at those again (each is still proved the case's, by creator and key, before
    it is removed). Not a bug: what the case can observe does not change."""
    def make(remove_segments):
        def widened(pids, made):
            removed = getattr(made, "removed", None)
            if removed is None:
                raise PatchPointGone("the executor's record of segments no longer has "
                                     "'removed' (update sharespec/mutants/registry.py)")
            made.removed = set()
            try:
                return remove_segments(pids, made)
            finally:
                made.removed = removed
        return widened
    widen_in_executor(impl.hygiene, "remove_segments", make, ("pids", "made"))


def clean_up_unreported_processes(impl):
    """For a mutant that forks processes the executor is never told of (a "thread" made a
    process, a keeper of the attaches): a segment one of them creates would outlive the case
    (its creator is no case process the executor knows), so the executor's clean-up is
    widened to every process of the case's group. Not a bug: what the case can observe does
    not change."""
    creator = constant(impl.syscalls, "shm_creator")
    group_of = impl.hygiene.process_group
    widen_in_executor(impl.hygiene, "remove_segments",
                      lambda remove: _with_unreported_processes(remove, creator, group_of),
                      ("pids", "made"))


def _with_unreported_processes(remove_segments, creator, process_group):
    """remove_segments(pids, made) that first ends the case's other processes: those of the
    case's process group the executor was never told of (the forked "threads"). Each is
    killed, if the executor has not killed its group already, and waited for until it is
    dead (not reaped: its pid still names it), so that it creates nothing after the segments
    are removed; then the segments of all of them are removed."""
    def widened(pids, made):
        if all(creator(ident) in pids for ident in made.known):
            return remove_segments(pids, made)      # no segment of an unreported process
        groups = {group for group in map(process_group, pids) if group is not None}
        groups.discard(os.getpgrp())                # never the executor's own group
        others, dying = set(), []
        for pid in (int(entry) for entry in os.listdir("/proc") if entry.isdigit()):
            if pid in pids or process_group(pid) not in groups:
                continue
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                continue                            # reaped already
            if process_group(pid) in groups:       # checked again: the pidfd is that one
                others.add(pid)
                try:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except ProcessLookupError:
                    pass                            # dead already
                dying.append(pidfd)
            else:
                os.close(pidfd)
        for pidfd in dying:
            try:
                select.select([pidfd], [], [], 5)   # readable once it is dead (a zombie)
            finally:
                os.close(pidfd)
        return remove_segments(set(pids) | others, made)
    return widened


Vma = namedtuple("Vma", "start end perms offset inode path")


def vmas():
    """This process's mappings, from /proc/self/maps."""
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(None, 5)
            low, high = fields[0].split("-")
            path = fields[5].strip() if len(fields) > 5 else ""
            found.append(Vma(int(low, 16), int(high, 16), fields[1], int(fields[2], 16),
                             int(fields[4]), path))
    return found


def vma_flags():
    """{start: set of VmFlags} of this process's mappings, from /proc/self/smaps."""
    flags, start = {}, None
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split(None, 1)[0]
            if "-" in head and not head.endswith(":"):
                start = int(head.split("-")[0], 16)
            elif head == "VmFlags:":
                flags[start] = set(line.split()[1:])
    return flags


def vma_at(addr):
    return next((v for v in vmas() if v.start <= addr < v.end), None)


def is_sysv(vma):
    return vma.path.startswith("/SYSV")


def is_shared_anon(vma):
    return vma.perms[3] == "s" and vma.path.startswith("/dev/zero")


def prot_of(vma):
    return (1 if vma.perms[0] == "r" else 0) | (2 if vma.perms[1] == "w" else 0)


def anonymous_copier(impl, sharing):
    """put(addr, data, prot): replace the pages at ``addr`` with new anonymous memory
    (``sharing``: "MAP_SHARED" or "MAP_PRIVATE") that holds ``data``, protected ``prot``. It
    is mapped writable, filled, then protected (/proc/self/mem cannot write a read-only
    shared mapping). The flags are looked up now, when the mutant is installed."""
    flags = (constant(impl.syscalls, sharing) | constant(impl.syscalls, "MAP_ANONYMOUS")
             | constant(impl.syscalls, "MAP_FIXED"))

    def put(addr, data, prot):
        impl.syscalls.mmap(addr, len(data), 3, flags, -1, 0)
        ctypes.memmove(addr, data, len(data))
        impl.syscalls.libc.mprotect(addr, len(data), prot)
    return put


def _through_proc_mem(mode, transfer, *args):
    fd = os.open("/proc/self/mem", mode)
    try:
        return transfer(fd, *args)
    finally:
        os.close(fd)


def peek(addr, length):
    """The bytes at [addr, addr+length), whatever their protection (through /proc/self/mem)."""
    return _through_proc_mem(os.O_RDONLY, os.pread, length, addr)


def poke(addr, data):
    """Write ``data`` at ``addr`` whatever the protection (through /proc/self/mem)."""
    return _through_proc_mem(os.O_RDWR, os.pwrite, data, addr)


__all__ = ["JUNK", "MUTANTS", "Mutant", "PAGE", "clean_up_unremoved", "clean_up_unreported_processes",
           "mutant", "syscall", "worker_call", "worker_fork", "vmas", "vma_flags", "vma_at",
           "is_sysv", "is_shared_anon", "prot_of", "anonymous_copier", "peek", "poke"]
