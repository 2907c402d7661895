"""The standalone reproducer (generators/reproducer_template.py) runs a case that observes the
IPC namespace's figures in an IPC namespace of its own, and reports SHM_INFO's counts, the
indexes SHM_STAT_ANY answers and /proc/sysvipc/shm's sums as the bundled implementation does:
the built-in cases that pin them reproduce with exit status 0."""
from __future__ import annotations

import pytest

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r20-ipc-figures-shm-info", "r39-ipc-figures-resident-pages",
                                  "r17-ipc-figures-removed-attached"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
