"""The standalone reproducer (generators/reproducer_template.py) performs mremap to a chosen
place, MREMAP_DONTUNMAP (R44, C01), the protections w, x, rx (R33) and the maps observation
(R30) on this host's kernel as
the bundled implementation does: the built-in cases that pin them reproduce with exit status 0."""
from __future__ import annotations

import pytest

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r44-mremap-fixed-over-mapping", "r44-mremap-fixed-errors",
                                  "r44-mremap-dontunmap-private", "r44-mremap-dontunmap-shared",
                                  "r33-write-only-and-exec", "r30-protections-split-merge",
                                  "r30-maps-records", "r30-fork-anon-vma-apart",
                                  "r30-wipeonfork-child-no-anon-vma",
                                  "r30-anon-vma-per-first-write"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
