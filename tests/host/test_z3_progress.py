"""``generate --strategy z3`` (and the rebuild of the suite's z3 corpus) says what it does: a
plain line per phase, a bar on a terminal, nothing with -q; and a Ctrl-C stops it at once
(z3 would otherwise catch SIGINT during a check and answer "unknown")."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

from sharespec.generators.z3_coverage import z3_corpus
from sharespec.generators.z3_progress import CoverageProgress


def test_plain_lines_name_every_phase():
    out = io.StringIO()
    cases = list(z3_corpus(2, progress=CoverageProgress(out, "z3", tty=False)))
    lines = out.getvalue().splitlines()
    assert cases and "\r" not in out.getvalue()
    goals = sum(not c.name.startswith(("z3-observed-", "z3-widened-")) for c in cases)
    for phase in ("encoding 2 steps", "shortest programs of 1 step", "shortest programs of 2 steps",
                  f"expected results of {goals} programs",
                  f"effects observed and arguments widened of {goals} programs",
                  f"{len(cases)} cases from"):
        assert any(phase in line for line in lines), (phase, lines)
    assert all(line.startswith("z3: ") for line in lines)


def test_a_terminal_gets_one_bar_redrawn_and_cleared():
    out = io.StringIO()
    progress = CoverageProgress(out, "z3", tty=True)
    list(z3_corpus(1, progress=progress))
    text = out.getvalue()
    assert "\r" in text and "z3 [" in text and "]" in text
    assert text.count("\n") == 1 and text.splitlines()[-1].endswith(" s")   # only the last line


def generate(tmp_path, *options):
    return subprocess.Popen([sys.executable, "-m", "sharespec", "generate", "--strategy", "z3",
                             "--out", str(tmp_path / "corpus"), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_generate_prints_progress_on_stderr_unless_quiet(tmp_path):
    proc = generate(tmp_path, "--bound", "1")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "wrote" in stdout
    assert "z3 coverage (linux, 1 step): shortest programs of 1 step" in stderr, stderr
    proc = generate(tmp_path, "--bound", "1", "-q")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "wrote" in stdout and stderr == ""


def test_ctrl_c_during_the_z3_search_stops_generate(tmp_path):
    """Sent once stderr says the search reached 3 steps (the longest part), never on time."""
    proc = generate(tmp_path, "--bound", "4")
    try:
        for line in proc.stderr:
            if "shortest programs of 3 steps" in line:
                break
        else:
            raise AssertionError("the search never reached 3 steps")
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "corpus").exists()
