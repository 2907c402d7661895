"""SIGINT and SIGTERM at any moment of ``sharespec run`` (issue 13, "Interrupts and kills").

- From the first lines of sharespec.cli, a signal is held until the run has checked its output,
  then acted on: exit 130, the (empty) partial report, and with --json FILE a whole FILE saying
  "complete": false. The earliest moment reached deterministically: the signal is sent by an
  import hook while the command modules are imported (before any argument is read), by the
  process to itself, so that it has certainly arrived when the import goes on.
- An interrupted -j 2 run prints no traceback, from the main process or a worker (the signal
  is sent once a case was reported: the event waited for, never a sleep).
- A worker's SIGTERM handler raises once, and never inside a finaliser.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from sharespec import parallel

# Runs sharespec as `python -m sharespec` does (runpy, alter_sys), with an import hook that
# sends the signal to this process when sharespec.commands.run is about to be imported.
EARLY = """
import os, runpy, signal, sys
number = int(sys.argv[1])
class SignalOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == "sharespec.commands.run":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), number)
        return None
sys.meta_path.insert(0, SignalOnImport())
sys.argv = ["sharespec"] + sys.argv[2:]
runpy.run_module("sharespec", run_name="__main__", alter_sys=True)
"""


def run_early(tmp_path, number, *options):
    return subprocess.run([sys.executable, "-c", EARLY, str(int(number)), "run", "-j", "2",
                           "--z3-bound", "0", "--generated", "5", *options],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_the_commands_are_imported_gives_130_and_a_partial_json(tmp_path, number):
    """Without the hold, SIGTERM there kills the run (exit -15, nothing written) and SIGINT
    prints a KeyboardInterrupt traceback from an import."""
    out = tmp_path / "results.jsonl"
    done = run_early(tmp_path, number, "--json", str(out))
    assert done.returncode == 130, done.stdout[-2000:] + done.stderr[-2000:]
    assert "interrupted while preparing the cases" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[-1]["complete"] is False and records[-1]["summary"]["cases"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]   # no .partial left


def test_signal_while_the_commands_are_imported_prints_the_partial_report(tmp_path):
    done = run_early(tmp_path, signal.SIGTERM)
    assert done.returncode == 130, done.stdout[-2000:] + done.stderr[-2000:]
    assert "interrupted while preparing the cases; partial report follows" in done.stdout
    assert "(0 cases)" in done.stdout and "Traceback" not in done.stderr, done.stderr


def test_a_held_signal_does_not_turn_bad_usage_into_an_interrupt(tmp_path):
    """Bad input is refused before the run arms its interrupts: exit 2, nothing written."""
    done = run_early(tmp_path, signal.SIGTERM, "--json", str(tmp_path / "no" / "such" / "x"))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("round_", range(6))
def test_an_interrupted_parallel_run_prints_no_traceback(tmp_path, round_):
    number = signal.SIGTERM if round_ % 2 else signal.SIGINT
    out = tmp_path / "results.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "sharespec", "run", "-j", "2", "--z3-bound", "0",
                             "--generated", "40", "--seed", str(round_), "--no-shrink",
                             "--json", str(out), "--out", str(tmp_path / "failures")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        # --json FILE: the case lines go to stdout; the first one says the workers judge
        first = proc.stdout.readline()
        assert first, proc.stderr.read()
        if number == signal.SIGINT:
            os.killpg(proc.pid, number)       # as a terminal's Ctrl-C: the whole group
        else:
            os.kill(proc.pid, number)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    if proc.returncode == 130:
        assert records[-1]["complete"] is False
    else:                                     # it had finished first
        assert proc.returncode in (0, 1) and records[-1]["complete"] is True


@pytest.fixture
def fresh_stop(monkeypatch):
    monkeypatch.setattr(parallel, "_stopping", [])
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)


def test_worker_sigterm_raises_once(fresh_stop):
    """The clean-up it starts is not cut short by a second one."""
    with pytest.raises(SystemExit) as raised:
        parallel._stop_worker(signal.SIGTERM, sys._getframe())
    assert raised.value.code == 143
    parallel._stop_worker(signal.SIGTERM, sys._getframe())      # the second: nothing


# A SIGTERM that comes while a worker runs a finaliser (here a __del__; in the chaos campaign,
# logging's at-fork callback as the worker started its implementation). The process sends it
# to itself inside the __del__, so that it certainly arrives there; then it waits (at most
# 20 s: only if the SIGTERM was lost) for the retry.
FINALISER = """
import os, signal, sys, time
from sharespec import parallel
parallel.install_stop_handlers()
class Finalised:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))               # the handler runs here, inside the __del__
try:
    Finalised()
    for _ in range(2000):
        time.sleep(0.01)
except SystemExit as e:
    print("stopped", e.code)
    raise
print("the SIGTERM was lost")
"""


def test_worker_sigterm_inside_a_finaliser_is_raised_again_after_it():
    """Raised in a __del__, SystemExit is printed as "Exception ignored in ..." with a
    traceback, and the worker goes on: it is raised again once the finaliser is over."""
    done = subprocess.run([sys.executable, "-c", FINALISER], capture_output=True, text=True,
                          timeout=120)
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == "stopped 143\n" and done.returncode == 143, done.stdout + done.stderr
