"""The standalone reproducer (generators/reproducer_template.py) performs the madvise hints,
guard regions (R48, R49) and posix_madvise hints on this host's kernel as the bundled
implementation does: the built-in cases that pin them reproduce with exit status 0."""
from __future__ import annotations

import subprocess

import pytest

from sharespec.generators.reproducer import reproducer_source
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r48-hints-split-attach", "r48-posix-madvise-hints",
                                  "r49-guard-private-anon", "r49-guard-shared-keeps",
                                  "c01-madvise-invalid-advice"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    script = tmp_path / "repro.py"
    script.write_text(reproducer_source(CASES[name]))
    run = subprocess.run(["python3", "-S", str(script)], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
