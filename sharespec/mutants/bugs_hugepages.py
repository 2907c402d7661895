"""Mutants of huge-page objects (issue 16, item 6; model/hugepages.py): a size flag dropped, a
write(2) to hugetlbfs taken, a size rounded up to whole huge pages instead of refused, and
SHM_HUGETLB dropped. Each is a bug an emulator or a libc shim that copies flags it does not
know about, or a file system layer that papers over hugetlbfs's limits, could have; each wraps
the real call (memfd_create through syscalls.os_call, shmget through syscalls.shmget, the
worker's ftruncate and pwrite handlers)."""
import os

from .bugs_files import _os_call_wrapped
from .bugs_memfd import _handler_wrapped
from .patching import constant
from .registry import PAGE, mutant, syscall

HUGE_SIZE_BITS = 0x3F << 26      # MFD_HUGE_MASK << MFD_HUGE_SHIFT (= SHM_HUGE_*)


@mutant("mfd-huge-size-ignored", "C01", "c01-hugetlb-memfd-sizes")
def _mfd_huge_size_ignored(impl):
    """memfd_create drops the MFD_HUGE_* size bits: a memfd asked for 64 KiB pages gets the
    default size (2 MiB), and a size flag without MFD_HUGETLB is not refused."""
    _os_call_wrapped(impl, os.memfd_create, lambda os_call, name, flags:
                     os_call(os.memfd_create, name, flags & ~HUGE_SIZE_BITS))


@mutant("hugetlb-write-accepted", "C01", "c01-hugetlb-memfd-io")
def _hugetlb_write_accepted(impl):
    """pwrite to a file with no write method (hugetlbfs: EINVAL) reports success, writing
    nothing (a layer that counts a refused write as a short one)."""
    def change(command, answer):
        return ("ok", None) if answer[0] == "EINVAL" else answer
    _handler_wrapped(impl, "pwrite", change_answer=change)


@mutant("hugetlb-ftruncate-rounded", "C01", "c01-hugetlb-memfd-io")
def _hugetlb_ftruncate_rounded(impl):
    """ftruncate of a hugetlbfs file rounds the length up to whole huge pages (its st_blksize)
    instead of refusing a length that is not (EINVAL)."""
    def change(command):
        try:
            block = os.fstat(command["fd"]).st_blksize
        except OSError:
            return command
        if block > PAGE and command["length"] % block:
            command = dict(command, length=-(-command["length"] // block) * block)
        return command
    _handler_wrapped(impl, "ftruncate", change_command=change)


@mutant("shm-hugetlb-ignored", "C01", "c01-hugetlb-shmget")
def _shm_hugetlb_ignored(impl):
    """shmget drops SHM_HUGETLB and the size bits: the segment is made of ordinary pages, so
    it is created where the huge page pools are empty (ENOMEM)."""
    hugetlb = constant(impl.syscalls, "SHM_HUGETLB")

    def make(shmget):
        def patched(key, size, flags):
            return shmget(key, size, flags & ~(hugetlb | HUGE_SIZE_BITS))
        return patched
    syscall(impl, "shmget", make)
