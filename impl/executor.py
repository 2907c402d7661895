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
import resource
import select
import signal
import time

from . import addresses, hygiene, protocol, syscalls, worker

HANG_VARIABLE = "SHARESPEC_IMPL_TEST_HANG"     # tests only: the index of a step that hangs


class Timeout(Exception):
    pass


class CaseFailure(Exception):
    """The implementation could not run the case (environment or internal error)."""


def run_case(case, timeout=10.0):
    """Run one case (a dict in the JSON form of docs/case-format.md); return the observation."""
    name = case.get("name", "") if isinstance(case, dict) else ""
    name = name if isinstance(name, str) else ""
    try:
        plan = protocol.parse_case(case)
    except protocol.CaseError as error:
        return protocol.observation(name, "error", [], "invalid case: %s" % error)
    return CaseRun(plan, timeout).run()


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


class CaseRun:
    def __init__(self, plan, timeout):
        self.plan = plan
        self.timeout = timeout
        self.deadline = None
        self.names = hygiene.Namespace(plan)
        self.places = addresses.Places(plan)
        self.results = []
        self.command_pipes = {}     # thread -> (read end, write end)
        self.result_pipes = {}      # process -> (read end, write end)
        self.readers = {}           # process -> Reader
        self.pid = {}               # process -> pid
        self.state = {}             # process -> "alive", "dead" (killed) or "gone" (exited)
        self.live_threads = {}      # process -> number of model threads
        self.segment_ids = {}       # segment handle -> id (-1 if shmget failed)
        self.holding = {}           # process -> the pipe ends it holds now
        self.pgid = None
        hang = os.environ.get(HANG_VARIABLE, "")
        self.hang_step = int(hang) if hang.isdigit() else None

    # --- the whole case ------------------------------------------------------------------

    def run(self):
        self.deadline = time.monotonic() + self.timeout
        status, detail = "done", ""
        try:
            self.start()
            for step in self.plan.steps:
                self.results.append(self.perform(step))
        except Timeout:
            status = "timeout"
        except (CaseFailure, OSError) as error:
            status, detail = "error", str(error)
        except Exception as error:        # a bug of the implementation: say so, do not crash
            status, detail = "error", "internal error: %s: %s" % (type(error).__name__, error)
        finally:
            self.clean_up()
        return protocol.observation(self.plan.name, status, self.results, detail)

    def start(self):
        syscalls.set_child_subreaper()
        try:
            self.names.create()
        except OSError as error:
            raise CaseFailure("cannot create the case's directory: %s" % error)
        if self.places.overlaps_arena(mapped_ranges()):
            raise CaseFailure("the slot arena at %#x is not free" % addresses.ARENA_BASE)
        for thread in self.plan.process_of:
            self.command_pipes[thread] = self.pipe(reader_is_case=True)
        for process in self.plan.parent:
            self.result_pipes[process] = self.pipe(reader_is_case=False)
            self.readers[process] = Reader(self.result_pipes[process][0])
        highest = max(fd for pair in list(self.command_pipes.values())
                      + list(self.result_pipes.values()) for fd in pair)
        if highest >= addresses.FD_BASE:
            raise CaseFailure("too many descriptors open to run the case")
        blocked = {signal.SIGINT, signal.SIGTERM}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
            if pid == 0:
                self.first_process(mask)      # never returns
            self.pgid = self.pid[0] = pid
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass                      # the child did it first
        self.holding[0] = set(self.held_by(0))
        for fd in self.holding[0]:
            os.close(fd)
        self.state[0] = "alive"
        self.live_threads[0] = 1
        if self.readers[0].next(self.deadline) is None:
            raise CaseFailure("the first case process died at start")

    def pipe(self, reader_is_case):
        """A pipe whose case end is inherited across exec and whose executor end is not."""
        read_end, write_end = os.pipe2(0)
        os.set_inheritable(write_end if reader_is_case else read_end, False)
        return read_end, write_end

    def held_by(self, process):
        """The pipe ends a case process holds: its own and those of every process it will fork."""
        fds = []
        for member in self.plan.subtree(process):
            for thread in self.plan.threads_of[member]:
                fds.append(self.command_pipes[thread][0])
            fds.append(self.result_pipes[member][1])
        return fds

    def first_process(self, mask):
        """In the fork: become the case's first process, leader of its own process group."""
        try:
            os.setpgid(0, 0)
            worker.setup_process()
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            limit = addresses.FD_BASE + len(self.plan.fd_numbers) + 1
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if soft < limit:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))
            for pair in self.command_pipes.values():
                os.close(pair[1])
            for pair in self.result_pipes.values():
                os.close(pair[0])
            worker.start_process(self.result_pipes[0][1], self.command_pipes["T0"][0],
                                 {"hello": os.getpid()})
        except BaseException:
            pass
        os._exit(70)

    def clean_up(self):
        """Whatever happened: kill, remove segments and names, reap, close. SIGINT and SIGTERM
        wait until this is done."""
        blocked = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pids = set(self.pid.values())
            hygiene.kill_case(self.pgid, pids)
            hygiene.remove_segments(pids)
            self.names.remove()
            hygiene.reap_case(self.pgid)
            for pair in list(self.command_pipes.values()) + list(self.result_pipes.values()):
                for fd in pair:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    # --- one step ------------------------------------------------------------------------

    def perform(self, step):
        process = self.plan.process_of[step.thread]
        if self.state.get(process) != "alive":
            return "dead"
        command = self.command(step)
        if step.index == self.hang_step:
            command = {"op": "hang"}
        try:
            os.write(self.command_pipes[step.thread][1], (json.dumps(command) + "\n").encode())
        except BrokenPipeError:
            pass                      # the process is gone; its result pipe says how
        if step.op == "exit":
            return self.finish_process(process, self.readers[process].next(self.deadline))
        answer = self.readers[process].next(self.deadline)
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
        status = hygiene.wait_status(self.pid[process], self.deadline)
        if status is None:
            raise Timeout()
        kind, number = status
        if kind == "signal":
            self.state[process] = "dead"
            return signal.Signals(number).name
        self.state[process] = "gone"
        if number != 0:
            raise CaseFailure("case process %d exited with status %d" % (process, number))
        return "ok"

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


def mapped_ranges():
    """[start, end) of every mapping of this process, from /proc/self/maps."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            low, high = line.split(" ", 1)[0].split("-")
            ranges.append((int(low, 16), int(high, 16)))
    return ranges
