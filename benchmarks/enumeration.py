"""The exhaustive enumeration and the shrinker, measured in one run.

1. Enumeration (generators/exhaustive.py), at bounds 4 to 8 of a scope (default: the model's
   SMALL scope with one value and one offset, so that the read/write menu does not swamp the
   other operations and bound 7 stays within minutes; --scope changes the other bounds, --full
   keeps SMALL's two values and two offsets): states explored per second with and without symmetry
   reduction, distinct states both ways, and the reduction factor (distinct states without /
   with). Each bound is measured --repeats times (median) while that stays cheap, once
   otherwise. A bound is skipped, and the table says so, when the run before it predicts more
   than --budget seconds for it (the growth of the last bound times its time): bounds grow
   by a roughly constant factor, so that is where "tractable" ends.

2. Shrinking (generators/shrink.py): a deliberately broken implementation, the bundled one
   behind a wrapper that turns every MAP_SHARED request into MAP_PRIVATE (so a child's write
   to shared memory is never seen by its parent, R10), runs --shrink-corpus random cases
   (seed --seed, programs of up to --length steps); the first --shrink failures are shrunk to
   1-minimal cases against it. Printed: per failure the length before and after, the runs of
   the implementation it took and the seconds; then the medians.

    python benchmarks/enumeration.py [--bounds 4-8] [--budget 180] [--scope NAME=N,...] [--full]
                                     [--shrink 5] [--shrink-corpus 200] [--skip-shrink]

Figures are for this machine under its current load; compare ratios measured in one run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from itertools import zip_longest
from pathlib import Path

# The broken implementation: the bundled one, with MAP_SHARED asked and MAP_PRIVATE given.
# The case is rewritten on its way in; the observation is passed back unchanged, so the runner
# judges the results of private mappings against the case that asked for shared ones.
PRIVATE_FOR_SHARED = r'''
import json, subprocess, sys
argv, env = json.loads(sys.argv[1])
real = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
for line in sys.stdin:
    case = json.loads(line)
    for step in case["steps"]:
        if step["op"] == "mmap" and step["args"].get("shared"):
            step["args"]["shared"] = False
    real.stdin.write(json.dumps(case) + "\n")
    real.stdin.flush()
    sys.stdout.write(real.stdout.readline())
    sys.stdout.flush()
real.stdin.close()
sys.exit(real.wait())
'''


def parse_bounds(text: str) -> list:
    if "-" in text:
        low, high = (int(x) for x in text.split("-", 1))
        return list(range(low, high + 1))
    return [int(x) for x in text.split(",")]


def enumeration(scope, bounds: list, budget: float, repeats: int) -> list:
    from sharespec.generators.exhaustive import explore

    rows, done = [], []
    for bound in bounds:
        if len(done) >= 2:
            growth = done[-1]["seconds_both"] / max(done[-2]["seconds_both"], 1e-6)
            predicted = done[-1]["seconds_both"] * max(growth, 1.0)
            if predicted > budget:
                rows.append({"bound": bound, "skipped": f"predicted {predicted:.0f} s > budget "
                                                        f"{budget:.0f} s (time grows x{growth:.1f} "
                                                        "per bound)"})
                break
        previous = done[-1] if done else None
        s = replace(scope, steps=bound)
        times = {True: [], False: []}
        runs = repeats if (previous is None or previous["seconds_both"] * 5 < budget / 4) else 1
        for _ in range(runs):
            for symmetry in (True, False):
                ex = explore(s, symmetry=symmetry)
                times[symmetry].append(ex.seconds)
                if symmetry:
                    with_sym = ex
                else:
                    without = ex
        t_sym, t_raw = statistics.median(times[True]), statistics.median(times[False])
        row = {"bound": bound, "runs": runs,
               "explored": with_sym.states_explored, "explored_without": without.states_explored,
               "distinct": with_sym.distinct_states, "distinct_without": without.distinct_states,
               "programs": len(with_sym.selected_programs()),
               "seconds": t_sym, "seconds_without": t_raw,
               "rate": with_sym.states_explored / t_sym, "rate_without": without.states_explored / t_raw,
               "reduction": without.distinct_states / with_sym.distinct_states,
               "seconds_both": t_sym + t_raw}
        rows.append(row)
        done.append(row)
        print(format_row(row), flush=True)
    return rows


HEADER = (f"{'bound':>5} {'explored':>9} {'distinct':>9} {'w/o sym':>9} {'reduct.':>7} "
          f"{'programs':>8} {'states/s':>9} {'w/o sym':>9} {'s':>7} {'s w/o':>7} {'runs':>4}")


def format_row(row: dict) -> str:
    if "skipped" in row:
        return f"{row['bound']:>5} skipped: {row['skipped']}"
    return (f"{row['bound']:>5} {row['explored']:>9} {row['distinct']:>9} {row['distinct_without']:>9} "
            f"{row['reduction']:>7.2f} {row['programs']:>8} {row['rate']:>9.0f} {row['rate_without']:>9.0f} "
            f"{row['seconds']:>7.2f} {row['seconds_without']:>7.2f} {row['runs']:>4}")


def shrinking(count: int, corpus_size: int, seed: int, length: int, timeout: float) -> list:
    from sharespec.generators.random_programs import random_cases
    from sharespec.generators.shrink import fails_the_same_way, shrink
    from sharespec.model.case_text import case_to_text
    from sharespec.model.scope import DEFAULT
    from sharespec.runner import bundled_impl_command, run_cases

    argv, env = bundled_impl_command()
    with tempfile.TemporaryDirectory(prefix="sharespec-bench-") as tmp:
        wrapper = Path(tmp) / "private_for_shared.py"
        wrapper.write_text(PRIVATE_FOR_SHARED)
        impl = f"{sys.executable} {wrapper} '{json.dumps([argv + ['--timeout', str(timeout)], env])}'"
        cases = list(random_cases(seed, corpus_size, replace(DEFAULT, steps=length)))
        failures = [r for r in run_cases(cases, impl=impl, timeout=timeout) if r.verdict == "FAIL"]
        # One failure of each failing operation first (round robin), so that the sample shows
        # the different ways the bug surfaces rather than the commonest one five times.
        by_op: dict = {}
        for r in failures:
            by_op.setdefault(r.case.steps[r.step].op.OP, []).append(r)
        ordered = [r for group in zip_longest(*by_op.values()) for r in group if r is not None]
        print(f"the broken implementation fails {len(failures)} of {len(cases)} random cases "
              f"(seed {seed}, up to {length} steps), at "
              + ", ".join(f"{op} x{len(rs)}" for op, rs in by_op.items())
              + f"; shrinking {min(count, len(failures))}", flush=True)
        rows, smallest = [], None
        for result in ordered[:count]:
            stats: dict = {}
            t0 = time.perf_counter()
            small = shrink(result.case, fails_the_same_way(result, impl, "linux", timeout), stats)
            seconds = time.perf_counter() - t0
            row = {"case": result.case.name, "before": len(result.case.steps),
                   "after": len(small.steps), "runs": stats["tries"], "seconds": seconds}
            rows.append(row)
            print(f"  {row['case']:<16} {row['before']:>3} -> {row['after']:>2} steps, "
                  f"{row['runs']:>4} runs, {seconds:6.1f} s: "
                  + "; ".join(case_to_text(small).strip().splitlines()[-len(small.steps):]
                              ).replace("  ", ""), flush=True)
            if smallest is None or len(small.steps) < len(smallest.steps):
                smallest = small
        if smallest is not None:
            print("  the smallest, as a case:")
            print("    " + case_to_text(smallest).strip().replace("\n", "\n    "))
        return rows


def main(argv=None) -> int:
    from sharespec.model.scope import SMALL, parse_scope

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bounds", default="4-8", help="bounds to measure (default 4-8)")
    p.add_argument("--budget", type=float, default=180.0,
                   help="seconds one bound may take, both ways (default 180)")
    p.add_argument("--full", action="store_true", help="SMALL's values and offsets (two each)")
    p.add_argument("--repeats", type=int, default=3, help="runs per cheap bound (median)")
    p.add_argument("--scope", default=None, help="scope bounds, e.g. processes=3 (default SMALL)")
    p.add_argument("--shrink", type=int, default=5, help="failures to shrink (default 5)")
    p.add_argument("--shrink-corpus", type=int, default=200, help="random cases run (default 200)")
    p.add_argument("--length", type=int, default=12, help="steps of those cases (default 12)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--skip-shrink", action="store_true")
    p.add_argument("--skip-enumeration", action="store_true")
    args = p.parse_args(argv)

    scope = SMALL if args.full else replace(SMALL, values=(1,), offsets=(0,))
    if args.scope:
        named = {x.split("=", 1)[0].strip() for x in args.scope.split(",") if "=" in x}
        parsed = parse_scope(args.scope)
        scope = replace(scope, **{n: getattr(parsed, n) for n in named})
    print(f"sharespec enumeration benchmark, pid {os.getpid()}, load {os.getloadavg()[0]:.2f}")
    if not args.skip_enumeration:
        print(f"scope: {scope} (steps = the bound)")
        print(HEADER, flush=True)
        rows = enumeration(scope, parse_bounds(args.bounds), args.budget, args.repeats)
        for row in rows:
            if "skipped" in row:
                print(format_row(row))
        done = [r for r in rows if "skipped" not in r]
        if done:
            print(f"symmetry reduction: x{statistics.median(r['reduction'] for r in done):.2f} "
                  f"fewer distinct states (median over bounds {done[0]['bound']}-{done[-1]['bound']}); "
                  f"speed-up of the whole exploration x"
                  f"{statistics.median(r['seconds_without'] / r['seconds'] for r in done):.2f}")
    if not args.skip_shrink:
        rows = shrinking(args.shrink, args.shrink_corpus, args.seed, args.length, args.timeout)
        if rows:
            print(f"shrinking: median {statistics.median(r['before'] for r in rows)} -> "
                  f"{statistics.median(r['after'] for r in rows)} steps, "
                  f"{statistics.median(r['runs'] for r in rows)} runs, "
                  f"{statistics.median(r['seconds'] for r in rows):.1f} s per failure")
        else:
            print("shrinking: the broken implementation failed no case (nothing measured)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
