"""Mutants of the shmctl commands beyond IPC_RMID and IPC_STAT (model/shmctl_commands.py):
SHM_LOCK/SHM_UNLOCK, the stat's lock bit, cpid and lpid, SHM_STAT by index, IPC_INFO/SHM_INFO
and an invalid command.

Each wraps the worker's shmctl (or shmdt) command in the case processes only (``worker_call``):
the executor reads IPC_STAT's shm_cpid to tell the case's segments from others' (impl/segments.py),
and must go on reading the truth. What a mutant remembers lives in the case process."""
import os

from .patching import constant
from .registry import is_sysv, mutant, vma_at, worker_call


def _shmctl_answer_changed(impl, change):
    """The worker's shmctl command, with ``change(command, result, value) -> (result, value)``
    applied to its answer."""
    def make(shmctl):
        def patched(c):
            result, value = shmctl(c)
            return change(c, result, value)
        return patched
    worker_call(impl, "shmctl", make)


def _commands_answered(impl, commands, answer):
    """The worker's shmctl command, with ``answer(command) -> (result, value)`` in place of
    the real call for the commands named in ``commands``."""
    def make(shmctl):
        def patched(c):
            return answer(c) if c["cmd"] in commands else shmctl(c)
        return patched
    worker_call(impl, "shmctl", make)


def _stat_fields_changed(impl, change):
    """Every stat a shmctl command answers, with ``change(command, fields) -> fields``."""
    def changed(c, result, value):
        if result == "ok" and isinstance(value, dict) and "mode" in value:
            value = change(c, dict(value))
        return result, value
    _shmctl_answer_changed(impl, changed)


@mutant("shm-lock-ignored", "C09", "c09-shm-lock-keeps-contents")
def _lock_ignored(impl):
    """SHM_LOCK succeeds but does nothing: SHM_LOCKED never shows in the mode."""
    _commands_answered(impl, ("lock",),   # EINVAL where it is gone
                       lambda c: (impl.syscalls.shmctl_stat(c["id"])[0], None))


@mutant("shm-unlock-ignored", "C09", "c09-shm-lock-keeps-contents")
def _unlock_ignored(impl):
    """SHM_UNLOCK succeeds but does nothing: SHM_LOCKED stays set."""
    _commands_answered(impl, ("unlock",),
                       lambda c: (impl.syscalls.shmctl_stat(c["id"])[0], None))


@mutant("cpid-is-caller", "R28", "shmctl-cpid-lpid")
def _cpid_is_caller(impl):
    """The stat's shm_cpid is the process asking, not the one that created the segment."""
    _stat_fields_changed(impl, lambda c, f: dict(f, cpid=os.getpid()))


KEPT_LPID = {}      # segment id -> the shm_lprid it had before this process detached it


@mutant("lpid-kept-at-shmdt", "R28", "shmctl-cpid-lpid")
def _lpid_kept_at_shmdt(impl):
    """shmdt does not set shm_lprid: the stat (in the detaching process) shows the last process
    that attached or detached before it."""
    def make_shmdt(shmdt):
        def patched(c):
            v = vma_at(c["addr"])
            before = None
            if v is not None and is_sysv(v):
                result, fields = impl.syscalls.shmctl_stat(v.inode)
                before = fields["lpid"] if result == "ok" else None
            answer = shmdt(c)
            if before is not None and answer[0] == "ok":
                KEPT_LPID[v.inode] = before
            return answer
        return patched
    worker_call(impl, "shmdt", make_shmdt)

    def change(c, fields):
        if c["id"] in KEPT_LPID and fields["lpid"] == os.getpid():
            fields["lpid"] = KEPT_LPID[c["id"]]
        return fields
    _stat_fields_changed(impl, change)


@mutant("shm-stat-returns-index", "R17", "shmctl-shm-stat-index")
def _shm_stat_returns_index(impl):
    """SHM_STAT and SHM_STAT_ANY return the index they were given instead of the segment's
    identifier."""
    def change(c, fields):
        if c["cmd"] in ("shm_stat", "shm_stat_any"):
            index = impl.syscalls.shm_index(c["id"])
            fields["id"] = -2 if index is None else index
        return fields
    _stat_fields_changed(impl, change)


@mutant("shm-stat-wants-id", "R17", "shmctl-shm-stat-index")
def _shm_stat_wants_id(impl):
    """SHM_STAT and SHM_STAT_ANY look their argument up as an identifier (as IPC_STAT does), so
    a segment's index finds nothing: EINVAL."""
    def as_identifier(c):
        index = impl.syscalls.shm_index(c["id"])
        result, fields = impl.syscalls.shmctl_stat(-1 if index is None else index)
        if result == "ok":
            fields["id"] = index
        return result, fields
    _commands_answered(impl, ("shm_stat", "shm_stat_any"), as_identifier)


@mutant("info-refused", "R20", "shmctl-info-invalid")
def _info_refused(impl):
    """IPC_INFO and SHM_INFO are refused with EINVAL, as an unknown command would be."""
    _commands_answered(impl, ("info", "shm_info"), lambda c: ("EINVAL", None))


@mutant("invalid-shmctl-accepted", "R20", "shmctl-info-invalid")
def _invalid_accepted(impl):
    """An unknown shmctl command succeeds (returns 0) instead of EINVAL."""
    _commands_answered(impl, ("invalid",), lambda c: ("ok", None))
    constant(impl.syscalls, "SHMCTL_INVALID")      # the patch point this bug is about
