"""Interrupts during the start of ``sharespec run`` (issue 13): SIGINT or SIGTERM while the z3
coverage corpus is rebuilt stops the run at once with exit 130 and a partial report, kills
the child that rebuilds it, and leaves no half-written corpus in the cache.

The rebuild is made certain and long: the bound is 5 (not shipped; z3 needs minutes), and the
cache (a temporary XDG_CACHE_HOME) holds a stale file under that corpus's name. The signal is
sent once stderr says the rebuild started, never after a sleep."""
from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from sharespec import process_tree, z3_suite

BOUND = 5


def session_processes(sid: int) -> list:
    """The live (not zombie) processes of session ``sid``."""
    return [pid for pid, zombie in process_tree.session_members(sid).items() if not zombie]


@pytest.fixture
def runs():
    """The runs a test started; whatever happens to the test, none of them outlives it."""
    started = []
    yield started
    for proc in started:
        rebuilders = rebuilders_of(proc.pid)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in rebuilders:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def start_run(runs, tmp_path, *options):
    cache = tmp_path / "cache"
    stale = z3_suite.cache_path("linux", BOUND, z3_suite.corpus_key("linux", BOUND)).name
    (cache / "sharespec").mkdir(parents=True)
    with gzip.open(cache / "sharespec" / stale, "wt") as f:
        f.write(json.dumps({"format": z3_suite.FORMAT, "version": z3_suite.VERSION,
                            "key": "stale", "cases": 0}) + "\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    proc = subprocess.Popen([sys.executable, "-m", "sharespec", "run", "--z3-bound", str(BOUND),
                             "--generated", "5", *options],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    runs.append(proc)
    said = []
    for line in proc.stderr:          # until the rebuild has started
        said.append(line)
        if "rebuilding it into" in line:
            rebuilders = rebuilders_of(proc.pid)
            assert rebuilders, "no child rebuilds the corpus"
            return proc, cache / "sharespec", said, rebuilders
    proc.wait()
    pytest.fail(f"the rebuild never started: {''.join(said)}")


def finish(proc, said):
    stdout, stderr = proc.communicate(timeout=60)
    return stdout, "".join(said) + stderr


def rebuilders_of(pid: int) -> list:
    """The child rebuilding the corpus for run ``pid``: a child of it with a session of its
    own (found by /proc/PID/stat: a child's command line can read empty for a moment after
    its exec)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and int(fields[3]) == int(entry) and fields[0] != "Z":
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    return process_tree.start_time(pid) is not None      # None: no such process, or a zombie


def assert_nothing_left(proc, cache, rebuilders):
    deadline = time.monotonic() + 10     # a killed child may take a moment to be reaped
    while ((session_processes(proc.pid) or any(map(alive, rebuilders)))
           and time.monotonic() < deadline):
        time.sleep(0.05)
    assert session_processes(proc.pid) == [] and not any(map(alive, rebuilders))
    # no temporary file, and the stale file was not replaced by a half-built one
    left = sorted(p.name for p in cache.iterdir())
    assert len(left) == 1 and not left[0].startswith("."), left


@pytest.mark.parametrize("number, jobs", [(signal.SIGINT, "1"), (signal.SIGTERM, "2")])
def test_signal_during_the_rebuild_stops_the_run_with_a_partial_report(runs, tmp_path, number, jobs):
    """The suite is streamed: the hand-written and random cases are judged while the corpus is
    rebuilt, so the partial report counts them."""
    proc, cache, said, rebuilders = start_run(runs, tmp_path, "-j", jobs)
    if number == signal.SIGINT:
        os.killpg(proc.pid, number)    # as a terminal's Ctrl-C: the whole group
    else:
        os.kill(proc.pid, number)
    stdout, stderr = finish(proc, said)
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "interrupted; partial report follows" in stdout
    closing = re.search(r"(\d+) passed, 0 failed, .* \((\d+) cases\)", stdout)
    assert closing and int(closing.group(2)) > 0, stdout[-2000:]
    assert "Traceback" not in stderr, stderr
    assert_nothing_left(proc, cache, rebuilders)


def test_sigterm_while_preparing_a_json_run_writes_an_empty_partial_report(runs, tmp_path):
    """--json needs the whole suite before the first case: the signal comes before any case
    is judged, and still gives exit 130 and a whole JSON file saying it is incomplete."""
    out = tmp_path / "results.jsonl"
    proc, cache, said, rebuilders = start_run(runs, tmp_path, "-q", "--json", str(out))
    os.kill(proc.pid, signal.SIGTERM)
    stdout, stderr = finish(proc, said)
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "interrupted while preparing the cases" in stdout
    assert "(0 cases)" in stdout and "Traceback" not in stderr, stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[-1]["complete"] is False and records[-1]["summary"]["cases"] == 0
    assert "z3 coverage (linux" not in stderr     # -q: no progress lines
    assert_nothing_left(proc, cache, rebuilders)


def test_the_rebuilding_child_dies_with_a_killed_run(runs, tmp_path):
    """SIGKILL gives the run no chance to kill the child: the child dies with it anyway.
    (--json: no case has started, so that the kill leaves no case half-run behind.)"""
    proc, cache, said, rebuilders = start_run(runs, tmp_path, "-q", "--json",
                                              str(tmp_path / "out.jsonl"))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert_nothing_left(proc, cache, rebuilders)
