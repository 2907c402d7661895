"""The standalone reproducer (generators/reproducer_template.py) passes MFD_HUGETLB,
SHM_HUGETLB and the huge page size flags as the bundled implementation does: the built-in
cases that pin huge-page objects (model/hugepages.py, C01) reproduce on this host with exit
status 0 where its huge page pools are empty, as the model assumes."""
from __future__ import annotations


import pytest

from sharespec.suite import builtin_cases
from hugepage_pools import pools_empty
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}


@pytest.mark.skipif(not pools_empty(), reason="this host has huge pages to give")
@pytest.mark.parametrize("name", ["c01-hugetlb-memfd-sizes", "c01-hugetlb-memfd-io",
                                  "c01-hugetlb-shmget"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
