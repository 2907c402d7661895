"""A case's first process, forked by the executor with every pipe the case will need.

Before the fork the executor makes one command pipe per model thread of the case and one
result pipe per case process (CasePipes). The first process keeps the case's ends of all of
them (it hands each child its own at the fork: worker.fork), the executor keeps the other
ends. The first process leads its own process group, so that one killpg ends the whole case;
it dies with the executor (PR_SET_PDEATHSIG); and its leader thread serves model thread T0.

Once per executor, before the first fork (set_up_executor): the executor becomes the child
subreaper of every case process, and holds the slot arena so that nothing of its own ever
lands there.
"""
import os
import resource
import signal

from . import addresses, features, ipc_namespace, syscalls, worker

ARENA_RESERVED_SLOTS = 4096
ARENA = (addresses.ARENA_BASE, ARENA_RESERVED_SLOTS * addresses.SLOT_BYTES)
INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
ONCE = {"ready": False, "reserved": 0}      # set up once per executor process


def set_up_executor():
    """Once per executor: become the subreaper of every case process, and hold the slot arena
    (PROT_NONE, MADV_DONTFORK) so that nothing of this process lands in it and no first
    process inherits it: the arena is free in every case without reading /proc/self/maps."""
    if ONCE["ready"]:
        return
    # SIGCHLD ignored (inherited from whoever started this process: an ignored signal stays
    # ignored across fork and exec) would have the kernel reap every case process as it
    # dies: its pid free for reuse before the clean-up (segments.py relies on it not being),
    # and how it ended lost. The default keeps the dead as zombies until they are reaped.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    features.probe()          # becomes the subreaper, if the host allows it
    syscalls.access_window(*ARENA)
    if syscalls.reserve(*ARENA) or already_reserved(*ARENA):
        ONCE["reserved"] = ARENA_RESERVED_SLOTS
    ONCE["ready"] = True


def already_reserved(start, size):
    """Whether this process holds the arena already: another copy of this package loaded in
    the same process (as sharespec.impl and as impl, say) made the very same reservation."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low < start + size and start < high:
                return (low, high, fields[1], fields[4]) == (start, start + size, "---p", "0")
    return False


class CasePipes:
    """The case's pipes, each a (read end, write end) pair: one command pipe per model thread
    (its read end is the case's) and one result pipe per case process (its write end is the
    case's). The executor holds the other ends."""

    def __init__(self):
        self.commands = {}      # thread -> pair
        self.results = {}       # process number -> pair

    @classmethod
    def make(cls, plan):
        pipes = cls()
        try:
            for thread in plan.process_of:
                pipes.commands[thread] = pipe(reader_is_case=True)
            for process in plan.parent:
                pipes.results[process] = pipe(reader_is_case=False)
        except OSError:
            close(pipes.executor_ends() + pipes.case_ends())
            raise
        return pipes

    def case_ends(self):
        return ([r for r, _ in self.commands.values()]
                + [w for _, w in self.results.values()])

    def executor_ends(self):
        return ([w for _, w in self.commands.values()]
                + [r for r, _ in self.results.values()])

    def held_by(self, plan, process):
        """The case ends a case process holds: its own and those of every process it will
        fork (each fork hands the child its subtree's ends)."""
        ends = []
        for member in plan.subtree(process):
            ends += [self.commands[thread][0] for thread in plan.threads_of[member]]
            ends.append(self.results[member][1])
        return ends


def pipe(reader_is_case):
    """A pipe whose case end is inherited across exec and whose executor end is not."""
    read_end, write_end = os.pipe2(0)
    os.set_inheritable(write_end if reader_is_case else read_end, False)
    return read_end, write_end


def close(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def fork_first_process(plan, pipes, ledger_fd):
    """Fork the case's first process; returns its pid (OSError if fork fails). Called with
    SIGINT and SIGTERM blocked (the child must not run the executor's handlers)."""
    executor = os.getpid()
    pid = os.fork()
    if pid == 0:
        become_first(plan, pipes, ledger_fd, executor)        # never returns
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass                    # the child did it first
    return pid


def become_first(plan, pipes, ledger_fd, executor):
    """In the child: keep only the standard descriptors, the case's pipe ends and the ledger,
    allow the case's descriptor numbers, and serve T0. Never returns."""
    try:
        os.setpgid(0, 0)
        if features.has("pdeathsig"):
            syscalls.set_death_signal(signal.SIGKILL)
        if os.getppid() != executor:        # after the prctl: an executor ending later kills us
            os._exit(70)
        worker.setup_process()
        if plan.private_ipc:
            # the case observes the IPC namespace's figures: a namespace of its own, entered
            # before any step (features.py has probed that a child may; should it fail here
            # all the same, the exit status 70 makes the case an error, never a verdict)
            ipc_namespace.enter_fresh()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)
        if ONCE["reserved"]:
            # the executor's arena is MADV_DONTFORK, but an emulator may ignore that (qemu-user
            # does): whatever is in the arena here is that reservation, inherited
            syscalls.libc.munmap(*ARENA)
        keep = {0, 1, 2} | set(pipes.case_ends())
        if ledger_fd is not None:
            keep.add(ledger_fd)
            os.set_inheritable(ledger_fd, True)       # an exec'd process writes there too
            worker.STATE["ledger"] = ledger_fd
        worker.close_all_but(keep)
        if plan.credentials:
            # C07: the case language's first process is root with no supplementary groups
            # (a group of root's would grant group bits to a process that setuid'd away),
            # and a mode is the object's mode as given (no umask)
            os.setgroups([])
            os.umask(0)
        wanted = addresses.FD_BASE + len(plan.fd_numbers) + 1
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
        command_fd = pipes.commands["T0"][0]
        worker.start_process(pipes.results[0][1], command_fd, None)
        worker.serve(command_fd)
    except BaseException:
        pass
    os._exit(70)
