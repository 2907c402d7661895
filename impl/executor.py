"""Run one case for real: its processes, its threads, its steps in order, and its cleanup.

The executor (this process, a child subreaper) forks the case's first process. Every model
thread is a real thread blocked on its own command pipe; every case process writes to its own
result pipe. All pipes are made before the first fork, because the case says statically how
many threads and processes there are and who forks whom; at each fork the child closes the
descriptors that belong to other processes and the parent closes the child's, so a process's
death shows as end-of-file on its result pipe. Forks are double forks (see worker.fork), so
every case process is a child of the executor, which reads the real wait status (without
reaping, so no pid of the case is reused before cleanup) to tell SIGSEGV from SIGBUS.
"""
import json
import os
import select
import signal
import time

from . import addresses, hygiene, pagemap, protocol, syscalls, worker

HANG_VARIABLE = "SHARESPEC_IMPL_TEST_HANG"     # tests only: the index of a step that hangs


class Timeout(Exception):
    pass


class CaseFailure(Exception):
    """The implementation could not run the case (environment or internal error)."""


class KilledFromOutside(CaseFailure):
    """A case process died of a signal no step causes (SIGKILL from an operator, the OOM
    killer...): the results may already show it (a lower nattch), so none is reported."""


FAULTS = (signal.SIGSEGV, signal.SIGBUS)     # the only signals a step can die of


def run_case(case, timeout=10.0):
    """Run one case (a dict in the JSON form of docs/case-format.md); return the observation."""
    name = case.get("name", "") if isinstance(case, dict) else ""
    name = name if isinstance(name, str) else ""
    plan = protocol.plan_or_error(case)
    if not isinstance(plan, protocol.Plan):
        return protocol.observation(name, "error", [], plan)
    return CaseRun(plan, timeout).run()


class Executor:
    """The command line's executor: runs cases one after another, and between two cases keeps
    a first process started (prepare), so that forking it overlaps the judging of the last
    case. A case's processes are killed as soon as it ends, the rest of its clean-up
    (settle) waits until its observation is out and the next first process is forked, so
    that they die meanwhile; settle() comes before the next case or when there is none to
    run. With a ledger (a file the runner named), every case process's pid is written there
    before it can create anything, so that a runner whose executor was killed can find what
    the case left (hygiene: sweep_ledger); the ledger is emptied after each clean case."""

    def __init__(self, timeout, ledger=None):
        self.timeout = timeout
        self.spare = None
        self.unsettled = None       # the last case, killed but not yet cleaned up
        self.ledger = None
        if ledger:
            self.ledger = os.open(ledger, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                                  0o600)

    def run(self, case):
        name = case.get("name", "") if isinstance(case, dict) else ""
        name = name if isinstance(name, str) else ""
        plan = protocol.plan_or_error(case)
        if not isinstance(plan, protocol.Plan):
            return protocol.observation(name, "error", [], plan)
        self.settle()
        spare, self.spare = self.spare, None
        run = CaseRun(plan, self.timeout, spare, self.ledger)
        self.unsettled = run
        observation = run.run(settle=False)
        return observation

    def settle(self):
        """Finish the clean-up of the last case (its processes were killed when it ended, and
        have been dying while its observation went out)."""
        if self.unsettled is not None:
            run, self.unsettled = self.unsettled, None
            run.settle()

    def prepare(self):
        """Start the next case's first process now, while the runner judges the last one."""
        if self.spare is not None:
            return
        blocked = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            set_up_executor()
            self.spare = FirstProcess(SPARE_THREADS, SPARE_PROCESSES)
        except (OSError, CaseFailure):
            self.spare = None         # the next case starts its own, and says why if it fails
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def close(self):
        blocked = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            if self.spare is not None:
                self.spare.discard()
                self.spare = None
            self.settle()
            if self.ledger is not None:
                os.close(self.ledger)
                self.ledger = None
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


class Reader:
    """The executor's end of one process's result pipe: JSON lines, or None at end-of-file."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""
        self.eof = False

    def next(self, deadline):
        while b"\n" not in self.pending:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout()
            poller = select.poll()
            poller.register(self.fd, select.POLLIN)
            if not poller.poll(remaining * 1000):
                raise Timeout()
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)


ONCE = {"ready": False, "reserved": 0}    # set-up done once per executor process
SPARE_THREADS = 6          # the pipes a pre-started first process carries: enough for most
SPARE_PROCESSES = 6        # cases; a bigger case gets a first process made to measure
ARENA_RESERVED_SLOTS = 4096


def set_up_executor():
    """Once per executor: become the subreaper of every case process, and hold the slot arena
    (PROT_NONE, MADV_DONTFORK) so that nothing of this process ever lands in it and no first
    process inherits it: the arena is free in every case without reading /proc/self/maps."""
    if ONCE["ready"]:
        return
    syscalls.set_child_subreaper()
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
    """A case's first process, started before the case is known (so that forking it overlaps
    the judging of the previous case): leader of its own process group, one idle thread and
    model thread T0 waiting on command pipe 0, and the case ends of `threads` command pipes
    and `processes` result pipes, of which the case uses the first ones it needs."""

    def __init__(self, threads, processes):
        self.threads, self.processes = threads, processes
        self.command_pipes = [pipe(reader_is_case=True) for _ in range(threads)]
        self.result_pipes = [pipe(reader_is_case=False) for _ in range(processes)]
        case_ends = [r for r, _ in self.command_pipes] + [w for _, w in self.result_pipes]
        mine = [w for _, w in self.command_pipes] + [r for r, _ in self.result_pipes]
        if max(case_ends + mine) >= addresses.FD_BASE:
            self.pid = None
            self.close(case_ends + mine)
            raise CaseFailure("too many descriptors open to run the case")
        blocked = {signal.SIGINT, signal.SIGTERM}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
            if pid == 0:
                self.become(mask, mine)      # never returns
        except OSError:
            self.pid = None
            self.close(case_ends + mine)
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.pid = pid
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass                      # the child did it first
        self.close(case_ends)
        self.pidfd = os.pidfd_open(pid)

    def become(self, mask, executor_ends):
        """In the fork: the first process. It dies with the executor (PR_SET_PDEATHSIG, and
        end-of-file on its command pipes), so a killed executor leaves no case running."""
        try:
            parent = os.getppid()
            os.setpgid(0, 0)
            syscalls.set_death_signal(signal.SIGKILL)
            if os.getppid() != parent:
                os._exit(70)
            worker.setup_process()
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            for fd in executor_ends:
                os.close(fd)
            worker.start_process(self.result_pipes[0][1], self.command_pipes[0][0],
                                 {"hello": os.getpid()})
            worker.run_process(self.command_pipes[0][0])
        except BaseException:
            pass
        os._exit(70)

    def fits(self, plan):
        return len(plan.process_of) <= self.threads and len(plan.parent) <= self.processes

    def discard(self):
        """Kill and reap it, close its pipes (a spare that no case used)."""
        if self.pid is None:
            return
        hygiene.kill_case(self.pid, [self.pidfd])
        hygiene.reap_case(self.pid)
        self.close([self.pidfd] + [w for _, w in self.command_pipes]
                   + [r for r, _ in self.result_pipes])
        self.pid = None

    @staticmethod
    def close(fds):
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass


def pipe(reader_is_case):
    """A pipe whose case end is inherited across exec and whose executor end is not."""
    read_end, write_end = os.pipe2(0)
    os.set_inheritable(write_end if reader_is_case else read_end, False)
    return read_end, write_end


class CaseRun:
    def __init__(self, plan, timeout, spare=None, ledger=None):
        self.plan = plan
        self.ledger = ledger
        self.timeout = timeout
        self.spare = spare
        self.deadline = None
        self.names = hygiene.Namespace(plan)
        self.places = addresses.Places(plan)
        self.results = []
        self.command_pipes = {}     # thread -> (read end, write end)
        self.result_pipes = {}      # process -> (read end, write end)
        self.own_fds = set()        # the pipe ends this executor holds for the case
        self.readers = {}           # process -> Reader
        self.pid = {}               # process -> pid
        self.pidfd = {}             # process -> pidfd
        self.state = {}             # process -> "alive", "dead" (killed) or "gone" (exited)
        self.live_threads = {}      # process -> number of model threads
        self.segment_ids = {}       # segment handle -> id (-1 if shmget failed)
        self.holding = {}           # process -> the pipe ends it holds now
        self.pgid = None
        self.shmget_cut_short = False   # a shmget was sent and its answer never came
        hang = os.environ.get(HANG_VARIABLE, "")
        self.hang_step = int(hang) if hang.isdigit() else None

    # --- the whole case ------------------------------------------------------------------

    def run(self, settle=True):
        """The observation. With settle=False the case's processes are killed but the rest of
        the clean-up is left for settle(), which the caller must call."""
        self.deadline = time.monotonic() + self.timeout
        status, detail = "done", ""
        try:
            self.start()
            for step in self.plan.steps:
                self.results.append(self.perform(step))
            self.check_alive()
        except Timeout:
            status = "timeout"
        except KilledFromOutside as error:
            status, detail = "error", str(error)
            self.results = []
        except (CaseFailure, OSError) as error:
            status, detail = "error", str(error)
        except Exception as error:        # a bug of the implementation: say so, do not crash
            status, detail = "error", "internal error: %s: %s" % (type(error).__name__, error)
        finally:
            self.release()
            if settle:
                self.settle()
        return protocol.observation(self.plan.name, status, self.results,
                                    detail or pagemap.run_detail(self))

    def start(self):
        set_up_executor()
        try:
            self.names.create()
        except OSError as error:
            raise CaseFailure("cannot create the case's directory: %s" % error)
        slots = max(1, len(self.plan.slots))
        if slots > ONCE["reserved"] and self.places.overlaps_arena(mapped_ranges()):
            raise CaseFailure("the slot arena at %#x is not free" % addresses.ARENA_BASE)
        spare = self.spare
        if spare is not None and not spare.fits(self.plan):
            spare.discard()
            self.spare = spare = None
        if spare is not None:
            self.spare = None
            if not self.adopt(spare):
                self.abandon(spare)   # the pre-started one died waiting: start another
                spare = None
        if spare is None:
            made = FirstProcess(len(self.plan.process_of), len(self.plan.parent))
            if not self.adopt(made):
                raise CaseFailure("the first case process died at start")

    def abandon(self, first):
        first.discard()
        for table in (self.command_pipes, self.result_pipes, self.readers, self.pid, self.pidfd,
                      self.holding, self.state, self.live_threads):
            table.clear()
        self.own_fds = set()
        self.pgid = None

    def adopt(self, first):
        """Make a first process this case's: its pipes become the case's threads' and
        processes' pipes in order, the rest are closed on both sides. False if it died."""
        self.pgid = self.pid[0] = first.pid
        self.pidfd[0] = first.pidfd
        self.note("case %d %d" % (int(time.time()), first.pid))
        threads, processes = list(self.plan.process_of), list(self.plan.parent)
        for thread, pair in zip(threads, first.command_pipes):
            self.command_pipes[thread] = pair
        for process, pair in zip(processes, first.result_pipes):
            self.result_pipes[process] = pair
            self.readers[process] = Reader(pair[0])
        unused_commands = first.command_pipes[len(threads):]
        unused_results = first.result_pipes[len(processes):]
        self.own_fds.update(w for _, w in first.command_pipes[:len(threads)])
        self.own_fds.update(r for r, _ in first.result_pipes[:len(processes)])
        FirstProcess.close([w for _, w in unused_commands] + [r for r, _ in unused_results])
        self.holding[0] = set(self.held_by(0))
        self.state[0] = "alive"
        self.live_threads[0] = 1
        hello = self.readers[0].next(self.deadline)
        if hello is None or "hello" not in hello:
            return False
        begin = {"op": "begin", "nofile": addresses.FD_BASE + len(self.plan.fd_numbers) + 1,
                 "close": [r for r, _ in unused_commands] + [w for _, w in unused_results]}
        try:
            os.write(self.command_pipes["T0"][1], (json.dumps(begin) + "\n").encode())
        except BrokenPipeError:
            return False              # it died (was killed) since its hello
        return True

    def note(self, line):
        """A line in the ledger: written before the process it names can make a step."""
        if self.ledger is not None:
            os.write(self.ledger, (line + "\n").encode())

    def held_by(self, process):
        """The pipe ends a case process holds: its own and those of every process it will fork."""
        fds = []
        for member in self.plan.subtree(process):
            for thread in self.plan.threads_of[member]:
                fds.append(self.command_pipes[thread][0])
            fds.append(self.result_pipes[member][1])
        return fds

    def clean_up(self):
        """Whatever happened: kill, remove segments and names, reap, close."""
        self.release()
        self.settle()

    def release(self):
        """The first half of the clean-up, quick: SIGKILL to the case's process group and
        close its pipes. The processes die meanwhile (on another core, if there is one)."""
        blocked = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            if self.spare is not None:
                self.spare.discard()
                self.spare = None
            if self.pgid is not None:
                try:
                    os.killpg(self.pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            FirstProcess.close(self.own_fds)
            self.own_fds = set()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def settle(self):
        """The second half: once every case process is dead, remove the segments they made
        (their pids are not reaped yet, so not reused), the case's names, reap them all, and
        empty the ledger. SIGINT and SIGTERM wait until this is done."""
        blocked = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pids = set(self.pid.values())
            hygiene.kill_case(self.pgid, list(self.pidfd.values()))
            if not any(step.op == "shmget" for step in self.plan.steps):
                known = []
            elif self.shmget_cut_short:
                known = None
            else:
                known = [i for i in set(self.segment_ids.values()) if i >= 0]
            hygiene.remove_segments(pids, known)
            self.names.remove()
            hygiene.reap_case(self.pgid)
            FirstProcess.close(self.pidfd.values())
            self.pidfd = {}
            self.pgid = None
            if self.ledger is not None:
                os.ftruncate(self.ledger, 0)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    # --- one step ------------------------------------------------------------------------

    def perform(self, step):
        process = self.plan.process_of[step.thread]
        if self.state.get(process) != "alive":
            return "dead"
        if step.op == "frames":
            return pagemap.perform(self, step)       # read by the executor: no thread acts
        command = self.command(step)
        if step.index == self.hang_step:
            command = {"op": "hang"}
        try:
            os.write(self.command_pipes[step.thread][1], (json.dumps(command) + "\n").encode())
        except BrokenPipeError:
            pass                      # the process is gone; its result pipe says how
        if step.op == "exit":
            return self.finish_process(process, self.readers[process].next(self.deadline))
        self.shmget_cut_short = self.shmget_cut_short or step.op == "shmget"
        answer = self.readers[process].next(self.deadline)
        if step.op == "shmget" and answer is not None and "error" not in answer:
            self.shmget_cut_short = False
        if answer is None:
            return self.finish_process(process, None)
        if "error" in answer:
            raise CaseFailure("step %d (%s): %s" % (step.index, step.op, answer["error"]))
        result = answer["r"]
        if step.op == "fork":
            return self.forked(step, result)
        if step.op == "spawn":
            self.live_threads[process] += 1
        elif step.op == "thread_exit":
            self.live_threads[process] -= 1
            if self.live_threads[process] == 0:
                self.finish_process(process, self.readers[process].next(self.deadline))
        elif step.op == "exec":
            self.live_threads[process] = 1
        elif step.op == "shmget":
            return self.segment_result(step, result, answer.get("value"))
        elif step.op == "shmctl" and result == "ok" and step.args["cmd"] == "stat":
            return self.stat_result(answer["value"])
        if step.bind and result == "ok":
            self.bound_mapping(step)
        return result

    def finish_process(self, process, answer):
        """The process ended (end-of-file on its pipe): by _exit ("ok") or by a signal."""
        if answer is not None:
            raise CaseFailure("process %d wrote after it should have ended: %r" % (process, answer))
        status = hygiene.ending(self.pid[process], self.pidfd[process], self.deadline)
        if status is None:
            raise Timeout()
        kind, number = status
        if kind == "signal" and number not in FAULTS:
            raise KilledFromOutside(
                "case process %d was killed by %s, which no step causes: something outside "
                "the case killed it, so no result is reported" % (process, signal_name(number)))
        if kind == "signal":
            self.state[process] = "dead"
            return signal.Signals(number).name
        self.state[process] = "gone"
        if number != 0:
            raise CaseFailure("case process %d exited with status %d" % (process, number))
        return "ok"

    def check_alive(self):
        """Every process the case left alive is alive: none was killed from outside meanwhile
        (which the results before could already show)."""
        living = [p for p, state in self.state.items() if state == "alive"]
        if not living:
            return
        ended, _, _ = select.select([self.pidfd[p] for p in living], [], [], 0)
        for process in living:
            if self.pidfd[process] in ended:
                self.finish_process(process, None)
                raise KilledFromOutside("case process %d ended during the case, which no step "
                                        "did: it was killed from outside the case" % process)

    def forked(self, step, result):
        child = self.plan.process_of[step.bind]
        if result != "ok":
            self.holding[self.plan.process_of[step.thread]] -= set(self.held_by(child))
            self.state[child] = "dead"      # it never came to exist
            return result
        self.holding[self.plan.process_of[step.thread]] -= set(self.held_by(child))
        self.holding[child] = set(self.held_by(child))
        hello = self.readers[child].next(self.deadline)
        if hello is None or "hello" not in hello:
            raise CaseFailure("the process forked at step %d did not start" % step.index)
        self.pid[child] = hello["hello"]
        self.note("pid %d" % hello["hello"])
        self.pidfd[child] = os.pidfd_open(hello["hello"])
        self.state[child] = "alive"
        self.live_threads[child] = 1
        return "ok"

    def segment_result(self, step, result, ident):
        """R21, R22: "new" or "=S" for the earlier handle bound to the same identifier."""
        if result != "ok":
            self.segment_ids[step.bind] = -1
            return result
        same = [h for h, i in self.segment_ids.items() if i == ident]
        self.segment_ids[step.bind] = ident
        return "=" + same[0] if same else "new"

    def stat_result(self, fields):
        dest = 1 if fields["mode"] & syscalls.SHM_DEST else 0
        return "stat(nattch=%d,segsz=%d,dest=%d,key=%s)" % (
            fields["nattch"], fields["segsz"], dest, self.names.key_name(fields["key"]))

    def bound_mapping(self, step):
        """A mapping placed at an explicit place means that place from now on (R26: shmat
        with rnd rounds down to SHMLBA); a failed binding keeps its slot."""
        args = step.args
        explicit = args.get("at") is not None and (
            step.op == "shmat" or (step.op == "mmap" and args["fixed"] != "none"))
        if explicit:
            address = self.places.place(args["at"])
            if step.op == "shmat" and args["rnd"]:
                address -= address % addresses.SHMLBA
            self.places.bind_at(step.bind, address)

    # --- commands: the step with everything resolved -----------------------------------

    def command(self, step):
        op, args = step.op, step.args
        command = {"op": op}
        if "at" in args and op not in ("shmat", "mmap"):
            command["addr"] = self.places.place(args["at"])
        if op in ("munmap", "mprotect", "madvise", "posix_madvise"):
            command["length"] = args["length"]
        if op == "write":
            command["value"] = args["value"]
        elif op == "fork":
            parent, child = self.plan.process_of[step.thread], self.plan.process_of[step.bind]
            theirs = set(self.held_by(child))
            mine = self.holding[parent]
            command.update(child_close=sorted(mine - theirs), parent_close=sorted(theirs),
                           cmd=self.command_pipes[step.bind][0], result=self.result_pipes[child][1])
        elif op == "spawn":
            command["cmd"] = self.command_pipes[step.bind][0]
        elif op == "shmget":
            flags = syscalls.SHM_MODE
            flags |= syscalls.IPC_CREAT if args["creat"] else 0
            flags |= syscalls.IPC_EXCL if args["excl"] else 0
            command.update(key=self.names.key(args["key"]), size=args["size"], flags=flags)
        elif op == "shmat":
            flags = syscalls.SHM_RDONLY if args["rdonly"] else 0
            flags |= syscalls.SHM_RND if args["rnd"] else 0
            flags |= syscalls.SHM_REMAP if args["remap"] else 0
            if args["at"] is not None:
                addr = self.places.place(args["at"])
            elif args["remap"]:
                addr = None               # R27: SHM_REMAP with a NULL address -> EINVAL
            else:
                addr = self.places.handle(step.bind)
            command.update(id=self.segment_ids[args["segment"]], addr=addr, flags=flags)
        elif op == "shmctl":
            command.update(id=self.segment_ids[args["segment"]], cmd=args["cmd"])
        elif op == "mmap":
            command.update(self.mmap_arguments(step))
        elif op == "mprotect":
            command["prot"] = syscalls.PROTECTIONS[args["prot"]]
        elif op == "madvise":
            command["advice"] = syscalls.MADVICES[args["advice"]]
        elif op == "posix_madvise":
            command["advice"] = syscalls.POSIX_MADVICES[args["advice"]]
        elif op == "mremap":
            flags, new_addr = 0, None
            if args["mode"] != "grow":
                flags = syscalls.MREMAP_MAYMOVE | syscalls.MREMAP_FIXED
                new_addr = self.places.handle(step.bind)
            command.update(old_length=args["old_length"], new_length=args["new_length"],
                           flags=flags, new_addr=new_addr)
        elif op == "open":
            flags = os.O_RDONLY if args["rdonly"] else os.O_RDWR
            flags |= os.O_CREAT if args["creat"] else 0
            flags |= os.O_EXCL if args["excl"] else 0
            path = ""
            if args["kind"] == "shm":
                path = self.names.shm_name(args["name"])
            elif args["kind"] == "file":
                path = self.names.file_path(args["name"])
            command.update(kind=args["kind"], path=path, flags=flags,
                           number=addresses.fd_number(self.plan, step.bind))
        elif op in ("close", "ftruncate", "pread", "pwrite", "seal"):
            command["fd"] = addresses.fd_number(self.plan, args["fd"])
            for name in ("length", "offset", "value"):
                if name in args:
                    command[name] = args[name]
        elif op == "shm_unlink":
            command["name"] = self.names.shm_name(args["name"])
        return command

    def mmap_arguments(self, step):
        """MAP_SHARED or MAP_PRIVATE; anonymous or the fd; where the system chooses, the
        handle's slot with MAP_FIXED_NOREPLACE; with fixed, MAP_FIXED(_NOREPLACE) at the place."""
        args = step.args
        flags = syscalls.MAP_SHARED if args["shared"] else syscalls.MAP_PRIVATE
        fd = -1
        if args["fd"] is None:
            flags |= syscalls.MAP_ANONYMOUS
        else:
            fd = addresses.fd_number(self.plan, args["fd"])
        if args["fixed"] == "replace":
            flags |= syscalls.MAP_FIXED
        else:
            flags |= syscalls.MAP_FIXED_NOREPLACE
        if args["fixed"] != "none" and args["at"] is not None:
            addr = self.places.place(args["at"])
        else:
            addr = self.places.handle(step.bind)
        return {"addr": addr, "length": args["length"], "prot": syscalls.PROTECTIONS[args["prot"]],
                "flags": flags, "fd": fd, "offset": args["offset"]}


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return "signal %d" % number


def mapped_ranges():
    """[start, end) of every mapping of this process, from /proc/self/maps."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            low, high = line.split(" ", 1)[0].split("-")
            ranges.append((int(low, 16), int(high, 16)))
    return ranges
