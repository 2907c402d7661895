"""Namespacing and cleanup: a case uses only keys and names of its own, and leaves nothing.

- SysV keys: a key name gets a random real key that shmget(key, 0, 0) shows nobody holds.
- POSIX shm names: "/sharespec-<runid>-<name>"; files: /dev/shm/sharespec-<runid>/<name>
  (a tmpfs, as R07 is about tmpfs), a directory made for the case (only when it has files)
  and removed after it. <runid> is the executor's pid and a random number, so concurrent
  executors (-j N, parallel runs) never pick the same names.
- After the case: every case process is killed (SIGKILL to the case's process group, which
  stays ours because its leader is never reaped before the end), every segment whose creator
  is one of the case's processes is removed (found in /proc/sysvipc/shm, so a process killed
  between shmget and its report is covered too), the case's shm names and directory are
  removed, and every case process is reaped. Nothing else is ever touched.
"""
import errno
import os
import select
import signal
import time

from . import features, processes, syscalls

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
            # the executor's pid keeps concurrent executors apart; the random part, its cases
            runid = "%d.%08x" % (os.getpid(), random.getrandbits(32))
            if not self.plan.file_names and not self.plan.shm_names:
                self.runid = runid      # no names at all: nothing to make or check
                break
            if not self.plan.file_names:
                if any(os.path.lexists(os.path.join(SHM_DIR, "sharespec-%s%s" % (runid, tail)))
                       for tail in [""] + ["-" + name for name in self.plan.shm_names]):
                    continue
                self.runid = runid      # no files: no directory to make
                break
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
        if self.directory is not None:
            import shutil             # only here: it is big, and every fork copies what is loaded
            shutil.rmtree(self.directory, ignore_errors=True)


class KernelRandom:
    """The two calls of the random module used here, from the kernel's random numbers. Not the
    random module itself: once imported, it reseeds itself in every forked child, which costs
    each case process dozens of copy-on-write faults. (Tests replace hygiene.random.randrange
    to choose the keys drawn.)"""

    @staticmethod
    def randrange(low, high):
        return low + int.from_bytes(os.urandom(8), "little") % (high - low)

    @staticmethod
    def getrandbits(bits):
        return int.from_bytes(os.urandom((bits + 7) // 8), "little") >> (-bits % 8)


random = KernelRandom()


def kill_case(pgid, watches):
    """SIGKILL the case's process group and wait until each known process is dead, without
    reaping it (so no pid of the case can be reused before the segment sweep)."""
    if pgid is None:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for watch in watches:
        processes.ended([watch])


def remove_segments(pids, known=None, since=None):
    """IPC_RMID every segment whose creator (cpid) is one of the case's processes. When the
    executor knows every id the case's shmget calls returned (`known`: no shmget was cut
    short), only those are checked (IPC_STAT: still there, still created by the case);
    otherwise the whole table is read (a process may have died between shmget and its report).
    Without a subreaper (features.py) a case process whose parent ended was reaped by init,
    and its pid is free again: the table is then read only for segments created since the
    case began (`since`, a time.time()), as pids are handed out in turn and one freed during
    the case is another's only after the kernel has gone round all of pid_max."""
    if known is None:
        candidates = [ident for ident, cpid, ctime in segments()
                      if cpid in pids and (since is None or ctime >= int(since) - 1)]
    else:
        candidates = [ident for ident in known if syscalls.shm_creator(ident) in pids]
    for ident in candidates:
        syscalls.shmctl_rmid(ident)


def segments():
    """(shmid, cpid, ctime) of every SysV segment, from /proc/sysvipc/shm."""
    found = []
    with open("/proc/sysvipc/shm") as table:
        next(table)
        for line in table:
            fields = line.split()
            found.append((int(fields[1]), int(fields[4]), int(fields[13])))
    return found


def reap_case(pgid):
    """Reap every process of the case's group. Case processes never reap each other, so each
    is a zombie until its parent dies and it comes back to this subreaper; the group is empty
    (killpg finds nobody, zombies included) once all of them are reaped here. Without a
    subreaper (features.py) the orphans of the case went to init, which reaps them: this
    process reaps its own children of the group, and is done when none is left."""
    if pgid is None:
        return
    pause = 0.00005
    while True:
        try:
            while os.waitpid(-pgid, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            if not features.has("subreaper"):
                return
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


def ending(pid, watch, deadline):
    """How a dead (or dying) case process ended: ("signal", number) or ("exit", code); None if
    it is still alive at the deadline. Its parent is a case process that never waits, so
    the wait status is read where the kernel shows it to anyone allowed to ptrace-read it:
    exit_code, field 52 of /proc/PID/stat, set before the process becomes a zombie. ("exit",
    -1) when it cannot be read: without a subreaper (features.py), init may have reaped the
    process, and its pid may be another's; the watch (processes.Watch), showing it unreaped
    after the read, shows that what was read was the process's own."""
    if not processes.ended([watch], deadline - time.monotonic()):
        return None
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return ("exit", -1)
    if not features.has("subreaper") and not watch.is_unreaped():
        return ("exit", -1)           # reaped by init: what was read may be another's
    status = int(fields[49])
    if status & 0x7f:
        return ("signal", status & 0x7f)
    return ("exit", (status >> 8) & 0xff)


def sweep_ledger(path, executor_pid):
    """After an executor died without cleaning up (killed with SIGKILL, say): kill what is left
    of the case it was running, remove the segments that case created and the /dev/shm names
    and folders of that executor, and remove the ledger. Its pids are only trusted where they
    still name the case: a process only if it is still in the case's process group, a
    segment only if it was created by one of them since the case began. Returns what was
    removed, as (kind, name) pairs."""
    removed = []
    try:
        with open(path) as ledger:
            lines = ledger.read().split("\n")
    except FileNotFoundError:
        lines = []
    began, pgid, pids = None, None, set()
    for line in lines:
        fields = line.split()
        if len(fields) == 3 and fields[0] == "case" and all(f.isdigit() for f in fields[1:]):
            began, pgid = int(fields[1]), int(fields[2])
            pids = {pgid}
        elif len(fields) == 2 and fields[0] == "pid" and fields[1].isdigit():
            pids.add(int(fields[1]))
    dying = []
    for pid in sorted(pids):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            continue                  # gone already
        if process_group(pid) == pgid:      # checked after opening: the pidfd is that process
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            removed.append(("process", str(pid)))
            dying.append(pidfd)
        else:
            os.close(pidfd)
    for pidfd in dying:               # dead before the sweep: nothing is made after it
        select.select([pidfd], [], [], 5)
        os.close(pidfd)
    if pids:
        with open("/proc/sysvipc/shm") as table:
            next(table)
            for line in table:
                fields = line.split()
                ident, cpid, ctime = int(fields[1]), int(fields[4]), int(fields[13])
                if cpid in pids and ctime >= began - 1:
                    if syscalls.shmctl_rmid(ident) == "ok":
                        removed.append(("segment", str(ident)))
    prefix = "sharespec-%d." % executor_pid
    for entry in os.listdir(SHM_DIR):
        if entry.startswith(prefix):
            where = os.path.join(SHM_DIR, entry)
            if os.path.isdir(where) and not os.path.islink(where):
                import shutil
                shutil.rmtree(where, ignore_errors=True)
            else:
                try:
                    os.unlink(where)
                except FileNotFoundError:
                    pass
            removed.append(("name", entry))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return removed


def process_group(pid):
    """The process group of a pid, from /proc (None if it is gone)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None
