"""Watching a process that is not this one's child: by a pidfd, or else by its pid and start time.

The executor watches the case's processes, which it did not fork (but for the first) and does
not wait for before the clean-up: when did one end, and signal it without hitting another
that got its pid. With pidfds (Linux 5.3; probed,
see features.py) a pidfd does both: it becomes readable when the process ends, and
pidfd_send_signal reaches that process or none. Without them, the process is named by its pid
and its start time (field 22 of /proc/PID/stat, which a later process with the same pid
cannot share), and its end is polled: gone from /proc, a zombie, or another start time.

Standard library only.
"""
import os
import select
import signal
import time

from . import features

POLL_FIRST, POLL_MOST = 0.00005, 0.005      # seconds between two looks, growing


class Watch:
    """One process, watched. fileno() is its pidfd (None without pidfds)."""

    def __init__(self, pid):
        """OSError if there is no such process (a zombie is one: it has ended, unreaped)."""
        self.pid = pid
        self.fd = None
        self.start = None
        if features.has("pidfd"):
            self.fd = os.pidfd_open(pid)
        else:
            self.start = start_time(pid)
            if self.start is None:
                raise ProcessLookupError(3, "no process %d" % pid)

    def fileno(self):
        return self.fd

    def has_ended(self):
        """Whether the process has ended (a zombie, reaped, or its pid another's)."""
        if self.fd is not None:
            return bool(select.select([self.fd], [], [], 0)[0])
        return not self.is_alive_without_pidfd()

    def is_alive_without_pidfd(self):
        fields = stat_fields(self.pid)
        if fields is None:
            return False
        return fields[0] not in (b"Z", b"X") and int(fields[19]) == self.start

    def is_unreaped(self):
        """Whether the process is still there, alive or a zombie: its pid is still its own.
        False once the watch is closed (a pidfd watch has no start time to compare: the pid
        alone would prove nothing)."""
        if self.fd is None and self.start is None:
            return False
        if self.fd is not None:
            try:
                signal.pidfd_send_signal(self.fd, 0)
            except ProcessLookupError:
                return False
            return True
        return start_time(self.pid) == self.start

    def send(self, number):
        """Send a signal to this process, if it has not ended (ProcessLookupError if it was
        reaped, with pidfds)."""
        if self.fd is not None:
            signal.pidfd_send_signal(self.fd, number)
        elif self.is_alive_without_pidfd():
            os.kill(self.pid, number)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def start_time(pid):
    """Field 22 of /proc/PID/stat (clock ticks after boot), None if there is no such process."""
    return stat_number(pid, 19)


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name, as bytes: fields[0] is the state
    (field 3 in proc(5)), fields[i] field i + 3. None if there is no such process. (The one
    reader of that file here: the start time, the process group, how a process ended.)"""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def stat_number(pid, index):
    """stat_fields(pid)[index] as a number; None if there is no such process (or no such
    field)."""
    fields = stat_fields(pid)
    try:
        return None if fields is None else int(fields[index])
    except (IndexError, ValueError):
        return None


def ended(watches, timeout=None):
    """The watches whose processes have ended, waiting up to `timeout` seconds (None: for
    ever) until at least one has; [] at the timeout."""
    watches = list(watches)
    if not watches:
        return []
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    if all(w.fd is not None for w in watches):
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return select.select(watches, [], [], remaining)[0]
            except InterruptedError:
                continue
    pause = POLL_FIRST
    while True:
        found = [w for w in watches if w.has_ended()]
        if found or (deadline is not None and time.monotonic() >= deadline):
            return found
        time.sleep(pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, POLL_MOST)


def close(watches):
    for watch in watches:
        watch.close()
