"""Run one case for real: fork its first process, perform its steps, collect the results,
clean up.

1. Start (CaseRun.start): draw the case's keys and names (hygiene.Namespace), make its pipes
   and fork its first process (first_process.py), and write them in the ledger (ledger.py).
2. Perform the steps in order (CaseRun.perform): resolve the step (commands.py), write it to
   its thread's command pipe, read the answer from its process's result pipe. Each model
   thread is a real thread in its case process, blocked on its own command pipe (worker.py).
   A fork's child is a new case process. A process's death shows as end-of-file on its
   result pipe, and how it ended is read from /proc (hygiene.ending): nobody reaps a case
   process before the clean-up. A frames step is read here, from /proc/PID/pagemap.
3. Collect: the observation is the results, or a status (timeout, error) and why.
4. Clean up, whatever happened (CaseRun.clean_up): SIGKILL to the case's process group;
   remove the segments the case provably made (segments.py) and its names; reap every case
   process (this executor is their subreaper); empty the ledger. SIGINT and SIGTERM wait
   until the clean-up is over.
"""
import contextlib
import os
import select
import signal
import time

from . import (addresses, features, hygiene, pagemap, processes, protocol, segments, shm_times,
               worker)
from .commands import Resolver
from .first_process import (INTERRUPTS, ONCE, CasePipes, close, fork_first_process,
                            set_up_executor)
from .ledger import Ledger, log_pid

FAULTS = (signal.SIGSEGV, signal.SIGBUS)     # the only signals a step can die of
# The shmctl commands whose answer is a stat (commands.Resolver.stat_result)
STAT_COMMANDS = ("stat", "stat_full", "shm_stat", "shm_stat_any", "shm_stat_id")
INFO_COMMANDS = ("info", "shm_info", "shm_info_counts")
# The IPC namespace's figures (ipc_namespace.py) as docs/case-format.md writes them
FIGURE_RESULTS = {
    "stat_any_count": lambda count: "indexes(%d)" % count,
    "sysvipc": lambda sums: "sysvipc(count=%d,size=%d,rss=%d,swap=%d)" % tuple(sums),
}


class CaseFailure(Exception):
    """The implementation could not run the case (environment or internal error)."""


class KilledFromOutside(CaseFailure):
    """A case process died of a signal no step causes (SIGKILL from an operator, the OOM
    killer...): the results may already show it (a lower nattch), so none is reported."""


class Timeout(Exception):
    pass


def run_case(case, timeout=10.0, ledger=None):
    """Run one case (a dict in the JSON form of docs/case-format.md); return the observation.
    `ledger`: the runner's ledger.Ledger, if there is one."""
    name = case.get("name", "") if isinstance(case, dict) else ""
    name = name if isinstance(name, str) else ""
    plan = protocol.plan_or_error(case)
    if not isinstance(plan, protocol.Plan):
        return protocol.observation(name, "error", [], plan)
    if plan.credentials and os.geteuid() != 0:
        return protocol.observation(name, "error", [], "environment: the case changes "
                                    "credentials or names permission bits, and cases start "
                                    "as root (C07): this implementation runs as uid %d"
                                    % os.geteuid())
    if plan.nil_page and not addresses.nil_page_guarded():
        return protocol.observation(name, "error", [], "environment: the case names @zero and "
                                    "vm.mmap_min_addr is 0 here, so anyone may map page 0")
    if plan.exec_as_other and not features.has("other_exec"):
        return protocol.observation(name, "error", [], "environment: the case execs after "
                                    "setuid(other): " + features.missing("other_exec"))
    if plan.private_ipc and not features.has("ipc_namespace"):
        return protocol.observation(name, "error", [], "environment: the case observes the IPC "
                                    "namespace's figures, which need a fresh IPC namespace: "
                                    + features.missing("ipc_namespace"))
    if plan.hugetlb and not features.has("hugepages_empty"):
        return protocol.observation(name, "error", [], "environment: the case makes a huge "
                                    "page object: " + features.missing("hugepages_empty"))
    return CaseRun(plan, timeout, ledger or Ledger()).run()


@contextlib.contextmanager
def interrupts_held():
    """SIGINT and SIGTERM wait (blocked, not lost) until the block ends: the interrupt handler
    raises, so it must not run while a process is forked but not yet recorded, or during the
    clean-up."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class ResultReader:
    """The executor's end of one process's result pipe: its answers (worker.frame), or None
    at end-of-file."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""
        self.eof = False

    def next(self, deadline):
        while True:
            found, message, self.pending = worker.unframe(self.pending)
            if found:
                return message
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise Timeout()
            chunk = os.read(self.fd, 65536)
            self.eof = not chunk
            self.pending += chunk


class CaseProcess:
    """One process of the case, as the executor knows it."""

    def __init__(self, number, pid, watch, reader, holds):
        self.number = number        # the case's number for it (0: the first process)
        self.pid = pid
        self.watch = watch          # processes.Watch: a pidfd, or the pid and its start time
        self.reader = reader        # ResultReader of its result pipe
        self.holds = holds          # the case's pipe ends it holds (a set)
        self.state = "alive"        # "alive", "dead" (killed by a fault) or "gone" (exited)
        self.threads = 1            # its model threads still running


class CaseRun:
    def __init__(self, plan, timeout, ledger):
        self.plan = plan
        self.timeout = timeout
        self.ledger = ledger
        self.deadline = None
        self.names = hygiene.Namespace(plan)
        self.places = addresses.Places(plan)
        self.resolver = Resolver(plan, self.places, self.names)
        # what clean-up may remove: nothing of a case in its own IPC namespace, whose segments
        # go with it (ipc_namespace.py), and whose ids mean other segments here
        self.segments = segments.CaseSegments(self.names.keys, private=plan.private_ipc)
        self.pipes = None
        self.processes = {}         # process number -> CaseProcess
        self.pgid = None            # the first process's pid, leader of the case's group
        self.results = []
        self.pagemap_notes = []     # what frames steps could not rule out (pagemap.perform)
        # the wall clock before the step now performed, and before the shmget that made each
        # segment (id -> time.time()): where a ``times`` window starts (shm_times.py)
        self.step_began = self.case_began = time.time()
        self.created_at = {}

    def run(self):
        self.deadline = time.monotonic() + self.timeout
        status, detail, environment = "done", "", ""
        try:
            self.start()
            for step in self.plan.steps:
                self.results.append(self.perform(step))
            self.check_alive()
            environment = hygiene.sigbus_note(self.plan, self.results)   # before clean-up
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
            self.clean_up()
        notes = [note for note in (pagemap.run_detail(self), environment) if note]
        detail = detail or "; ".join(notes)
        return protocol.observation(self.plan.name, status, self.results, detail)

    # --- 1. start ------------------------------------------------------------------------

    def start(self):
        set_up_executor()
        try:
            self.names.create(lambda runid: self.ledger.note("names " + runid))
        except OSError as error:
            raise CaseFailure("environment: %s" % (error.strerror or error))
        if max(1, len(self.plan.slots)) > ONCE["reserved"] and \
                self.places.overlaps_arena(mapped_ranges()):
            raise CaseFailure("the slot arena at %#x is not free" % addresses.ARENA_BASE)
        self.pipes = CasePipes.make(self.plan)
        try:
            mine = self.pipes.case_ends() + self.pipes.executor_ends()
            if max(mine + [self.ledger.fd or 0]) >= addresses.FD_BASE:
                raise CaseFailure("too many descriptors open to run the case")
            with interrupts_held():
                pid = fork_first_process(self.plan, self.pipes, self.ledger.fd)
                self.pgid = pid
                keys = "" if self.plan.private_ipc else \
                    "".join(" %d" % key for key in self.names.keys.values())
                self.ledger.note("case %d %d" % (int(time.time()), pid)
                                 + ("\nkeys" + keys if keys else ""))
                self.add_process(0, pid, set(self.pipes.case_ends()))
        finally:
            close(self.pipes.case_ends())       # the first process's now

    def add_process(self, number, pid, holds):
        """A case process begins: watched, and written down before it can make a step."""
        log_pid(pid)
        if number != 0:
            self.ledger.note("pid %d" % pid)
        watch = processes.Watch(pid)
        self.segments.watch(pid, watch)
        self.processes[number] = CaseProcess(number, pid, watch,
                                             ResultReader(self.pipes.results[number][0]), holds)

    # --- 2. perform the steps ------------------------------------------------------------

    def perform(self, step):
        """The result of one step."""
        process = self.processes.get(self.plan.process_of[step.thread])
        if process is None or process.state != "alive":
            return "dead"       # its process died at an earlier step (or was never forked)
        if step.op == "frames":
            if not features.has("pagemap"):
                raise CaseFailure("step %d (frames): %s"
                                  % (step.index, features.missing("pagemap")))
            return pagemap.perform(self, step)      # read here, by the case processes' parent
        command = self.resolver.command(step)
        self.step_began = time.time()
        if step.op == "fork":
            command.update(self.pipes_for_fork(step, process))
        elif step.op == "spawn":
            command["cmd"] = self.pipes.commands[step.bind][0]
        elif step.op == "shmget":
            self.segments.sending(process.pid, 1)
        try:
            os.write(self.pipes.commands[step.thread][1], worker.frame(command))
        except BrokenPipeError:
            pass                      # the process is gone; its result pipe says how
        return self.answer(step, process)

    def pipes_for_fork(self, step, parent):
        """The child keeps the ends of its own subtree, the parent the rest of its own."""
        child = self.plan.process_of[step.bind]
        theirs = set(self.pipes.held_by(self.plan, child))
        return {"child_close": sorted(parent.holds - theirs), "parent_close": sorted(theirs),
                "cmd": self.pipes.commands[step.bind][0], "result": self.pipes.results[child][1]}

    def answer(self, step, process):
        """The result of one step, from its process's answer."""
        answer = process.reader.next(self.deadline)
        if step.op == "exit" or answer is None:
            return self.finish(process, answer)
        if step.op == "shmget" and "error" not in answer:
            made = answer.get("value") if answer.get("r") == "ok" else None
            self.segments.answered(process.pid, made)
        if "error" in answer:
            raise CaseFailure("step %d (%s): %s" % (step.index, step.op, answer["error"]))
        result = answer["r"]
        if step.op == "fork":
            return self.forked(step, process, result, answer.get("pid"))
        if step.op == "spawn":
            process.threads += 1
        elif step.op == "thread_exit":
            process.threads -= 1
            if process.threads == 0:
                self.finish(process, process.reader.next(self.deadline))
        elif step.op == "exec":
            process.threads = 1
        elif step.op == "shmget":
            text = self.resolver.segment_result(step, result, answer.get("value"))
            if text == "new":
                self.created_at[answer.get("value")] = self.step_began
            return text
        elif step.op == "shmctl" and result == "ok" and step.args["cmd"] in shm_times.COMMANDS:
            ident = self.resolver.segment_ids.get(step.args["segment"])
            return shm_times.times_result(answer["value"], self.created_at.get(
                ident, self.case_began), time.time())
        elif step.op == "shmctl" and result == "ok" and step.args["cmd"] in STAT_COMMANDS:
            pids = {p.pid: number for number, p in self.processes.items()}
            return self.resolver.stat_result(step.args["cmd"], answer["value"], pids)
        elif step.op == "shmctl" and result == "ok" and step.args["cmd"] in INFO_COMMANDS:
            return self.resolver.info_result(step.args["segment"], answer["value"])
        elif step.op == "shmctl" and result == "ok" and step.args["cmd"] in FIGURE_RESULTS:
            return FIGURE_RESULTS[step.args["cmd"]](answer["value"])
        elif step.op == "shmctl" and result == "ok" and step.args["cmd"] == "rmid":
            self.segments.removed.add(self.resolver.segment_ids.get(step.args["segment"]))
        if step.bind and (result == "ok" or self.places.absolute(step.args.get("at"))):
            self.resolver.bound(step)     # a handle at an absolute place means it, failed or not
        return result

    def forked(self, step, parent, result, pid):
        """The parent's answer names the child (which says nothing until its first command)."""
        child = self.plan.process_of[step.bind]
        theirs = set(self.pipes.held_by(self.plan, child))
        parent.holds -= theirs
        if result != "ok":
            return result             # the child never existed: its steps are "dead"
        if not isinstance(pid, int) or pid <= 0:
            raise CaseFailure("the fork at step %d named no child" % step.index)
        self.add_process(child, pid, theirs)
        return "ok"

    def finish(self, process, answer):
        """The process ended (end-of-file on its pipe): by _exit ("ok") or by a signal."""
        if answer is not None:
            raise CaseFailure("process %d wrote after it should have ended: %r"
                              % (process.number, answer))
        status = hygiene.ending(process.pid, process.watch, self.deadline)
        if status is None:
            raise Timeout()
        kind, number = status
        if kind == "reaped":
            raise CaseFailure("how case process %d ended cannot be told: its parent had ended, "
                              "so init reaped it (%s)" % (process.number,
                                                          features.missing("subreaper")))
        if kind == "signal" and number not in FAULTS:
            raise KilledFromOutside(
                "case process %d was killed by %s, which no step causes: something outside "
                "the case killed it, so no result is reported"
                % (process.number, signal_name(number)))
        if kind == "signal":
            process.state = "dead"
            return signal.Signals(number).name
        process.state = "gone"
        if number != 0:
            raise CaseFailure("case process %d exited with status %d" % (process.number, number))
        return "ok"

    def check_alive(self):
        """Every process the case left alive is alive: none was killed from outside meanwhile
        (which the results before could already show)."""
        living = [p for p in self.processes.values() if p.state == "alive"]
        ended = processes.ended([p.watch for p in living], 0) if living else []
        for process in living:
            if process.watch in ended:
                self.finish(process, None)
                raise KilledFromOutside("case process %d ended during the case, which no step "
                                        "did: it was killed from outside the case"
                                        % process.number)

    # --- 4. clean up -------------------------------------------------------------------

    def clean_up(self):
        """Kill every case process and wait until each is dead, unreaped (so no pid of the
        case can be reused meanwhile); remove the segments they provably made and the case's
        names; reap them all; empty the ledger. What cannot be done is said on standard
        error (the observation is the case's, not the clean-up's), never raised."""
        with interrupts_held():
            watches = [process.watch for process in self.processes.values()]
            problems = []
            try:
                hygiene.kill_case(self.pgid, watches)
                pids = {process.pid for process in self.processes.values()}
                problems += hygiene.remove_segments(pids, self.segments)
                problems += self.names.remove()
            except Exception as error:
                problems.append("%s: %s" % (type(error).__name__, error))
            finally:
                hygiene.reap_case(self.pgid)
                processes.close(watches)
                if self.pipes is not None:
                    close(self.pipes.executor_ends())
                self.ledger.clear()
            for problem in problems:
                report("clean-up after case %s: %s" % (self.plan.name or "(unnamed)", problem))


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
