"""The default suite: the hand-written cases, one or more per observable catalogue rule, plus
cases the model generates: random walks over the explicit semantics (from ``--seed``), the
z3 coverage corpus (the shortest program for every reachable coverage goal, up to a bound),
and a witness for every reachable coverage cell (operation x argument class x outcome kind,
sharespec/coverage.py), so that the suite hits every one, each with probes that make the
effect of its cell's step visible (sharespec/coverage_observations.py).

The z3 corpus is shipped with sharespec and rebuilt only when the model changed
(sharespec/z3_suite.py). After changing the model, rebuild the shipped files with

    python -m sharespec.suite --rebuild         # --check: exit 1 if they are not current
"""
from __future__ import annotations

import argparse
import sys
from importlib import resources
from typing import Iterator, Optional, TextIO

from sharespec.model.case import Case

GENERATED_PER_RUN = 40
Z3_BOUND = 4   # 586 goals reached in about 25 s here (objects included)


def builtin_case_files() -> list:
    folder = resources.files("sharespec") / "cases"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".case")), key=lambda f: f.name)


def builtin_cases() -> list:
    """Every hand-written case, with its allowed results checked against the model."""
    return list(iter_builtin_cases())


def iter_builtin_cases() -> Iterator[Case]:
    from sharespec.casefiles import with_expectations
    from sharespec.model.case_text import case_from_text
    for f in builtin_case_files():
        source = f"sharespec/cases/{f.name}"
        yield with_expectations(case_from_text(f.read_text(encoding="utf-8"), source), source)


def generated_cases(seed: int, count: int = GENERATED_PER_RUN, profile: str = "linux") -> Iterator[Case]:
    """The first ``count`` random cases of ``seed`` but those that exec after setuid(other): such
    a case needs a host where the unprivileged uid may execute the implementation's
    interpreter (the bundled one's ``other_exec`` feature; not so with a Python under /root),
    and the default suite is the one every host must pass. Generated corpora keep them."""
    from itertools import islice
    from sharespec.generators.random_programs import random_cases
    return islice((c for c in random_cases(seed, 4 * count, profile=profile)
                   if not execs_after_setuid(c.steps)), count)


def execs_after_setuid(steps) -> bool:
    """Some step is an exec after a setuid(other) (of any thread: conservative)."""
    from sharespec.model.ops import Exec, SetUid
    dropped = False
    for st in steps:
        dropped = dropped or (isinstance(st.op, SetUid) and st.op.uid == "other")
        if dropped and isinstance(st.op, Exec):
            return True
    return False


def z3_cases(bound: int = Z3_BOUND, profile: str = "linux", stream: Optional[TextIO] = None,
             quiet: bool = False) -> list:
    """The z3 coverage corpus, with the explicit oracle's expectations: shipped, cached, or
    rebuilt into the cache (``stream`` hears about a rebuild; sharespec/z3_suite.py)."""
    if bound <= 0:
        return []
    from sharespec.z3_suite import z3_suite_cases
    return z3_suite_cases(profile, bound, stream, quiet)


def observed_witnesses(profile: str = "linux") -> list:
    """The shortest program for every reachable coverage cell, each with its effect observed
    (sharespec/coverage_observations.py): a cell another case hits may still hide a wrong
    effect that only a later read, pread, IPC_STAT or fork child sees."""
    from sharespec.coverage import witness_cases
    return witness_cases(None, profile, observed=True)


def default_suite(seed: int = 0, profile: str = "linux", generated: int = GENERATED_PER_RUN,
                  z3_bound: int = Z3_BOUND, stream: Optional[TextIO] = None,
                  quiet: bool = False) -> list:
    return list(default_suite_stream(seed, profile, generated, z3_bound, stream, quiet))


def default_suite_stream(seed: int = 0, profile: str = "linux", generated: int = GENERATED_PER_RUN,
                         z3_bound: int = Z3_BOUND, stream: Optional[TextIO] = None,
                         quiet: bool = False) -> Iterator[Case]:
    """The default suite in its order, each part made when it is reached: a run judges the
    hand-written cases while the random ones are drawn and the z3 corpus is loaded (or
    rebuilt, when the model changed); last, the witness of every reachable coverage cell,
    its effect observed (``observed_witnesses``), so that the suite hits every cell."""
    yield from iter_builtin_cases()
    yield from generated_cases(seed, generated, profile)
    yield from z3_cases(z3_bound, profile, stream, quiet)
    yield from observed_witnesses(profile)


def main(argv=None) -> int:
    """``python -m sharespec.suite --rebuild | --check`` (release time), and ``--build-cache``
    (the child process a run starts to rebuild the corpus into the cache)."""
    from sharespec import z3_suite
    p = argparse.ArgumentParser(prog="python -m sharespec.suite", description=main.__doc__)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--rebuild", action="store_true",
                      help="rebuild the shipped z3 corpus files that are not current (sharespec/data/)")
    what.add_argument("--check", action="store_true",
                      help="exit 1 if a shipped z3 corpus file is not the current source's")
    what.add_argument("--build-cache", action="store_true",
                      help="build one corpus into the cache ($XDG_CACHE_HOME/sharespec)")
    p.add_argument("--profile", default="linux")
    p.add_argument("--bound", type=int, default=Z3_BOUND)
    p.add_argument("--into", default=None, help=argparse.SUPPRESS)   # the file a run reads
    p.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.check:
        problems = z3_suite.outdated_shipped()
        for path, why in problems:
            print(f"{path}: {why}; rebuild with: python -m sharespec.suite --rebuild", file=sys.stderr)
        return 1 if problems else 0
    if args.rebuild:
        written = z3_suite.rebuild_shipped(None if args.quiet else sys.stderr)
        for path in written:
            print(f"wrote {path}")
        if not written:
            print("the shipped z3 corpus files are current")
        return 0
    if args.parent is not None:      # started by a run, which kills us when it is interrupted
        import signal

        from sharespec.process_tree import die_with_parent
        die_with_parent(args.parent, signal.SIGKILL)   # however the run ends
    print(z3_suite.build_into_cache(args.profile, args.bound, args.quiet, args.into))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
