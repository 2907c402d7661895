"""The standalone reproducer (generators/reproducer_template.py) passes MAP_GROWSDOWN as the
bundled implementation does: the built-in cases that pin it (model/growsdown.py, R50)
reproduce on this host with exit status 0."""
from __future__ import annotations

import pytest

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r50-growsdown-grows", "r50-growsdown-guard-gap"])
def test_R50_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
