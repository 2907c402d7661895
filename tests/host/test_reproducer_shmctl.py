"""The standalone reproducer (generators/reproducer_template.py) performs the shmctl commands
(SHM_LOCK/SHM_UNLOCK, SHM_STAT/SHM_STAT_ANY by index, IPC_INFO/SHM_INFO, an invalid command)
and reports the stat's lock bit, cpid and lpid as the bundled implementation does: the built-in
cases that pin them reproduce with exit status 0."""
from __future__ import annotations

import subprocess

import pytest

from sharespec.generators.reproducer import reproducer_source
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["c09-shm-lock-keeps-contents", "shmctl-cpid-lpid",
                                  "shmctl-shm-stat-index", "shmctl-info-invalid"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    script = tmp_path / "repro.py"
    script.write_text(reproducer_source(CASES[name]))
    run = subprocess.run(["python3", "-S", str(script)], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
