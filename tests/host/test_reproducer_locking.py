"""The standalone reproducer (generators/reproducer_template.py) performs mlock, munlock,
msync, vmlck() and mmap's MAP_LOCKED, MAP_POPULATE, MAP_SHARED_VALIDATE and unknown flag on
this host's kernel as the bundled implementation does: the built-in cases that pin them (C03,
C08, C09, C01) reproduce with exit status 0."""
from __future__ import annotations

import pytest

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["c03-mlock-not-inherited", "c09-mlock-faults-pages-in",
                                  "c09-locked-refuses-dontneed", "c08-msync-arguments",
                                  "c01-map-shared-validate"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
