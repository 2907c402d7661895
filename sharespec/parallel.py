"""-j N (N >= 2): the cases judged in worker processes, each with its own implementation.

Judging is CPU-bound Python, so parallel workers are processes, not threads (forked: they
start at once, with the model already imported). The main process sends each worker a few
cases at a time (IN_FLIGHT) and yields the results in case order. Every worker dies with the
main process (PR_SET_PDEATHSIG, and end-of-file on its pipe), its implementation with it; a
worker killed by someone is replaced, its case reported as ERROR, and what its
implementation left swept (sharespec.ledgers).
"""
from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from sharespec.model.case import Case
from sharespec.runner import (CaseResult, ImplementationProcess, _one_case, _run_items_here,
                              case_line)


def _process_worker(conn, command, timeout, profile, ledger_parent, parent, inherited,
                    strict=False) -> None:
    """A worker process of -j N (N >= 2): judging is CPU-bound Python, so parallel workers are
    processes, not threads. It takes (index, case, line) from conn and sends back (index,
    the result's fields); None or end-of-file ends it. Ctrl-C is the main process's to handle;
    SIGTERM stops it, stopping its implementation (and sweeping its ledger) first, at once.
    It dies with the main process (``parent``): SIGTERM when that one ends, however, and
    end-of-file on conn (``inherited``: the main process's ends of the workers' pipes, which
    the fork copied here, are closed, so that its own pipe's end-of-file can come)."""
    from sharespec import process_tree

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    install_stop_handlers()
    # start() blocked both around the fork, so that none came to the main process's handlers,
    # copied here: one that came since is acted on now, by the handlers above
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORK_BLOCKED)
    impl = None
    hurry = False
    try:
        for fd in inherited:
            try:
                os.close(fd)
            except OSError:
                pass
        impl = ImplementationProcess(command, timeout, ledger_parent, strict_cleanup=strict)
        process_tree.die_with_parent(parent)
        while True:
            try:
                item = conn.recv()
            except (EOFError, OSError):
                return
            if item is None:
                return
            index, case, line = item
            result = _one_case(impl, case, line, profile)
            try:
                conn.send((index, {f: getattr(result, f) for f in _RESULT_FIELDS}))
            except OSError:           # the main process is gone (killed): nobody to tell
                return
    except SystemExit:
        hurry = True
        raise
    finally:
        # From here on SIGTERM (the main process ending an interrupted run, or dying) only
        # hurries the stop: raised in the middle of it, or as the process exits, it would
        # cut the clean-up short and print a traceback.
        signal.signal(signal.SIGTERM, lambda *_: impl is not None and setattr(impl, "hurry", True))
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        if impl is not None:
            impl.close(hurry or bool(_stopping))
        if os.getppid() != parent:
            # the main process died: the run's ledger folder goes with the last worker
            try:
                os.rmdir(ledger_parent)
            except OSError:
                pass


_FORK_BLOCKED = {signal.SIGINT, signal.SIGTERM}
_stopping: list = []      # a worker's SIGTERM, once acted on


def _stop_worker(signum, frame) -> None:
    """A worker's SIGTERM: SystemExit(143), once, which stops its implementation and sweeps
    its ledger (the finally of _process_worker)."""
    if not _stopping:
        _stopping.append(signum)
        raise SystemExit(143)


def _unraisable(info) -> None:
    """SIGTERM came where Python cannot raise (a __del__, a garbage-collected generator, an
    at-fork callback such as logging's): Python prints the SystemExit as "Exception ignored
    in ..." with a traceback, and goes on. Ours is raised again 50 ms later (SIGALRM) instead."""
    if issubclass(info.exc_type, SystemExit) and _stopping:
        _stopping.clear()
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        return
    sys.__unraisablehook__(info)


def install_stop_handlers() -> None:
    """A worker's handling of SIGTERM (and of SIGALRM, its retry)."""
    sys.unraisablehook = _unraisable
    signal.signal(signal.SIGTERM, _stop_worker)
    signal.signal(signal.SIGALRM, _stop_worker)


_RESULT_FIELDS = [f for f in CaseResult.__dataclass_fields__ if f != "case"]


# Cases queued per worker process: the next one waits in the worker's pipe, so that the worker
# goes on to it without waiting for the main process (which is busy with the results, or not
# even running: both cores are the workers' implementations'). Two are enough.
IN_FLIGHT = 2


@dataclass
class _Worker:
    """A worker process of -j N, as the main process sees it."""
    process: "object"            # multiprocessing.Process
    pipe: "object"               # the main process's end of its Connection
    queued: "object"             # collections.deque of the (index, case, line) sent, in order
    ending: bool = False         # told to end (None sent)


def run_in_processes(cases: Iterable[Case], profile: str, impl: Optional[str], jobs: int,
                      timeout: float, strict: bool = False) -> Iterator[CaseResult]:
    """run_cases for jobs >= 2: IN_FLIGHT cases queued per worker process, results in case
    order. A worker that dies (killed by someone) makes the case it was running an ERROR
    (the cases queued behind it, not begun, go to another worker) and is replaced; the
    implementation it leaves behind is ended and its ledger swept
    (ledgers.sweep_implementations). Interrupted (Ctrl-C, SIGTERM, the consumer gone), it
    stops the workers at once: each stops its implementation, which ends its case."""
    import collections
    import multiprocessing
    import multiprocessing.connection

    from sharespec import ledgers

    context = multiprocessing.get_context("fork")
    # The workers' implementations keep their ledgers in the run's folder, each in one named
    # by its worker, so that if someone kills a worker they are still found and swept.
    run_folder = ledgers.make_run_folder()
    workers: list = []

    def start(put) -> None:
        """Start a worker and ``put`` it in its place (before a signal held meanwhile is
        raised here, so that the clean-up below finds it)."""
        mine, theirs = context.Pipe()
        inherited = [w.pipe.fileno() for w in workers if not w.pipe.closed] + [mine.fileno()]
        # SIGINT and SIGTERM wait while the worker is forked (it unblocks them once its own
        # handlers are in place): otherwise one could come to the copy of the main process's
        # handlers in the new worker and print a traceback there
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _FORK_BLOCKED)
        try:
            process = context.Process(target=_process_worker,
                                      args=(theirs, impl, timeout, profile, run_folder,
                                            os.getpid(), inherited, strict), daemon=True)
            process.start()
        except BaseException:
            mine.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            raise
        finally:
            theirs.close()
        put(_Worker(process, mine, collections.deque()))
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    source = iter(cases)
    again: collections.deque = collections.deque()     # sent to a worker that died first
    exhausted, sent, next_out, waiting = False, 0, 0, {}
    finished = False

    def replace(slot: int) -> None:
        """The worker in ``slot`` died: a new one takes its place. A worker takes a case only
        once it has answered the one before, so only its first unanswered case can have
        begun: that one is an ERROR, the others go to another worker."""
        worker = workers[slot]
        worker.process.join(5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.pipe.close()
        if worker.queued:
            index, case, _ = worker.queued.popleft()
            waiting[index] = CaseResult(case, "ERROR", "the runner's worker process died "
                                        f"(exit status {worker.process.exitcode})")
            again.extend(worker.queued)
        ledgers.sweep_implementations(run_folder)      # the dead worker's: its starter is dead
        try:
            start(lambda worker: workers.__setitem__(slot, worker))
        except OSError as e:       # the system refuses (RLIMIT_NPROC...): one worker fewer
            refused.append(e)
            workers[slot] = _Worker(None, None, collections.deque(), ending=True)

    def take() -> Optional[tuple]:
        """The next (index, case, line) to run: one a dead worker left first, then the next
        case of the source; None (and ``exhausted``) once both are empty."""
        nonlocal sent, exhausted
        if again:
            return again.popleft()
        case = next(source, None)
        if case is None:
            exhausted = True
            return None
        item = (sent, case, case_line(case))
        sent += 1
        return item

    refused: list = []
    try:
        for _ in range(jobs):
            try:
                start(workers.append)
            except OSError as e:   # the system refuses (RLIMIT_NPROC...): fewer workers
                refused.append(e)
                break
        while True:
            if (again or not exhausted) and not any(w.process is not None and not w.ending
                                                    for w in workers):
                # No worker process left to take them: the rest run here, one at a time.
                for index, result in _run_items_here(
                        iter(take, None), profile, impl, timeout, strict,
                        f"cannot start a worker process: {refused[-1] if refused else '?'}"):
                    waiting[index] = result
                    while next_out in waiting:
                        yield waiting.pop(next_out)
                        next_out += 1
            for slot in range(len(workers)):
                while (not workers[slot].ending and len(workers[slot].queued) < IN_FLIGHT
                       and (again or not exhausted)):
                    item = take()
                    if item is None:
                        break
                    try:
                        workers[slot].pipe.send(item)
                    except OSError:               # it died since its last answer
                        again.appendleft(item)
                        replace(slot)
                        continue
                    workers[slot].queued.append(item)
            for worker in workers:
                if exhausted and not again and not worker.queued and not worker.ending:
                    # nothing left for it: it ends (and stops its implementation) while the
                    # others finish their last cases, not after them
                    worker.ending = True
                    try:
                        worker.pipe.send(None)
                    except OSError:
                        pass
            busy = [w for w in workers if w.queued]
            if not busy:
                break
            ready = multiprocessing.connection.wait([w.pipe for w in busy]
                                                    + [w.process.sentinel for w in busy])
            for slot, worker in enumerate(workers):
                if not worker.queued or (worker.pipe not in ready
                                         and worker.process.sentinel not in ready):
                    continue
                try:
                    while worker.queued and worker.pipe.poll():
                        _, fields = worker.pipe.recv()
                        index, case, _ = worker.queued.popleft()
                        waiting[index] = CaseResult(case, **fields)
                except (EOFError, OSError):
                    replace(slot)
            while next_out in waiting:
                yield waiting.pop(next_out)
                next_out += 1
        finished = True
    finally:
        # (a place whose dead worker could not be replaced has no process)
        workers = [w for w in workers if w.process is not None]
        for worker in workers:
            try:
                if not finished:
                    worker.process.terminate()    # SIGTERM: it stops its implementation now
                elif not worker.ending:
                    worker.pipe.send(None)
            except (OSError, ValueError):
                pass
        for worker in workers:
            worker.process.join(timeout * IN_FLIGHT + 15)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.pipe.close()
        import shutil
        ledgers.sweep_implementations(run_folder, everyone=True)  # none unless one was killed
        shutil.rmtree(run_folder, ignore_errors=True)
