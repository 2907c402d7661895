"""How long ``distinguish linux linux+VARIANT`` takes, per variant, as the bound grows.

    /tmp/venv/bin/python benchmarks/distinguish.py            # K = 4, 6, 8, 10, 12
    /tmp/venv/bin/python benchmarks/distinguish.py 4 6 8      # chosen bounds

Goal (issue 3): under 2 s median at K = 8 on a 2-core machine. A search stops at the first
(shortest) distinguishing program, so once K exceeds a variant's shortest program its time
stops growing; a variant not distinguished within K counts with the time of the full search.
Also times ``distinguish linux linux`` (nothing to find: the whole space up to K) and the
linux/posix listing at small K, to show how the full space grows.
"""
from __future__ import annotations

import statistics
import sys
import time

from sharespec.generators.distinguish import distinguish, where_they_part
from sharespec.model.profiles import LINUX
from sharespec.model.variants import variant_profile, variants

# Searching the whole space (no hit to stop at) grows ~2.5x per step: keep it to small K.
FULL_SEARCH_BOUNDS = (4, 5, 6)


def main(argv) -> int:
    bounds = [int(a) for a in argv] or [4, 6, 8, 10, 12]
    names = [v.name for v in variants()]
    times = {k: {} for k in bounds}
    lengths = {k: {} for k in bounds}
    for k in bounds:
        for name in names:
            t0 = time.perf_counter()
            search = distinguish(LINUX, variant_profile(f"linux+{name}"), k)
            times[k][name] = time.perf_counter() - t0
            lengths[k][name] = len(search.found.program) if search.found else None
    width = max(map(len, names))
    print(f"{'variant':<{width}}  len  " + "  ".join(f"K={k:<5}" for k in bounds))
    for name in names:
        shortest = next((lengths[k][name] for k in reversed(bounds) if lengths[k][name]), None)
        print(f"{name:<{width}}  {shortest or '-':>3}  "
              + "  ".join(f"{times[k][name]:7.2f}" for k in bounds))
    print()
    print(f"{'':<{width}}       " + "  ".join(f"K={k:<5}" for k in bounds))
    for label, fn in (("median (s)", statistics.median), ("worst (s)", max)):
        print(f"{label:<{width}}       " + "  ".join(f"{fn(times[k].values()):7.2f}" for k in bounds))
    found = [sum(1 for n in names if lengths[k][n]) for k in bounds]
    print(f"{'distinguished':<{width}}       " + "  ".join(f"{f:>3}/{len(names):<3}" for f in found))
    print()
    for k in FULL_SEARCH_BOUNDS:
        t0 = time.perf_counter()
        s = distinguish(LINUX, LINUX, k)
        t1 = time.perf_counter()
        _, groups = where_they_part("linux", "posix", k)
        t2 = time.perf_counter()
        print(f"K={k}: linux vs linux (whole space) {t1 - t0:6.2f} s, {s.nodes} nodes; "
              f"linux vs posix listing {t2 - t1:6.2f} s, {len(groups)} kinds of difference")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
