"""A mutant of mmap's type check (model/map_type.py, C01): flags with neither MAP_SHARED nor
MAP_PRIVATE quietly mapped private. It is the bug of a libc shim or an emulator that turns the
sharing into a boolean (shared, else private), as a system whose mmap defaults to private
would. It wraps the real call (syscalls.mmap)."""
from .patching import constant
from .registry import mutant, syscall


@mutant("neither-treated-as-private", "C01", "c01-mmap-neither-shared-nor-private")
def _neither_treated_as_private(impl):
    """mmap with neither MAP_SHARED nor MAP_PRIVATE maps private memory instead of failing
    with EINVAL."""
    shared = constant(impl.syscalls, "MAP_SHARED")
    private = constant(impl.syscalls, "MAP_PRIVATE")

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            if not flags & (shared | private):
                flags |= private
            return mmap(addr, length, prot, flags, fd, offset)
        return patched
    syscall(impl, "mmap", make)
