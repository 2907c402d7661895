"""Resource hygiene for the whole test session: whatever the tests run (passing, failing,
timed-out, killed or interrupted cases, mutants, plugins), no SysV segment, /dev/shm object or
runner ledger made by this session may remain after it.

Only what this session made is counted: a shared host (CI, or several sessions at once) has
other runs whose segments, names and ledgers come and go meanwhile. So:
- every process the session starts has a TMPDIR of the session's own (set here, before any
  test runs): the ledger folders found in it are the session's;
- every executor of the bundled implementation the session starts logs its pid and the pids
  of its cases' processes (SHARESPEC_IMPL_PID_LOG, see impl/ledger.py): a segment is the
  session's if its creator is one of them (created after the pid was logged: a pid may be
  another's later), this process, or a live descendant of it; a /dev/shm name is the
  session's if it carries the pid of one of its executors (sharespec-PID.RANDOM...) or of
  this process (impl.run_case run in the test process)."""
import atexit
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

# fakes and shared programs that tests of both tiers import (fake_impl, renamed_programs, ...)
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
from host_tables import descendants, segment_table  # noqa: E402

SESSION_TMP = tempfile.mkdtemp(prefix="sharespec-tests-")
# A session that ends before pytest_unconfigure (a usage error: this file is imported first)
# still removes its TMPDIR; a process forked from this one does not.
_SESSION_PID = os.getpid()
atexit.register(lambda: os.getpid() == _SESSION_PID and shutil.rmtree(SESSION_TMP, True))


def _terminated(signum, frame):
    """SIGTERM (a CI runner or a developer stopping the session) takes pytest's way out of an
    interrupt: teardown, the leftovers check and the TMPDIR's removal still run. Without this
    a killed session left its /tmp/sharespec-tests-* with its ledgers behind."""
    raise KeyboardInterrupt


def _default_sigterm_in_child():
    # Case processes forked in-process (impl.run_case) must die of SIGTERM at once, as they
    # would outside the test session: only the session's own process takes the way out above.
    if signal.getsignal(signal.SIGTERM) is _terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


signal.signal(signal.SIGTERM, _terminated)
os.register_at_fork(after_in_child=_default_sigterm_in_child)
os.environ["TMPDIR"] = SESSION_TMP
tempfile.tempdir = None          # gettempdir() reads TMPDIR again
PID_LOG = os.path.join(SESSION_TMP, "pids")
os.environ["SHARESPEC_IMPL_PID_LOG"] = PID_LOG


def logged(path):
    """{pid: the earliest time it was logged} from a pid log."""
    pids = {}
    try:
        with open(path) as log:
            lines = log.read().splitlines()
    except OSError:
        return pids
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            pid, when = int(fields[0]), int(fields[1])
            pids[pid] = min(when, pids.get(pid, when))
    return pids


def segments():
    """{shmid: (cpid, ctime)} of every SysV segment."""
    return {ident: (row["cpid"], row["ctime"]) for ident, row in segment_table().items()}


def name_pid(name):
    head = name[len("sharespec-"):].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def snapshot():
    return {"segments": set(segments()),
            "dev_shm": {n for n in os.listdir("/dev/shm") if n.startswith("sharespec")}}


def made_by_session(before, pid_log, session_tmp, me=None):
    """What the session made that is still there: segments, /dev/shm names, ledgers."""
    me = os.getpid() if me is None else me
    pids = logged(pid_log)
    family = descendants(me) | {me}

    def ours(pid, when):
        return pid in family or (pid in pids and when >= pids[pid] - 1)

    left_segments = {i for i, (cpid, ctime) in segments().items()
                     if i not in before["segments"] and ours(cpid, ctime)}
    names = set()
    for name in {n for n in os.listdir("/dev/shm") if n.startswith("sharespec")} - before["dev_shm"]:
        try:
            when = int(os.lstat(os.path.join("/dev/shm", name)).st_ctime)
        except OSError:
            continue
        if name_pid(name) is not None and ours(name_pid(name), when):
            names.add(name)
    ledgers = {os.path.relpath(os.path.join(top, d), session_tmp)
               for top, dirs, _ in os.walk(session_tmp) for d in dirs
               if d.startswith("sharespec-ledger-")}
    return {"segments": left_segments, "dev_shm": names, "ledgers": ledgers}


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    before = snapshot()
    yield
    deadline = time.monotonic() + 10
    while True:
        left = made_by_session(before, PID_LOG, SESSION_TMP)
        if not any(left.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    shutil.rmtree(SESSION_TMP, ignore_errors=True)
    assert not any(left.values()), f"the test session left these behind: {left}"


def pytest_unconfigure(config):
    """The session's TMPDIR goes even when no test ran (the fixture above never did)."""
    shutil.rmtree(SESSION_TMP, ignore_errors=True)


# Two tiers (README, "Tests"), by folder: tests/model/ runs no process and no solver proof,
# and takes well under a minute on 2 cores (`pytest tests/model`, or `pytest -m "not slow"`);
# tests/host/ holds everything else (real processes on this host, z3 proofs and agreement,
# chaos, the CLI end to end), marked slow. The README's test command and CI run both.
MODEL_FOLDER = Path(__file__).resolve().parent / "model"


def pytest_configure(config):
    config.addinivalue_line("markers", "model: the fast tier: the model alone, no processes")
    config.addinivalue_line("markers", "slow: real processes, z3 proofs, chaos (the host tier)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = "model" if MODEL_FOLDER in item.path.resolve().parents else "slow"
        item.add_marker(getattr(pytest.mark, tier))
