"""The standalone reproducer (generators/reproducer_template.py) passes flags with neither
MAP_SHARED nor MAP_PRIVATE as the bundled implementation does: the built-in case that pins
them (model/map_type.py, C01) reproduces on this host with exit status 0."""
from __future__ import annotations

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


def test_C01_the_reproducer_agrees_with_the_kernel_on_neither(tmp_path):
    assert_reproducer_agrees(CASES["c01-mmap-neither-shared-nor-private"], tmp_path)
