"""What POSIX leaves open where Linux decides: more allowed outcomes for one operation.

Each entry widens Linux's outcome set of one operation, under the profile field (model/
profiles.py) that says the profile allows it; ``posix`` sets them all, ``linux`` none. These
are the widenings that only add outcomes to what Linux's handler gives. POSIX's other
allowances change how a state is built (a private page that may have snapshotted its object,
slack that may read zero, ...) and are read where that state is built (model/memory.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from . import address_space as aspace
from . import map_type
from .ops import Mmap, Mprotect, Munmap, ShmCtl
from .results import OK, Errno, Stat

EINVAL, EACCES, ENOMEM = Errno("EINVAL"), Errno("EACCES"), Errno("ENOMEM")


@dataclass(frozen=True)
class Widening:
    """``allow``: (before, pid, step, Linux's outcomes) -> every outcome POSIX allows."""
    op: type
    rule: str
    allow: Callable


def _stat_of_removed_segment(before, pid, st, outcomes):
    """IPC_RMID removes the identifier, so IPC_STAT may fail; SHM_DEST and the key reset are
    Linux's, so what a surviving IPC_STAT shows of them is unspecified."""
    out = []
    for s, r in outcomes:
        if not (isinstance(r, Stat) and r.dest):
            out.append((s, r))
            continue
        seg = before.segments[before.live_segment(st.op.segment)]
        keys = {r.key, seg.removed_key or "private"}
        out += [(s, replace(r, dest=dest, key=key)) for dest in (True, False) for key in sorted(keys)]
        out.append((s, EINVAL))
    return out


def _partial_detach(before, pid, st, outcomes):
    """munmap of part of a SysV attach is unspecified: it may also be refused."""
    if not any(r == OK for _, r in outcomes):
        return outcomes
    start, end = before.span(st.op.at, st.op.length)
    if aspace.splits_attach(before.processes[pid], start, end):
        return outcomes + [(before, EINVAL)]
    return outcomes


def _protect_attach(before, pid, st, outcomes):
    """mprotect is unspecified for a mapping mmap did not make, so a SHM_RDONLY attach may
    also become writable (it is Linux that says EACCES)."""
    if [r for _, r in outcomes] != [EACCES]:
        return outcomes
    start, end = before.span(st.op.at, st.op.length)
    refusing = [v for v in aspace.overlapping(before.processes[pid], start, end)
                if not v.may_write]
    if not all(v.segment is not None for v in refusing):
        return outcomes
    state, hole = aspace.protect(before, pid, start, end, st.op.prot)
    return outcomes + [(state, OK if hole is None else ENOMEM)]


# Profile field -> the widening it switches on.
WIDENINGS: dict = {
    "removed_stat_may_fail": Widening(ShmCtl, "R17", _stat_of_removed_segment),
    "partial_shm_munmap_may_fail": Widening(Munmap, "R31", _partial_detach),
    "shm_mprotect_unspecified": Widening(Mprotect, "R24", _protect_attach),
    "error_order_unspecified": Widening(Mmap, "C01", map_type.any_error_first),
}


def widened(op: type, profile, handler: Callable) -> Callable:
    """``handler`` (Linux's for ``op``) with every widening the profile allows for ``op``."""
    allowances = [w.allow for field, w in WIDENINGS.items()
                  if w.op is op and getattr(profile, field)]
    if not allowances:
        return handler

    def allowing(state, pid, st, prof, **rules):
        outcomes = handler(state, pid, st, prof, **rules)
        for allow in allowances:
            outcomes = allow(state, pid, st, outcomes)
        return outcomes
    return allowing
