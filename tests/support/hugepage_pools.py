"""Whether this host's huge page pools are empty, as model/hugepages.py assumes (the bundled
implementation's feature ``hugepages_empty``): the huge-page tests expect PASS only then."""
from __future__ import annotations

import os

POOLS = "/sys/kernel/mm/hugepages"


def pools_empty() -> bool:
    try:
        return all(int(open(os.path.join(POOLS, size, name)).read()) == 0
                   for size in os.listdir(POOLS)
                   for name in ("free_hugepages", "nr_overcommit_hugepages"))
    except OSError:
        return False
