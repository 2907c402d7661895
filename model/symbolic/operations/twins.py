"""One symbolic twin per operation of the specification, named like the explicit handler.

``TWINS`` maps each operation name (ops.Op.OP, core.OP_NAMES) to the function that encodes it:
``twin(view) -> Effect`` (effect.py), the result code as a table and the terms the next state
is built from. ``OUTSIDE_CORE`` names the operations the encoding leaves out, with the reason;
core.program_to_args refuses a program that uses one (``OutsideCore``). A test
(tests/model/test_symbolic_twins.py) holds every operation to one of the two.
"""
from __future__ import annotations

from types import MappingProxyType

from ..step_view import StepView
from .memory import madvise, mmap, mprotect, mremap, munmap, read, write
from .objects import close, ftruncate, open_, pread, pwrite, seal, shm_unlink
from .processes import exec_, exit_, fork, spawn, thread_exit
from .sysv import shmat, shmctl, shmdt, shmget

TWINS = MappingProxyType({
    "read": read, "write": write, "mremap": mremap,
    "shmget": shmget, "shmat": shmat, "shmdt": shmdt, "shmctl": shmctl,
    "munmap": munmap, "mprotect": mprotect, "madvise": madvise, "mmap": mmap,
    "open": open_, "close": close, "ftruncate": ftruncate, "pread": pread, "pwrite": pwrite,
    "shm_unlink": shm_unlink, "seal": seal,
    "fork": fork, "spawn": spawn, "thread_exit": thread_exit, "exit": exit_, "exec": exec_,
})

OUTSIDE_CORE = MappingProxyType({
    "posix_madvise": "glibc ignores POSIX_MADV_DONTNEED (R38): it changes nothing the "
                     "encoding could tell apart from madvise's other advice",
    "frames": "an observation of page frames (/proc/PID/pagemap), not an operation on memory; "
              "the frame generators check it against the explicit model",
    "maps": "an observation of the records (/proc/PID/maps): the cells keep pages, not where "
            "one VMA ends and the next begins",
    "setuid": "C07: credentials and permission bits are not in the cells; every process of "
              "the core is root, which passes every permission check",
    "setgid": "C07: credentials and permission bits are not in the cells; every process of "
              "the core is root, which passes every permission check",
    # model/descriptors.py: the cells carry one write seal per object and one access mode per
    # descriptor handle; these calls need the other seals, a second handle of one object, or
    # sizes in bytes (R47; dup(2), proc(5), fallocate(2)). The explicit model and the
    # generators cover them.
    "seals": "an observation of the seal set, which the encoding keeps only as write-sealed",
    "dup": "a second descriptor handle of one object; the encoding binds one object per open",
    "reopen": "a second descriptor handle of one object with its own access mode (and O_TRUNC)",
    "fallocate": "sizes and holes in bytes, and the grow and write seals, which objects lack here",
    "fstat": "an observation of an object's size in bytes; the encoding counts whole pages only",
    # model/locking.py: the cells have no VM_LOCKED bit per page, no record boundaries (a lock
    # splits records) and no page table entries (locking faults pages in, which makes private
    # copies); msync's only state change is R12's read lag, which only posix has, and the
    # core is Linux's. The explicit model and the generators cover them.
    "mlock": "VM_LOCKED and the population it does (private copies) are not in the cells",
    "munlock": "VM_LOCKED is not in the cells",
    "msync": "it changes no cell under Linux (C08); its errors need VM_LOCKED and unaligned "
             "addresses, which the cells lack",
    "vmlck": "an observation of VM_LOCKED pages, which the cells do not keep",
    # model/brk.py
    "brk": "the program break is a per-process position outside every slot, which moves; the "
           "cells are slot pages",
})


def effects_of(view: StepView) -> dict:
    """{operation name: its Effect} for one step (every twin, each guarded by the operation)."""
    return {name: twin(view) for name, twin in TWINS.items()}

