"""The catalogue's rule ids, and which rules an operation can bring into play.

Used to say which rules a failure involves, and to list what a suite covers. The rules
themselves are implemented (and cited) in semantics.py, memory.py and address_space.py.
"""
from __future__ import annotations

from .ops import Step

# Rules a program can observe (C06 and C08 are about races and durability; C09's no-ops became
# observable with shmctl stat_full, which shows SHM_LOCKED, and C07, the permission checks,
# with setuid and the modes).
OBSERVABLE_RULES = tuple(f"R{n:02d}" for n in range(1, 51)) + ("C01", "C02", "C03", "C04", "C05",
                                                                 "C07", "C08", "C09")
# C02 (async-signal-safety after fork) constrains what a child may call, not what memory holds:
# no program in this vocabulary can observe it.
# (C08 became observable with msync: its argument checks, and the end of R12's read lag under
# posix, model/locking.py)
UNOBSERVABLE_RULES = ("C02", "C06")

# R45 needs kernel.shm_rmid_forced = 1, a host setting the suite does not change.
HOST_SETTING_RULES = ("R45",)

_BY_OP = {
    "fork": ("R09", "R10", "R11", "R16", "R28", "R34", "R40", "R41", "C03"),
    "spawn": ("R15",),
    "thread_exit": ("R15", "R28"),
    "exit": ("R28",),
    "exec": ("R29", "C04"),
    "setuid": ("C07",),
    "setgid": ("C07",),
    "shmget": ("R01", "R04", "R18", "R21", "R22", "R23", "C07"),
    "shmat": ("R14", "R19", "R20", "R24", "R26", "R27", "R28", "C07"),
    "shmdt": ("R25", "R28", "R31"),
    "shmctl": ("R17", "R19", "R20", "R28", "R30", "C07", "C09"),
    "mmap": ("R02", "R05", "R06", "R47", "R50", "C01"),
    "munmap": ("R05", "R31", "R32"),
    "mprotect": ("R24", "R30", "R33", "C01"),
    "madvise": ("R35", "R36", "R37", "R39", "R40", "R41", "R48", "R49", "C01", "C05"),
    "posix_madvise": ("R38", "R48"),
    "mremap": ("R42", "R43", "R44"),
    "open": ("R46", "C07"),
    "close": (),
    "ftruncate": ("R03", "R07", "R08"),
    "pread": ("R07", "R12"),
    "pwrite": ("R12", "R13"),
    "shm_unlink": ("R46", "C07"),
    "seal": ("R47",),
    "mlock": ("C03", "C09"),
    "munlock": ("C09",),
    "msync": ("C08", "R12"),
    "vmlck": ("C03", "C09"),
    "read": ("R01", "R02", "R04", "R06", "R09", "R10", "R11", "R13", "R14", "R15", "R32", "R33",
             "R35", "R36", "R37", "R39", "R41", "R43", "R44", "R49", "R50", "C05"),
    "write": ("R06", "R09", "R10", "R11", "R12", "R15", "R24", "R32", "R33", "R43", "R49",
              "R50"),
}


def rules_for_step(step: Step) -> tuple:
    return _BY_OP.get(step.op.OP, ())
