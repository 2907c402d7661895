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

import json
import os
import queue
import select
import shlex
import subprocess
import sys
import tempfile
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


class ImplementationProcess:
    """One running implementation: a case line in, an observation line out.

    The bundled implementation keeps a ledger (the pids of the case it is running) in a
    folder of this process's own; whenever it ends, above all when it was killed in the middle
    of a case, the ledger is swept: what that case left (processes, segments, /dev/shm names)
    is removed, and nothing else (sharespec.impl.hygiene.sweep_ledger). The folder also
    names the implementation's pid (file "executor"), so that if this process itself is
    killed, whoever made ``ledger_parent`` can end the implementation and sweep its ledger
    (sweep_orphaned: the main process of -j N does it for a killed worker)."""

    def __init__(self, command: Optional[str], case_timeout: float,
                 ledger_parent: Optional[str] = None):
        self.bundled = not command
        self.command = command
        self.ledger_parent = ledger_parent   # where ledger folders go (None: the temp folder)
        if command:
            self.argv, self.env = shlex.split(command), dict(os.environ)
        else:
            self.argv, self.env = bundled_impl_command()
            self.argv = self.argv + ["--timeout", str(case_timeout)]
        self.case_timeout = case_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.ledger_dir: Optional[str] = None  # exists exactly while the implementation runs
        self._pending = b""
        self.swept: list = []      # what sweeping after dead implementations removed

    def start(self) -> None:
        argv = self.argv
        if self.bundled:
            self.ledger_dir = tempfile.mkdtemp(prefix="sharespec-ledger-", dir=self.ledger_parent)
            argv = argv + ["--ledger", os.path.join(self.ledger_dir, "ledger")]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=self.env, bufsize=0)
        except BaseException:
            if self.ledger_dir is not None:
                import shutil
                shutil.rmtree(self.ledger_dir, ignore_errors=True)
                self.ledger_dir = None
            raise
        if self.ledger_dir is not None:
            # whoever finds this folder orphaned (its owner killed) sweeps it: sweep_orphaned
            with open(os.path.join(self.ledger_dir, "executor"), "w") as f:
                f.write(str(self.proc.pid))
        self._pending = b""

    def close(self) -> None:
        """Stop it for good (the same as stop: nothing of it outlives a stop)."""
        self.stop()

    def _sweep(self, pid: int) -> None:
        if self.ledger_dir is None:
            return
        import shutil

        from sharespec.impl.hygiene import sweep_ledger
        ledger_dir, self.ledger_dir = self.ledger_dir, None
        try:
            self.swept += sweep_ledger(os.path.join(ledger_dir, "ledger"), pid)
        finally:
            shutil.rmtree(ledger_dir, ignore_errors=True)

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            self._stop(proc)
        finally:
            self._sweep(proc.pid)

    def _stop(self, proc) -> None:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=self.case_timeout + 5)
        except subprocess.TimeoutExpired:
            proc.terminate()  # SIGTERM: the bundled implementation cleans up and exits
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
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


def sweep_orphaned(parent: str) -> list:
    """Remove ``parent``, a folder of ledger folders whose owner (a worker process of -j N)
    was killed, leaving the implementations it had started without a runner. Each is ended
    (SIGTERM: the bundled implementation kills its case and cleans up; SIGKILL if it has not
    ended within 10 s), then its ledger is swept (hygiene.sweep_ledger: what a killed
    executor's case left) and its folder removed. Returns what the sweeps removed."""
    import shutil

    from sharespec.impl.hygiene import sweep_ledger
    removed: list = []
    for entry in (os.listdir(parent) if os.path.isdir(parent) else []):
        folder = os.path.join(parent, entry)
        ledger = os.path.join(folder, "ledger")
        try:
            with open(os.path.join(folder, "executor")) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            pid = None          # killed before it was written: no case was sent to it
        if pid is not None:
            _end_orphan(pid, ledger)
            removed += sweep_ledger(ledger, pid)
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(parent, ignore_errors=True)
    return removed


def _end_orphan(pid: int, ledger: str) -> None:
    """End the implementation ``pid`` if it is still the one keeping ``ledger`` (its command
    line names the ledger: checked after opening a pidfd, so the pid cannot be reused in
    between); a dead one (a zombie's command line is empty) is left as it is."""
    import signal
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                ours = ledger.encode() in f.read()
        except OSError:
            ours = False
        for number, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)) if ours else ():
            signal.pidfd_send_signal(pidfd, number)
            if select.select([pidfd], [], [], wait)[0]:
                break
        if ours:
            try:      # reaped here when this process is its subreaper, else by init
                os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                pass
    finally:
        os.close(pidfd)


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
    """Send one case, judge what comes back."""
    t0 = time.monotonic()
    try:
        obs, problem = impl.exchange(line)
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
            if fresh.proc is not None:
                pids.append(fresh.proc.pid)
        finally:
            fresh.close()
        if obs is None:
            return None, None
        again = judge_observation(result.case, obs, profile, 0.0)
        return (again.step, again.observed) if again.verdict == "FAIL" else (None, None)

    def read_limits():
        # the implementation's own rlimits where they can be read (a wrapper may lower them)
        alive = [p for p in ([impl.proc.pid] if impl.proc is not None else []) + pids]
        return Limits.read(alive[0] if alive else None)

    pids: list = []
    op = result.case.steps[result.step].op
    observed = parse_result(result.observed)
    earlier = [s.op for s in result.case.steps[:result.step]]
    weighing = weigh(op, observed, result.step, rerun, read_limits, earlier)
    if weighing.environment:
        return dataclasses.replace(result, verdict="INCONCLUSIVE", detail=weighing.sentence,
                                   rules=(), refusal=False)
    return dataclasses.replace(result, detail=f"{result.detail}: {weighing.sentence}",
                               refusal=False)


def _worker(command, timeout, profile, jobs: "queue.Queue", out: "queue.Queue") -> None:
    impl = ImplementationProcess(command, timeout)
    try:
        while True:
            item = jobs.get()
            if item is None:
                return
            index, case, line = item
            out.put((index, _one_case(impl, case, line, profile)))
    finally:
        impl.close()


def _process_worker(conn, command, timeout, profile, ledger_parent=None) -> None:
    """A worker process of -j N (N >= 2): judging is CPU-bound Python, so parallel workers are
    processes, not threads. It takes (index, case, line) from conn and sends back (index,
    the result's fields); None or end-of-file ends it. Ctrl-C is the main process's to handle;
    SIGTERM stops it, stopping its implementation (and sweeping its ledger) first."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(143)))
    impl = ImplementationProcess(command, timeout, ledger_parent)
    try:
        while True:
            try:
                item = conn.recv()
            except (EOFError, OSError):
                return
            if item is None:
                return
            index, case, line = item
            result = _one_case(impl, case, line, profile)
            conn.send((index, {f: getattr(result, f) for f in _RESULT_FIELDS}))
    finally:
        impl.close()


_RESULT_FIELDS = [f for f in CaseResult.__dataclass_fields__ if f != "case"]


# Cases queued per worker process: the next one waits in the worker's pipe, so that the worker
# goes on to it without waiting for the main process (which is busy with the results, or not
# even running: both cores are the workers' implementations'). Two are enough.
IN_FLIGHT = 2


def _run_in_processes(cases: Iterable[Case], profile: str, impl: Optional[str], jobs: int,
                      timeout: float) -> Iterator[CaseResult]:
    """run_cases for jobs >= 2: IN_FLIGHT cases queued per worker process, results in case
    order. A worker that dies (killed by someone) makes the case it was running an ERROR
    (the cases queued behind it, not begun, go to another worker) and is replaced; the
    implementation it leaves behind is ended and its ledger swept (sweep_orphaned)."""
    import collections
    import multiprocessing
    import multiprocessing.connection

    context = multiprocessing.get_context("fork")

    def start() -> list:
        # A worker's implementations keep their ledgers in a folder the run made for it, so
        # that if someone kills the worker they are still found and swept (sweep_orphaned).
        ledgers = None if impl else tempfile.mkdtemp(prefix="sharespec-ledger-")
        mine, theirs = context.Pipe()
        try:
            process = context.Process(target=_process_worker,
                                      args=(theirs, impl, timeout, profile, ledgers), daemon=True)
            process.start()
        except BaseException:
            mine.close()
            if ledgers:
                os.rmdir(ledgers)
            raise
        finally:
            theirs.close()
        # the process, its pipe, the (index, case, line) sent to it in order, its ledgers,
        # whether it was told to end
        return [process, mine, collections.deque(), ledgers, False]

    workers = [start() for _ in range(jobs)]
    source = iter(cases)
    again: collections.deque = collections.deque()     # sent to a worker that died first
    exhausted, sent, next_out, waiting = False, 0, 0, {}

    def replace(slot: int) -> None:
        """The worker in ``slot`` died: a new one takes its place. A worker takes a case only
        once it has answered the one before, so only its first unanswered case can have
        begun: that one is an ERROR, the others go to another worker."""
        process, pipe, queued, ledgers, _ = workers[slot]
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()
        pipe.close()
        if queued:
            index, case, _ = queued.popleft()
            waiting[index] = CaseResult(case, "ERROR", "the runner's worker process died "
                                        f"(exit status {process.exitcode})")
            again.extend(queued)
        if ledgers:
            sweep_orphaned(ledgers)
        workers[slot] = start()

    try:
        while True:
            for slot in range(len(workers)):
                while (not workers[slot][4] and len(workers[slot][2]) < IN_FLIGHT
                       and (again or not exhausted)):
                    if again:
                        item = again.popleft()
                    else:
                        case = next(source, None)
                        if case is None:
                            exhausted = True
                            break
                        item = (sent, case, json.dumps(case_to_json(case), separators=(",", ":")))
                        sent += 1
                    try:
                        workers[slot][1].send(item)
                    except OSError:               # it died since its last answer
                        again.appendleft(item)
                        replace(slot)
                        continue
                    workers[slot][2].append(item)
            for worker in workers:
                if exhausted and not again and not worker[2] and not worker[4]:
                    # nothing left for it: it ends (and stops its implementation) while the
                    # others finish their last cases, not after them
                    worker[4] = True
                    try:
                        worker[1].send(None)
                    except OSError:
                        pass
            busy = [w for w in workers if w[2]]
            if not busy:
                break
            ready = multiprocessing.connection.wait([w[1] for w in busy] + [w[0].sentinel for w in busy])
            for slot, worker in enumerate(workers):
                if not worker[2] or (worker[1] not in ready and worker[0].sentinel not in ready):
                    continue
                try:
                    while worker[2] and worker[1].poll():
                        _, fields = worker[1].recv()
                        index, case, _ = worker[2].popleft()
                        waiting[index] = CaseResult(case, **fields)
                except (EOFError, OSError):
                    replace(slot)
            while next_out in waiting:
                yield waiting.pop(next_out)
                next_out += 1
    finally:
        for worker in workers:
            try:
                if not worker[4]:
                    worker[1].send(None)
            except (OSError, ValueError):
                pass
        for worker in workers:
            worker[0].join(timeout * IN_FLIGHT + 15)
            if worker[0].is_alive():
                worker[0].terminate()
                worker[0].join(10)
            worker[1].close()
            if worker[3]:
                sweep_orphaned(worker[3])     # empty unless the worker was killed


def run_cases(cases: Iterable[Case], profile: str = "linux", impl: Optional[str] = None,
              jobs: int = 1, timeout: float = 10.0) -> Iterator[CaseResult]:
    """Judge every case against an implementation, yielding results in case order.

    Cases are streamed: at most a small window of them is in flight, so memory stays flat over
    long campaigns. ``impl`` is a command line speaking the protocol (None: the bundled one).
    """
    jobs = max(1, int(jobs))
    if jobs > 1:
        yield from _run_in_processes(cases, profile, impl, jobs, timeout)
        return
    todo: "queue.Queue" = queue.Queue(maxsize=jobs * 4)
    done: "queue.Queue" = queue.Queue()
    workers = [threading.Thread(target=_worker, args=(impl, timeout, profile, todo, done), daemon=True)
               for _ in range(jobs)]
    for w in workers:
        w.start()
    waiting: dict = {}
    next_out = 0
    sent = 0
    try:
        for case in cases:
            line = json.dumps(case_to_json(case), separators=(",", ":"))
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
    finally:
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
