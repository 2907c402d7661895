"""The test session's own TMPDIR (tests/conftest.py) goes with the session, also when pytest
stops at a usage error before any test (conftest is imported first, pytest_unconfigure never
runs): found when a mistyped option left an empty /tmp/sharespec-tests-* behind."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_a_usage_error_leaves_no_session_tmpdir(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--no-such-option",
                           str(TESTS / "model")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 4, done.stderr    # pytest's usage error
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("sharespec-tests-")]
