"""shmctl beyond IPC_RMID and IPC_STAT: SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_STAT_ANY, IPC_INFO,
SHM_INFO, an invalid command, and IPC_STAT reporting the lock bit, the creator and the last
process to attach or detach (``stat_full``).

Sources: shmctl(2); ipc/shm.c ``ksys_shmctl``, ``shmctl_do_lock``, ``shmctl_stat``,
``shmctl_ipc_info``, ``shmctl_shm_info``, ``__shm_open``, ``shm_close``; LTP
``testcases/kernel/syscalls/shmctl/shmctl01.c`` (cpid, SHM_STAT), ``shmctl04.c`` (SHM_INFO and
SHM_STAT_ANY), ``shmctl07.c`` (SHM_LOCK sets SHM_LOCKED in shm_perm.mode, SHM_UNLOCK clears it).

What a case can predict, and so what the results say:

- Processes are named by their first thread handle (``T0``, or the handle ``fork`` bound):
  shm_cpid and shm_lprid are process ids (``task_tgid``), shared by all threads of a process.
- shm_lprid is set by ``__shm_open`` and ``shm_close``, i.e. whenever a shm mapping record is
  made or goes (shmat, shmdt, munmap of a piece, a split by mprotect or madvise, mremap, fork's
  copy of the record, which runs in the parent, exit and exec), always by the acting process
  (``note_last_attacher``). Growing a record in place opens nothing.
- SHM_STAT and SHM_STAT_ANY take an index into the IPC namespace's table, not an identifier.
  A case names the index through a segment handle (the index of that handle's segment, which
  an implementation finds by itself); the call returns the segment's identifier, reported as
  the handle it belongs to. SHM_STAT given the identifier where the index is due
  (``shm_stat_id``) is not EINVAL, as one might expect: ``ipc_obtain_object_idr`` keeps only
  the index bits of what it is given (``ipcid_to_idx``), so it finds the segment itself (seen
  on Linux 6.18). Once the segment is destroyed the call is EINVAL; another process could in
  principle reuse the index meanwhile (the model does not allow for it: ids are allocated
  cyclically, so reuse within a case is far-fetched).
- IPC_INFO and SHM_INFO return the highest index in use in the whole namespace. A case can
  predict only that it is at least the index of a segment the case holds alive; the limits
  (shmmax, shmall, shmmni: sysctls) and the counts (used_ids, shm_tot, shm_rss, shm_swp) are
  the host's, and other processes change them between any two calls.
- As root (the bundled implementation's tests run as root, CAP_IPC_LOCK) SHM_LOCK and
  SHM_UNLOCK succeed on a live segment, also a removed one still attached, and are idempotent
  (``shmctl_do_lock`` does nothing when the bit already says so). They change no contents (C09).
- An invalid command is EINVAL before the identifier is looked at (``ksys_shmctl``: cmd < 0).
- ``shm_info_counts``, ``stat_any_count`` and ``sysvipc`` observe the IPC namespace's figures,
  which a case predicts exactly because it then runs in a fresh IPC namespace of its own
  (model/residency.py).

Pure: every function maps a state to new states and results.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from . import address_space as aspace
from . import credentials, residency
from .ops import FIGURE_COMMANDS
from .results import OK, Errno, Indexes, Info, Stat, SysvipcSums
from .state import Segment, State

EINVAL, EACCES, EPERM = Errno("EINVAL"), Errno("EACCES"), Errno("EPERM")

# The commands this module performs (ops.SHMCTL_COMMANDS has rmid and stat too).
COMMANDS = frozenset({"stat_full", "lock", "unlock", "shm_stat", "shm_stat_any", "shm_stat_id",
                      "info", "shm_info", "invalid"}) | frozenset(FIGURE_COMMANDS)
# Linux's alone: POSIX shmctl knows IPC_STAT, IPC_SET and IPC_RMID (and says EINVAL for any
# other command). ``stat_full`` is Linux's too: POSIX does not say that fork, a split or an
# exit sets shm_lpid.
LINUX_ONLY = COMMANDS - {"invalid"}


def process_name(state: State, pid: Optional[int]) -> str:
    """A process as a case names it: its first thread handle; "none" for no process."""
    if pid is None:
        return "none"
    return next((name for name, t in state.threads.items() if t.process == pid), "none")


def segment_name(state: State, sid: int) -> str:
    """The first handle bound to the segment (as shmget's ``=S0`` names it)."""
    return next(h for h, s in state.segment_handles.items() if s == sid)


def full_stat(state: State, sid: int, profile, id: Optional[str] = None) -> Stat:
    """IPC_STAT's fields with the lock bit, shm_cpid and shm_lprid (R17: SHM_DEST and the key
    reset after IPC_RMID, as in the four-field stat)."""
    seg = state.segments[sid]
    return Stat(nattch=aspace.nattch(state, sid, profile), segsz=seg.size, dest=seg.removed,
                key=seg.key or "private", locked=seg.locked,
                cpid=process_name(state, seg.creator), lpid=process_name(state, seg.last_pid),
                id=id)


def perform(state: State, pid: int, op, profile) -> list:
    """The (state, result) pairs of shmctl(op.segment, op.cmd) for a command of COMMANDS."""
    if op.cmd == "invalid":
        return [(state, EINVAL)]                 # ksys_shmctl: cmd < 0, before the id
    sid = state.live_segment(op.segment)
    if op.cmd in ("info", "shm_info"):
        # shmctl_ipc_info / shmctl_shm_info: ipc_get_maxidx, whatever the id. The index of a
        # live segment of the case is in use, so the highest index is at least it.
        return [(state, Info("none" if sid is None else op.segment))]
    # The namespace's figures, exact in the case's own IPC namespace (model/residency.py);
    # none checks a permission (shmctl_shm_info, SHM_STAT_ANY; /proc/sysvipc/shm is 0444)
    if op.cmd == "shm_info_counts":
        return [(state, Info("none" if sid is None else op.segment,
                             residency.shm_info_counts(state)))]
    if op.cmd == "stat_any_count":
        return [(state, Indexes(residency.stat_any_count(state)))]
    if op.cmd == "sysvipc":
        return [(state, SysvipcSums(residency.sysvipc_summary(state)))]
    if sid is None:
        return [(state, EINVAL)]                 # R20: a destroyed segment's id (and index) is gone
    seg: Segment = state.segments[sid]
    creds = state.processes[pid].creds
    if op.cmd in ("stat_full", "shm_stat", "shm_stat_id") and \
            not credentials.ipc_permits(seg.perm, creds, credentials.READ):
        return [(state, EACCES)]                 # C07: shmctl_stat's ipcperms; not SHM_STAT_ANY
    if op.cmd in ("lock", "unlock") and not credentials.may_change_ipc(seg.perm, creds):
        return [(state, EPERM)]                  # C07: shmctl_do_lock, without CAP_IPC_LOCK
    if op.cmd in ("lock", "unlock"):
        # shmctl_do_lock: sets or clears SHM_LOCKED (idempotent); no effect on contents (C09)
        done = [(state.with_segment(sid, replace(seg, locked=op.cmd == "lock")), OK)]
        if op.cmd == "lock" and not creds.privileged:
            done.append((state, EPERM))          # C07: an owner's RLIMIT_MEMLOCK of 0 (host's)
        return done
    if op.cmd == "stat_full":
        return [(state, full_stat(state, sid, profile))]
    # shm_stat, shm_stat_any (as root no permission check), shm_stat_id (the id's index bits)
    return [(state, full_stat(state, sid, profile, id=segment_name(state, sid)))]


def _attach_records(state: State) -> frozenset:
    """(process, segment, start, end, origin) of every SysV mapping record."""
    return frozenset((pid, v.segment, v.start, v.end, v.origin)
                     for pid, p in enumerate(state.processes) for v in p.vmas
                     if v.segment is not None)


def note_last_attacher(before: State, after: State, pid: int) -> State:
    """shm_lprid := the acting process, for every segment one of whose mapping records was made
    or went in this step (``__shm_open``, ``shm_close``): a record only grown at its end
    (mremap in place) is neither."""
    if not after.segments:
        return after
    old, new = _attach_records(before), _attach_records(after)
    if old == new:
        return after
    gone, made = old - new, new - old
    grown = set()        # a record and what it became by growing at its end: nothing opened
    for r in made:
        for q in gone:
            if q[:3] == r[:3] and q[4] == r[4] and q[3] < r[3]:
                grown |= {q, r}
    for s in sorted({record[1] for record in (gone | made) - grown}):
        seg = after.segments[s]
        if seg.last_pid != pid:
            after = after.with_segment(s, replace(seg, last_pid=pid))
    return after
