"""Figures for the z3 side: proofs, the coverage corpus, and how they grow with the bound.

    python benchmarks/z3_figures.py [--bounds 4,6,8,10,12] [--profile linux] [--repeat 1]
                                    [--objects 2]

Prints, for the default prove scope (processes=3, threads=3, mappings=2, pages=2, segments=2,
objects=2; ``--objects 0`` leaves files, memfds and POSIX shm out, for comparison):
- per property: seconds to prove it (induction obligations + the witness search at bound 6);
  the lemmas; all proofs together (goal: under 2 minutes);
- per bound K: Python-side construction of the K-step unrolling (building the z3 terms) and
  the time to hand them to the solver, separately; the bounded cross-check at K; the whole
  coverage corpus at K (goal: under 60 s) with goals reached / proved unreachable (by induction
  + by bounded unsat) / unknown, and where the corpus time goes: Python construction (unrolling
  and goal literals), the induction pass, solver calls answered sat / unsat, decoding models;
  and the corpus's CPU seconds (the wall clock also counts what else the machine runs).
Medians over ``--repeat`` runs. ``--skip-proofs`` prints only the figures by bound.
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from sharespec.model.symbolic.core import SymbolicScope
from sharespec.model.symbolic.coverage import shortest_programs
from sharespec.model.symbolic.induction import (PROPERTIES, bounded_check, prove_lemmas,
                                                prove_property)
from sharespec.model.symbolic.unrolling import Unrolling

SCOPE = SymbolicScope(processes=3, threads=3, mappings=2, pages=2, segments=2, objects=2)


CPU = {}     # the CPU seconds of the last median_of, by what it measured


def median_of(fn, repeat, what=None):
    """The median wall-clock seconds of ``fn`` over ``repeat`` runs, and its last result; the
    median CPU seconds of this process go to CPU[what] (other engineers' jobs on the machine
    stretch the wall clock, not the CPU time: the two side by side show how much)."""
    times, cpu, last = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        last = fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    CPU[what] = statistics.median(cpu)
    return statistics.median(times), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bounds", default="4,6,8,10,12")
    parser.add_argument("--profile", default="linux")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-corpus-above", type=int, default=12,
                        help="do not generate the corpus for bounds above this")
    parser.add_argument("--objects", type=int, default=SCOPE.objects,
                        help="descriptors (and backing objects) in the scope")
    parser.add_argument("--skip-proofs", action="store_true", help="only the figures by bound")
    args = parser.parse_args()
    bounds = [int(b) for b in args.bounds.split(",")]
    scope = replace(SCOPE, objects=args.objects)
    print(f"scope {scope}, profile {args.profile}")
    if not args.skip_proofs:
        proofs(scope, args)
    by_bound(scope, args, bounds)


def proofs(scope, args) -> None:
    print("\nproofs (programs of every length, by induction; witness search to 6 steps)")
    total = total_cpu = 0.0
    t, lem = median_of(lambda: prove_lemmas(scope, args.profile), args.repeat, "proof")
    total += t
    total_cpu += CPU["proof"]
    print(f"  {'lemmas':34} {t:7.2f} s  {lem.status}")
    for prop in PROPERTIES:
        t, report = median_of(lambda: prove_property(prop, scope, args.profile, 6), args.repeat,
                              "proof")
        total += t
        total_cpu += CPU["proof"]
        print(f"  {prop.name:34} {t:7.2f} s  {report.status}")
        if report.status not in ("proved", "not applicable"):
            for o in report.outcomes:
                if o.status != "proved":
                    print(f"      {o.status}: {o.what}")
    print(f"  {'all proofs together':34} {total:7.2f} s  (goal < 120 s; CPU {total_cpu:.2f} s)")


def by_bound(scope, args, bounds) -> None:
    print("\nby bound K: construction (Python terms / solver.add), bounded cross-check, corpus")
    print(f"  {'K':>3} {'terms s':>8} {'add s':>7} {'bmc s':>7} {'corpus s':>9}  goals reached/unreachable"
          f"(induction+bounded)/unknown; corpus split: build / induction / sat / unsat / decode s, "
          f"calls; corpus CPU s")
    for k in bounds:
        cons = [Unrolling(scope.with_steps(k), args.profile) for _ in range(args.repeat)]
        terms = statistics.median(u.construct_seconds for u in cons)
        add = statistics.median(u.build_seconds - u.construct_seconds for u in cons)
        t_bmc, _ = median_of(lambda: bounded_check(scope, args.profile, k), args.repeat)
        if k <= args.skip_corpus_above:
            def corpus():
                stats = {}
                results = list(shortest_programs(scope.with_steps(k), args.profile, k, stats=stats))
                return results, stats
            t_corpus, (results, stats) = median_of(corpus, args.repeat, "corpus")
            statuses = [r.status for r in results]
            induction = sum(r.how == "induction" for r in results)
            counts = (f"{statuses.count('reached')}/{statuses.count('unreachable')}"
                      f"({induction}+{statuses.count('unreachable') - induction})/{statuses.count('unknown')}")
            split = " / ".join(f"{stats[n]:.2f}" for n in ("build", "induction", "solve_sat",
                                                            "solve_unsat", "decode"))
            print(f"  {k:>3} {terms:8.2f} {add:7.2f} {t_bmc:7.2f} {t_corpus:9.2f}  {counts}; "
                  f"{split}, {stats['calls']}; {CPU['corpus']:.2f}")
        else:
            print(f"  {k:>3} {terms:8.2f} {add:7.2f} {t_bmc:7.2f} {'-':>9}")


if __name__ == "__main__":
    main()
