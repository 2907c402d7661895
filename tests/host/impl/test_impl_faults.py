"""System calls that fail where they never do (faults injected): the implementation says so,
never loops, never leaks in silence (issue 13). In-process switches first (deterministic),
then the same with `strace -f -e inject=...` on the command line (skipped without strace)."""
import ctypes
import errno
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from host_tables import segment_table
from impl_cases import ROOT, case, shmat, shmget
from impl import hygiene, run_case, segments, syscalls

libc = ctypes.CDLL(None, use_errno=True)

KEYED = [shmget("T0", "S0", key="k1"), shmat("T0", "A0", "S0")]
PRIVATE = [shmget("T0", "S0"), shmat("T0", "A0", "S0")]


def table():
    return set(segment_table())


def test_a_key_check_that_fails_is_an_error_naming_the_errno(monkeypatch):
    """shmget(key, 0, 0) failing with ENOSPC took every key for taken, and the key drawing
    looped forever; now the case is an error observation (INCONCLUSIVE) that names it."""
    real = syscalls.libc.shmget
    calls = []

    def lookup_fails(key, size, flags):
        if size == 0:
            calls.append(key)
            ctypes.set_errno(errno.ENOSPC)
            return -1
        return real(key, size, flags)

    monkeypatch.setattr(syscalls.libc, "shmget", lookup_fails)
    observation = run_case(case(KEYED), 10)
    assert observation["status"] == "error"
    assert observation["detail"].startswith("environment: shmget(")
    assert "ENOSPC" in observation["detail"]
    assert len(calls) == 1


def test_key_drawing_is_bounded(monkeypatch):
    """Every key taken: the drawing stops after KEY_DRAWS draws, with the reason."""
    monkeypatch.setattr(syscalls, "key_taken", lambda key: True)
    observation = run_case(case(KEYED), 10)
    assert observation["status"] == "error"
    assert "no free SysV key in %d draws" % hygiene.KEY_DRAWS in observation["detail"]


def test_a_removal_that_fails_after_a_case_is_reported_not_silent(monkeypatch, capfd):
    """IPC_RMID failing at clean-up (EINVAL): the segment is reported on standard error (the
    implementation's diagnostics), and the observation of the case is unaffected."""
    monkeypatch.setattr(segments.syscalls, "shmctl_rmid", lambda ident: "EINVAL")
    before = table()
    observation = run_case(case(PRIVATE), 10)
    left = table() - before
    reported = set()
    try:
        assert observation["status"] == "done" and observation["results"] == ["new", "ok"]
        err = capfd.readouterr().err
        reported = {int(i) for i in re.findall(r"segment (\d+) left: shmctl\(IPC_RMID\) "
                                                r"failed 3 times \(EINVAL\)", err)}
        assert reported and reported <= left, err
    finally:
        for ident in left:      # ours (this test's case made them); others' are not in `left`
            if ident in reported:
                libc.shmctl(ident, 0, None)


# --- the same with strace on the command line ------------------------------------------

def strace(tmp_path, inject, cases, trace):
    """Run the command line under `strace -f` with a fault injected; (stdout lines, stderr,
    the trace's shmget results as ids)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    log = tmp_path / "trace"
    lines = "".join(json.dumps(case(steps, name=name)) + "\n" for name, steps in cases)
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=" + trace,
                           "-e", "inject=" + inject, sys.executable, "-S", "-m", "impl",
                           "--timeout", "20"],
                          input=lines, capture_output=True, text=True, env=env, timeout=120)
    if "ptrace" in done.stderr and "Operation not permitted" in done.stderr:
        pytest.skip("strace cannot trace here: " + done.stderr.strip()[-200:])
    assert done.returncode == 0, done.stderr[-3000:]
    made = {int(m) for m in re.findall(r"shmget\([^)]*IPC_CREAT[^)]*\)\s*= (\d+)",
                                        log.read_text())}
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr, made


def test_strace_shmget_enospc_is_an_error_not_a_hang(tmp_path):
    observations, err, made = strace(tmp_path, "shmget:error=ENOSPC",
                                     [("keyed", KEYED), ("private", PRIVATE)], "shmget")
    assert [o["status"] for o in observations] == ["error", "done"]
    assert "ENOSPC" in observations[0]["detail"]
    assert observations[1]["results"] == ["ENOSPC", "EINVAL"]
    assert made == set() and "Traceback" not in err


def test_strace_shmctl_einval_at_clean_up_is_reported(tmp_path):
    observations, err, made = strace(tmp_path, "shmctl:error=EINVAL",
                                     [("keyed", KEYED), ("private", PRIVATE)], "shmget,shmctl")
    try:
        assert [o["results"] for o in observations] == [["new", "ok"], ["new", "ok"]]
        reported = {int(i) for i in re.findall(r"segment (\d+) left", err)}
        assert len(made) == 2 and reported == made, err
    finally:
        for ident in made:
            libc.shmctl(ident, 0, None)


def test_strace_a_process_killed_after_its_shmget_leaves_nothing(tmp_path):
    """A case process killed (SIGKILL at its shmat) after a shmget whose answer it never
    sent: the segment, provably the case's, is found and removed."""
    observations, err, made = strace(tmp_path, "shmat:signal=KILL",
                                     [("keyed", KEYED), ("private", PRIVATE)], "shmget,shmat")
    assert [o["status"] for o in observations] == ["error", "error"]
    assert all("killed by SIGKILL" in o["detail"] for o in observations)
    assert len(made) == 2 and not made & table(), err
