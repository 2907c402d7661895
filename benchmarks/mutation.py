"""The mutation score: how many deliberately broken implementations each source of cases kills.

    python benchmarks/mutation.py [--sources default,exhaustive,random,hypothesis,z3-coverage,distinguish]
                                  [--limit N] [--no-shrink] [--mutants a,b,...] [--timeout S]

For every source that exists and every mutant (sharespec/mutants), the cases of the source run
in order against the mutant until the first FAIL (a kill). Printed per source: mutants killed
out of the total, and per mutant the cases run and seconds until the kill, and the length of
the shrunk counterexample (shrunk against the same mutant, kit.shrink_result). A source that
does not exist yet (an absent generator module) is reported as such. The goal: the default
suite kills every mutant, each with a counterexample of a few steps.

--timeout is the seconds a case may take (default 3: a case takes milliseconds, and a
mutant's bug can make one hang: threads-as-processes waits forever for a "thread" that
faulted in its own process, and shrinking meets several such candidates).
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def source_default(limit):
    from sharespec.suite import default_suite
    return list(default_suite(seed=0))


def source_exhaustive(limit):
    from sharespec.generators.exhaustive import exhaustive_cases
    from sharespec.model.scope import SMALL
    return list(itertools.islice(exhaustive_cases(SMALL), limit))


def source_random(limit):
    from sharespec.generators.random_programs import random_cases
    return list(random_cases(1, limit))


def source_hypothesis(limit):
    from hypothesis.errors import NonInteractiveExampleWarning
    from sharespec.generators.strategies import cases
    strategy = cases()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        return [strategy.example() for _ in range(limit)]


def source_z3_coverage(limit):
    from sharespec.generators.z3_coverage import z3_corpus
    return list(itertools.islice(z3_corpus(4), limit))


def source_distinguish(limit):
    """For every named variant, the shortest program telling it apart from linux."""
    from sharespec.generators.distinguish import distinction_case, distinguish
    from sharespec.model.variants import variants
    out = []
    for v in variants():
        search = distinguish("linux", f"linux+{v.name}", bound=6, max_nodes=20000)
        found = getattr(search, "found", None) or getattr(search, "distinctions", None)
        for d in (found if isinstance(found, (list, tuple)) else [found] if found else []):
            out.append(distinction_case(d, name=f"distinguish-{v.name}"))
    return out[:limit]


SOURCES = {"default": source_default, "exhaustive": source_exhaustive, "random": source_random,
           "hypothesis": source_hypothesis, "z3-coverage": source_z3_coverage,
           "distinguish": source_distinguish}


def hunt(mutant, cases, shrink, timeout=3.0):
    """(cases run, seconds, shrunk length or None) until the first FAIL; None if it survives."""
    from sharespec.kit import CommandSession, shrink_result
    from sharespec.runner import resolve_impl
    session = CommandSession(resolve_impl(f"mutant:{mutant}", timeout), "linux", timeout)
    start = time.monotonic()
    try:
        for count, case in enumerate(cases, 1):
            result = session.run(case)
            if result.verdict == "FAIL":
                seconds = time.monotonic() - start
                length = None
                if shrink:
                    small, _ = shrink_result(f"mutant:{mutant}", result, "linux", timeout)
                    length = len(small.steps)
                return count, seconds, length, result.case.name
    finally:
        session.close()
    return None


def main(argv=None) -> int:
    from sharespec.mutants import MUTANTS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--limit", type=int, default=200, help="cases per generated source")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--mutants", default=",".join(sorted(MUTANTS)))
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per case")
    args = parser.parse_args(argv)
    mutants = [m for m in args.mutants.split(",") if m]
    unknown = [m for m in mutants if m not in MUTANTS]
    if unknown:
        print(f"mutation.py: unknown mutants: {', '.join(unknown)}", file=sys.stderr)
        return 2
    summary = []
    for name in args.sources.split(","):
        if name not in SOURCES:
            print(f"mutation.py: unknown source {name!r} (known: {', '.join(SOURCES)})",
                  file=sys.stderr)
            return 2
        t0 = time.monotonic()
        try:
            cases = SOURCES[name](args.limit)
        except ImportError as e:
            print(f"\n== {name}: not available ({e})")
            summary.append((name, None, None))
            continue
        print(f"\n== {name}: {len(cases)} cases (made in {time.monotonic() - t0:.1f} s)")
        print(f"{'mutant':<28} {'killed':>6} {'cases':>6} {'seconds':>8} {'shrunk':>6}  by")
        kills = []
        for mutant in mutants:
            got = hunt(mutant, cases, not args.no_shrink, args.timeout)
            if got is None:
                print(f"{mutant:<28} {'no':>6} {len(cases):>6} {'-':>8} {'-':>6}  SURVIVED")
                continue
            count, seconds, length, by = got
            kills.append(got)
            print(f"{mutant:<28} {'yes':>6} {count:>6} {seconds:>8.2f} "
                  f"{'-' if length is None else length:>6}  {by}")
        lengths = [k[2] for k in kills if k[2] is not None]
        print(f"{name}: {len(kills)}/{len(mutants)} mutants killed"
              + (f"; median cases to kill {statistics.median(k[0] for k in kills):g}, median "
                 f"seconds {statistics.median(k[1] for k in kills):.2f}" if kills else "")
              + (f"; shrunk length median {statistics.median(lengths):g}, max {max(lengths)}"
                 if lengths else ""))
        summary.append((name, len(kills), len(mutants)))
    print("\n== mutation score")
    for name, killed, total in summary:
        print(f"{name:<12} " + ("not available" if killed is None else
                                f"{killed}/{total} ({100 * killed / total:.0f}%)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
