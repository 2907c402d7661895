"""Mutants of MAP_GROWSDOWN (R50; model/growsdown.py; LTP mmap18.c): the flag dropped, and a
growth that ignores the stack guard gap. Each is a bug an emulator or a libc shim could have:
one that passes only the flags it knows, and one that grows a stack mapping on its own fault
handling (as user-mode emulators grow a guest stack) without the kernel's gap check. Each wraps
the real calls (syscalls.mmap, load and store)."""
from .patching import constant
from .registry import PAGE, mutant, syscall


@mutant("growsdown-ignored", "R50", "r50-growsdown-grows")
def _growsdown_ignored(impl):
    """mmap drops MAP_GROWSDOWN: the mapping is an ordinary one, and an access just below it
    gets SIGSEGV instead of growing it."""
    growsdown = constant(impl.syscalls, "MAP_GROWSDOWN")

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            return mmap(addr, length, prot, flags & ~growsdown, fd, offset)
        return patched
    syscall(impl, "mmap", make)


def _next_record_start(addr):
    """The start of the first /proc/self/maps record above ``addr``; None if ``addr`` is mapped
    or nothing lies above it."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if start <= addr < end:
                return None
            if start > addr:
                return start
    return None


@mutant("growsdown-guard-gap-ignored", "R50", "r50-growsdown-guard-gap")
def _growsdown_guard_gap_ignored(impl):
    """A load or store just below a MAP_GROWSDOWN mapping grows it whatever lies below: the
    emulated growth maps the pages between (MAP_FIXED_NOREPLACE) without looking for a mapping
    within the stack guard gap, so the access succeeds where Linux gives SIGSEGV."""
    calls = impl.syscalls
    growsdown = constant(calls, "MAP_GROWSDOWN")
    grown_flags = (constant(calls, "MAP_PRIVATE") | constant(calls, "MAP_ANONYMOUS")
                   | constant(calls, "MAP_FIXED_NOREPLACE") | growsdown)
    rw = constant(calls, "PROTECTIONS")["rw"]
    starts = set()          # where the growsdown mappings this process made begin

    def make_mmap(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            result = mmap(addr, length, prot, flags, fd, offset)
            if flags & growsdown and result[0] == "ok":
                starts.add(result[1])
            return result
        return patched

    def grow(addr):
        above = _next_record_start(addr)
        if above in starts:
            page = addr - addr % PAGE
            if calls.mmap(page, above - page, rw, grown_flags, -1, 0)[0] == "ok":
                starts.discard(above)
                starts.add(page)

    def make_load(load):
        def patched(addr):
            grow(addr)
            return load(addr)
        return patched

    def make_store(store):
        def patched(addr, value):
            grow(addr)
            return store(addr, value)
        return patched
    syscall(impl, "mmap", make_mmap)
    syscall(impl, "load", make_load)
    syscall(impl, "store", make_store)
