"""shmctl(S, times): a segment's three times (shm_atime, shm_dtime, shm_ctime), as IPC_STAT
returns them.

Sources: ipc/shm.c ``newseg`` (shm_atim = shm_dtim = 0, shm_ctim = now), ``__shm_open``
(shm_atim = now: every mapping record opened: shmat, fork's copy, a split's new piece, mremap's
moved copy), ``shm_close`` (shm_dtim = now: every record closed: shmdt, munmap, exit, exec,
mremap's old place), ``shmctl_down`` IPC_SET (shm_ctim = now); LTP
``testcases/kernel/syscalls/shmctl/shmctl01.c`` (shm_ctime lies within the creation window).
Checked on Linux 6.18 with a probe (the report of the stattimes branch): shmat sets only atime,
shmdt only dtime, fork sets atime, exit sets dtime, SHM_LOCK/UNLOCK and IPC_RMID set none.

What a case can predict, and so what the result says. The times are wall-clock seconds, which
no model knows; what it knows is whether a time was ever set (0 until then) and that a time set
at all was set at or after the segment's creation. So each time is reported as ``0`` (the
kernel's value is 0), ``set`` (non-zero, and within the window from the start of the step that
created the segment to the end of this observation, as the implementation measured both with
the wall clock, rounded outwards to whole seconds) or ``out`` (non-zero but outside that
window). The model allows ``out`` never; ``0`` and ``set`` as the kernel's rules say, with both
where the model cannot tell whether a step opened a record (a split, a merge, a partial unmap).
The implementation measures only: it does not know which step the model says set a time.

Linux's alone, like ``stat_full``: POSIX says shmat sets shm_atime and shmdt shm_dtime, but not
that fork, a split or an exit does.

Pure: every function maps a state to new states and results.
"""
from __future__ import annotations

from dataclasses import replace

from . import credentials
from .results import Errno, ShmTimes
from .state import State

EINVAL, EACCES = Errno("EINVAL"), Errno("EACCES")
# IPC_STAT's times, and SHM_STAT's of the segment's index (the same shmctl_stat fills both;
# LTP shmctl01 checks both)
COMMANDS = ("times", "shm_stat_times")


def observe(state: State, pid: int, op) -> list:
    """shmctl(op.segment, times | shm_stat_times): the three times as 0 or set (never out)."""
    sid = state.live_segment(op.segment)
    if sid is None:
        return [(state, EINVAL)]                 # R20: a destroyed segment's id is gone
    seg = state.segments[sid]
    if not credentials.ipc_permits(seg.perm, state.processes[pid].creds, credentials.READ):
        return [(state, EACCES)]                 # C07: shmctl_stat's ipcperms
    # newseg set shm_ctim at the creation, which opens the window: always set
    return [(state, ShmTimes("set" if seg.atime_set else "0",
                             "set" if seg.dtime_set else "0", "set"))]


def _records(state: State) -> dict:
    """segment -> frozenset of (process, start, end, origin) of its SysV mapping records."""
    out: dict = {}
    for p, proc in enumerate(state.processes):
        for v in proc.vmas:
            if v.segment is not None:
                out.setdefault(v.segment, set()).add((p, v.start, v.end, v.origin))
    return out


def _covered(record, others) -> bool:
    """Whether the pages of ``record`` all lie in records of ``others`` of its process."""
    p, start, end, _ = record
    pages = set(range(start, end))
    for q in others:
        if q[0] == p:
            pages -= set(range(q[1], q[2]))
    return not pages


def _overlaps(record, others) -> bool:
    p, start, end, _ = record
    return any(q[0] == p and q[1] < end and start < q[2] for q in others)


def note_times(before: State, after: State) -> list:
    """The states after a step, with shm_atime / shm_dtime marked set for the segments one of
    whose mapping records the step opened (``__shm_open``) or closed (``shm_close``).

    A record that appears apart from every record that went (shmat, fork's copy, mremap's
    moved copy) was opened: atime set. A record that went and whose pages are not all in the
    records that came (shmdt, munmap, exit, exec, mremap's old place) was closed: dtime set. A
    record only grown at its end (mremap in place) neither. What is left (a record that came
    over pages of one that went: a split by mprotect or madvise, a merge, the rest of a
    partial munmap) may have opened or closed one (the kernel's vma split opens the new piece,
    a merge does what vma_merge decides): both are allowed for a time not yet set."""
    if not after.segments:
        return [after]
    old, new = _records(before), _records(after)
    if old == new:
        return [after]
    states = [after]
    for s in sorted(set(old) | set(new)):
        if s >= len(after.segments):
            continue
        was, now = old.get(s, set()), new.get(s, set())
        gone, made = was - now, now - was
        if not gone and not made:
            continue
        grown = {r for r in made for q in gone if q[:2] == r[:2] and q[3] == r[3] and q[2] < r[2]}
        grown |= {q for q in gone for r in grown if q[:2] == r[:2] and q[3] == r[3]}
        gone, made = gone - grown, made - grown
        opened = any(not _overlaps(r, gone) for r in made)
        maybe_opened = any(_overlaps(r, gone) for r in made)
        closed = any(not _covered(q, made) for q in gone)
        maybe_closed = any(_covered(q, made) for q in gone)
        states = [t for state in states
                  for t in _mark(state, s, "atime_set", opened, maybe_opened)]
        states = [t for state in states
                  for t in _mark(state, s, "dtime_set", closed, maybe_closed)]
    return states


def _mark(state: State, sid: int, field: str, surely: bool, maybe: bool) -> list:
    seg = state.segments[sid]
    if getattr(seg, field) or not (surely or maybe):
        return [state]
    marked = state.with_segment(sid, replace(seg, **{field: True}))
    return [marked] if surely else [state, marked]
