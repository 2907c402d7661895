"""Mutants of the address-range checks at absolute addresses (model/absolute_addresses.py):
SHM_RND rounding the wrong way, SHM_REMAP letting an address rounded to 0 through (the kernels
before commit 8f89c007b6de, which LTP shmat03 catches), munmap past the end of user space
answering success, and the nil page open to an unprivileged caller (vm.mmap_min_addr not
enforced). Each wraps one call of impl.syscalls in the case processes."""
import os

from .patching import constant
from .registry import PAGE, mutant, syscall

# The first address past x86-64 user space with 4-level paging (TASK_SIZE_MAX + 1 page).
_USER_END = 1 << 47


@mutant("shm-rnd-rounds-up", "R26", "r26-shmat-rnd-nil-page")
def _shm_rnd_rounds_up(impl):
    """shmat with SHM_RND rounds an unaligned address up to the next SHMLBA boundary instead of
    down: address 1 becomes 4096, which SHM_REMAP may then map instead of refusing."""
    rnd = constant(impl.syscalls, "SHM_RND")

    def make(shmat):
        def patched(ident, addr, flags):
            if flags & rnd and addr and addr % PAGE:
                addr, flags = addr + PAGE - addr % PAGE, flags & ~rnd
            return shmat(ident, addr, flags)
        return patched
    syscall(impl, "shmat", make)


@mutant("shm-remap-nil-allowed", "R27", "r26-shmat-rnd-nil-page")
def _shm_remap_nil_allowed(impl):
    """shmat with SHM_RND|SHM_REMAP of an address that rounds down to 0 maps the nil page (as
    Linux did before 8f89c007b6de) instead of EINVAL: SHM_REMAP is dropped for it."""
    rnd, remap = constant(impl.syscalls, "SHM_RND"), constant(impl.syscalls, "SHM_REMAP")

    def make(shmat):
        def patched(ident, addr, flags):
            if flags & rnd and flags & remap and addr and addr < PAGE:
                flags &= ~remap
            return shmat(ident, addr, flags)
        return patched
    syscall(impl, "shmat", make)


@mutant("munmap-outside-user-space", "R05", "r05-outside-user-space")
def _munmap_outside_user_space(impl):
    """munmap of a range past the end of user space answers success (nothing is mapped there)
    instead of EINVAL."""
    def make(munmap):
        def patched(addr, length):
            if addr >= _USER_END and addr % PAGE == 0:
                return "ok"
            return munmap(addr, length)
        return patched
    syscall(impl, "munmap", make)


@mutant("nil-page-unprivileged", "C07", "c07-mmap-nil-page")
def _nil_page_unprivileged(impl):
    """mmap MAP_FIXED of the nil page succeeds for a caller without CAP_SYS_RAWIO (as if
    vm.mmap_min_addr were 0): the unprivileged call answers with the address it asked for."""
    fixed = constant(impl.syscalls, "MAP_FIXED")

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            result, got = mmap(addr, length, prot, flags, fd, offset)
            if result == "EPERM" and flags & fixed and addr == 0 and os.geteuid() != 0:
                return "ok", addr
            return result, got
        return patched
    syscall(impl, "mmap", make)
