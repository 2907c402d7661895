"""Mutants of a segment's times (model/shm_times.py, ``shmctl(S, times)``): shm_ctime not set
at the creation, shm_atime not set by shmat, shm_dtime set by shmat, each as a kernel could
plausibly get ipc/shm.c's ``newseg``, ``__shm_open`` and ``shm_close`` wrong.

Each changes the IPC_STAT fields the worker answers for the ``times`` command, in the case
processes only (``worker_call``). What a mutant remembers lives in the case process."""
import time

from .registry import mutant, worker_call


def _times_changed(impl, change):
    """The worker's shmctl command, with ``change(fields) -> fields`` applied to the stat a
    ``times`` command answers."""
    def make(shmctl):
        def patched(c):
            result, value = shmctl(c)
            if result == "ok" and c["cmd"] in ("times", "shm_stat_times") and \
                    isinstance(value, dict):
                value = change(c, dict(value))
            return result, value
        return patched
    worker_call(impl, "shmctl", make)


@mutant("ctime-not-set-at-creation", "R28", "shmctl-times")
def _ctime_not_set(impl):
    """shmget leaves shm_ctime 0 when it creates the segment (newseg forgets it); only IPC_SET
    would set it."""
    _times_changed(impl, lambda c, f: dict(f, ctime=0))


@mutant("atime-not-set-at-shmat", "R28", "shmctl-times")
def _atime_not_set(impl):
    """shmat does not set shm_atime: it stays 0 however often the segment is attached."""
    _times_changed(impl, lambda c, f: dict(f, atime=0))


ATTACHED = set()    # segment ids this process attached


@mutant("dtime-set-at-shmat", "R28", "shmctl-times")
def _dtime_set_at_shmat(impl):
    """shmat sets shm_dtime as well as shm_atime (the attach taken for a detach): dtime shows
    a time before any detach."""
    def make_shmat(shmat):
        def patched(c):
            result, value = shmat(c)
            if result == "ok":
                ATTACHED.add(c["id"])
            return result, value
        return patched
    worker_call(impl, "shmat", make_shmat)
    _times_changed(impl, lambda c, f: dict(f, dtime=f["dtime"] or int(time.time()))
                   if c["id"] in ATTACHED else f)
