"""sharespec explain and the pictures a failing run writes."""
import shutil
import subprocess
import sys

import pytest

from sharespec.cli import main

SMALL = """case small-wipe
profile linux
rules R41
origin handwritten

T0: M0 = mmap(anon, private, rw, 4096)
T0: write(M0, 1)
T0: madvise(M0, 4096, wipeonfork)
T0: T1 = fork()
T1: read(M0)
"""


def test_dot_marks_the_page_of_the_step(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["explain", "r41-wipeonfork", "--step", "6", "--out", str(out)]) == 0
    dot = out.read_text()
    assert "cluster_before" in dot and "cluster_expected" in dot
    assert '"before_page_1_0" [label="P1:0", shape=box, color=red' in dot
    assert "expected 0" in dot


def test_svg_needs_graphviz(tmp_path, capsys):
    out = tmp_path / "g.svg"
    status = main(["explain", "r41-wipeonfork", "--out", str(out)])
    if shutil.which("dot") is None:
        assert status == 2 and not out.exists()
        assert "Graphviz" in capsys.readouterr().err
    else:
        assert status == 0 and out.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_bad_usage_exits_2(tmp_path):
    assert main(["explain", "r41-wipeonfork", "--out", str(tmp_path / "g.txt")]) == 2
    assert main(["explain", "r41-wipeonfork", "--step", "99", "--out", str(tmp_path / "g.dot")]) == 2


def test_a_failing_run_writes_pictures_and_a_diagnosis(tmp_path):
    case = tmp_path / "small-wipe.case"
    case.write_text(SMALL)
    out = tmp_path / "failures"
    done = subprocess.run([sys.executable, "-m", "sharespec", "run", "--case", str(case),
                           "--impl", "mutant:wipeonfork-ignored", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "shrunk 5 -> " in done.stdout and "behaves like wipeonfork-ignored" in done.stdout
    dot = (out / "small-wipe.dot").read_text()
    assert "observed 1 (NOT ALLOWED)" in dot and "color=red" in dot
    # explain reads the observation written beside the shrunk case
    picture = tmp_path / "again.dot"
    assert main(["explain", str(out / "small-wipe.case"), "--out", str(picture)]) == 0
    assert "NOT ALLOWED" in picture.read_text()
