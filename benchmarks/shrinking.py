"""What shrinking costs, and what trying candidates on several implementations at once gains.

    python benchmarks/shrinking.py [--rounds N] [--widths 1,2] [--fresh]

For a few mutants (sharespec/mutants) and the built-in case that kills each, the failure is
shrunk as ``sharespec run`` shrinks it (sharespec/failures.py: SameFailure over an
ImplementationPool of WIDTH implementations kept running), with each width in turn, ROUNDS
times (alternately, so that the load of other programs falls on all alike). Printed per shrink:
seconds, runs, the steps before and after; then the median seconds per width. The shrunk case
does not depend on the width (the first failing candidate in order is always the one taken),
so only time and wasted runs differ; the script checks that the cases are the same.

``--fresh`` also times the way shrinking ran before: a new implementation process per run
(generators/shrink.py fails_the_same_way), once, to show what the kept-running pool saves.
The machine is usually shared: read the figures as medians, and compare widths in one run.
"""
from __future__ import annotations

import argparse
import statistics
import time

from sharespec.diagnosis import diagnose_failure
from sharespec.generators.shrink import (SameFailure, fails_the_same_way, failure_fingerprint,
                                         shrink)
from sharespec.implementation_pool import ImplementationPool
from sharespec.runner import resolve_impl, run_cases
from sharespec.suite import builtin_cases

SUBJECTS = (("munmap-first-page-only", "r26-shmat-unaligned"),
            ("shared-mapped-private", "r03-ftruncate-zero-shm"),
            ("wipeonfork-ignored", "r41-wipeonfork"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--widths", default="1,2")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    cases = {c.name: c for c in builtin_cases()}
    for mutant, name in SUBJECTS:
        impl = resolve_impl(f"mutant:{mutant}")
        case = cases[name]
        (failed,) = run_cases([case], impl=impl)
        assert failed.verdict == "FAIL", (mutant, name, failed.verdict)
        fingerprint = failure_fingerprint(failed, diagnose_failure(failed).names)
        seconds: dict = {w: [] for w in widths}
        shrunk = set()
        for _ in range(args.rounds):
            for width in widths:
                with ImplementationPool(impl, "linux", 10.0, width) as pool:
                    pool.run([case] * width)       # started: time the shrink, not the start
                    stats: dict = {}
                    t0 = time.monotonic()
                    small = shrink(case, SameFailure(fingerprint, pool.run, width), stats)
                    seconds[width].append(time.monotonic() - t0)
                shrunk.add(small.steps)
                print(f"{mutant} {name} width {width}: {seconds[width][-1]:.2f} s, "
                      f"{stats['tries']} runs, {len(case.steps)} -> {len(small.steps)} steps",
                      flush=True)
        assert len(shrunk) == 1, "the shrunk case depends on the width"
        medians = ", ".join(f"width {w}: {statistics.median(s):.2f} s" for w, s in seconds.items())
        print(f"{mutant} {name} median: {medians}")
        if args.fresh:
            stats = {}
            t0 = time.monotonic()
            shrink(case, fails_the_same_way(failed, impl, variants=fingerprint.variants), stats)
            print(f"{mutant} {name} a fresh implementation per run: "
                  f"{time.monotonic() - t0:.2f} s, {stats['tries']} runs")


if __name__ == "__main__":
    main()
