"""The standalone reproducer (generators/reproducer_template.py) performs the shmctl commands
(SHM_LOCK/SHM_UNLOCK, SHM_STAT/SHM_STAT_ANY by index, IPC_INFO/SHM_INFO, an invalid command)
and reports the stat's lock bit, cpid and lpid as the bundled implementation does: the built-in
cases that pin them reproduce with exit status 0."""
from __future__ import annotations

import pytest

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["c09-shm-lock-keeps-contents", "shmctl-cpid-lpid",
                                  "shmctl-shm-stat-index", "shmctl-info-invalid"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
