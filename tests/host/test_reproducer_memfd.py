"""The standalone reproducer (generators/reproducer_template.py) performs the seals, dup,
reopen through /proc/self/fd, write-only opens, fallocate, fstat and memfd_create's invalid
arguments on this host's kernel as the bundled implementation does: the built-in cases that
pin them (R47, R39, C01) reproduce with exit status 0."""
from __future__ import annotations

import pytest

from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.parametrize("name", ["r47-memfd-seals-add-and-get", "r47-memfd-without-sealing",
                                  "r47-memfd-seal-shrink-grow", "r47-memfd-seal-future-write",
                                  "r47-memfd-seals-shared-by-descriptors",
                                  "r39-fallocate-punch-hole", "c01-open-write-only",
                                  "c01-memfd-create-arguments"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
