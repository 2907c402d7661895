"""A case's first process, and what the executor sets up once to make them.

The first process is forked by the zygote (zygote.py) before its case is known
(Executor.prepare, so that the fork and its first copy-on-write faults overlap the case before
and the judging of the last one) or made to measure for a big case, and kept from one case
to the next while its cases end well (CaseRun.recycled). It leads its own process group,
dies with the zygote, which dies with the executor, and is the subreaper of the case's other
processes; its model thread T0 is served by its leader thread (worker.run_process).
"""
import fcntl
import os
import signal

from . import addresses, features, hygiene, processes, syscalls, worker
from .zygote import Zygote, ZygoteGone


class CaseFailure(Exception):
    """The implementation could not run the case (environment or internal error)."""


ONCE = {"ready": False, "reserved": 0}    # set-up done once per executor process
# The executor's ledger (Executor, with --ledger), held by every first process at the same
# number, so that a case process writes there the id of each segment it makes as soon as it
# has it: after a killed executor, the ledger names every segment of the case (hygiene.
# sweep_ledger removes only what it names).
LEDGER = {"fd": None}
ZYGOTE = Zygote()          # the executor's zygote, which forks its first processes
SPARE_THREADS = 6          # the pipes a pre-started first process carries: enough for most
SPARE_PROCESSES = 6        # cases; a bigger case gets a first process made to measure
ARENA_RESERVED_SLOTS = 4096
# The case window: the part of the arena a recycled first process unmaps whole. A case whose
# steps reach outside it (a huge length, say) is not recycled.
WINDOW = (addresses.ARENA_BASE, ARENA_RESERVED_SLOTS * addresses.SLOT_BYTES)


def set_up_executor():
    """Once per executor: become the subreaper of every case process, and hold the slot arena
    (PROT_NONE, MADV_DONTFORK) so that nothing of this process ever lands in it and no first
    process inherits it: the arena is free in every case without reading /proc/self/maps."""
    if ONCE["ready"]:
        return
    # SIGCHLD ignored (inherited from whoever started this process: an ignored signal stays
    # ignored across fork and exec) would have the kernel reap every case process as it
    # dies: its pid free for reuse before the clean-up (segments.py relies on it not being),
    # and how it ended lost. The default keeps the dead as zombies until they are reaped.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    features.probe()          # becomes the subreaper, if the host allows it
    syscalls.access_window(*WINDOW)
    size = ARENA_RESERVED_SLOTS * addresses.SLOT_BYTES
    if syscalls.reserve(addresses.ARENA_BASE, size) or already_reserved(size):
        ONCE["reserved"] = ARENA_RESERVED_SLOTS
    ONCE["ready"] = True


def already_reserved(size):
    """Whether this process holds the arena already: another copy of this package loaded in
    the same process (as sharespec.impl and as impl, say) made the very same reservation."""
    start = addresses.ARENA_BASE
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low < start + size and start < high:
                return (low, high, fields[1], fields[4]) == (start, start + size, "---p", "0")
    return False


class FirstProcess:
    """A case's first process, started by the zygote before the case is known (so that forking
    it overlaps the case before and the judging of the last one: its pid is read when it is
    needed, started), or recycled from the last case: leader of its own process group,
    subreaper of the case's other processes, with model thread T0 waiting on
    command pipe 0, and the case ends of `threads` command pipes and `processes` result
    pipes, of which a case uses the first ones it needs. Each pipe is a pair (read end,
    write end); the read end of a command pipe and the write end of a result pipe are the
    case's (numbers in the first process), the others the executor's (numbers here)."""

    def __init__(self, threads, processes):
        self.fresh = True             # its hello is still to be read
        self.pending_close = []       # its copies of executor ends, to close at the next begin
        self.table = None             # the SysV table, read before it makes anything (a
                                      # recycled one, between cases: segments.CaseSegments)
        self.command_pipes = [pipe(reader_is_case=True) for _ in range(threads)]
        self.result_pipes = [pipe(reader_is_case=False) for _ in range(processes)]
        self._pid = self._pidfd = None
        self.ticket = None
        case_ends = self.case_ends()
        mine = self.executor_ends()
        ledger = [] if LEDGER["fd"] is None else [LEDGER["fd"]]
        if max(case_ends + mine + ledger) >= addresses.FD_BASE:
            self.close(case_ends + mine)
            raise CaseFailure("too many descriptors open to run the case")
        request = {"op": "fork", "targets": case_ends + ledger, "ledger": LEDGER["fd"],
                   "command": self.command_pipes[0][0], "result": self.result_pipes[0][1]}
        try:
            self.ticket = ZYGOTE.start(request, case_ends + ledger)
            self.generation = self.ticket[0]
        except ZygoteGone as error:
            self.close(mine)
            raise CaseFailure(str(error))
        finally:
            self.close(case_ends)     # sent (the zygote has its own copies), or useless

    def started(self):
        """Wait for the zygote's word that this first process is forked; False if it is not
        (or no more: discarded), and its pipes are then closed."""
        if self.ticket is not None:
            ticket, self.ticket = self.ticket, None
            try:
                reply = ZYGOTE.result(ticket)
            except ZygoteGone:
                reply = {}
            if "pid" not in reply:
                self.close(self.executor_ends())
                return False
            self._pid = reply["pid"]
            try:
                self._pidfd = processes.Watch(self._pid)
            except OSError:
                self._pid = None     # cannot be: it is the zygote's, unreaped; say it died
                self.close(self.executor_ends())
                return False
        return self._pid is not None

    @property
    def pid(self):
        self.started()
        return self._pid

    @property
    def pidfd(self):
        self.started()
        return self._pidfd

    @property
    def threads(self):
        return len(self.command_pipes)

    @property
    def processes(self):
        return len(self.result_pipes)

    def case_ends(self):
        return [r for r, _ in self.command_pipes] + [w for _, w in self.result_pipes]

    def executor_ends(self):
        return [w for _, w in self.command_pipes] + [r for r, _ in self.result_pipes]

    def of_the_zygote(self):
        """Whether the zygote that forked it is the one running (if not, it died with it)."""
        return ZYGOTE.is_current(self.generation)

    def fits(self, plan):
        return len(plan.process_of) <= self.threads and len(plan.parent) <= self.processes

    def alive(self):
        return self.started() and not self._pidfd.has_ended()

    def discard(self):
        """Kill and reap it, close its pipes (a spare that no case used)."""
        if not self.started():
            return
        hygiene.kill_case(self._pid, [self._pidfd])
        ZYGOTE.reap(self._pid)
        self._pidfd.close()
        self.close(self.executor_ends())
        self._pid = self._pidfd = None

    @staticmethod
    def close(fds):
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass


def become_first(parent, fds, request):
    """In the zygote's fork: the first process. It dies with the zygote, which dies with the
    executor (PR_SET_PDEATHSIG, and end-of-file on its command pipes), so a killed executor
    leaves no case running. It keeps no descriptor but the standard ones and its case ends,
    at the numbers the executor knows them by (request["targets"]: those of the executor's
    copies, closed there once sent), and is the subreaper of the case's processes (so that,
    recycled, having no child means none is left). Never returns."""
    try:
        targets = request["targets"]
        os.setpgid(0, 0)
        if not features.tie_to_parent(parent):
            os._exit(70)
        worker.setup_process()
        if ONCE["reserved"]:
            # the executor's arena is MADV_DONTFORK, but an emulator may ignore that (qemu-user
            # does): whatever is in the window here is that reservation, inherited
            syscalls.libc.munmap(*WINDOW)
        above = max(targets + fds + [2]) + 1      # out of the way of every target number
        moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, above) for fd in fds]
        worker.close_all_but({0, 1, 2} | set(moved))
        for fd, target in zip(moved, targets):
            os.dup2(fd, target)   # inheritable: the case ends outlive an exec
            os.close(fd)
        worker.STATE["standard"] = {fd for fd in (0, 1, 2) if is_open(fd)} - set(targets)
        if request.get("ledger") is not None:
            worker.STATE["ledger"] = request["ledger"]
            worker.STATE["standard"].add(request["ledger"])     # open in every case
        worker.start_process(request["result"], request["command"], {"hello": os.getpid()})
        worker.run_process(request["command"])
    except BaseException:
        pass
    os._exit(70)


def is_open(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def pipe(reader_is_case):
    """A pipe whose case end is inherited across exec and whose executor end is not."""
    read_end, write_end = os.pipe2(0)
    os.set_inheritable(write_end if reader_is_case else read_end, False)
    return read_end, write_end
