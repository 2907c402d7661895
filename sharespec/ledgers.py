"""Ledger folders: what the runner keeps so that whoever comes after a killed run can clean up
after the implementations it started, and the sweep that does it.

The bundled implementation keeps a ledger (``--ledger FILE``: the pids of the case it is
running, see sharespec.impl.executor); if it is killed in the middle of a case, the ledger is
how what the case made (processes, segments, /dev/shm names) is found and removed
(sharespec.impl.hygiene.sweep_ledger). If the runner itself is killed, nobody is left to do
it; so every folder names the process that owns it, and a folder whose owner is provably dead
is swept by the next run (sweep_orphaned_runs), never one whose owner still runs::

    TMPDIR/sharespec-ledger-<pid namespace>-<owner pid>-<owner start time>-<random>/
        <starter pid>-<starter start time>-<random>/   one per implementation started
            executor     "<pid> <start time>" of the implementation
            ledger       the implementation's (hygiene.sweep_ledger reads it)

The owner is the process that made the run's folder (the main process of ``sharespec run``);
the starter, the process that started that implementation (the same one, or a worker process
of -j N, whose implementations the main process sweeps if it is killed: sweep_implementations).
A process is named by its pid and its start time (process_tree.start_time), so a reused pid is
never taken for the owner; and by its pid namespace, as a pid means nothing outside it (a
folder of another namespace is never swept). A folder is made only when an implementation
that keeps a ledger is about to start, and removed when the run ends.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import tempfile
from typing import Optional

from sharespec import process_tree

PREFIX = "sharespec-ledger-"


def make_run_folder() -> str:
    """A new folder for a run's ledgers, owned by this process."""
    pid, started = process_tree.identity()
    prefix = f"{PREFIX}{process_tree.pid_namespace()}-{pid}-{started}-"
    return tempfile.mkdtemp(prefix=prefix)


def make_implementation_folder(run_folder: str) -> str:
    """A folder in ``run_folder`` for one implementation that this process starts."""
    pid, started = process_tree.identity()
    return tempfile.mkdtemp(prefix=f"{pid}-{started}-", dir=run_folder)


def record_executor(folder: str, pid: int) -> None:
    """Name the implementation that keeps the ledger in ``folder`` (pid and start time)."""
    started = process_tree.start_time(pid)
    with open(os.path.join(folder, "executor"), "w") as f:
        f.write(f"{pid} {started if started is not None else 0}")


def _owner(name: str, fields: int) -> "Optional[tuple]":
    """The numbers at the start of a folder's name (namespace, pid, start time...)."""
    parts = name.split("-")
    if len(parts) < fields + 1 or not all(p.isdigit() for p in parts[:fields]):
        return None
    return tuple(int(p) for p in parts[:fields])


def sweep_implementations(run_folder: str, everyone: bool = False) -> list:
    """Sweep the implementation folders of ``run_folder`` whose starter is dead (or all of
    them, with ``everyone``: the caller knows their starters are done): the implementation
    is ended if it still runs (sweep_implementation), its ledger swept and its folder removed.
    Returns what was removed, as (kind, name) pairs."""
    removed: list = []
    try:
        entries = os.listdir(run_folder)
    except OSError:
        return removed
    for entry in entries:
        starter = _owner(entry, 2)
        if starter is None:
            continue
        if not everyone and process_tree.is_alive(*starter):
            continue
        removed += sweep_implementation(os.path.join(run_folder, entry))
    return removed


def sweep_implementation(folder: str) -> list:
    """End the implementation of ``folder`` if it still runs (SIGTERM: the bundled one kills
    its case and cleans up; SIGKILL after 10 s), sweep its ledger, remove the folder."""
    from sharespec.impl.hygiene import sweep_ledger
    ledger = os.path.join(folder, "ledger")
    try:
        with open(os.path.join(folder, "executor")) as f:
            pid, started = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pid = started = None     # killed before it was written: no case was sent to it
    removed: list = []
    if pid is not None:
        if _end_executor(pid, started):
            removed.append(("implementation", str(pid)))
        # The /dev/shm names of the executor are named by its pid: if that pid is another
        # process's now, they may be that one's, so they are left alone (-1 names nothing).
        names_of = pid if process_tree.start_time(pid) is None else -1
        _forget_reused_pids(ledger)
        removed += sweep_ledger(ledger, names_of)
    shutil.rmtree(folder, ignore_errors=True)
    return removed


def _forget_reused_pids(ledger: str) -> None:
    """Rewrite a ledger without the pids that now name processes started after it was last
    written (a ledger may be swept long after its case, and pids are reused): each pid is
    written there once its process exists, so a process started later is another's and is
    never signalled. (A case's first process, named by the "case" line, becomes pid 0.)"""
    try:
        with open(ledger) as f:
            lines = f.read().split("\n")
        written = os.stat(ledger).st_mtime
    except OSError:
        return
    kept = []
    for line in lines:
        fields = line.split()
        if fields and fields[-1].isdigit() and fields[0] in ("case", "pid"):
            if _started_after(int(fields[-1]), written):
                if fields[0] == "pid":
                    continue
                line = " ".join(fields[:-1] + ["0"])
        kept.append(line)
    if kept != lines:
        with open(ledger, "w") as f:
            f.write("\n".join(kept))


def _started_after(pid: int, moment: float) -> bool:
    """Whether process ``pid`` (if any) started after ``moment`` (a time.time())."""
    started = process_tree.start_time(pid)
    if started is None:
        return False
    try:
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return False
    return boot + started / os.sysconf("SC_CLK_TCK") > moment + 1.0


def _end_executor(pid: int, started: int) -> bool:
    """End process ``pid`` if it is still the implementation started then (a pidfd is opened
    first, then its start time checked, so that the pid cannot be another's in between).
    Returns whether it was running."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False                # gone (or no pidfd here: then it is not signalled)
    try:
        if not process_tree.is_alive(pid, started):
            return False
        for number, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                signal.pidfd_send_signal(pidfd, number)
            except ProcessLookupError:
                break
            if select.select([pidfd], [], [], wait)[0]:
                break
        try:          # reaped here when this process is its parent or subreaper, else by init
            os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            pass
        return True
    finally:
        os.close(pidfd)


def sweep_orphaned_runs(folder: Optional[str] = None) -> list:
    """Sweep the run folders in the temp folder (or ``folder``) whose owner is provably dead:
    a folder of this user and this pid namespace, whose owner's pid no longer names the
    process that made it. Implementations whose starter still runs are left (a worker of a
    killed run still stopping its own); the run folder is removed once empty. Returns what
    was removed, as (kind, name) pairs (kind "ledger" for a run folder)."""
    folder = folder or tempfile.gettempdir()
    namespace = process_tree.pid_namespace()
    removed: list = []
    try:
        entries = [e for e in os.listdir(folder) if e.startswith(PREFIX)]
    except OSError:
        return removed
    for entry in entries:
        owner = _owner(entry[len(PREFIX):], 3)
        path = os.path.join(folder, entry)
        if owner is None or str(owner[0]) != namespace:
            continue                  # an older layout, or another namespace's: not provable
        try:
            if os.lstat(path).st_uid != os.getuid():
                continue
        except OSError:
            continue
        if process_tree.is_alive(owner[1], owner[2]):
            continue                  # a live run's
        removed += sweep_implementations(path)
        try:
            os.rmdir(path)
            removed.append(("ledger", entry))
        except OSError:
            pass                      # not empty: a starter still runs; swept next time
    return removed


def describe_swept(removed: list) -> str:
    """"2 ledgers, 3 segments, 1 implementation" for a report."""
    counts: dict = {}
    for kind, _ in removed:
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(counts.items()))
