"""The leak check of the implementation's tests: after a test, nothing of it is left."""
import ctypes
import time

import pytest

from impl_cases import snapshot

# Orphans of a leaking command-line run must come back to this process to be seen.
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER


@pytest.fixture
def no_leaks():
    """After the test, the segments, /dev/shm entries and processes are those of before.
    Processes are this test's descendants, so they are compared at once; segments and /dev/shm
    are shared with the rest of the host, so a new one is a leak only if it is still there
    after two seconds (another sharespec run on the host may be in the middle of a case)."""
    before = snapshot()
    yield
    assert snapshot()["processes"] == before["processes"]
    deadline = time.monotonic() + 2
    while True:
        after = snapshot()
        new = {kind: after[kind] - before[kind] for kind in after}
        if not any(new.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert new == {"segments": set(), "dev_shm": set(), "processes": set()}
