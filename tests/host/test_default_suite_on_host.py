"""The whole default suite (every built-in case and the generated ones) passes against this
host's kernel under the linux profile, covers every observable R-rule, and leaves no SysV
segment, /dev/shm object or process behind; an interrupted run cleans up too."""
import json
import os
import signal
import subprocess
import sys
import time

from host_tables import process_table, segment_table
from sharespec.model.rules import HOST_SETTING_RULES, OBSERVABLE_RULES


def our_segments():
    return {(ident, row["key"]) for ident, row in segment_table().items()}  # (shmid, key)


def dev_shm():
    return {n for n in os.listdir("/dev/shm") if n.startswith("sharespec")}


def settled(before_segments, before_shm, wait=3.0):
    """What is new since before and still there after a moment (other runs may be in flight)."""
    deadline = time.monotonic() + wait
    while True:
        new = (our_segments() - before_segments, dev_shm() - before_shm)
        if new == (set(), set()) or time.monotonic() > deadline:
            return new
        time.sleep(0.1)


def test_default_suite_passes_on_this_kernel_and_covers_every_observable_rule(tmp_path):
    segs, shm = our_segments(), dev_shm()
    out = tmp_path / "results.jsonl"
    r = subprocess.run([sys.executable, "-m", "sharespec", "run", "-q", "--json", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    cases = [rec for rec in records if "verdict" in rec]
    assert cases and all(rec["verdict"] == "PASS" for rec in cases)
    summary = records[-1]
    wanted = {r for r in OBSERVABLE_RULES if r.startswith("R") and r not in HOST_SETTING_RULES}
    assert wanted <= set(summary["covered_rules"]), sorted(wanted - set(summary["covered_rules"]))
    assert summary["complete"] is True
    assert settled(segs, shm) == (set(), set())


def test_interrupted_run_leaves_nothing_behind(tmp_path):
    segs, shm = our_segments(), dev_shm()
    out = tmp_path / "partial.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "sharespec", "run", "--generated", "3000",
                             "--json", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    # interrupt mid-run: once some cases have been judged (the partial results file grows)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        partial = list(tmp_path.glob(".sharespec-*.partial"))
        if partial and partial[0].read_text().count("\n") >= 20:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "interrupted" in stdout + stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[-1]["complete"] is False  # a partial report, written whole
    assert settled(segs, shm) == (set(), set())
    # no process of the run survives it (one already killed may take a moment to be reaped)
    deadline = time.monotonic() + 5
    while processes_in_session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [describe(pid) for pid in processes_in_session(proc.pid)] == []


def describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f"{pid}: " + f.read()[:120]
    except OSError:
        return f"{pid}: gone"


def processes_in_session(sid):
    """The processes of session sid (field 6 of stat), the dead not yet reaped too."""
    return [pid for pid, fields in process_table().items() if int(fields[3]) == sid]
