"""The standalone reproducer (generators/reproducer_template.py) performs the seals, dup,
reopen through /proc/self/fd, write-only opens, fallocate, fstat and memfd_create's invalid
arguments on this host's kernel as the bundled implementation does: the built-in cases that
pin them (R47, R39, C01) reproduce with exit status 0."""
from __future__ import annotations

import subprocess

import pytest

from sharespec.generators.reproducer import reproducer_source
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r47-memfd-seals-add-and-get", "r47-memfd-without-sealing",
                                  "r47-memfd-seal-shrink-grow", "r47-memfd-seal-future-write",
                                  "r47-memfd-seals-shared-by-descriptors",
                                  "r39-fallocate-punch-hole", "c01-open-write-only",
                                  "c01-memfd-create-arguments"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    script = tmp_path / "repro.py"
    script.write_text(reproducer_source(CASES[name]))
    run = subprocess.run(["python3", "-S", str(script)], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
