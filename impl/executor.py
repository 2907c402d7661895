"""Run one case for real: its processes, its threads, its steps in order, and its cleanup.

The executor (this process, a child subreaper) has its zygote (zygote.py) fork the case's
first process, which forks the others as the case says (worker.fork: a plain fork; the first
process is the subreaper of the case's processes, the zygote of the first process's). Every
model thread is a real thread blocked on its own command pipe; every case process writes to
its own result pipe.
The pipes are made before the first process is forked, as many as the case needs (at least
SPARE_THREADS and SPARE_PROCESSES); at each fork the child closes the descriptors that belong
to other processes and the parent closes the child's, so a process's death shows as
end-of-file on its result pipe. Nobody reaps a case process before the clean-up, so no pid
of the case is reused before its segments are removed; how a process ended (SIGSEGV or
SIGBUS) is read from /proc (hygiene.ending).

Steps go to the threads in batches of consecutive steps of one thread (perform_steps); the
messages between the executor and the case processes are marshal frames (worker.frame).

Between the cases of the command line (Executor), a first process whose case ended well is
recycled instead of killed (CaseRun.start_recycling, CaseRun.recycled): forking a Python
costs about a millisecond here, most of it in copy-on-write faults of both processes, while
a recycled first process is made as good as new, and checked to be, in a few system calls.
Other first processes are forked ahead by the zygote (Executor.prepare), so the executor
never forks, and never pays the copy-on-write faults of a process it shares its pages with.
"""
import _signal       # signal.pthread_sigmask without the enum conversions: 8 calls a case
import contextlib
import os
import select
import signal
import time

from . import (addresses, features, hygiene, pagemap, processes, protocol, segments, syscalls,
               worker)
from .first_process import (LEDGER, ONCE, SPARE_PROCESSES, SPARE_THREADS, WINDOW, ZYGOTE,
                            CaseFailure, FirstProcess, set_up_executor)

HANG_VARIABLE = "SHARESPEC_IMPL_TEST_HANG"     # tests only: the index of a step that hangs
# Tests only: a file to which the executor adds "case PID" for each case's first process and
# "settled" once the clean-up after a case is over (which of its spares is which cannot be
# told from outside).
FIRSTS_VARIABLE = "SHARESPEC_IMPL_TEST_FIRSTS"


def test_note(line):
    path = os.environ.get(FIRSTS_VARIABLE)
    if path:
        with open(path, "a") as notes:
            notes.write(line + "\n")


# Tests only: a file to which every executor adds "PID TIME" for itself and for each process
# of its cases, when it learns of it: a test session counts as its own only the segments and
# names made by these pids (tests/conftest.py; other runs on a shared host are not its own).
PIDS_VARIABLE = "SHARESPEC_IMPL_TEST_PIDS"
PIDS_PATH = os.environ.get(PIDS_VARIABLE)


def test_pid(pid, what=""):
    if PIDS_PATH:
        with open(PIDS_PATH, "a") as pids:
            pids.write("%d %d %s\n" % (pid, int(time.time()), what))


class Timeout(Exception):
    pass


class KilledFromOutside(CaseFailure):
    """A case process died of a signal no step causes (SIGKILL from an operator, the OOM
    killer...): the results may already show it (a lower nattch), so none is reported."""


class NotRecyclable(Exception):
    """The first process of a case that ended well cannot be proved clean: it is killed."""


FAULTS = (signal.SIGSEGV, signal.SIGBUS)     # the only signals a step can die of
INTERRUPTS = {int(signal.SIGINT), int(signal.SIGTERM)}


def run_case(case, timeout=10.0):
    """Run one case (a dict in the JSON form of docs/case-format.md); return the observation."""
    name = case.get("name", "") if isinstance(case, dict) else ""
    name = name if isinstance(name, str) else ""
    plan = protocol.plan_or_error(case)
    if not isinstance(plan, protocol.Plan):
        return protocol.observation(name, "error", [], plan)
    try:
        return CaseRun(plan, timeout).run()
    finally:
        ZYGOTE.close()              # one case: nothing of it stays, the zygote included


@contextlib.contextmanager
def interrupts_held():
    """SIGINT and SIGTERM wait (blocked, not lost) until the block ends: the interrupt handler
    raises, so it must not run while what a clean-up needs is between two places."""
    old = _signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        _signal.pthread_sigmask(signal.SIG_SETMASK, old)


SPARES = 2      # first processes the executor keeps ready or starting (Executor.prepare)


class Executor:
    """The command line's executor: runs cases one after another, and keeps first processes
    ready for the next ones: the last case's, recycled (CaseRun.recycled), and others the
    zygote forked beforehand (prepare), up to SPARES, so that forking them, and the
    copy-on-write faults of their first steps, overlap the case before and the judging of
    the last one. A case's processes are killed as soon as it ends, the rest of its clean-up
    (settle) waits until its observation is out, so that they die meanwhile; settle() comes
    before the next case or when there is none to run. With a ledger (a file the runner
    named), every case process's pid is written there before it can create anything, so
    that a runner whose executor was killed can find what the case left (hygiene:
    sweep_ledger); the ledger is emptied after each clean case."""

    def __init__(self, timeout, ledger=None):
        self.timeout = timeout
        self.spares = []            # first processes ready or starting; the next case's first
        self.unsettled = None       # the last case, killed (or being recycled), not cleaned up
        self.ledger = None
        test_pid(os.getpid(), "executor")
        if ledger:
            self.ledger = os.open(ledger, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                                  0o600)
            LEDGER["fd"] = self.ledger      # case processes add the segments they make

    def run(self, case):
        name = case.get("name", "") if isinstance(case, dict) else ""
        name = name if isinstance(name, str) else ""
        plan = protocol.plan_or_error(case)
        if not isinstance(plan, protocol.Plan):
            return protocol.observation(name, "error", [], plan)
        self.settle()
        self.prune()
        # SIGINT/SIGTERM wait until the first process is held by the new case: between the
        # two, an interrupt would leave it in neither place, and close() would not end it
        with interrupts_held():
            spare = self.spares.pop(0) if self.spares else None
            run = CaseRun(plan, self.timeout, spare, self.ledger, recycle=True)
            self.unsettled = run
        self.prepare()              # the zygote forks the next ones while this case runs
        return run.run(settle=False)

    def settle(self, recycle=True, idle=False):
        """Finish the clean-up of the last case (its processes were killed when it ended, and
        have been dying while its observation went out), keeping its first process for the
        next case when it could be recycled (idle: no case is waiting, so what the next one
        needs is read now)."""
        if self.unsettled is None:
            return
        # SIGINT/SIGTERM wait until a kept first process is a spare (else close() misses it)
        with interrupts_held():
            run, self.unsettled = self.unsettled, None
            try:
                kept = run.settle(recycle)
            except Exception as error:      # said here, never charged to the next case
                report("clean-up after case %s failed: %s: %s"
                       % (run.plan.name or "(unnamed)", type(error).__name__, error))
                kept = None
            if kept is not None:
                self.spares.insert(0, kept)     # warm: its pages are its own already
                if idle:    # read now, off the next case's way: it makes nothing until then
                    kept.table = segments.read_table()
        if recycle:
            self.prepare()
        test_note("settled")

    def prepare(self):
        """Have the zygote start first processes until SPARES are ready or starting (one
        being recycled counts), while the runner judges the last case."""
        recycling = self.unsettled is not None and self.unsettled.recycling
        with interrupts_held():
            while len(self.spares) + recycling < SPARES:
                try:
                    set_up_executor()
                    self.spares.append(FirstProcess(SPARE_THREADS, SPARE_PROCESSES))
                except (OSError, CaseFailure):
                    return                # the next case starts its own, and says why if it fails

    def prune(self):
        """Discard the spares that died with the zygote that forked them (killed from outside)."""
        ZYGOTE.check()
        with interrupts_held():
            for spare in [s for s in self.spares if not s.of_the_zygote()]:
                self.spares.remove(spare)
                spare.discard()

    def close(self):
        with interrupts_held():
            for spare in self.spares:
                spare.discard()
            self.spares = []
            self.settle(recycle=False)
            ZYGOTE.close()
            if self.ledger is not None:
                LEDGER["fd"] = None
                os.close(self.ledger)
                self.ledger = None


class Reader:
    """The executor's end of one process's result pipe: its messages (worker.frame), or None
    at end-of-file."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""
        self.eof = False
        self.poller = None

    def next(self, deadline):
        while True:
            found, message, self.pending = worker.unframe(self.pending)
            if found:
                return message
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout()
            if self.poller is None:
                self.poller = select.poll()
                self.poller.register(self.fd, select.POLLIN)
            if not self.poller.poll(remaining * 1000):
                raise Timeout()
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
            self.pending += chunk


RECYCLE_SECONDS = 5.0      # how long a recycling first process may take to answer
# A batch ends with a step that ends, replaces or forks the thread's process or the thread.
LAST_IN_BATCH = {"fork", "exit", "exec", "thread_exit"}


class CaseRun:
    def __init__(self, plan, timeout, spare=None, ledger=None, recycle=False):
        self.plan = plan
        self.ledger = ledger
        self.timeout = timeout
        self.spare = spare
        self.deadline = None
        self.names = hygiene.Namespace(plan)
        self.places = addresses.Places(plan)
        self.results = []
        self.first = None           # the FirstProcess adopted
        self.command_pipes = {}     # thread -> (read end, write end)
        self.result_pipes = {}      # process -> (read end, write end)
        self.own_fds = set()        # the pipe ends this executor holds for the case
        self.readers = {}           # process -> Reader
        self.pid = {}               # process -> pid
        self.pidfd = {}             # process -> its processes.Watch (a pidfd, or a stand-in)
        self.state = {}             # process -> "alive", "dead" (killed) or "gone" (exited)
        self.live_threads = {}      # process -> number of model threads
        self.ended = set()          # threads ended by thread_exit
        self.segment_ids = {}       # segment handle -> id (-1 if shmget failed)
        self.segments = segments.CaseSegments(self.names.keys)   # what clean-up may remove
        self.holding = {}           # process -> the pipe ends it holds now
        self.pgid = None
        self.begin = None           # the begin frame, sent with the first command to T0
        hang = os.environ.get(HANG_VARIABLE, "")
        self.hang_step = int(hang) if hang.isdigit() else None
        # Recycling (CaseRun.recycled): allowed by the caller, still possible as the case goes
        # (no step reached outside the case window, T0's process never exec'd), and under way.
        self.recycle = recycle and self.hang_step is None
        self.largest_segment = max([-(-s.args["size"] // addresses.PAGE) * addresses.PAGE
                                    for s in plan.steps if s.op == "shmget"] or [0])
        self.recycling = False

    # --- the whole case ------------------------------------------------------------------

    def run(self, settle=True):
        """The observation. With settle=False the case's processes are killed (or its first
        process set to recycle) but the rest of the clean-up is left for settle(), which the
        caller must call."""
        self.deadline = time.monotonic() + self.timeout
        status, detail, environment = "done", "", ""
        ended_well = False
        try:
            self.start()
            self.perform_steps()
            self.check_alive()
            environment = hygiene.sigbus_note(self.plan, self.results)   # before clean-up
            ended_well = True
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
            if not (ended_well and not settle and self.start_recycling()):
                self.release()
            if settle:
                self.settle()
        return protocol.observation(self.plan.name, status, self.results, detail or "; ".join(
            note for note in (pagemap.run_detail(self), environment) if note))

    def start(self):
        set_up_executor()
        try:
            self.names.create(lambda runid: self.note("names " + runid))
        except OSError as error:
            raise CaseFailure("environment: %s" % (error.strerror or error))
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
                self.abandon(spare)   # the one made beforehand died waiting: start another
                spare = None
        if spare is None:
            made = FirstProcess(max(len(self.plan.process_of), SPARE_THREADS),
                                max(len(self.plan.parent), SPARE_PROCESSES))
            if not self.adopt(made):
                raise CaseFailure("the first case process died at start")

    def abandon(self, first):
        self.own_fds = set()          # first.discard closes them
        self.pidfd = {}
        first.discard()
        for table in (self.command_pipes, self.result_pipes, self.readers, self.pid,
                      self.holding, self.state, self.live_threads):
            table.clear()
        self.first = None
        self.pgid = None

    def adopt(self, first):
        """Make a first process this case's: its pipes become the case's threads' and
        processes' pipes in order (the rest stay its own, unused). False if it died."""
        if not first.started():
            return False
        self.first = first
        self.pgid = self.pid[0] = first.pid
        if first.table is not None:       # the SysV table read while it waited (settle)
            self.segments.before[first.pid], first.table = first.table, None
        test_note("case %d" % first.pid)
        self.pidfd[0] = first.pidfd
        self.segments.watch(first.pid, first.pidfd)
        keys = "".join(" %d" % key for key in self.names.keys.values())
        test_pid(first.pid)
        self.note("case %d %d" % (int(time.time()), first.pid) + ("\nkeys" + keys if keys else ""))
        threads, processes = list(self.plan.process_of), list(self.plan.parent)
        for thread, pair in zip(threads, first.command_pipes):
            self.command_pipes[thread] = pair
        for process, pair in zip(processes, first.result_pipes):
            self.result_pipes[process] = pair
            self.readers[process] = Reader(pair[0])
        self.own_fds = set(first.executor_ends())
        self.holding[0] = set(first.case_ends())
        self.state[0] = "alive"
        self.live_threads[0] = 1
        if first.fresh:
            hello = self.readers[0].next(self.deadline)
            if hello is None or "hello" not in hello:
                return False
            first.fresh = False
        elif not first.alive():
            return False              # killed while it waited for this case
        begin = {"op": "begin", "nofile": addresses.FD_BASE + len(self.plan.fd_numbers) + 1,
                 "close": first.pending_close}
        self.begin = worker.frame(begin)      # goes with the first command (send)
        first.pending_close = []
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

    def release(self):
        """The first half of the clean-up, quick: SIGKILL to the case's process group and
        close its pipes. The processes die meanwhile (on another core, if there is one)."""
        with interrupts_held():
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

    def settle(self, recycle=True):
        """The second half: once every case process is dead, remove the segments they made
        (their pids are not reaped yet, so not reused), the case's names, reap them all, and
        empty the ledger. SIGINT and SIGTERM wait until this is done. When the first process
        was set to recycle, returns it, recycled, if it proves clean (else it is killed too,
        and None returned)."""
        with interrupts_held():
            if self.recycling:
                self.recycling = False
                if recycle:
                    try:
                        return self.recycled()
                    except Exception:     # NotRecyclable, Timeout, OSError, a bad answer...
                        pass
                self.release()
            problems = []
            try:
                hygiene.kill_case(self.pgid, list(self.pidfd.values()))
                problems += hygiene.remove_segments(set(self.pid.values()), self.segments)
                problems += self.names.remove()
            finally:
                # the rest of the clean-up whatever happened above (said, never raised, so
                # that nothing of this case is charged to the next one: Executor.settle)
                ZYGOTE.reap(self.pgid)
                processes.close(self.pidfd.values())
                self.pidfd = {}
                self.pgid = None
                if self.ledger is not None:
                    os.ftruncate(self.ledger, 0)
                self.report(problems)
            return None

    def report(self, problems):
        """What the clean-up could not do: on standard error (the observation went out
        before the clean-up), one line each."""
        for problem in problems:
            report("clean-up after case %s: %s" % (self.plan.name or "(unnamed)", problem))

    # --- recycling the first process -----------------------------------------------------

    def start_recycling(self):
        """At the end of a case that ended well, instead of killing its process group: kill
        its other processes and tell the first one to reset itself (worker.reset), which it
        does while the observation goes out; the threads the case left running there are
        told to end first (and its leader, if T0 ended, reads the reset from T0's command
        pipe, see worker.serve). False if the first process cannot be recycled: it must be
        alive, its image the one it started with (no exec), and no step may have reached
        outside the case window (self.recycle)."""
        if not self.recycle or self.first is None or self.state.get(0) != "alive":
            return False
        if len(self.plan.parent) > 1 and not features.has("pidfd_getfd"):
            return False              # replenish could not take the new pipes' ends
        if self.readers[0].pending:
            return False
        running = [thread for thread in self.plan.threads_of[0]
                   if thread != "T0" and thread not in self.ended]
        with interrupts_held():
            try:
                for process, state in self.state.items():
                    if process != 0 and state == "alive":
                        self.pidfd[process].send(signal.SIGKILL)
                for thread in running:
                    if thread in self.command_pipes:
                        self.send(thread, {"op": "end"})
                made_here = {step.op for step in self.plan.steps
                             if self.plan.process_of[step.thread] == 0}
                reset = {"op": "reset", "window": list(WINDOW), "forked": "fork" in made_here,
                         "spawned": "spawn" in made_here,
                         "opened": bool(made_here & {"open", "fork"}),
                         "descriptors": [addresses.FD_BASE,
                                         addresses.FD_BASE + len(self.plan.fd_numbers)],
                         "fds": sorted(self.holding[0])}
                self.send("T0", reset)
            except OSError:
                return False
        self.recycling = True
        return True

    def recycled(self):
        """The first process, as good as new for the next case, or NotRecyclable. In order:
        the case's other processes are dead (they were killed); the first process has reset
        itself (worker.reset); no segment of the case is attached anywhere (nattch 0: the
        kernel's word that nothing of the case still maps it); the case's segments and names
        are removed; then the first process reaps the dead (worker.reap) and makes new pipes
        for the next case's other processes, whose executor ends are taken with
        pidfd_getfd; the ledger is emptied."""
        deadline = time.monotonic() + RECYCLE_SECONDS
        others = [fd for process, fd in self.pidfd.items() if process != 0]
        while others:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotRecyclable("a process of the case does not die")
            ended = processes.ended(others, remaining)
            others = [fd for fd in others if fd not in ended]
        answer = self.readers[0].next(deadline)
        if answer is None or answer.get("r") != "clean":
            raise NotRecyclable(answer)
        known = [i for i in set(self.segment_ids.values()) if i >= 0]
        for ident in known:
            result, fields = syscalls.shmctl_stat(ident)
            if result == "ok" and fields["nattch"] != 0:
                raise NotRecyclable("segment %d is still attached" % ident)
        self.report(hygiene.remove_segments(set(self.pid.values()), self.segments)
                    + self.names.remove())
        first = self.first
        lost_commands = [i for i, (r, _) in enumerate(first.command_pipes)
                         if r not in self.holding[0]]
        lost_results = [i for i, (_, w) in enumerate(first.result_pipes)
                        if w not in self.holding[0]]
        if len(self.plan.parent) > 1:
            self.replenish(first, lost_commands, lost_results, deadline)
        elif lost_commands or lost_results:
            raise NotRecyclable("pipes were lost without a fork")
        if self.readers[0].pending:
            raise NotRecyclable("the first process said more than it was asked")
        processes.close([w for process, w in self.pidfd.items() if process != 0])
        self.pidfd = {}
        self.own_fds = set()
        self.pgid = None
        if self.ledger is not None:
            os.ftruncate(self.ledger, 0)
        return first

    def replenish(self, first, lost_commands, lost_results, deadline):
        """Have the first process reap the case's dead and make a pipe for each one it gave
        to a child; take the executor's ends of them, give them their place in its lists."""
        reap = {"op": "reap", "pipes": len(lost_commands) + len(lost_results)}
        os.write(first.command_pipes[0][1], worker.frame(reap))
        answer = self.readers[0].next(deadline)
        if answer is None or answer.get("r") != "clean":
            raise NotRecyclable(answer)
        made = [tuple(pair) for pair in answer["pipes"]]
        if any(fd >= addresses.FD_BASE for pair in made for fd in pair):
            raise NotRecyclable("the new pipes are at descriptor numbers the case may use")
        wanted = [write_end for _, write_end in made[:len(lost_commands)]]
        wanted += [read_end for read_end, _ in made[len(lost_commands):]]
        taken = []
        try:
            for fd in wanted:
                taken.append(syscalls.pidfd_getfd(first.pidfd.fileno(), fd))
        except OSError as error:
            FirstProcess.close(taken)
            raise NotRecyclable("pidfd_getfd: %s" % error)
        for index, (read_end, _), mine in zip(lost_commands, made, taken):
            self.swap_own(first.command_pipes[index][1], mine)
            first.command_pipes[index] = (read_end, mine)
        for index, (_, write_end), mine in zip(lost_results, made[len(lost_commands):],
                                               taken[len(lost_commands):]):
            self.swap_own(first.result_pipes[index][0], mine)
            first.result_pipes[index] = (mine, write_end)
        first.pending_close += wanted

    def swap_own(self, old, new):
        FirstProcess.close([old])
        self.own_fds.discard(old)
        self.own_fds.add(new)

    # --- steps, a batch at a time ----------------------------------------------------------

    def perform_steps(self):
        """Every step, in order. Consecutive steps of one thread go to it as one batch (one
        command, one write of the answers: fewer wake-ups of two processes, the main cost of
        a step here), up to the first step whose answer decides how later steps are resolved
        or which ends, replaces or forks the thread's process (batch_from)."""
        steps = self.plan.steps
        index = 0
        while index < len(steps):
            batch, commands = self.batch_from(index)
            self.perform_batch(batch, commands)
            index += len(batch)

    def batch_from(self, index):
        """The steps of the batch starting at steps[index], and their commands."""
        steps = self.plan.steps
        first = steps[index]
        process = self.plan.process_of[first.thread]
        if self.state.get(process) != "alive" or first.op == "frames":
            return [first], None
        batch, commands, made = [], [], {}
        for step in steps[index:]:
            if step.thread != first.thread or step.op == "frames":
                break
            if step.index == self.hang_step:
                if not batch:
                    batch, commands = [step], [{"op": "hang"}]
                break
            command = self.command(step, made)
            inside = self.within_window(command)
            if batch and not inside:
                break                 # alone: it may hit the implementation's own memory
            self.recycle = self.recycle and inside and not (
                process == 0 and step.op in ("exec", "exit"))
            batch.append(step)
            commands.append(command)
            if step.op == "shmget":
                made[step.bind] = len(commands) - 1
            if not inside or step.op in LAST_IN_BATCH or self.binds_at_a_place(step):
                break
        return batch, commands

    def perform_batch(self, batch, commands):
        process = self.plan.process_of[batch[0].thread]
        if commands is None:
            if self.state.get(process) != "alive":
                self.results.append("dead")
            elif not features.has("pagemap"):
                raise CaseFailure("step %d (frames): %s" % (batch[0].index,
                                                            features.missing("pagemap")))
            else:
                self.results.append(pagemap.perform(self, batch[0]))   # read by the executor
            return
        message = commands[0] if len(commands) == 1 else {"op": "batch", "steps": commands}
        shmgets = sum(1 for step in batch if step.op == "shmget")
        if shmgets:
            self.segments.sending(self.pid[process], shmgets)
        self.send(batch[0].thread, message)
        for step in batch:
            if self.state.get(process) != "alive":
                self.results.append("dead")     # it died at an earlier step of the batch
            else:
                self.results.append(self.answer(step, process))

    def send(self, thread, message):
        data = worker.frame(message)
        if thread == "T0" and self.begin is not None:
            data, self.begin = self.begin + data, None
        try:
            os.write(self.command_pipes[thread][1], data)
        except BrokenPipeError:
            pass                      # the process is gone; its result pipe says how

    def answer(self, step, process):
        """The result of one step, from its process's answer."""
        if step.op == "exit":
            return self.finish_process(process, self.readers[process].next(self.deadline))
        answer = self.readers[process].next(self.deadline)
        if answer is None:
            return self.finish_process(process, None)
        if step.op == "shmget" and "error" not in answer:
            made = answer.get("value") if answer.get("r") == "ok" else None
            self.segments.answered(self.pid[process], made)
        if "error" in answer:
            raise CaseFailure("step %d (%s): %s" % (step.index, step.op, answer["error"]))
        result = answer["r"]
        if step.op == "fork":
            return self.forked(step, result, answer.get("pid"))
        if step.op == "spawn":
            self.live_threads[process] += 1
        elif step.op == "thread_exit":
            self.live_threads[process] -= 1
            self.ended.add(step.thread)
            if self.live_threads[process] == 0:
                self.finish_process(process, self.readers[process].next(self.deadline))
        elif step.op == "exec":
            self.live_threads[process] = 1
        elif step.op == "shmget":
            return self.segment_result(step, result, answer.get("value"))
        elif step.op == "shmctl" and result == "ok" and step.args["cmd"] == "stat":
            return self.stat_result(answer["value"])
        elif step.op == "shmctl" and result == "ok":
            self.segments.removed.add(self.segment_ids.get(step.args["segment"]))
        if step.bind and result == "ok":
            self.bound_mapping(step)
        return result

    @staticmethod
    def binds_at_a_place(step):
        """A mapping bound at an explicit place: later steps' addresses depend on its result."""
        args = step.args
        return step.op in ("shmat", "mmap") and args.get("at") is not None and (
            step.op == "shmat" or args["fixed"] != "none")

    def finish_process(self, process, answer):
        """The process ended (end-of-file on its pipe): by _exit ("ok") or by a signal."""
        if answer is not None:
            raise CaseFailure("process %d wrote after it should have ended: %r" % (process, answer))
        status = hygiene.ending(self.pid[process], self.pidfd[process], self.deadline)
        if status is None:
            raise Timeout()
        kind, number = status
        if kind == "reaped":
            raise CaseFailure("how case process %d ended cannot be told: its parent had ended, "
                              "so init reaped it (%s)" % (process, features.missing("subreaper")))
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
        ended = processes.ended([self.pidfd[p] for p in living], 0)
        for process in living:
            if self.pidfd[process] in ended:
                self.finish_process(process, None)
                raise KilledFromOutside("case process %d ended during the case, which no step "
                                        "did: it was killed from outside the case" % process)

    def forked(self, step, result, pid):
        """The parent's answer names the child (which says nothing until its first command);
        its pid goes to the ledger before the child can make a step."""
        child = self.plan.process_of[step.bind]
        if result != "ok":
            self.holding[self.plan.process_of[step.thread]] -= set(self.held_by(child))
            self.state[child] = "dead"      # it never came to exist
            return result
        self.holding[self.plan.process_of[step.thread]] -= set(self.held_by(child))
        self.holding[child] = set(self.held_by(child))
        if not isinstance(pid, int) or pid <= 0:
            raise CaseFailure("the fork at step %d named no child" % step.index)
        self.pid[child] = pid
        test_pid(pid)
        self.note("pid %d" % pid)
        self.pidfd[child] = processes.Watch(pid)
        self.segments.watch(pid, self.pidfd[child])
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

    def command(self, step, made=None):
        """The step with everything resolved. A segment whose shmget is earlier in the same
        batch (made: handle -> its place in the batch) is named by that place (id_from)."""
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
            command.update(self.segment(args["segment"], made), addr=addr, flags=flags)
        elif op == "shmctl":
            command.update(self.segment(args["segment"], made), cmd=args["cmd"])
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

    def segment(self, handle, made):
        if made and handle in made:
            return {"id_from": made[handle]}
        return {"id": self.segment_ids[handle]}

    def within_window(self, command):
        """Whether every address range the command hands to the kernel lies inside the case
        window (WINDOW), all a recycled first process unmaps (worker.reset)."""
        op = command["op"]
        spans = []
        if op in ("read", "write", "shmdt"):
            spans.append((command["addr"], 1))
        elif op in ("munmap", "mprotect", "madvise", "posix_madvise", "mmap"):
            spans.append((command["addr"], command["length"]))
        elif op == "shmat" and command.get("addr") is not None:
            spans.append((command["addr"], self.largest_segment))
        elif op == "mremap":
            spans.append((command["addr"], max(command["old_length"], command["new_length"])))
            if command["new_addr"] is not None:
                spans.append((command["new_addr"], command["new_length"]))
        start, length = WINDOW
        return all(start <= low and low + max(size, 1) <= start + length for low, size in spans)

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
                "flags": flags, "fd": fd, "offset": args["offset"],
                "noreplace": args["fixed"] == "noreplace"}


def report(line):
    """A line on standard error, the implementation's diagnostics (docs/protocol.md); never
    fatal (a closed standard error loses the line, not the run)."""
    try:
        os.write(2, ("sharespec.impl: %s\n" % line).encode(errors="replace"))
    except OSError:
        pass


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
