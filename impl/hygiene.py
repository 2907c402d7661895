"""Namespacing and cleanup: a case uses only keys and names of its own, and leaves nothing.

- SysV keys: a key name gets a random real key that shmget(key, 0, 0) shows nobody holds.
- POSIX shm names: "/sharespec-<runid>-<name>"; files: /dev/shm/sharespec-<runid>/<name>
  (a tmpfs, as R07 is about tmpfs), a directory made for the case and removed after it.
- After the case: every case process is killed (SIGKILL to the case's process group, which
  stays ours because its leader is never reaped before the end), every segment whose creator
  is one of the case's processes is removed (found in /proc/sysvipc/shm, so a process killed
  between shmget and its report is covered too), the case's shm names and directory are
  removed, and every case process is reaped. Nothing else is ever touched.
"""
import errno
import os
import random
import shutil
import signal
import time

from . import syscalls

SHM_DIR = "/dev/shm"


class Namespace:
    """The real keys and names of one case."""

    def __init__(self, plan):
        self.plan = plan
        self.runid = None
        self.directory = None
        self.keys = {}

    def create(self):
        """Pick the names and make the case's directory; OSError if it cannot be made."""
        for _ in range(100):
            runid = "%08x" % random.getrandbits(32)
            taken = any(os.path.lexists(os.path.join(SHM_DIR, "sharespec-%s-%s" % (runid, name)))
                        for name in self.plan.shm_names)
            if taken:
                continue
            directory = os.path.join(SHM_DIR, "sharespec-%s" % runid)
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:
                continue
            self.runid, self.directory = runid, directory
            break
        else:
            raise OSError(errno.EEXIST, "no free run id under " + SHM_DIR)
        for name in self.plan.keys:
            self.keys[name] = self._free_key()

    def _free_key(self):
        while True:
            key = random.randrange(0x10000000, 0x7fffffff)
            if key not in self.keys.values() and not syscalls.key_exists(key):
                return key

    def key(self, name):
        return syscalls.IPC_PRIVATE if name == "private" else self.keys[name]

    def key_name(self, key):
        """The case's name of a real key, as IPC_STAT reports it (R17: 0 after IPC_RMID)."""
        if key == syscalls.IPC_PRIVATE:
            return "private"
        for name, real in self.keys.items():
            if real == key:
                return name
        return "0x%08x" % (key & 0xffffffff)

    def shm_name(self, name):
        return "/sharespec-%s-%s" % (self.runid, name)

    def file_path(self, name):
        return os.path.join(self.directory, name)

    def remove(self):
        """Unlink the case's shm objects and its directory of files."""
        if self.runid is None:
            return
        for name in self.plan.shm_names:
            try:
                os.unlink(os.path.join(SHM_DIR, "sharespec-%s-%s" % (self.runid, name)))
            except FileNotFoundError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)


def kill_case(pgid, pids):
    """SIGKILL the case's process group and wait until each known process is dead, without
    reaping it (so no pid of the case can be reused before the segment sweep)."""
    if pgid is None:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in pids:
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass


def remove_segments(pids):
    """IPC_RMID every segment whose creator (cpid) is one of the case's processes."""
    for ident, cpid in segments():
        if cpid in pids:
            syscalls.shmctl_rmid(ident)


def segments():
    """(shmid, cpid) of every SysV segment, from /proc/sysvipc/shm."""
    found = []
    with open("/proc/sysvipc/shm") as table:
        next(table)
        for line in table:
            fields = line.split()
            found.append((int(fields[1]), int(fields[4])))
    return found


def reap_case(pgid):
    """Reap every process of the case's group; all are children of this subreaper by now."""
    if pgid is None:
        return
    while True:
        try:
            os.waitpid(-pgid, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def wait_status(pid, deadline):
    """The wait status of a dead (or dying) case process, without reaping it: ("signal",
    number) or ("exit", code); None if it is still alive at the deadline."""
    pause = 0.00005
    while True:
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        except ChildProcessError:
            return ("exit", -1)
        if info is not None:
            if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED):
                return ("signal", info.si_status)
            return ("exit", info.si_status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.005)
