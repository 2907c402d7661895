"""The runner: sends cases to an implementation, judges each observation against the model.

Verdicts, never confused:
- PASS: every step's observed result is one the profile allows (after the steps before it);
- FAIL: the first step whose result the profile does not allow, with what was allowed;
- INCONCLUSIVE: the environment refused (a timeout, a limit, a permission), so nothing was
  learnt about the specification; never a pass;
- NOT_APPLICABLE: the profile says nothing about this program (posix and a Linux-only call);
- ERROR: the implementation broke the protocol (bad JSON, wrong number of results, a crash,
  silence); what it sent is reported.

The implementation runs as a separate process speaking JSON lines (docs/case-format.md,
"Observations"), so that the process that forks stays lean and never imports the model.
"""
from __future__ import annotations

import errno
import json
import os
import queue
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from sharespec.model.case import Case
from sharespec.model.case_json import case_to_json
from sharespec.model.oracle import StateExplosion, judge
from sharespec.model.results import parse_result

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "ERROR")

# The longest observation line read (docs/protocol.md): a frames report of every place of a
# long case is some kilobytes; beyond this the case is an ERROR saying so, never a hang.
MAX_OBSERVATION_BYTES = 16 * 2 ** 20
STDERR_KEPT = 8192       # the end of an implementation's standard error kept for reports


@dataclass
class CaseResult:
    case: Case
    verdict: str
    detail: str = ""
    step: Optional[int] = None
    allowed: tuple = ()
    observed: Optional[str] = None
    rules: tuple = ()
    results: tuple = ()
    seconds: float = 0.0
    # A FAIL whose observed result is a refusal a limit could cause (sharespec/evidence.py):
    # it stands only once the evidence is weighed (_one_case), else it becomes INCONCLUSIVE.
    refusal: bool = False

    def record(self) -> dict:
        """The JSON record of one case (``sharespec run --json``)."""
        return {"case": self.case.name, "verdict": self.verdict, "origin": self.case.origin,
                "rules": list(self.case.rules), "step": None if self.step is None else self.step + 1,
                "allowed": list(self.allowed), "observed": self.observed,
                "failure_rules": list(self.rules), "detail": self.detail,
                "results": list(self.results), "seconds": round(self.seconds, 6),
                # the case itself, so that a results file is a case source (run --case FILE)
                "program": case_to_json(self.case)}


def case_line(case: Case) -> str:
    """The line that sends ``case`` to an implementation (docs/protocol.md): its JSON form,
    compact, without the newline that ends it."""
    return json.dumps(case_to_json(case), separators=(",", ":"))


def bundled_impl_command() -> tuple:
    """The bundled implementation, started lean: no site, no model on the import path."""
    import sharespec.impl
    impl_dir = Path(sharespec.impl.__file__).resolve().parent
    env = dict(os.environ)
    env["PYTHONPATH"] = str(impl_dir.parent)
    env.pop("PYTHONFAULTHANDLER", None)
    # -P: with -m, Python would otherwise put the current folder first on the path, and an
    # impl/ folder there would silently replace the bundled implementation (3.11+).
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, "-S", *safe_path, "-m", impl_dir.name], env


class EnvironmentRefused(Exception):
    """The system refused a process, a thread, memory or a descriptor the run needs: every
    case it hits is INCONCLUSIVE, with this reason."""


_REFUSALS = {errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.ENOSPC}


class ImplementationProcess:
    """One running implementation: a case line in, an observation line out.

    It runs in a session of its own (so in a process group of its own), and dies with the
    process that started it (process_tree.die_with_parent: SIGTERM, which the bundled
    implementation answers by killing its case, cleaning up and exiting). When it stops, its
    whole process tree is ended: every process left in its session (children it forked and
    did not end, a fork bomb...), not only the process started. (A child that makes a
    session of its own escapes this; nothing short of a cgroup would find it.)

    Each implementation started gets a folder in the run's ledger folder (ledgers.py), named
    by the process that started it, naming the implementation's pid and start time: the
    bundled implementation keeps its ledger there (the pids of the case it is running).
    Whenever it ends, above all when it was killed in the middle of a case, the ledger is
    swept: what that case left (processes, segments, /dev/shm names) is removed, and nothing
    else (sharespec.impl.hygiene.sweep_ledger). If this process is killed, the next run finds
    the folder orphaned (its owner dead) and does it (ledgers.sweep_orphaned_runs); the main
    process of -j N does it at once for a killed worker (ledgers.sweep_implementations)."""

    def __init__(self, command: Optional[str], case_timeout: float,
                 ledger_parent: Optional[str] = None, strict_cleanup: bool = False):
        self.bundled = not command
        self.command = command
        self.strict_cleanup = strict_cleanup   # stopped after each case (see _one_case)
        # the run's ledger folder; None: one of this object's own, made when it is needed
        self.ledger_parent = ledger_parent
        self._owns_ledger_parent = ledger_parent is None
        if command:
            self.argv, self.env = shlex.split(command), dict(os.environ)
        else:
            self.argv, self.env = bundled_impl_command()
            self.argv = self.argv + ["--timeout", str(case_timeout)]
        self.case_timeout = case_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.ledger_dir: Optional[str] = None  # exists exactly while the implementation runs
        self._pending = b""
        self.hurry = False         # stop at once, without waiting for the case in progress
        self._since = 0            # the start time of the implementation's process
        # what an implementation under test leaves behind is reported (not the bundled one's:
        # its ledger is swept); left_behind: (case, what) for each case that left something
        from sharespec.leftovers import LeftoverWatch
        self.leftovers = None if self.bundled else LeftoverWatch()
        self.left_behind: list = []

    def start(self) -> None:
        """Start it; EnvironmentRefused if the system will not (no process, memory or
        descriptor left: RLIMIT_NPROC, ulimit -n...)."""
        try:
            self._start()
        except OSError as e:
            if e.errno in _REFUSALS:
                raise EnvironmentRefused(f"cannot start the implementation: {e}") from None
            raise

    def _start(self) -> None:
        from sharespec import ledgers, process_tree
        argv = self.argv
        if self.ledger_parent is None:
            self.ledger_parent = ledgers.make_run_folder()
        self.ledger_dir = ledgers.make_implementation_folder(self.ledger_parent)
        if self.bundled:
            argv = argv + ["--ledger", os.path.join(self.ledger_dir, "ledger")]
        process_tree.load()
        parent = os.getpid()
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self.env, bufsize=0, start_new_session=True,
                preexec_fn=lambda: process_tree.die_with_parent(parent))
        except BaseException:
            self._sweep(None)
            raise
        # whoever finds this folder orphaned (its starter killed) ends the implementation and
        # sweeps its ledger (ledgers.sweep_implementation)
        self._since = process_tree.start_time(self.proc.pid) or 0
        if self.leftovers is not None:
            self.leftovers.attach(self.proc.pid, self._since)
        ledgers.record_executor(self.ledger_dir, self.proc.pid)
        self._pending = b""

    def interrupt(self) -> None:
        """From another thread: end the case in progress now (SIGTERM to the implementation's
        group: the bundled one kills its case and cleans up); the thread using it stops it."""
        self.hurry = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)

    def close(self, hurry: bool = False) -> None:
        """Stop it for good (the same as stop: nothing of it outlives a stop)."""
        self.hurry = self.hurry or hurry
        self.stop()

    def _sweep(self, pid: Optional[int]) -> None:
        """Sweep the ledger of the implementation that ended (pid) and remove its folder (and
        the run's, if it is this object's own and now empty)."""
        import shutil

        from sharespec.impl.hygiene import sweep_ledger
        ledger_dir, self.ledger_dir = self.ledger_dir, None
        try:
            if ledger_dir is not None and pid is not None and self.bundled:
                sweep_ledger(os.path.join(ledger_dir, "ledger"), pid)
        finally:
            if ledger_dir is not None:
                shutil.rmtree(ledger_dir, ignore_errors=True)
            if self._owns_ledger_parent and self.ledger_parent is not None:
                try:
                    os.rmdir(self.ledger_parent)
                    self.ledger_parent = None
                except OSError:
                    pass

    def stop(self) -> None:
        if self.proc is None:
            self._sweep(None)
            return
        proc, self.proc = self.proc, None
        try:
            self._stop(proc)
        finally:
            self._sweep(proc.pid)
        if self.leftovers is not None:
            self._report_leftovers()

    def case_began(self) -> None:
        if self.leftovers is not None:
            self.leftovers.case_began()

    def case_ended(self, case: str) -> None:
        if self.leftovers is not None:
            self.leftovers.case_ended(case)

    def _report_leftovers(self) -> None:
        """Once it has ended: what its cases made and left (sharespec.leftovers), a warning
        per case on stderr. Reported, not removed: it is not this runner's."""
        from sharespec.leftovers import describe
        for case, left in sorted(self.leftovers.left().items()):
            what = describe(left)
            self.left_behind.append((case, what))
            print(f"sharespec: warning: {case}: the implementation left {what} behind",
                  file=sys.stderr)

    def _stop(self, proc) -> None:
        """Close its input and wait for it to end (it finishes the case in progress: at most
        the case timeout), else SIGTERM, else SIGKILL, to its process group; then end what is
        left of its session. Its group is signalled only while its leader is not reaped, or
        while other processes keep the group's id (no new process can take it then)."""
        from sharespec import process_tree
        try:
            proc.stdin.close()
        except OSError:
            pass
        if proc.returncode is None:
            grace = 0 if self.hurry else self.case_timeout + 5
            if not _exited(proc.pid, grace):
                _signal_group(proc.pid, signal.SIGTERM)
                if not _exited(proc.pid, 5):
                    _signal_group(proc.pid, signal.SIGKILL)
            # its leader is a zombie: the group's id is still the group's
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        process_tree.end_session(proc.pid, self._since)
        for stream in (proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def exchange(self, line: str) -> "tuple[Optional[dict], str]":
        """(observation, "") or (None, what went wrong, with what was received)."""
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        self._drain_stderr()
        try:
            self.proc.stdin.write(line.encode() + b"\n")
        except (BrokenPipeError, OSError) as e:
            return None, self._died(f"could not send the case: {e}")
        deadline = time.monotonic() + self.case_timeout + 10
        fd = self.proc.stdout.fileno()
        # Linear in the line's length: each chunk is searched once for the end of the line and
        # kept in a list, joined once (bytes += chunk would copy the whole line every time).
        chunks = [self._pending] if self._pending else []
        size = len(self._pending)
        end = self._pending.find(b"\n")
        while end < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                return None, f"silence: no observation within {self.case_timeout + 10:.0f} s"
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                sent = b"".join(chunks)
                return None, self._died("the implementation closed its output"
                                        + (f" after sending {sent[:200]!r}" if sent else ""))
            at = chunk.find(b"\n")
            if at >= 0:
                end = size + at
            chunks.append(chunk)
            size += len(chunk)
            if (end if end >= 0 else size) > MAX_OBSERVATION_BYTES:
                head = b"".join(chunks)[:200]
                self.proc.terminate()    # it is blocked writing the rest: SIGTERM, not a wait
                self.stop()
                return None, (f"an observation line longer than {MAX_OBSERVATION_BYTES // 2 ** 20} "
                              f"MiB (docs/protocol.md): received {head!r}...")
        pending = b"".join(chunks)
        raw, self._pending = pending[:end], pending[end + 1:]
        try:
            obs = json.loads(raw)
        except ValueError as e:          # not JSON, not UTF-8, a number too long
            return None, f"not JSON ({e}): received {raw[:300]!r}"
        except RecursionError:
            return None, f"not an observation (JSON nested too deeply): received {raw[:300]!r}"
        if not isinstance(obs, dict):
            return None, f"an observation must be a JSON object: received {raw[:300]!r}"
        return _printable(obs), ""

    def _drain_stderr(self) -> None:
        """Read the implementation's standard error all the time, on a thread of its own, keeping
        its last STDERR_KEPT bytes for reports: an implementation that writes a lot there must
        never block on a full pipe (and be judged silent). The thread reads a duplicate of the
        pipe, so stop() closing the original never leaves it reading a reused descriptor; it
        ends at end-of-file, when the implementation and whatever it started have gone."""
        proc = self.proc
        if proc is None or proc.stderr is None or getattr(proc, "_sharespec_tail", None) is not None:
            return
        tail = proc._sharespec_tail = bytearray()
        try:
            fd = os.dup(proc.stderr.fileno())
        except (OSError, ValueError):
            return              # out of descriptors: the pipe is read when it dies, as before
        done = proc._sharespec_stderr_done = threading.Event()

        def drain() -> None:
            try:
                while True:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    tail.extend(chunk)
                    if len(tail) > 2 * STDERR_KEPT:
                        del tail[:-STDERR_KEPT]
            finally:
                os.close(fd)
                done.set()

        threading.Thread(target=drain, name="sharespec-stderr", daemon=True).start()

    def _died(self, what: str) -> str:
        proc = self.proc
        status = proc.poll() if proc else None
        err = b""
        if proc is not None:
            try:
                proc.wait(timeout=2)
                status = proc.returncode
            except (subprocess.TimeoutExpired, OSError, ValueError):
                pass
            done = getattr(proc, "_sharespec_stderr_done", None)
            if done is not None:
                done.wait(1)       # the rest of what it wrote as it died
                err = bytes(proc._sharespec_tail[-STDERR_KEPT:])
            elif status is not None:
                try:
                    err = proc.stderr.read(STDERR_KEPT) or b""
                except (OSError, ValueError):
                    pass
        self.stop()
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        how = f"exit status {status}"
        if isinstance(status, int) and status < 0:
            import signal
            how += f", killed by {signal.Signals(-status).name}" if -status in signal.valid_signals() else ""
        return f"{what} ({how}){': ' + ' / '.join(tail) if tail else ''}"


def _printable(value: object) -> object:
    """``value`` with every lone surrogate ("\\ud800" in JSON) replaced by U+FFFD: JSON allows
    them, but no UTF-8 report or terminal can hold one, and printing it would end the run."""
    if isinstance(value, str):
        if not _has_surrogate(value):
            return value
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _exited(pid: int, seconds: float) -> bool:
    """Wait at most ``seconds`` for child ``pid`` to end, without reaping it (its pid, and
    its process group's id, stay its own). True if it has ended (or was reaped already)."""
    deadline = time.monotonic() + seconds
    pause = 0.001
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)


def _signal_group(pgid: int, number: int) -> None:
    try:
        os.killpg(pgid, number)
    except (ProcessLookupError, PermissionError):
        pass


def judge_observation(case: Case, obs: dict, profile: str, seconds: float) -> CaseResult:
    """The verdict on one observation."""
    status = obs.get("status")
    results = obs.get("results")
    detail = str(obs.get("detail", ""))
    if (obs.get("format") != "sharespec-observation" or type(obs.get("version")) is not int
            or obs.get("version") != 1):     # true and 1.0 are not the integer 1
        return CaseResult(case, "ERROR", f"not a version 1 observation: {json.dumps(obs)[:300]}",
                          seconds=seconds)
    if not isinstance(results, list) or not all(isinstance(r, str) for r in results):
        return CaseResult(case, "ERROR", f"results must be a list of strings: {json.dumps(obs)[:300]}",
                          seconds=seconds)
    try:
        parsed = [parse_result(r) for r in results]
    except ValueError as e:
        return CaseResult(case, "ERROR", f"bad result: {e}", results=tuple(results), seconds=seconds)
    from .model.frames_posix import FramesByValues   # a set of allowed reports, never an observation
    if any(isinstance(r, FramesByValues) for r in parsed):
        return CaseResult(case, "ERROR", "bad result: frames(values:...) names what a profile "
                          "allows; a frames step reports frames(CLASSES;FLAGS)",
                          results=tuple(results), seconds=seconds)
    n = len(case.steps)
    if status == "done" and len(parsed) != n:
        return CaseResult(case, "ERROR", f"{len(parsed)} results for {n} steps",
                          results=tuple(results), seconds=seconds)
    if status not in ("done", "timeout", "error"):
        return CaseResult(case, "ERROR", f"unknown status {status!r}", results=tuple(results),
                          seconds=seconds)
    if len(parsed) > n:
        return CaseResult(case, "ERROR", f"{len(parsed)} results for {n} steps", results=tuple(results),
                          seconds=seconds)
    try:
        # Judge what was observed; a prefix (timeout) can still fail at a step it reached.
        verdict = judge(case.steps[:len(parsed)], parsed, profile, case.rules)
    except StateExplosion as e:
        return CaseResult(case, "INCONCLUSIVE", f"the model's bound: {e}", results=tuple(results),
                          seconds=seconds)
    if verdict.verdict == "NOT_APPLICABLE":
        return CaseResult(case, "NOT_APPLICABLE", verdict.reason, seconds=seconds)
    if verdict.verdict == "FAIL":
        st = case.steps[verdict.step]
        obs_r = verdict.observed
        allowed = tuple(sorted(map(str, verdict.allowed)))
        from .evidence import is_refusal
        if is_refusal(st.op, obs_r):
            return CaseResult(case, "FAIL", verdict.reason, step=verdict.step, allowed=allowed,
                              observed=str(obs_r), rules=verdict.rules, results=tuple(results),
                              seconds=seconds, refusal=True)
        from .model.frames import FrameReport, environment_doubt
        if isinstance(obs_r, FrameReport) and environment_doubt(detail):
            return CaseResult(case, "INCONCLUSIVE", f"step {verdict.step + 1}: {verdict.reason}; "
                              f"but {environment_doubt(detail)} [{detail}]", step=verdict.step,
                              allowed=allowed, observed=str(obs_r), results=tuple(results),
                              seconds=seconds)
        return CaseResult(case, "FAIL", verdict.reason, step=verdict.step, allowed=allowed,
                          observed=str(obs_r), rules=verdict.rules, results=tuple(results),
                          seconds=seconds)
    if status == "timeout":
        return CaseResult(case, "INCONCLUSIVE", f"timeout after {len(parsed)} of {n} steps",
                          results=tuple(results), seconds=seconds)
    if status == "error":
        return CaseResult(case, "INCONCLUSIVE", f"the implementation could not run the case: {detail}",
                          results=tuple(results), seconds=seconds)
    if verdict.unjudged:  # frames steps judged on flags only (model/frames.py)
        from .model.frames import unjudged_reason
        return CaseResult(case, "INCONCLUSIVE", unjudged_reason(verdict.unjudged, detail),
                          results=tuple(results), seconds=seconds)
    return CaseResult(case, "PASS", results=tuple(results), seconds=seconds)


def _one_case(impl: ImplementationProcess, case: Case, line: str, profile: str) -> CaseResult:
    """Send one case, judge what comes back. With ``impl.strict_cleanup``, the implementation
    (one under test) is stopped after the case, so that what the case left is known before its
    verdict: a case that left anything is an ERROR."""
    result = _judged_case(impl, case, line, profile)
    if impl.strict_cleanup and impl.leftovers is not None:
        impl.stop()
        left = [what for name, what in impl.left_behind if name == case.name]
        impl.left_behind = []
        if left:
            result = CaseResult(case, "ERROR", f"cleanup: the implementation left {left[0]} "
                                "behind (--strict-cleanup)", results=result.results,
                                seconds=result.seconds)
    return result


def _judged_case(impl: ImplementationProcess, case: Case, line: str, profile: str) -> CaseResult:
    t0 = time.monotonic()
    try:
        impl.case_began()
        obs, problem = impl.exchange(line)
        impl.case_ended(case.name)
    except EnvironmentRefused as e:
        return CaseResult(case, "INCONCLUSIVE", f"the environment refused: {e}",
                          seconds=time.monotonic() - t0)
    except Exception as e:  # a bug of ours: the case is an ERROR, the run goes on
        obs, problem = None, f"internal error reading the implementation: {e!r}"
        impl.stop()
    seconds = time.monotonic() - t0
    if obs is None:
        return CaseResult(case, "ERROR", f"protocol: {problem}", seconds=seconds)
    if obs.get("case") not in (None, case.name):
        return CaseResult(case, "ERROR", f"observation for {obs.get('case')!r}, expected {case.name!r}",
                          seconds=seconds)
    try:
        result = judge_observation(case, obs, profile, seconds)
    except Exception as e:  # a bug of ours must not look like the implementation's
        return CaseResult(case, "ERROR", f"internal error judging: {e!r}", seconds=seconds)
    if result.refusal:
        result = weigh_refusal(result, impl, line, profile)
    return result


def weigh_refusal(result: CaseResult, impl: "ImplementationProcess", line: str,
                  profile: str) -> CaseResult:
    """A FAIL whose observation is a refusal a limit could cause: a limit that explains it, or
    a re-run alone that does not repeat it, makes it INCONCLUSIVE; otherwise the FAIL stands,
    saying it was repeatable with headroom (sharespec/evidence.py)."""
    import dataclasses

    from .evidence import Limits, weigh

    def rerun():
        fresh = ImplementationProcess(impl.command, impl.case_timeout, impl.ledger_parent)
        try:
            obs, _ = fresh.exchange(line)
        finally:
            fresh.close()
        if obs is None:
            return None, None
        again = judge_observation(result.case, obs, profile, 0.0)
        return (again.step, again.observed) if again.verdict == "FAIL" else (None, None)

    def read_limits():
        # the implementation's own rlimits where they can be read (a wrapper may lower them);
        # not the re-run's: it has ended, and its pid may name another process by now
        return Limits.read(impl.proc.pid if impl.proc is not None else None)

    op = result.case.steps[result.step].op
    observed = parse_result(result.observed)
    earlier = [s.op for s in result.case.steps[:result.step]]
    try:
        weighing = weigh(op, observed, result.step, rerun, read_limits, earlier)
    except EnvironmentRefused as e:     # no process to re-run it in: nothing was learnt
        return dataclasses.replace(result, verdict="INCONCLUSIVE", rules=(), refusal=False,
                                   detail=f"step {result.step + 1}: {observed} could not be "
                                          f"re-run alone to weigh it: {e}")
    if weighing.environment:
        return dataclasses.replace(result, verdict="INCONCLUSIVE", detail=weighing.sentence,
                                   rules=(), refusal=False)
    return dataclasses.replace(result, detail=f"{result.detail}: {weighing.sentence}",
                               refusal=False)


def _worker(command, timeout, profile, jobs: "queue.Queue", out: "queue.Queue",
            running: list, strict: bool = False) -> None:
    impl = ImplementationProcess(command, timeout, strict_cleanup=strict)
    running.append(impl)        # for run_cases to interrupt
    try:
        while True:
            item = jobs.get()
            if item is None:
                return
            index, case, line = item
            out.put((index, _one_case(impl, case, line, profile)))
    finally:
        impl.close()


def run_cases(cases: Iterable[Case], profile: str = "linux", impl: Optional[str] = None,
              jobs: int = 1, timeout: float = 10.0, strict_cleanup: bool = False
              ) -> Iterator[CaseResult]:
    """Judge every case against an implementation, yielding results in case order.

    Cases are streamed: at most a small window of them is in flight, so memory stays flat over
    long campaigns. ``impl`` is a command line speaking the protocol (None: the bundled one).
    """
    jobs = max(1, int(jobs))
    sweep_after_killed_runs()
    if jobs > 1:
        from sharespec.parallel import run_in_processes
        yield from run_in_processes(cases, profile, impl, jobs, timeout, strict_cleanup)
        return
    todo: "queue.Queue" = queue.Queue(maxsize=jobs * 4)
    done: "queue.Queue" = queue.Queue()
    running: list = []
    workers = [threading.Thread(target=_worker, args=(impl, timeout, profile, todo, done, running,
                                                      strict_cleanup), daemon=True)
               for _ in range(jobs)]
    try:
        for w in workers:
            w.start()
    except RuntimeError as e:        # "can't start new thread": RLIMIT_NPROC counts threads
        yield from _run_here(cases, profile, impl, timeout, strict_cleanup,
                             f"cannot start a thread: {e}")
        return
    waiting: dict = {}
    next_out = 0
    sent = 0
    finished = False
    try:
        for case in cases:
            line = case_line(case)
            while True:
                try:
                    todo.put((sent, case, line), timeout=0.05)
                    break
                except queue.Full:
                    next_out = yield from _drain(done, waiting, next_out, block=False)
            sent += 1
            next_out = yield from _drain(done, waiting, next_out, block=False)
        while next_out < sent:
            next_out = yield from _drain(done, waiting, next_out, block=True)
        finished = True
    finally:
        if not finished:            # interrupted: the case in progress is not waited for
            for implementation in running:
                implementation.interrupt()
        for _ in workers:
            try:
                todo.put_nowait(None)
            except queue.Full:
                while True:  # an interrupted run: drop what was not started
                    try:
                        todo.get_nowait()
                    except queue.Empty:
                        break
                todo.put_nowait(None)
        for w in workers:
            w.join(timeout + 15)


def _run_here(cases: Iterable[Case], profile: str, impl: Optional[str], timeout: float,
              strict: bool, why: str) -> Iterator[CaseResult]:
    """run_cases in this thread, one case after another: when the system refuses the threads
    or worker processes of the usual ways (``why``, said once on stderr)."""
    items = ((i, case, case_line(case)) for i, case in enumerate(cases))
    for _, result in _run_items_here(items, profile, impl, timeout, strict, why):
        yield result


def _run_items_here(items: Iterable[tuple], profile: str, impl: Optional[str], timeout: float,
                    strict: bool, why: str) -> Iterator[tuple]:
    """(index, result) for each (index, case, line), run in this thread one after another."""
    print(f"sharespec: {why}; the cases run one at a time in the main process", file=sys.stderr)
    implementation = ImplementationProcess(impl, timeout, strict_cleanup=strict)
    finished = False
    try:
        for index, case, line in items:
            yield index, _one_case(implementation, case, line, profile)
        finished = True
    finally:
        implementation.close(hurry=not finished)


_SWEPT = []      # whether this process has swept after killed runs yet


def sweep_after_killed_runs() -> list:
    """Once per process, before its first run: sweep what runs that were killed left (their
    implementations, their cases' processes, segments and names, their ledger folders:
    ledgers.sweep_orphaned_runs, only those whose owner is provably dead), and say so on
    stderr. Returns what was removed."""
    if _SWEPT:
        return []
    _SWEPT.append(True)
    from sharespec import ledgers
    removed = ledgers.sweep_orphaned_runs()
    if removed:
        print(f"sharespec: swept what killed runs left: {ledgers.describe_swept(removed)}",
              file=sys.stderr)
    return removed


def _drain(done, waiting, next_out, block):
    try:
        while True:
            index, result = done.get(timeout=0.2) if block else done.get_nowait()
            waiting[index] = result
            block = False
    except queue.Empty:
        pass
    while next_out in waiting:
        yield waiting.pop(next_out)
        next_out += 1
    return next_out


def resolve_impl(spec: Optional[str], timeout: float = 10.0) -> Optional[str]:
    """The one place ``--impl`` is resolved: ``mutant:NAME`` becomes the command of that mutant
    (sharespec/mutants); anything else is returned as it is. ValueError for an unknown mutant."""
    if not spec or not spec.startswith("mutant:"):
        return spec
    from sharespec.mutants import mutant_command
    try:
        return mutant_command(spec[len("mutant:"):], timeout)
    except KeyError as e:
        raise ValueError(e.args[0]) from None
