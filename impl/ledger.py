"""What the executor writes down so that others can clean up after it or tell its work apart.

- The ledger (``--ledger FILE``, given by the runner): while a case runs, its first process's
  pid and start time, every other case process's pid, the keys drawn for it and its run ids
  (hygiene.Namespace), and, written by the case process itself as soon as shmget returns, the
  id of every segment it makes (worker._shmget). It is emptied after each case's clean-up.
  An executor killed in the middle of a case never cleans up; its runner then removes what
  the ledger names, and nothing else (hygiene.sweep_ledger).
- The pid log (SHARESPEC_IMPL_PID_LOG=FILE, for whoever shares a host with other runs: a test
  session, say): every executor appends "PID TIME executor" for itself and "PID TIME" for
  each of its case processes, when it learns of it. A segment whose creator is one of these
  pids (created after the pid was logged) or a /dev/shm name carrying an executor's pid is
  then known to be this run's, not another's (tests/conftest.py checks what a test session
  left this way). Lines are appended, never removed.
"""
import os
import time

PID_LOG_VARIABLE = "SHARESPEC_IMPL_PID_LOG"


class Ledger:
    """The runner's ledger file, or none (note and clear then do nothing)."""

    def __init__(self, path=None):
        self.fd = None
        if path:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)

    def note(self, line):
        """A line, written before the process or name it records can make anything."""
        if self.fd is not None:
            os.write(self.fd, (line + "\n").encode())

    def clear(self):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def log_pid(pid, what=""):
    """Append a pid to the pid log, if one is asked for (see the module's docstring)."""
    path = os.environ.get(PID_LOG_VARIABLE)
    if path:
        with open(path, "a") as log:
            log.write("%d %d %s\n" % (pid, int(time.time()), what))
