"""Mutants of mremap to a chosen place (MREMAP_FIXED, MREMAP_DONTUNMAP: R44, C01), of the
protections w, x and rx (R33, R30) and of the maps observation (R30): a flag dropped or added,
a target refused, a protection mapped to another, records misreported. Each patches one call
of impl.syscalls, or the worker's maps command, in the case processes."""
from .patching import constant
from .registry import mutant, syscall, vmas, worker_call


def _flags(impl):
    return (constant(impl.syscalls, "MREMAP_MAYMOVE"), constant(impl.syscalls, "MREMAP_FIXED"),
            constant(impl.syscalls, "MREMAP_DONTUNMAP"))


@mutant("dontunmap-unmaps-source", "R44", "r44-mremap-dontunmap-private")
def _dontunmap_unmaps_source(impl):
    """mremap drops MREMAP_DONTUNMAP: the move unmaps the old range, which then faults
    instead of reading 0 (private) or the object (shared)."""
    _, _, dontunmap = _flags(impl)
    syscall(impl, "mremap", lambda mremap: lambda addr, old_length, new_length, flags, new_addr:
            mremap(addr, old_length, new_length, flags & ~dontunmap, new_addr))


@mutant("fixed-refuses-occupied", "R44 C01", "r44-mremap-fixed-over-mapping")
def _fixed_refuses_occupied(impl):
    """MREMAP_FIXED onto a range where something is mapped answers EEXIST (as
    MAP_FIXED_NOREPLACE would) instead of unmapping it and moving there."""
    _, fixed, _ = _flags(impl)

    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            if flags & fixed and new_addr is not None:
                end = new_addr + new_length
                if any(v.start < end and new_addr < v.end for v in vmas()):
                    return "EEXIST", None
            return mremap(addr, old_length, new_length, flags, new_addr)
        return patched
    syscall(impl, "mremap", make)


@mutant("fixed-implies-maymove", "R44 C01", "r44-mremap-fixed-errors")
def _fixed_implies_maymove(impl):
    """mremap adds MREMAP_MAYMOVE to MREMAP_FIXED (as old kernels' man page once read): a
    fixed move without MAYMOVE succeeds instead of EINVAL."""
    maymove, fixed, _ = _flags(impl)
    syscall(impl, "mremap", lambda mremap: lambda addr, old_length, new_length, flags, new_addr:
            mremap(addr, old_length, new_length,
                   flags | maymove if flags & fixed else flags, new_addr))


def _prot_replaced(impl, table):
    """mmap and mprotect with protection ``p`` in ``table`` ask for ``table[p]`` instead."""
    def make3(call):
        return lambda addr, length, prot: call(addr, length, table.get(prot, prot))

    def make6(call):
        return lambda addr, length, prot, flags, fd, offset: call(
            addr, length, table.get(prot, prot), flags, fd, offset)
    syscall(impl, "mprotect", make3)
    syscall(impl, "mmap", make6)


@mutant("write-only-read-only", "R33 C01", "r33-write-only-and-exec")
def _write_only_read_only(impl):
    """PROT_WRITE alone is taken for PROT_READ (the w of "-w-" read as r): a store into a
    write-only mapping raises SIGSEGV."""
    read, write = constant(impl.syscalls, "PROT_READ"), constant(impl.syscalls, "PROT_WRITE")
    _prot_replaced(impl, {write: read})


@mutant("exec-dropped", "R30 R33", "r30-protections-split-merge")
def _exec_dropped(impl):
    """PROT_EXEC is dropped (PROT_EXEC alone becomes PROT_NONE, PROT_READ|PROT_EXEC becomes
    PROT_READ): pages given x merge with their PROT_NONE neighbours, so an mremap over them
    grows where it must be EFAULT."""
    read, execute = constant(impl.syscalls, "PROT_READ"), constant(impl.syscalls, "PROT_EXEC")
    _prot_replaced(impl, {execute: 0, read | execute: read})


@mutant("maps-splits-merged", "R30", "r30-maps-records")
def _maps_splits_merged(impl):
    """The maps observation reports every record one page at a time: a merged VMA shows as
    split (as a reader of /proc/PID/maps that took each page's line for a VMA would)."""
    def split(report):
        pieces = []
        for record in report[len("maps("):-1].split(",") if report != "maps()" else []:
            span, perms = record.split(":")
            first, end = (int(x) for x in span.split("-"))
            pieces += ["%d-%d:%s" % (page, page + 1, perms) for page in range(first, end)]
        return "maps(%s)" % ",".join(pieces)

    worker_call(impl, "maps", lambda maps: lambda command: (
        lambda result: (split(result[0]), result[1]))(maps(command)))
