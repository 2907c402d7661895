"""The mutation score: how many deliberately broken implementations each source of cases kills.

    python benchmarks/mutation.py [--sources default,builtin,exhaustive-3,exhaustive-4,random,
                                             z3,hypothesis,distinguish]
                                  [--mutants a,b,...] [--skip-mutants a,b,...] [-j N]
                                  [--no-shrink] [--random N] [--hypothesis N] [--z3-bound K]
                                  [--limit N] [--timeout S] [--json FILE]

For every source and every mutant (sharespec/mutants), the source's cases run in order against
the mutant until the first FAIL that the real (bundled) implementation passes (a kill; a case
that fails the real implementation too is printed at the end of its source, in the text form,
and kills nothing). Printed per source: the mutants killed out of all of
them; per mutant the cases run and the seconds until the kill, the killing case, and the length
of the shrunk counterexample (shrunk against the same mutant, kit.shrink_result; ``-`` with
--no-shrink); then the survivors, which name what the source does not exercise. The closing
table gives every source's score, the median and worst time to kill and the median and
longest shrunk counterexample. A source that cannot be made (an absent generator, z3 or
Hypothesis missing) is reported as such and counts as no figure, never as a kill.

Sources and their default budgets:
  default       the default suite: built-in cases, 40 random cases (seed 0), the z3 corpus to 4
                steps, the witness of every reachable coverage cell with its effect observed
  builtin       the built-in cases alone (sharespec/cases/)
  exhaustive-3  every program of the SMALL scope up to 3 steps (exhaustive-4: up to 4)
  random        --random random programs (default 1000, seed 1) of the DEFAULT scope
  z3            the z3 coverage corpus up to --z3-bound steps (default 4): the goals' shortest
                programs, then each with its effect observed and the programs the action menu
                widens them to (sharespec/coverage_observations.py)
  hypothesis    the first --hypothesis distinct cases (default 1000, the random source's budget)
                of one @given(cases()) run: generate phase only, no database. Hypothesis draws
                the same program more than once (about 600 distinct in 1000 examples), so the
                run takes up to EXAMPLES_PER_CASE examples per case wanted
  distinguish   for every named variant, the shortest program telling it apart from linux

-j N hunts N mutants at once (each in its own implementation process; 2 on a 2-core machine).
--timeout is the seconds a case may take (default 3: a case takes milliseconds, and a mutant's
bug can make one hang: threads-as-processes waits forever for a "thread" that faulted in its
own process, and shrinking meets several such candidates). --limit caps every source's cases
(for a quick look; the figures of a capped source are not its default budget's).

Figures of a run are in the closing note of issue 14; to reproduce the default suite's:
    python benchmarks/mutation.py --sources default -j 2
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import replace
import itertools
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# --- the sources ------------------------------------------------------------------------------

def source_default(args):
    from sharespec.suite import default_suite
    return list(default_suite(seed=0))


def source_builtin(args):
    from sharespec.suite import builtin_cases
    return list(builtin_cases())


def _exhaustive(steps):
    def make(args):
        from dataclasses import replace
        from sharespec.generators.exhaustive import exhaustive_cases
        from sharespec.model.scope import SMALL
        return list(exhaustive_cases(replace(SMALL, steps=steps)))
    make.__doc__ = f"every program of the SMALL scope up to {steps} steps"
    return make


def source_random(args):
    from dataclasses import replace
    from sharespec.generators.random_programs import random_cases
    from sharespec.generators.walk import CASES_SCOPE
    scope = (CASES_SCOPE if args.random_steps is None
             else replace(CASES_SCOPE, steps=args.random_steps))
    return list(random_cases(args.seed, args.random, scope))


class _Enough(Exception):
    """Raised from a @given test once it has drawn the cases wanted."""


EXAMPLES_PER_CASE = 3   # Hypothesis examples allowed per distinct case wanted


def source_hypothesis(args):
    """The first --hypothesis distinct cases one @given(cases()) run draws (Hypothesis's
    generate phase, as a test would run it; no database), each program once."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from sharespec.generators.strategies import cases
    drawn: dict = {}

    @settings(max_examples=EXAMPLES_PER_CASE * args.hypothesis, database=None, deadline=None,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet, report_multiple_bugs=False)
    @given(cases())
    def draw(case):
        drawn.setdefault(case.steps, case)
        if len(drawn) >= args.hypothesis:
            raise _Enough
    try:
        draw()
    except _Enough:
        pass
    return [replace(c, name=f"hypothesis-{i}") for i, c in enumerate(drawn.values())]


def source_z3(args):
    from sharespec.generators.z3_coverage import z3_corpus
    return list(z3_corpus(args.z3_bound))


def source_distinguish(args):
    """For every named variant, the shortest program telling it apart from linux."""
    from sharespec.generators.distinguish import distinction_case, distinguish
    from sharespec.model.variants import variants
    out = []
    for v in variants():
        search = distinguish("linux", f"linux+{v.name}", bound=6, max_nodes=20000)
        found = getattr(search, "found", None) or getattr(search, "distinctions", None)
        for d in (found if isinstance(found, (list, tuple)) else [found] if found else []):
            out.append(distinction_case(d, name=f"distinguish-{v.name}"))
    return out


SOURCES = {"default": source_default, "builtin": source_builtin,
           "exhaustive-3": _exhaustive(3), "exhaustive-4": _exhaustive(4),
           "random": source_random, "z3": source_z3, "hypothesis": source_hypothesis,
           "distinguish": source_distinguish}
ALIASES = {"z3-coverage": "z3", "exhaustive": "exhaustive-4"}


# --- the hunt -----------------------------------------------------------------------------------

@dataclasses.dataclass
class Hunt:
    mutant: str
    killed: bool
    cases: int                      # cases run (until the kill, or all of them)
    seconds: float                  # until the kill (or to run them all)
    by: Optional[str] = None        # the killing case
    shrunk: Optional[int] = None    # steps of the shrunk counterexample
    verdicts: Optional[dict] = None  # verdicts other than PASS met on the way (ERROR, ...)


class Reference:
    """The verdicts of the real (bundled) implementation, asked only for a case that fails a
    mutant: a case that fails the real implementation too kills nothing (it is a finding about
    the model, the implementation or the host), and the hunt goes on past it. Shared by the
    hunts of a source (one implementation process, behind a lock)."""

    def __init__(self, timeout: float, impl: Optional[str] = None):
        import threading
        self.impl = impl             # None: the bundled implementation (a test names another)
        self.timeout = timeout
        self.lock = threading.Lock()
        self.session = None
        self.verdicts: dict = {}     # case name -> verdict on the real implementation
        self.failing: dict = {}      # case name -> the case, for the ones that did not pass

    def passes(self, case) -> bool:
        from sharespec.kit import CommandSession
        with self.lock:
            if case.name not in self.verdicts:
                if self.session is None:
                    self.session = CommandSession(self.impl, "linux", self.timeout)
                verdict = self.session.run(case).verdict
                if verdict != "PASS":   # a flaky host result: asked once more
                    verdict = self.session.run(case).verdict
                self.verdicts[case.name] = verdict
                if verdict != "PASS":
                    self.failing[case.name] = case
            return self.verdicts[case.name] == "PASS"

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def hunt(mutant, cases, shrink, timeout=3.0, reference: Optional[Reference] = None) -> Hunt:
    """Run ``cases`` against mutant ``mutant`` until the first FAIL that the real
    implementation passes (``reference``)."""
    from sharespec.kit import CommandSession, shrink_result
    from sharespec.runner import resolve_impl
    impl = f"mutant:{mutant}"
    session = CommandSession(resolve_impl(impl, timeout), "linux", timeout)
    start = time.monotonic()
    others: dict = {}
    try:
        for count, case in enumerate(cases, 1):
            result = session.run(case)
            if result.verdict == "FAIL":
                if reference is not None and not reference.passes(case):
                    others["FAIL-on-real"] = others.get("FAIL-on-real", 0) + 1
                    continue
                seconds = time.monotonic() - start
                length = None
                if shrink:
                    small, _ = shrink_result(impl, result, "linux", timeout)
                    length = len(small.steps)
                return Hunt(mutant, True, count, seconds, result.case.name, length, others)
            if result.verdict != "PASS":
                others[result.verdict] = others.get(result.verdict, 0) + 1
    finally:
        session.close()
    return Hunt(mutant, False, len(cases), time.monotonic() - start, verdicts=others)


def _median(values, fmt):
    values = list(values)
    return fmt % statistics.median(values) if values else "-"


def _max(values, fmt):
    values = list(values)
    return fmt % max(values) if values else "-"


def run_source(name, cases, mutants, args) -> list:
    print(f"{'mutant':<38} {'killed':>6} {'cases':>6} {'seconds':>8} {'shrunk':>6}  by", flush=True)

    reference = Reference(args.timeout)

    def one(mutant):
        return hunt(mutant, cases, not args.no_shrink, args.timeout, reference)

    hunts = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for h in pool.map(one, mutants):      # in mutant order, as they finish
            hunts.append(h)
            odd = "" if not h.verdicts else "  (" + ", ".join(
                f"{n} {v}" for v, n in sorted(h.verdicts.items())) + ")"
            if h.killed:
                print(f"{h.mutant:<38} {'yes':>6} {h.cases:>6} {h.seconds:>8.2f} "
                      f"{'-' if h.shrunk is None else h.shrunk:>6}  {h.by}{odd}", flush=True)
            else:
                print(f"{h.mutant:<38} {'no':>6} {h.cases:>6} {'-':>8} {'-':>6}  SURVIVED{odd}",
                      flush=True)
    reference.close()
    if reference.failing:
        from sharespec.model.case_text import case_to_text
        print(f"{name}: {len(reference.failing)} case(s) fail the real implementation too, "
              f"and kill nothing:", flush=True)
        for case in reference.failing.values():
            print(f"--- {case.name} ({reference.verdicts[case.name]} on the real implementation)")
            print(case_to_text(case), flush=True)
    kills = [h for h in hunts if h.killed]
    survivors = [h.mutant for h in hunts if not h.killed]
    print(f"{name}: {len(kills)}/{len(hunts)} mutants killed"
          + (f"; cases to kill median {_median((h.cases for h in kills), '%g')}, "
             f"seconds to kill median {_median((h.seconds for h in kills), '%.2f')}, "
             f"max {_max((h.seconds for h in kills), '%.2f')}" if kills else "")
          + (f"; shrunk length median {_median((h.shrunk for h in kills), '%g')}, "
             f"max {_max((h.shrunk for h in kills), '%d')}"
             if any(h.shrunk is not None for h in kills) else ""))
    print(f"{name}: survivors ({len(survivors)}): {', '.join(survivors) or 'none'}", flush=True)
    return hunts


def _names(text, known, what):
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"mutation.py: unknown {what}: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return names


def main(argv=None) -> int:
    from sharespec.mutants import MUTANTS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default="default,exhaustive-3,exhaustive-4,random,z3,hypothesis")
    parser.add_argument("--mutants", default=",".join(sorted(MUTANTS)))
    parser.add_argument("--skip-mutants", default="")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="mutants hunted at once")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--random", type=int, default=1000, help="random cases (default 1000)")
    parser.add_argument("--seed", type=int, default=1,
                        help="the random source's seed (default 1): compare generators over "
                             "several, since one run's score moves by a few mutants")
    parser.add_argument("--random-steps", type=int, default=None,
                        help="steps of each random program (default: walk.CASES_SCOPE's)")
    parser.add_argument("--hypothesis", type=int, default=1000,
                        help="distinct Hypothesis cases (default 1000, as --random)")
    parser.add_argument("--z3-bound", type=int, default=4)
    parser.add_argument("--limit", type=int, default=None, help="cap on every source's cases")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per case")
    parser.add_argument("--json", metavar="FILE", help="also write every hunt as JSON to FILE")
    args = parser.parse_args(argv)
    try:
        skip = set(_names(args.skip_mutants, MUTANTS, "mutants"))
        mutants = [m for m in _names(args.mutants, MUTANTS, "mutants") if m not in skip]
        sources = [ALIASES.get(s, s) for s in args.sources.split(",") if s]
        _names(",".join(sources), SOURCES, "sources")
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    summary, records = [], {}
    for name in sources:
        t0 = time.monotonic()
        try:
            cases = SOURCES[name](args)
        except ImportError as e:
            print(f"\n== {name}: not available ({e})", flush=True)
            summary.append((name, None, []))
            continue
        if args.limit is not None:
            cases = list(itertools.islice(cases, args.limit))
        print(f"\n== {name}: {len(cases)} cases (made in {time.monotonic() - t0:.1f} s), "
              f"{len(mutants)} mutants", flush=True)
        hunts = run_source(name, cases, mutants, args)
        summary.append((name, len(cases), hunts))
        records[name] = {"cases": len(cases), "hunts": [dataclasses.asdict(h) for h in hunts]}
    print("\n== mutation score")
    print(f"{'source':<14} {'cases':>6} {'killed':>9} {'%':>5} {'s to kill (median/max)':>23} "
          f"{'shrunk (median/max)':>20}")
    for name, count, hunts in summary:
        if count is None:
            print(f"{name:<14} not available")
            continue
        kills = [h for h in hunts if h.killed]
        shrunk = [h.shrunk for h in kills if h.shrunk is not None]
        print(f"{name:<14} {count:>6} {len(kills):>4}/{len(hunts):<4} "
              f"{100 * len(kills) / max(1, len(hunts)):>5.0f} "
              f"{_median((h.seconds for h in kills), '%.2f') + ' / ' + _max((h.seconds for h in kills), '%.2f'):>23} "
              f"{(_median(shrunk, '%g') + ' / ' + _max(shrunk, '%d')) if shrunk else '-':>20}")
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
