"""Namespacing and cleanup: a case uses only keys and names of its own, and leaves nothing.

- SysV keys: a key name gets a random real key that shmget(key, 0, 0) shows nobody holds.
- POSIX shm names: "/sharespec-<runid>-<name>"; files: /dev/shm/sharespec-<runid>/<name>
  (a tmpfs, as R07 is about tmpfs), a directory made for the case (only when it has files)
  and removed after it. <runid> is the executor's pid and a random number, so concurrent
  executors (-j N, parallel runs) never pick the same names, and nothing but the case's own
  names carries it.
- After the case: every case process is killed (SIGKILL to the case's process group, which
  stays ours because its leader is never reaped before the end), the segments the case
  provably made are removed (segments.py: never by creator pid alone), the case's shm
  names and directory are removed, and every case process is reaped. Nothing else is ever
  touched. What cannot be removed is reported (the functions return the problems), never
  passed over in silence, and never stops the clean-up of the rest.
"""
import errno
import os
import select
import signal
import time

from . import features, processes, syscalls
# remove_segments is called through this module (hygiene.remove_segments), where the mutants
# that add case processes widen it (sharespec/mutants/patching.widen_in_executor)
from .segments import Table, read_table, remove_segments, rmid, rows  # noqa: F401

SHM_DIR = "/dev/shm"
KEY_DRAWS = 1000        # keys drawn before giving up (each taken one is drawn again)


class Namespace:
    """The real keys and names of one case."""

    def __init__(self, plan):
        self.plan = plan
        self.runid = None
        self.directory = None
        self.keys = {}

    def create(self, note=None):
        """Draw the keys, pick the names and make the case's directory; OSError (its text
        says what failed) if any of it cannot be done. `note(runid)` is called before
        anything is made under a run id (the ledger keeps it: hygiene.sweep_ledger)."""
        for name in self.plan.keys:
            self.keys[name] = self._free_key()
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
            if note is not None:
                note(runid)
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:
                continue
            except OSError as error:
                raise OSError(error.errno, "cannot make the case's directory %s: %s"
                              % (directory, describe(error.errno)))
            if self.plan.credentials:
                os.chmod(directory, 0o777)      # C07: "other" opens and creates files here too
            self.runid, self.directory = runid, directory
            break
        else:
            raise OSError(errno.EEXIST, "no free run id under " + SHM_DIR)
        if note is not None and self.plan.shm_names and not self.plan.file_names:
            note(self.runid)

    def _free_key(self):
        """A random key nobody holds; OSError after KEY_DRAWS draws, or at once if the
        check itself fails (syscalls.key_taken), instead of drawing forever."""
        for _ in range(KEY_DRAWS):
            key = random.randrange(0x10000000, 0x7fffffff)
            if key not in self.keys.values() and not syscalls.key_taken(key):
                return key
        raise OSError(errno.EEXIST, "no free SysV key in %d draws" % KEY_DRAWS)

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
        """Unlink the case's shm objects and its directory of files; returns the problems
        (what is left, and why), as sentences."""
        if self.runid is None:
            return []
        problems = [unlink(os.path.join(SHM_DIR, "sharespec-%s-%s" % (self.runid, name)))
                    for name in self.plan.shm_names]
        if self.directory is not None:
            problems.append(remove_tree(self.directory))
        return [problem for problem in problems if problem]


def sigbus_note(plan, results):
    """When a process of a case with files or shm objects died of SIGBUS: how much room the
    tmpfs under them had left, read before the clean-up frees it (a full tmpfs cannot give
    a page to a mapping, and the access dies of SIGBUS: the environment, not a rule)."""
    if "SIGBUS" not in results or not (plan.file_names or plan.shm_names):
        return ""
    try:
        room = os.statvfs(SHM_DIR)
    except OSError as error:
        return "environment: SIGBUS at step %d; statvfs(%s) failed: %s" % (
            results.index("SIGBUS") + 1, SHM_DIR, describe(error.errno))
    return "environment: SIGBUS at step %d while %s had %d of %d bytes free" % (
        results.index("SIGBUS") + 1, SHM_DIR, room.f_bavail * room.f_frsize,
        room.f_blocks * room.f_frsize)


def describe(number):
    """An errno as its name and text: "EROFS (Read-only file system)"."""
    return "%s (%s)" % (errno.errorcode.get(number, "E%d" % number), os.strerror(number))


def unlink(path):
    """Unlink a name of the case; a problem (sentence) if it is still there. (On a read-only
    file system, unlink fails with EROFS even when there is nothing to unlink: only a name
    that is there is a problem.)"""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        if os.path.lexists(path):
            return "%s left: unlink failed: %s" % (path, describe(error.errno))
    return None


def remove_tree(directory):
    """Remove the case's directory of files; a problem (sentence) if anything of it is left."""
    import shutil             # only here: it is big, and every fork copies what is loaded
    failures = []
    shutil.rmtree(directory, onerror=lambda function, path, info: failures.append(
        (path, info[1])))
    if not os.path.lexists(directory):
        return None
    path, error = failures[0] if failures else (directory, OSError(0, "still there"))
    why = describe(error.errno) if getattr(error, "errno", None) else str(error)
    return "%s left: removing %s failed: %s" % (directory, path, why)


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


REAP_SECONDS = 10.0      # how long reap_case waits for the last of a group to come back


def reap_case(pgid):
    """Reap every process of the case's group. Case processes never reap each other, so each
    is a zombie until its parent dies and it comes back to this subreaper; the group is empty
    (killpg finds nobody, zombies included) once all of them are reaped here. SIGKILL goes to
    the group once, first, while its leader is not reaped yet (a group's id is nobody else's
    while it has a member, zombies included), so no process joins it after; whether anyone
    is left is then asked with signal 0, which harms nobody, since once the last member is
    reaped the id may be someone else's. Without a subreaper (features.py) the orphans of the
    case went to init, which reaps them: this process reaps its own children of the group,
    and is done when none is left."""
    if pgid is None:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    pause, deadline = 0.00005, time.monotonic() + REAP_SECONDS
    while True:
        try:
            while os.waitpid(-pgid, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            if not features.has("subreaper"):
                return
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            return              # someone else's group now: nobody of the case is left in it
        if time.monotonic() > deadline:
            return              # (a member stuck in the kernel stays a zombie of this one)
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


def ending(pid, watch, deadline):
    """How a dead (or dying) case process ended: ("signal", number) or ("exit", code); None if
    it is still alive at the deadline. Its parent is a case process that never waits, so
    the wait status is read where the kernel shows it to anyone allowed to ptrace-read it:
    exit_code, field 52 of /proc/PID/stat, set before the process becomes a zombie. ("exit",
    -1) when it cannot be read. ("reaped", None) without a subreaper (features.py) when
    init may have reaped the process, so that its pid may be another's: unless the watch
    (processes.Watch) shows it unreaped after the read, which shows that what was read was
    the process's own."""
    if not processes.ended([watch], deadline - time.monotonic()):
        return None
    fields = processes.stat_fields(pid)
    if not features.has("subreaper") and (fields is None or not watch.is_unreaped()):
        return ("reaped", None)       # by init: what was read, if anything, may be another's
    if fields is None:
        return ("exit", -1)
    status = int(fields[49])
    if status & 0x7f:
        return ("signal", status & 0x7f)
    return ("exit", (status >> 8) & 0xff)


def sweep_ledger(path, executor_pid):
    """After an executor died without cleaning up (killed with SIGKILL, say): kill what is left
    of the case it was running, remove what that case provably made, and remove the ledger.
    Returns what was done, as (kind, name) pairs: ("process", pid), ("segment", id) and
    ("name", entry) for what was removed, ("problem", sentence) for what was left.

    The ledger names the case's pids, the keys drawn for it, its run ids and the segment
    ids its processes reported. Here, unlike in the executor's own clean-up, a pid proves
    nothing: the case's processes died with their executor, and whoever reaped them may have
    given their pids to others since. So a process is killed only if it is still in the
    case's process group (checked after opening a pidfd), and a segment is removed only if
    the ledger names it (its id, or one of the case's keys) and it still shows a creator among
    the case's pids, the case's key or IPC_PRIVATE, and a creation time (shm_ctime, which only
    grows) not before the case began. A segment with a creator among the case's pids that the
    ledger does not name (a process was killed between its shmget and the executor reading
    the answer) cannot be proved the case's: it is left, and reported. /dev/shm entries are
    removed only under the case's own run ids (its executor's pid and a random number)."""
    done = []
    try:
        with open(path) as ledger:
            lines = ledger.read().split("\n")
    except FileNotFoundError:
        lines = []
    began, pgid, pids, keys, runids, idents = None, None, set(), {0}, set(), set()
    for line in lines:
        fields = line.split()
        numbers = all(f.isdigit() for f in fields[1:])
        if len(fields) == 3 and fields[0] == "case" and numbers:
            began, pgid = int(fields[1]), int(fields[2])
            pids = {pgid}
        elif len(fields) == 2 and fields[0] == "pid" and numbers:
            pids.add(int(fields[1]))
        elif fields[:1] == ["keys"] and numbers:
            keys.update(int(f) for f in fields[1:])
        elif len(fields) == 2 and fields[0] == "segment" and numbers:
            idents.add(int(fields[1]))
        elif len(fields) == 2 and fields[0] == "names" and \
                fields[1].startswith("%d." % executor_pid) and "/" not in fields[1]:
            runids.add(fields[1])
    dying = []
    for pid in sorted(pids):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            continue                  # gone already
        if process_group(pid) == pgid:      # checked after opening: the pidfd is that process
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            done.append(("process", str(pid)))
            dying.append(pidfd)
        else:
            os.close(pidfd)
    for pidfd in dying:               # dead before the sweep: nothing is made after it
        select.select([pidfd], [], [], 5)
        os.close(pidfd)
    if pids and began is not None:
        raw = read_table()
        if raw is None:
            done.append(("problem", "/proc/sysvipc/shm cannot be read: the segments of the "
                         "killed case may be left"))
        for ident, (key, cpid, ctime) in sorted(rows(raw or b"").items()):
            # (began - 1: shm_ctime comes from the kernel's coarse clock, a tick behind)
            if cpid not in pids or key not in keys or ctime < began - 1:
                continue
            if ident in idents or key != 0:
                problem = rmid(ident, Table())
                done.append(("problem", problem) if problem else ("segment", str(ident)))
            else:
                done.append(("problem", "segment %d left: made by pid %d of a case whose "
                             "executor was killed, but not named in its ledger, so not "
                             "provably the case's" % (ident, cpid)))
    for entry in sorted(os.listdir(SHM_DIR)) if runids else []:
        if not any(entry == "sharespec-" + runid or entry.startswith("sharespec-%s-" % runid)
                   for runid in runids):
            continue
        where = os.path.join(SHM_DIR, entry)
        if os.path.isdir(where) and not os.path.islink(where):
            problem = remove_tree(where)
        else:
            problem = unlink(where)
        done.append(("problem", problem) if problem else ("name", entry))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return done


def process_group(pid):
    """The process group of a pid, from /proc (None if it is gone)."""
    return processes.stat_number(pid, 2)
