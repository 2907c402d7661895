"""Run a case's standalone reproducer (generators/reproducer.py) on this host, as a user would:
a bare ``python3 -S`` with a minimal environment, in a folder of its own. Exit status 0 means
every step gave a result the case allows."""
from __future__ import annotations

import subprocess

from sharespec.generators.reproducer import reproducer_source


def assert_reproducer_agrees(case, tmp_path) -> None:
    script = tmp_path / "repro.py"
    script.write_text(reproducer_source(case))
    run = subprocess.run(["python3", "-S", str(script)], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
