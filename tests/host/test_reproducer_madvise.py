"""The standalone reproducer (generators/reproducer_template.py) performs the madvise hints,
guard regions (R48, R49) and posix_madvise hints on this host's kernel as the bundled
implementation does: the built-in cases that pin them reproduce with exit status 0."""
from __future__ import annotations

import pytest

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r48-hints-split-attach", "r48-posix-madvise-hints",
                                  "r49-guard-private-anon", "r49-guard-shared-keeps",
                                  "c01-madvise-invalid-advice"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
