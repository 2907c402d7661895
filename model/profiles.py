"""Profiles: which system's rules the oracle applies. Data, not code paths.

``linux`` is what Linux does (the catalogue's observed rules). ``posix`` follows the
POSIX text: where POSIX leaves a behaviour unspecified the profile allows every permitted
outcome, and a case that uses a Linux-only interface is not applicable to it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


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
    # R45: kernel.shm_rmid_forced.
    shm_rmid_forced: bool = False
    # Named semantic variants (model/variants.py): each flag is one deliberate change to one
    # rule, consulted where that rule is implemented. Empty for linux and posix.
    deviations: frozenset = frozenset()

    def deviates(self, flag: str) -> bool:
        return flag in self.deviations

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
)

PROFILES: dict[str, Profile] = {p.name: p for p in (LINUX, POSIX)}


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
        from .variants import variant_profile
        return variant_profile(name)
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
