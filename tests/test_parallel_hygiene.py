"""-j N: a worker process killed by someone leaves nothing behind.

A worker of -j N owns an implementation (and that implementation's ledger folder). Killed with
SIGKILL, the worker cannot stop it: the runner reports the worker's case as ERROR, starts
another worker, ends the orphaned implementation (which cleans up after its case) and sweeps
and removes the dead worker's ledger folders (runner.sweep_orphaned)."""
import os
import signal

from sharespec.runner import run_cases
from sharespec.suite import builtin_cases


def children(pid):
    """{child pid: command line} of process pid."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found[int(entry)] = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
    return found


def ledger_of(worker):
    """(executor pid, ledger file) of the bundled implementation the worker runs, or None."""
    for pid, argv in children(worker).items():
        if b"--ledger" in argv:
            return pid, argv[argv.index(b"--ledger") + 1].decode()
    return None


def gone(pid):
    """Dead (a zombie is: its subreaper may be this test process) or no longer there."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_killed_worker_leaves_no_ledger_and_no_implementation():
    import multiprocessing

    cases = builtin_cases()[:30]
    seen_ledgers, victim, orphan, results = set(), None, None, []
    for result in run_cases(cases, jobs=2):
        results.append(result)
        for worker in multiprocessing.active_children():
            found = ledger_of(worker.pid)
            if found:
                seen_ledgers.add(found[1])
                if victim is None and len(results) >= 5:
                    victim, orphan = worker.pid, found
                    os.kill(victim, signal.SIGKILL)
    assert victim is not None, "no worker with a running implementation was found to kill"
    assert len(results) == len(cases)
    died = [r for r in results if r.verdict == "ERROR"]
    assert len(died) == 1 and "worker process died" in died[0].detail, [r.detail for r in died]
    # the orphaned implementation was ended, and every ledger folder of the run is gone: the
    # killed worker's, and the folder the run made for each worker's ledgers
    assert gone(orphan[0])
    assert orphan[1] in seen_ledgers
    for ledger in seen_ledgers:
        assert not os.path.exists(os.path.dirname(ledger)), ledger
        per_worker = os.path.dirname(os.path.dirname(ledger))
        assert os.path.basename(per_worker).startswith("sharespec-ledger-"), ledger
        assert not os.path.exists(per_worker), ledger
