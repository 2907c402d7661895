"""The standalone reproducer (generators/reproducer_template.py) does not perform brk or a place
of the break (model/brk.py): it stops with exit status 2, naming the step, rather than guess
where a bare python3's break is."""
from __future__ import annotations

import subprocess

from sharespec.generators.reproducer import reproducer_source
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}


def test_the_reproducer_leaves_the_break_out(tmp_path):
    script = tmp_path / "repro.py"
    script.write_text(reproducer_source(CASES["r27-brk-shmat-near-the-break"]))
    run = subprocess.run(["python3", "-S", str(script)], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "step 2: brk is not performed" in run.stdout
