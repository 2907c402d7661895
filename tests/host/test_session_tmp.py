"""The test session's own TMPDIR (tests/conftest.py) goes with the session, also when pytest
stops at a usage error before any test (conftest is imported first, pytest_unconfigure never
runs), and when it is stopped by SIGTERM: found when a mistyped option left an empty
/tmp/sharespec-tests-* behind, and a CI run stopped by SIGTERM left one holding its ledgers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_a_usage_error_leaves_no_session_tmpdir(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--no-such-option",
                           str(TESTS / "model")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 4, done.stderr    # pytest's usage error
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("sharespec-tests-")]


def test_sigterm_leaves_no_session_tmpdir(tmp_path):
    """A session stopped while a test runs goes out as from an interrupt (pytest's status 2),
    and its TMPDIR goes with it."""
    started = tmp_path / "started"
    case = tmp_path / "case"
    case.mkdir()
    (case / "test_waits.py").write_text(
        "import time\n"
        "def test_waits():\n"
        f"    open({str(started)!r}, 'w').close()\n"
        "    time.sleep(60)\n")
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(TESTS)}
    session = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "conftest",
                                "-p", "no:cacheprovider", str(case)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and session.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), session.communicate(timeout=30)[0]
        assert [p for p in tmp_path.iterdir() if p.name.startswith("sharespec-tests-")]
        session.send_signal(signal.SIGTERM)
        output = session.communicate(timeout=60)[0]
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
    assert session.returncode == 2, output         # pytest's interrupted status
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("sharespec-tests-")]
