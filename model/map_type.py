"""mmap with neither MAP_SHARED nor MAP_PRIVATE (``Mmap.neither``: MAP_TYPE bits 0): EINVAL.

No catalogue rule names this case; C01 (mmap's errors, "length 0 -> EINVAL") is the nearest,
and is cited here. The sources:

- mmap(2), ERRORS: "EINVAL flags contained none of MAP_PRIVATE, MAP_SHARED, or
  MAP_SHARED_VALIDATE"; POSIX mmap: "[EINVAL] The value of flags is invalid (neither
  MAP_PRIVATE nor MAP_SHARED is set)" (the Open POSIX suite's mmap/21-1.c tests it).
- Linux checks it late, in do_mmap's ``switch (flags & MAP_TYPE)`` (``default: return
  -EINVAL``, one switch for a file and one for anonymous memory). Before it: sys_mmap's offset
  alignment and do_mmap's length (EINVAL), ksys_mmap_pgoff's fget (EBADF),
  __get_unmapped_area (a MAP_FIXED place), MAP_FIXED_NOREPLACE's overlap (EEXIST) and a
  MAP_LOCKED mmap's RLIMIT_MEMLOCK checks (EPERM, EAGAIN). The descriptor's access mode
  (EACCES) and a memfd's seals (EPERM) are checked inside the switch's cases, so never here;
  and the old mapping under MAP_FIXED is unmapped only by mmap_region, after the switch, so
  nothing changes. Observed on Linux 6.18 with a C program: EBADF for a closed descriptor,
  EEXIST for NOREPLACE over a mapping, EINVAL for a read-only, a write-only or a write-sealed
  descriptor, and MAP_FIXED over a mapping leaves its contents.

POSIX does not order errors ("If more than one error occurs in processing a function call, any
one of the possible errors may be returned, as the order of detection is undefined", XSH 2.3),
so under a profile with ``error_order_unspecified`` a descriptor not held answers EBADF or
EINVAL, and a write-only one (POSIX's EACCES: "not open for read, regardless of the protection
specified") EACCES or EINVAL.
"""
from __future__ import annotations

from typing import Callable

from . import address_space as aspace
from . import descriptors, locking
from .ops import Mmap, Step
from .results import Errno

EINVAL, EBADF, EEXIST, EPERM, EAGAIN, EACCES = (
    Errno(n) for n in ("EINVAL", "EBADF", "EEXIST", "EPERM", "EAGAIN", "EACCES"))


def refused(state, pid: int, op: Mmap, base: int, pages: int, failed,
            require_linux: Callable) -> list:
    """The outcomes of an mmap with neither type bit, once the length, offset and place have
    passed their EINVAL checks (model/semantics.py ``_mmap``): every one leaves ``failed`` (the
    state with the handle bound to nothing). C01."""
    if op.fd is not None:
        fd = descriptors.held_fd(state, pid, op.fd)
        if fd is None:
            return [(failed, EBADF)]  # C01: ksys_mmap_pgoff's fget, before do_mmap
        if state.objects[fd.obj].kind == "memfd":
            require_linux("memfd")
    if op.fixed == "noreplace" and not aspace.is_range_free(state.processes[pid], base,
                                                            base + pages):
        return [(failed, EEXIST)]  # C01: do_mmap's overlap check, before the type switch
    outcomes = [(failed, EINVAL)]  # C01: do_mmap, switch (flags & MAP_TYPE): default
    if op.locked and locking.may_be_limited(state, pid):
        # can_do_mlock (EPERM), mlock_future_ok (EAGAIN) come before the switch too
        outcomes += [(failed, EPERM), (failed, EAGAIN)]
    return outcomes


def any_error_first(before, pid: int, st: Step, outcomes: list) -> list:
    """POSIX (XSH 2.3): the order in which an mmap with neither type bit detects its errors is
    undefined, so EINVAL may come before a descriptor's EBADF, and before the EACCES of a
    descriptor not open for reading. C01."""
    op = st.op
    if not (isinstance(op, Mmap) and op.neither) or op.fd is None:
        return outcomes
    fd = descriptors.held_fd(before, pid, op.fd)
    if fd is not None and not fd.wronly:
        return outcomes
    failed = outcomes[0][0]
    extra = [(failed, EINVAL)] if [r for _, r in outcomes] == [EBADF] else []
    if fd is not None and fd.wronly and any(r == EINVAL for _, r in outcomes):
        extra.append((failed, EACCES))
    return outcomes + [o for o in extra if o not in outcomes]
