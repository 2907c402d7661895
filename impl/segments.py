"""Which SysV segments are a case's own, and removing them: never another's, never silently.

Never by creator pid alone: a pid is reused, and a segment outlives its creator. (Issue 13:
400 segments left by dead processes whose pids the case's processes then got; a case that
faulted before its shmget removed one of them, another user's.) Nor by creation time:
shm_ctime counts seconds, and IPC_SET moves it.

What proves a segment the case's own (remove_segments):

- Its id is one a case process's shmget returned (CaseSegments.known), and IPC_STAT (or the
  table, when IPC_STAT fails) shows a case process as its creator and the case's key or
  IPC_PRIVATE. (An id the case removed itself is not looked at again.)
- Only when a shmget may have been made without its answer being read (the process was
  killed, or the case timed out, in between: CaseSegments.unanswered), a segment found in
  /proc/sysvipc/shm is the case's if its creator is a case process P, its key is IPC_PRIVATE
  or one of the case's, and it was not in the table as read just before the first shmget
  command went to P (CaseSegments.before). Why this proves it: no process of a case is
  reaped before its clean-up is over (nobody in a case waits for a child; the executor reaps
  a case's processes only afterwards: hygiene.reap_case), so from its fork until now P named
  that process and no other; and a case process makes nothing but what its commands say, so
  P made no segment before that first shmget command. A segment with creator P that is not
  in that table was therefore made after it, while P was the case's process: by the case.
  One that is in it was made by an earlier holder of the pid, someone else: it is left alone.

Without a child subreaper (features.py: qemu-user, say) that premise fails: a case
process whose parent has ended is init's, which reaps it as soon as it dies (and the
clean-up's SIGKILL to the group ends parents and children together), so its pid may be
another's before the clean-up. The proof of a segment found by the search above then also
needs one of: its creator P is still unreaped now, checked after the table is read (P's
processes.Watch: a pidfd, or the pid and its start time), and no other case process had
pid P (CaseSegments.watch): P then named that process from its fork until after the read;
or its key is one of the case's own keys (drawn at random, free when drawn: never
IPC_PRIVATE). A private segment made by a case process that init has reaped is left, and
reported: never removed by its creator pid alone. (Ids the executor read need no more: an
id the case's shmget returned names another segment only once the kernel issues it again,
after its slot's sequence number has gone round, and that segment's creator would also have
to hold one of the case's pids, with the case's key or IPC_PRIVATE.)

A removal that fails is checked in /proc/sysvipc/shm (not with IPC_STAT, which can fail the
same way), retried if the segment is still there, and otherwise reported: the problems are
returned, for the executor to report.
"""
import os

from . import features, syscalls

TABLE = "/proc/sysvipc/shm"
RMID_ATTEMPTS = 3


class CaseSegments:
    """What one case did in the SysV table, as the executor learns it."""

    def __init__(self, keys, private=False):
        self.keys = keys            # the case's key names -> the real keys drawn for them
        # the case runs in an IPC namespace of its own (ipc_namespace.py): its segments die
        # with it, and its ids name other segments in the executor's namespace, so nothing is
        # recorded and nothing removed
        self.private = private
        self.known = {}             # id -> pid of the case process whose shmget returned it
        self.removed = set()        # ids whose IPC_RMID step the case made, successfully
        self.before = {}            # pid -> the table (raw) before its first shmget command
        self.unanswered = 0         # shmgets sent whose answers have not been read (yet)
        self.watches = {}           # pid -> processes.Watch of the case process with that pid
        self.reused = set()         # pids that named two case processes (reaped by init)

    def watch(self, pid, watch):
        """A case process begins (the first one, or a fork's child): its pid and its watch."""
        if pid in self.watches:
            self.reused.add(pid)    # the earlier holder was reaped (no subreaper): ambiguous
        self.watches[pid] = watch

    def sending(self, pid, shmgets):
        """Before a command with `shmgets` shmget steps goes to case process `pid`."""
        if self.private:
            return
        if pid not in self.before:
            self.before[pid] = read_table()
        self.unanswered += shmgets

    def answered(self, pid, ident):
        """A shmget's answer was read: the id it returned (None if it failed)."""
        if self.private:
            return
        self.unanswered -= 1
        if ident is not None:
            self.known.setdefault(ident, pid)

    def own_key(self, key):
        return key == syscalls.IPC_PRIVATE or key in self.keys.values()


def read_table():
    """/proc/sysvipc/shm as bytes, or None if it cannot be read."""
    try:
        fd = os.open(TABLE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while True:                 # until end-of-file: a seq_file's reads are a page or so
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)


def rows(raw):
    """id -> (key, creator pid, ctime) of each segment in a table read by read_table."""
    found = {}
    for line in raw.split(b"\n")[1:]:
        fields = line.split()
        if len(fields) >= 14:
            found[int(fields[1])] = (int(fields[0]), int(fields[4]), int(fields[13]))
    return found


class Table:
    """The table, read once when first needed (None if it cannot be read)."""

    def __init__(self):
        self._rows = False

    def get(self):
        if self._rows is False:
            raw = read_table()
            self._rows = None if raw is None else rows(raw)
        return self._rows

    def again(self):
        self._rows = False
        return self.get()


def remove_segments(pids, made):
    """IPC_RMID every segment the case provably made (see the module's docstring), given
    the pids of its processes (none reaped yet) and what the executor learnt (`made`, a
    CaseSegments). Returns the problems, as sentences: segments that could not be removed,
    or that may be the case's but cannot be proved so."""
    if made.private:
        return []               # in the case's own IPC namespace, gone with its processes
    table = Table()
    problems = []
    ours = []
    for ident in sorted(set(made.known) - made.removed):
        result, fields = syscalls.shmctl_stat(ident)
        if result == "ok":
            key, cpid = fields["key"], fields["cpid"]
        elif table.get() is None:
            problems.append("segment %d: IPC_STAT failed (%s) and %s cannot be read: whether "
                            "it is left is unknown" % (ident, result, TABLE))
            continue
        elif ident in table.get():  # IPC_STAT failed, yet it is there (the table says)
            key, cpid, _ = table.get()[ident]
        else:
            continue            # gone: its last detach removed it
        if cpid in pids and made.own_key(key):
            ours.append(ident)
    if made.unanswered > 0:
        ours += search(pids, made, table, problems, set(ours))
    for ident in ours:
        problem = rmid(ident, table)
        if problem:
            problems.append(problem)
    return problems


def search(pids, made, table, problems, already):
    """The segments a case process may have made without its answer being read."""
    found = []
    earlier_rows = {}       # pid -> rows(made.before[pid]), parsed once, when first needed
    for ident, (key, cpid, _) in sorted((table.get() or {}).items()):
        if ident in already or cpid not in pids or not made.own_key(key):
            continue
        if cpid not in made.before:
            continue            # no shmget ever went to it: someone else made this one
        before = made.before[cpid]
        if before is None:
            problems.append("segment %d (creator %d, a pid of the case) left: the table could "
                            "not be read before that process's first shmget, so it cannot be "
                            "proved the case's" % (ident, cpid))
            continue
        if cpid not in earlier_rows:
            earlier_rows[cpid] = rows(before)
        earlier = earlier_rows[cpid].get(ident)
        if earlier is not None and earlier[1] == cpid:
            continue            # there before: made by an earlier holder of the pid
        if not features.has("subreaper") and not still_the_case(made, key, cpid):
            problems.append("segment %d (creator %d, a pid of the case) left: that process was "
                            "reaped before the clean-up (no child subreaper here: %s), so the "
                            "pid may have been another's when the segment was made: not "
                            "provably the case's" % (ident, cpid, features.missing("subreaper")))
            continue
        found.append(ident)
    if table.get() is None:
        problems.append("%s cannot be read: segments a case process made without reporting "
                        "them may be left" % TABLE)
    return found


def still_the_case(made, key, cpid):
    """Without a subreaper: whether a segment the search found (its creator a case pid, made
    after the table of before) is provably the case's (see the module's docstring). Called
    after the table was read, so an unreaped creator held its pid when the segment was made."""
    if key != syscalls.IPC_PRIVATE and key in made.keys.values():
        return True
    watch = made.watches.get(cpid)
    return watch is not None and cpid not in made.reused and watch.is_unreaped()


def rmid(ident, table):
    """IPC_RMID one segment of the case; a problem (sentence) if it is still there."""
    result = "?"
    for _ in range(RMID_ATTEMPTS):
        result = syscalls.shmctl_rmid(ident)
        if result == "ok":
            return None
        current = table.again()
        if current is not None and ident not in current:
            return None         # gone after all (its last detach came meanwhile)
    return ("segment %d left: shmctl(IPC_RMID) failed %d times (%s)"
            % (ident, RMID_ATTEMPTS, result))
