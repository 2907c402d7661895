"""Named semantic variants: linux with one deliberate change to one rule.

Each variant is what a real implementation could plausibly get wrong (a kernel bug, a
simplified emulator, a port to another system). It is data: a profile equal to ``linux`` but
for either one deviation flag, consulted by the semantics where the rule it changes is
implemented (``if profile.deviates("shmdt-keeps-mapping"):``, next to the rule's id), or one
existing field of ``Profile`` set the other way. The default profiles carry no deviation, so
they behave exactly as they did.

    >>> get_variant("shmdt-keeps-mapping").rule
    'R25'
    >>> str(variant_profile("linux+shmdt-keeps-mapping"))
    'linux+shmdt-keeps-mapping'

``sharespec distinguish linux linux+NAME`` finds the shortest program that tells a variant
apart from linux (generators/distinguish.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

from .profiles import LINUX, PROFILES, Profile, get_profile

# The byte a variant that forgets to zero new memory leaves in it (observable, unlike 0).
JUNK_BYTE = 0xAA


@dataclass(frozen=True)
class Variant:
    """One named deviation from ``base``: a flag (``deviation``) or field overrides."""
    name: str
    rule: str                      # the catalogue id of the one rule it changes
    description: str               # one line: what the variant does instead
    deviation: Optional[str] = None
    overrides: tuple = field(default=())   # (Profile field, value) pairs
    base: Profile = LINUX

    def profile(self) -> Profile:
        prof = replace(self.base, name=f"{self.base.name}+{self.name}", **dict(self.overrides))
        if self.deviation:
            prof = replace(prof, deviations=prof.deviations | {self.deviation})
        return prof


def _flag(name: str, rule: str, description: str) -> Variant:
    return Variant(name, rule, description, deviation=name)


VARIANTS: tuple[Variant, ...] = (
    # --- creation and zero fill
    _flag("segment-not-zeroed", "R01",
          "a new SysV segment holds junk (0xAA) instead of zeros"),
    _flag("truncate-keeps-data", "R03",
          "ftruncate shrinking an object keeps the cut bytes, so re-extending shows them again"),
    # --- visibility and isolation
    _flag("sysv-not-inherited", "R09", "fork does not pass SysV attaches to the child"),
    _flag("shared-anon-copied-on-fork", "R10",
          "fork gives the child a copy of MAP_SHARED|MAP_ANONYMOUS memory instead of sharing it"),
    _flag("private-not-copied-on-write", "R11",
          "a write to a MAP_PRIVATE page shared after fork goes to the shared frame (no COW)"),
    _flag("private-file-write-reaches-file", "R12",
          "writes through a MAP_PRIVATE file mapping go to the file"),
    Variant("private-file-may-snapshot", "R13",
            "a MAP_PRIVATE file page may stop following the file before it is written "
            "(POSIX's allowance; nondeterministic)",
            overrides=(("private_file_may_snapshot", True),)),
    _flag("threads-get-copies", "R15",
          "a new thread gets a copy-on-write copy of the address space, as a fork child does"),
    # --- SysV lifecycle
    _flag("rmid-destroys-at-once", "R17",
          "IPC_RMID destroys the segment at once, even while attached (IPC_STAT -> EINVAL)"),
    _flag("removed-key-still-found", "R18",
          "IPC_RMID does not reset the key, so shmget still finds the removed segment"),
    Variant("removed-segment-not-attachable", "R19",
            "shmat of a removed but still attached segment fails with EINVAL (as POSIX says)",
            overrides=(("attach_removed_segment", False),)),
    _flag("rmid-unattached-deferred", "R20",
          "IPC_RMID of a segment nobody has attached does not destroy it"),
    _flag("excl-ignored", "R21", "shmget(IPC_CREAT|IPC_EXCL) of an existing key returns its id"),
    _flag("size-not-checked", "R22",
          "shmget of an existing key with a size above shm_segsz returns its id"),
    _flag("rdonly-attach-writable", "R24", "shmat(SHM_RDONLY) attaches writable"),
    _flag("shmdt-keeps-mapping", "R25", "shmdt succeeds but leaves the attach mapped"),
    _flag("exit-keeps-attaches", "R28",
          "_exit drops the mappings but not the attaches: shm_nattch still counts them, and a "
          "removed segment outlives its last user"),
    Variant("nattch-counts-attaches", "R30",
            "shm_nattch counts attaches, not mapping pieces (as POSIX says)",
            overrides=(("nattch_counts_fragments", False),)),
    # --- protection and mappings
    _flag("munmap-ignored", "R32", "munmap returns 0 but leaves the pages mapped"),
    _flag("mprotect-ignored", "R33", "mprotect returns 0 but keeps the old protection"),
    _flag("map-fixed-keeps-old", "C01",
          "MAP_FIXED over an existing mapping succeeds but leaves the old mapping in place"),
    # --- madvise
    _flag("dontneed-ignored", "R35", "MADV_DONTNEED keeps private anonymous data"),
    _flag("dontneed-zeroes-shared", "R36", "MADV_DONTNEED on shared memory zeroes the object"),
    _flag("dontfork-ignored", "R40", "MADV_DONTFORK is ignored: the child inherits the range"),
    _flag("wipeonfork-ignored", "R41", "MADV_WIPEONFORK is ignored: the child sees the data"),
    _flag("wipeonfork-not-inherited", "R41",
          "the MADV_WIPEONFORK setting is not inherited: a grandchild sees the child's data"),
    # --- mremap, POSIX shm
    _flag("mremap-alias-refused", "R42",
          "mremap(old_size=0) of a shared mapping fails with EINVAL instead of making an alias"),
    _flag("shm-unlink-destroys", "R46",
          "shm_unlink destroys the object's memory: mappings of it fault (SIGBUS)"),
)

VARIANT_BY_NAME: dict[str, Variant] = {v.name: v for v in VARIANTS}
DEVIATIONS = frozenset(v.deviation for v in VARIANTS if v.deviation)


def variants() -> tuple[Variant, ...]:
    return VARIANTS


def get_variant(name: str) -> Variant:
    try:
        return VARIANT_BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r} (sharespec distinguish --list lists them)"
                         ) from None


def variant_profile(name: str) -> Profile:
    """``linux+NAME`` (or a bare variant NAME) -> its profile; ValueError naming what is wrong."""
    base_name, plus, variant_name = name.partition("+")
    if not plus:
        base_name, variant_name = "linux", name
    if base_name not in PROFILES:
        raise ValueError(f"unknown profile {base_name!r} in {name!r} "
                         f"(known: {', '.join(PROFILES)})")
    variant = get_variant(variant_name)
    if base_name != variant.base.name:
        return replace(variant, base=PROFILES[base_name]).profile()
    return variant.profile()


def resolve_profile(name: str) -> Profile:
    """Any name ``profiles.get_profile`` knows (``linux``, ``posix``, ``linux+NAME``, with host
    settings such as ``:shm_rmid_forced``), or a bare variant name."""
    if name in PROFILES or "+" in name or ":" in name:
        return get_profile(name)
    return variant_profile(name)
