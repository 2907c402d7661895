"""The leak check of the implementation's tests: after a test, nothing of it is left."""
import ctypes
import os
import time

import pytest

from impl_cases import descendants, snapshot

# Orphans of a leaking command-line run must come back to this process to be seen.
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER


def session_pids():
    """This process, its descendants, and every pid an executor of this session logged
    (SHARESPEC_IMPL_PID_LOG, set by tests/conftest.py; see impl/ledger.py)."""
    pids = {os.getpid()} | descendants()
    try:
        with open(os.environ["SHARESPEC_IMPL_PID_LOG"]) as log:
            pids |= {int(line.split()[0]) for line in log if line.split()[:1] != []}
    except (KeyError, OSError, ValueError):
        pass
    return pids


def name_pid(name):
    """The executor pid in a /dev/shm name of the implementation (sharespec-PID.RANDOM...)."""
    head = name[len("sharespec-"):].split(".", 1)[0]
    return int(head) if name.startswith("sharespec-") and head.isdigit() else None


@pytest.fixture
def no_leaks():
    """After the test, the segments, /dev/shm entries and processes are those of before.
    Processes are this test's descendants, so they are compared at once. Segments and
    /dev/shm entries are shared with the rest of the host, where other runs come and go: a
    new one is this session's if its creator (or the pid in its name) is one of the
    session's pids (session_pids), and a leak if it is still there after two seconds."""
    before = snapshot()
    yield
    assert snapshot()["processes"] == before["processes"]
    deadline = time.monotonic() + 2
    while True:
        after, ours = snapshot(), session_pids()
        new = {kind: after[kind] - before[kind] for kind in after}
        new["segments"] = {(ident, cpid) for ident, cpid in new["segments"] if cpid in ours}
        new["dev_shm"] = {name for name in new["dev_shm"] if name_pid(name) in ours}
        if not any(new.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert new == {"segments": set(), "dev_shm": set(), "processes": set()}
