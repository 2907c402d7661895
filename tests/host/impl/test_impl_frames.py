"""The built-in frame cases against this kernel: all PASS with CAP_SYS_ADMIN (frame numbers
visible), all INCONCLUSIVE without it (the flags agree, the partition cannot be checked), never
FAIL. Runs the real implementation (impl/pagemap.py) through the CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CASES = sorted((ROOT / "sharespec" / "cases").glob("r*-frames-*.case"))
IMPL = f"env PYTHONPATH={ROOT} {sys.executable} -S -m impl"


def verdicts(impl: str) -> dict:
    args = [sys.executable, "-m", "sharespec", "run", "--no-shrink", "--impl", impl]
    for case in CASES:
        args += ["--case", str(case)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("PASS", "FAIL", "INCONCLUSIVE", "ERROR", "NOT_APPLICABLE"):
            found[parts[1].rstrip(":")] = (parts[0], line)
    return found


def test_there_are_frame_cases():
    assert len(CASES) >= 7


@pytest.mark.skipif(os.geteuid() != 0, reason="frame numbers need CAP_SYS_ADMIN (run as root)")
def test_frame_cases_pass_with_frame_numbers_visible():
    found = verdicts(IMPL)
    assert len(found) == len(CASES)
    assert all(v == "PASS" for v, _ in found.values()), found


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to drop CAP_SYS_ADMIN")
def test_frame_cases_are_inconclusive_without_cap_sys_admin():
    found = verdicts("setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin " + IMPL)
    assert len(found) == len(CASES)
    for verdict, line in found.values():
        assert verdict == "INCONCLUSIVE" and "frame numbers hidden" in line, line
