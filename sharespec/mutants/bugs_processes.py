"""Mutants of processes and memory accesses: fork, exit, thread_exit, read, write. They patch
worker.fork or worker.perform around the real fork or exit, or the one-byte load and store of
impl/syscalls.py."""
import os
import signal

from .patching import constant, replace
from .registry import (PAGE, anonymous_copier, clean_up_unreported_processes, is_shared_anon, is_sysv,
                       mutant, peek, poke, prot_of, syscall, vma_flags, vmas, worker_fork)


def _around_fork(impl, before, child=None, parent=None):
    """worker.fork that calls ``before()`` first (its value goes to the others), then
    ``child(value)`` in the child and ``parent(value)`` in the parent."""
    def make(fork):
        def patched(command):
            value = before()
            result, pid = fork(command)
            if result == "ok" and pid == 0 and child:
                child(value)
            elif parent:
                parent(value)
            return result, pid
        return patched
    worker_fork(impl, make)


def _dontfork_for_a_moment(impl, chosen):
    """A fork whose child does not inherit the mappings ``chosen(vma)`` picks: they are marked
    MADV_DONTFORK just before the fork, and unmarked in the parent just after. Returns the
    (before, parent) pair for _around_fork; ``before`` gives [(vma, its bytes)]."""
    advices = constant(impl.syscalls, "MADVICES")
    libc = impl.syscalls.libc

    def before():
        flags = vma_flags()
        picked = [v for v in vmas() if chosen(v) and "dc" not in flags.get(v.start, ())]
        saved = [(v, peek(v.start, v.end - v.start)) for v in picked]
        for v in picked:
            libc.madvise(v.start, v.end - v.start, advices["dontfork"])
        return saved

    def parent(saved):
        for v, _ in saved:
            libc.madvise(v.start, v.end - v.start, advices["dofork"])
    return before, parent


@mutant("fork-drops-sysv-attaches", "R09", variant="sysv-not-inherited")
def _fork_drops_sysv(impl):
    """fork does not pass SysV attaches to the child (the child's address space is built
    without them)."""
    before, parent = _dontfork_for_a_moment(impl, is_sysv)
    _around_fork(impl, before, None, parent)


@mutant("fork-copies-shared-anon", "R10", variant="shared-anon-copied-on-fork")
def _fork_copies_shared_anon(impl):
    """fork gives the child a copy of MAP_SHARED|MAP_ANONYMOUS memory (a new shared object
    with the same bytes) instead of sharing it with the parent."""
    before, parent = _dontfork_for_a_moment(impl, is_shared_anon)
    put_shared_copy = anonymous_copier(impl, "MAP_SHARED")

    def child(saved):
        for v, data in saved:
            put_shared_copy(v.start, data, prot_of(v))
    _around_fork(impl, before, child, parent)


@mutant("wipeonfork-not-inherited", "R41", variant="wipeonfork-not-inherited")
def _wipeonfork_not_inherited(impl):
    """A fork child does not inherit the MADV_WIPEONFORK setting: its own children see its
    data."""
    keep = constant(impl.syscalls, "MADVICES")["keeponfork"]

    def child(_):
        for start, flags in vma_flags().items():
            if "wf" in flags:
                vma = next(v for v in vmas() if v.start == start)
                impl.syscalls.libc.madvise(start, vma.end - start, keep)
    _around_fork(impl, lambda: None, child)


def _written_pages(vma):
    """The pages of ``vma`` this process has written (present and mapped exclusively: bits 63
    and 56 of /proc/self/pagemap; a page only read maps the shared zero page)."""
    count = (vma.end - vma.start) // PAGE
    with open("/proc/self/pagemap", "rb") as pagemap:
        pagemap.seek(vma.start // PAGE * 8)
        entries = pagemap.read(8 * count)
    return [vma.start + i * PAGE for i in range(count)
            if int.from_bytes(entries[8 * i:8 * i + 8], "little") >> 56 & 0x81 == 0x81]


@mutant("fork-shares-written-pages", "R11", "r11-private-anon-cow",
        variant="private-not-copied-on-write")
def _fork_shares_written_pages(impl):
    """fork without copy-on-write: the pages of private anonymous memory the parent had
    written are shared by parent and child, writable, so a write by either shows in the
    other (pages never written still get a page of their own at the first write)."""
    put_shared_copy = anonymous_copier(impl, "MAP_SHARED")
    low = constant(impl.addresses, "ARENA_BASE")
    high = low + 4096 * constant(impl.addresses, "SLOT_BYTES")     # the case's slots only

    def before():
        flags = vma_flags()
        for vma in vmas():
            if not low <= vma.start < high or vma.perms[3] != "p" or vma.inode or vma.path \
                    or {"dc", "wf"} & flags.get(vma.start, set()):
                continue
            for page in _written_pages(vma):
                put_shared_copy(page, peek(page, PAGE), prot_of(vma))
    _around_fork(impl, before)


def _keeper():
    """Fork a process that holds this one's mappings and attaches until the case ends (it
    has no descriptor: nobody waits for it; the executor's clean-up kills it)."""
    if os.fork() == 0:
        try:
            os.closerange(0, 65536)
            while True:
                signal.pause()
        finally:
            os._exit(0)


def _keeper_before(impl, ends):
    """worker.perform that forks a _keeper just before a command for which ``ends(command)``
    holds (one that ends the process), so that its attaches outlive it."""
    def make(perform):
        def patched(command, command_fd):
            if ends(command):
                _keeper()
            return perform(command, command_fd)
        return patched
    replace(impl.worker, "perform", make, ("command", "command_fd"))
    clean_up_unreported_processes(impl)


@mutant("exit-keeps-attaches", "R28", variant="exit-keeps-attaches")
def _exit_keeps_attaches(impl):
    """_exit drops the process's mappings but not its SysV attaches: they stay counted in
    shm_nattch (a removed segment outlives its last user)."""
    _keeper_before(impl, lambda command: command.get("op") == "exit")


@mutant("last-thread-exit-keeps-attaches", "R15 R28")
def _last_thread_keeps_attaches(impl):
    """thread_exit of the last thread of a process ends it but leaves its SysV attaches
    counted in shm_nattch (the process teardown of exit is done, that of the last thread
    forgets the attaches)."""
    state = constant(impl.worker, "STATE")
    _keeper_before(impl, lambda command: command.get("op") == "thread_exit"
                   and state["threads"] == 1)


@mutant("store-ignores-protection", "R33 R24")
def _store_ignores_protection(impl):
    """A one-byte store is made through /proc/self/mem (as a debugger or emulator writes guest
    memory), which ignores the protection of private mappings."""
    def make(store):
        def patched(addr, value):
            try:
                if poke(addr, bytes([value])) == 1:
                    return "ok"
            except OSError:
                pass
            return store(addr, value)        # not mapped: the real store faults
        return patched
    syscall(impl, "store", make)


@mutant("load-ignores-protection", "R33")
def _load_ignores_protection(impl):
    """A one-byte load is made through /proc/self/mem, which reads PROT_NONE memory."""
    def make(load):
        def patched(addr):
            try:
                data = peek(addr, 1)
                if data:
                    return str(data[0])
            except OSError:
                pass
            return load(addr)
        return patched
    syscall(impl, "load", make)
