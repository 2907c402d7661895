"""Resource hygiene for the whole test session: whatever the tests run (passing, failing,
timed-out, killed or interrupted cases, mutants, plugins), no SysV segment, /dev/shm object or
runner ledger created during the session may remain after it."""
import glob
import os
import tempfile
import time

import pytest


def _segments():
    with open("/proc/sysvipc/shm") as f:
        return {line.split()[1] for line in f.readlines()[1:]}


def _ours():
    return {"segments": _segments(),
            "dev_shm": {n for n in os.listdir("/dev/shm") if n.startswith("sharespec")},
            "ledgers": set(glob.glob(os.path.join(tempfile.gettempdir(), "sharespec-ledger-*")))}


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    before = _ours()
    yield
    deadline = time.monotonic() + 10
    while True:
        left = {k: v - before[k] for k, v in _ours().items()}
        if not any(left.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not any(left.values()), f"the test session left these behind: {left}"
