"""Processes that die with their parent, process identities that survive pid reuse, and
process groups ended whole.

Every process the runner starts (the worker processes of -j N, the implementations) must end
when the process that started it ends, even when that one is killed with SIGKILL and can
do nothing: the kernel's parent-death signal (PR_SET_PDEATHSIG) does it. It is set in the
child, and the parent may already be dead by then (the signal then never comes), so the
child checks afterwards that its parent is still the one that started it.

A pid alone names nobody for long (kernel.pid_max is 32768 on many hosts): a process is named
by its pid and its start time (field 22 of /proc/PID/stat, in clock ticks since boot), which
no later process with the same pid has.
"""
from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Optional

PR_SET_PDEATHSIG = 1     # <linux/prctl.h>

_libc = None


def _prctl():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                                ctypes.c_ulong]
    return _libc.prctl


def load() -> None:
    """Load what die_with_parent needs, before a fork whose child calls it (between fork and
    exec, with other threads in the parent, nothing should be loaded)."""
    _prctl()


def die_with_parent(parent: int, number: int = signal.SIGTERM) -> bool:
    """In a child: have the kernel send it ``number`` when its parent ends; if ``parent`` (the
    pid of the process that started it) has ended already, send it now. False if the kernel
    cannot do it (an emulator without prctl): the child then ends on end-of-file from its
    parent, as before. The signal survives execve (not of a set-user-id program)."""
    if _prctl()(PR_SET_PDEATHSIG, int(number), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:     # it died before the prctl: no signal will come
        os.kill(os.getpid(), number)
    return True


def start_time(pid: int) -> Optional[int]:
    """The start time of a live process (clock ticks since boot); None if there is no such
    process or it is a zombie (it has ended: only its exit status is left)."""
    fields = _stat(pid)
    if fields is None or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def is_alive(pid: int, started: int) -> bool:
    """Whether the process that had this pid and start time is still running."""
    return pid > 0 and start_time(pid) == started


def identity(pid: Optional[int] = None) -> "tuple[int, int]":
    """(pid, start time) of a process (default: this one)."""
    pid = os.getpid() if pid is None else pid
    started = start_time(pid)
    if started is None:
        raise ProcessLookupError(pid)
    return pid, started


def pid_namespace() -> str:
    """This process's pid namespace (the inode number): a pid means a process only in it."""
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "0"


def _stat(pid) -> "Optional[list]":
    """The fields of /proc/PID/stat after the command's name (the state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def session_members(sid: int, since: int = 0) -> "dict[int, bool]":
    """{pid: whether it is a zombie} of the processes of session ``sid`` that started at or
    after ``since`` (clock ticks since boot: the session leader's start time)."""
    members = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(entry)
        if fields is not None and int(fields[3]) == sid and int(fields[19]) >= since:
            members[int(entry)] = fields[0] in (b"Z", b"X")
    return members


def end_session(sid: int, since: int = 0, seconds: float = 10.0) -> set:
    """SIGKILL every live process of session ``sid`` (started at or after ``since``) until
    none is left: what an implementation started and did not end, whatever process group it
    moved to (a process forking in a loop has children made between two rounds; each round
    kills them too). Zombies among them that are this process's children are reaped; the
    others are their parents' (or init's) to reap. The session's id stays the session's
    while any member is left, zombie or not (no new process can take that pid). Returns how
    the pids of the processes it killed; gives up after ``seconds``."""
    killed: set = set()
    pause = 0.001
    deadline = time.monotonic() + seconds
    while True:
        members = session_members(sid, since)
        for pid, zombie in members.items():
            if not zombie and pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if not any(not zombie for zombie in members.values()) or time.monotonic() > deadline:
            return killed
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
