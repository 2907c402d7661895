"""Profiles: which system's rules the oracle applies. Data, not code paths.

``linux`` is what Linux does (docs/rules.md). ``posix`` follows the POSIX text: where POSIX
leaves a behaviour unspecified the profile allows every permitted outcome (each field below
names one such allowance and the rule it widens; model/posix.py adds the outcomes of those
that only add to Linux's), and a case that uses a Linux-only interface
is not applicable to it. A named variant (``linux+NAME``) is linux with one rule changed: its
catalogue entry is here, what it does instead is in model/variants.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional


@dataclass(frozen=True)
class Profile:
    name: str
    # madvise, mremap, memfd, seals, SHM_REMAP, MAP_FIXED_NOREPLACE exist (else: not applicable).
    linux_interfaces: bool
    # R30: shm_nattch counts VMAs (fragments) rather than attaches.
    nattch_counts_fragments: bool
    # R19: shmat(id) of a removed but not yet destroyed segment attaches it (else EINVAL).
    attach_removed_segment: bool
    # R17 under POSIX: IPC_STAT on a removed, still attached segment may also fail (EINVAL),
    # and where it works, may show SHM_DEST or not and the old key or IPC_PRIVATE (POSIX's
    # IPC_RMID removes the identifier; SHM_DEST and the key reset are Linux's).
    removed_stat_may_fail: bool
    # R04: bytes of the last page beyond shm_segsz may also fault.
    segment_slack_may_fault: bool
    # R07: the slack beyond EOF may also read 0 after a write there.
    file_slack_may_read_zero: bool
    # R08: a private page copied before a shrink may also stay readable beyond the new EOF.
    private_copy_beyond_eof_may_survive: bool
    # R13: an unwritten MAP_PRIVATE page may also stop following later changes to the object.
    private_file_may_snapshot: bool
    # R31: munmap of part of a SysV attach may also be refused (EINVAL).
    partial_shm_munmap_may_fail: bool
    # R12, R13: a byte of a MAP_PRIVATE page this process copied (by writing another byte of
    # it) but did not write may also show a later change to the object (POSIX mmap).
    private_copy_may_follow_object: bool = False
    # R24: mprotect of a SysV attach (not made by mmap) may also grant PROT_WRITE on a
    # SHM_RDONLY attach (POSIX mprotect: unspecified for mappings not made by mmap).
    shm_mprotect_unspecified: bool = False
    # R07: a new mapping of an object that nothing maps zero-fills the partial page past the
    # end of the object, and bytes stored there never reach the object (POSIX mmap).
    slack_zero_filled_when_mapped: bool = False
    # R12: read(2) of a file may also show a byte's value from before a store through a
    # MAP_SHARED mapping (POSIX: only msync says when the file sees it; model/read_lag.py).
    read_may_lag_shared_stores: bool = False
    # C01: an mmap with neither MAP_SHARED nor MAP_PRIVATE may report its EINVAL before a
    # descriptor's EBADF or EACCES (POSIX XSH 2.3: the order of detection is undefined;
    # model/map_type.py).
    error_order_unspecified: bool = False
    # R45: kernel.shm_rmid_forced.
    shm_rmid_forced: bool = False
    # Named semantic variants: each name is one deliberate change to one rule, made by the
    # variant's handler (model/variants.py). Empty for linux and posix.
    deviations: frozenset = frozenset()

    def __str__(self) -> str:
        return self.name


LINUX = Profile(
    name="linux",
    linux_interfaces=True,
    nattch_counts_fragments=True,
    attach_removed_segment=True,
    removed_stat_may_fail=False,
    segment_slack_may_fault=False,
    file_slack_may_read_zero=False,
    private_copy_beyond_eof_may_survive=False,
    private_file_may_snapshot=False,
    partial_shm_munmap_may_fail=False,
)

POSIX = Profile(
    name="posix",
    linux_interfaces=False,
    nattch_counts_fragments=False,
    attach_removed_segment=False,
    removed_stat_may_fail=True,
    segment_slack_may_fault=True,
    file_slack_may_read_zero=True,
    private_copy_beyond_eof_may_survive=True,
    private_file_may_snapshot=True,
    partial_shm_munmap_may_fail=True,
    shm_mprotect_unspecified=True,
    private_copy_may_follow_object=True,
    slack_zero_filled_when_mapped=True,
    read_may_lag_shared_stores=True,
    error_order_unspecified=True,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (LINUX, POSIX)}


# --- named variants: linux with one rule changed -----------------------------------------
# Each is what a real implementation could plausibly get wrong (a kernel bug, a simplified
# emulator, a port to another system). ``sharespec distinguish linux linux+NAME`` finds the
# shortest program that tells one apart from linux (generators/distinguish.py).

@dataclass(frozen=True)
class Variant:
    """One named change to one rule of ``base``: a name in ``Profile.deviations`` that
    model/variants.py gives a handler (``deviation``), or fields of the profile set the other
    way (``overrides``)."""
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
    return replace(get_variant(variant_name), base=PROFILES[base_name]).profile()


def resolve_profile(name: str) -> Profile:
    """Any name ``profiles.get_profile`` knows (``linux``, ``posix``, ``linux+NAME``, with host
    settings such as ``:shm_rmid_forced``), or a bare variant name."""
    if name in PROFILES or "+" in name or ":" in name:
        return get_profile(name)
    return variant_profile(name)


# Settings of a system that change its rules, written after the profile's name with a colon
# (``linux:shm_rmid_forced``): what a host is configured to do, not a variant of the rules.
SETTINGS = {"shm_rmid_forced": "R45"}


def get_profile(name: "str | Profile") -> Profile:
    """A profile by name: ``linux``, ``posix``, a named variant ``linux+VARIANT``, or either
    with host settings ``linux:shm_rmid_forced``."""
    if isinstance(name, Profile):
        return name
    if isinstance(name, str) and ":" in name:
        base, *settings = name.split(":")
        unknown = [s for s in settings if s not in SETTINGS]
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r} in profile {name!r} "
                             f"(known: {', '.join(SETTINGS)})")
        return replace(get_profile(base), name=name, **{s: True for s in settings})
    if isinstance(name, str) and "+" in name:
        return variant_profile(name)
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
