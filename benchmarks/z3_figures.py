"""Figures for the z3 side: proofs, the coverage corpus, and how they grow with the bound.

    python benchmarks/z3_figures.py [--bounds 4,6,8,10,12] [--profile linux] [--repeat 1]

Prints, for the default prove scope (processes=3, threads=3, mappings=2, pages=2, segments=2):
- per property: seconds to prove it (induction obligations + the witness search at bound 6);
  the lemmas; all proofs together (goal: under 2 minutes);
- per bound K: Python-side construction of the K-step unrolling (building the z3 terms) and
  the time to hand them to the solver, separately; the bounded cross-check at K; the whole
  coverage corpus at K (goal: under 60 s) with goals reached / proved unreachable (by induction
  + by bounded unsat) / unknown, and where the corpus time goes: Python construction (unrolling
  and goal literals), the induction pass, solver calls answered sat / unsat, decoding models.
Medians over ``--repeat`` runs.
"""
from __future__ import annotations

import argparse
import statistics
import time

from sharespec.model.symbolic.core import SymbolicScope
from sharespec.model.symbolic.coverage import shortest_programs
from sharespec.model.symbolic.induction import (PROPERTIES, bounded_check, prove_lemmas,
                                                prove_property)
from sharespec.model.symbolic.unrolling import Unrolling

SCOPE = SymbolicScope(processes=3, threads=3, mappings=2, pages=2, segments=2)


def median_of(fn, repeat):
    times, last = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bounds", default="4,6,8,10,12")
    parser.add_argument("--profile", default="linux")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-corpus-above", type=int, default=12,
                        help="do not generate the corpus for bounds above this")
    args = parser.parse_args()
    bounds = [int(b) for b in args.bounds.split(",")]
    print(f"scope {SCOPE}, profile {args.profile}")

    print("\nproofs (programs of every length, by induction; witness search to 6 steps)")
    total = 0.0
    t, lem = median_of(lambda: prove_lemmas(SCOPE, args.profile), args.repeat)
    total += t
    print(f"  {'lemmas':34} {t:7.2f} s  {lem.status}")
    for prop in PROPERTIES:
        t, report = median_of(lambda: prove_property(prop, SCOPE, args.profile, 6), args.repeat)
        total += t
        print(f"  {prop.name:34} {t:7.2f} s  {report.status}")
    print(f"  {'all proofs together':34} {total:7.2f} s  (goal < 120 s)")

    print("\nby bound K: construction (Python terms / solver.add), bounded cross-check, corpus")
    print(f"  {'K':>3} {'terms s':>8} {'add s':>7} {'bmc s':>7} {'corpus s':>9}  goals reached/unreachable"
          f"(induction+bounded)/unknown; corpus split: build / induction / sat / unsat / decode s, calls")
    for k in bounds:
        cons = [Unrolling(SCOPE.with_steps(k), args.profile) for _ in range(args.repeat)]
        terms = statistics.median(u.construct_seconds for u in cons)
        add = statistics.median(u.build_seconds - u.construct_seconds for u in cons)
        t_bmc, _ = median_of(lambda: bounded_check(SCOPE, args.profile, k), args.repeat)
        if k <= args.skip_corpus_above:
            def corpus():
                stats = {}
                results = list(shortest_programs(SCOPE.with_steps(k), args.profile, k, stats=stats))
                return results, stats
            t_corpus, (results, stats) = median_of(corpus, args.repeat)
            statuses = [r.status for r in results]
            induction = sum(r.how == "induction" for r in results)
            counts = (f"{statuses.count('reached')}/{statuses.count('unreachable')}"
                      f"({induction}+{statuses.count('unreachable') - induction})/{statuses.count('unknown')}")
            split = " / ".join(f"{stats[n]:.2f}" for n in ("build", "induction", "solve_sat",
                                                            "solve_unsat", "decode"))
            print(f"  {k:>3} {terms:8.2f} {add:7.2f} {t_bmc:7.2f} {t_corpus:9.2f}  {counts}; "
                  f"{split}, {stats['calls']}")
        else:
            print(f"  {k:>3} {terms:8.2f} {add:7.2f} {t_bmc:7.2f} {'-':>9}")


if __name__ == "__main__":
    main()
