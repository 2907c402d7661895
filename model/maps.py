"""The ``maps`` observation (Linux: /proc/PID/maps): the records of the acting process from a
mapping handle's first page to the end of the slot that page lies in, as the model keeps them
(model/address_space.py: VMAs split by mprotect and madvise flags, merged again where
vma_merge would, SysV pieces never merged, R30), each with its protection and sharing.

It says nothing about addresses the case does not own: the range stops at the slot's end, so a
neighbouring slot (which an implementation may place anywhere) is never looked at. A record
that runs past either end of the range is cut there. Perms are /proc's: ``r``/``w``/``x`` of
the protection asked for (PROT_WRITE alone shows ``-w-``: the VMA keeps the flags, whatever the
page table entries allow), then ``s`` for a shared mapping (VM_MAYSHARE: also a shared mapping
of a read-only descriptor, and a SysV attach) or ``p``.
"""
from __future__ import annotations

from .ops import Maps
from .results import MapsReport
from .state import SLOT_PAGES, State

PERMS = {"rw": "rw-", "r": "r--", "none": "---", "w": "-w-", "x": "--x", "rx": "r-x"}


def observe(state: State, pid: int, op: Maps) -> list:
    """The one (state, MapsReport) a maps step allows: it changes nothing."""
    base = state.mapping_handles[op.mapping]
    end = (base // SLOT_PAGES + 1) * SLOT_PAGES
    records = tuple((max(v.start, base) - base, min(v.end, end) - base,
                     PERMS[v.prot] + ("s" if v.shared else "p"))
                    for v in sorted(state.processes[pid].vmas, key=lambda v: v.start)
                    if v.start < end and base < v.end)
    return [(state, MapsReport(records))]
