"""The standalone reproducer (generators/reproducer_template.py) performs mremap to a chosen
place, MREMAP_DONTUNMAP (R44, C01), the protections w, x, rx (R33) and the maps observation
(R30) on this host's kernel as
the bundled implementation does: the built-in cases that pin them reproduce with exit status 0."""
from __future__ import annotations

import subprocess

import pytest

from sharespec.generators.reproducer import reproducer_source
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r44-mremap-fixed-over-mapping", "r44-mremap-fixed-errors",
                                  "r44-mremap-dontunmap-private", "r44-mremap-dontunmap-shared",
                                  "r33-write-only-and-exec", "r30-protections-split-merge",
                                  "r30-maps-records"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    script = tmp_path / "repro.py"
    script.write_text(reproducer_source(CASES[name]))
    run = subprocess.run(["python3", "-S", str(script)], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
