"""The command line: ``sharespec run``, ``sharespec show``, ``sharespec generate``.

Exit status: 0 all passed, 1 something failed (or broke the protocol), 2 bad usage or input
(with a message naming the file, the place and the problem, and nothing half-written),
130 interrupted.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Optional, Sequence

from sharespec import __version__


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sharespec", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"sharespec {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run conformance cases against an implementation (default: this host)")
    run.add_argument("--profile", default="linux", help="linux (default) or posix")
    run.add_argument("--seed", type=int, default=0, help="seed of the generated cases (default 0)")
    run.add_argument("--json", nargs="?", const="-", metavar="FILE",
                     help="write one JSON record per case and a summary (to FILE, or stdout)")
    run.add_argument("--case", action="append", default=[], metavar="FILE",
                     help="run these cases (.case, .json, .jsonl, or a folder) instead of the default suite")
    run.add_argument("--generated", type=int, default=None, metavar="N",
                     help="how many generated cases the default suite adds (default 40)")
    run.add_argument("--impl", metavar="COMMAND",
                     help="the implementation under test: a command speaking the protocol "
                          "(default: the bundled real-OS implementation)")
    run.add_argument("-j", "--jobs", type=int, default=1, help="cases run in parallel (default 1)")
    run.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")
    run.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    run.add_argument("--no-shrink", action="store_true",
                     help="do not shrink failures to minimal cases and reproducers")
    run.add_argument("--out", default="sharespec-failures", metavar="DIR",
                     help="where shrunk failures are written (default ./sharespec-failures)")

    shrink = sub.add_parser("shrink", help="shrink a failing case to a minimal one, with a reproducer")
    shrink.add_argument("case", metavar="CASE", help="a case file (its first case is shrunk)")
    shrink.add_argument("--impl", metavar="COMMAND",
                        help="the implementation under test (default: the bundled one)")
    shrink.add_argument("--out", default="sharespec-failures", metavar="DIR",
                        help="where the outputs go (default ./sharespec-failures)")
    shrink.add_argument("--profile", default=None, help="override the case's profile")
    shrink.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")

    show = sub.add_parser("show", help="print a case in the text form with its expected outcomes")
    show.add_argument("case", metavar="CASE", help="a case file, or the name of a built-in case")
    show.add_argument("--json", action="store_true", help="print the JSON form instead")

    gen = sub.add_parser("generate", help="write generated cases to a folder")
    gen.add_argument("--strategy", default="random", choices=["random"], help="how to generate")
    gen.add_argument("--count", type=int, default=100)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--profile", default="linux")
    gen.add_argument("--out", required=True, metavar="DIR")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from sharespec.model.case import CaseError
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "show":
            return _show(args)
        if args.command == "generate":
            return _generate(args)
        if args.command == "shrink":
            return _shrink(args)
    except CaseError as e:
        print(f"sharespec: {e}", file=sys.stderr)
        return 2
    except UsageError as e:
        print(f"sharespec: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sharespec: interrupted", file=sys.stderr)
        return 130
    return 2


def _check_profile(name: str) -> str:
    from sharespec.model.profiles import PROFILES
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    return name


def _run(args) -> int:
    from sharespec.casefiles import read_case_paths
    from sharespec.report import JsonResults, Progress, Summary, describe, environment
    from sharespec.runner import run_cases
    from sharespec.suite import GENERATED_PER_RUN, builtin_cases, generated_cases

    profile = _check_profile(args.profile)
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if args.case:
        cases = list(read_case_paths(args.case))  # read them all first: bad input runs nothing
    else:
        count = GENERATED_PER_RUN if args.generated is None else args.generated
        if count < 0:
            raise UsageError("--generated must be >= 0")
        cases = builtin_cases() + list(generated_cases(args.seed, count, profile))

    out = sys.stdout
    json_out = JsonResults(args.json, environment(profile, args.seed)) if args.json else None
    text_out = sys.stderr if args.json == "-" else out
    summary = Summary()
    progress = Progress(text_out, len(cases))
    complete = False
    # SIGTERM ends a run the way Ctrl-C does: the current cases stop, a partial report is kept.
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        for result in run_cases(cases, profile=profile, impl=args.impl, jobs=args.jobs,
                                timeout=args.timeout):
            summary.add(result)
            if json_out:
                json_out.write(result.record())
            if not args.quiet or result.verdict not in ("PASS", "NOT_APPLICABLE"):
                progress.clear()
                print(describe(result), file=text_out)
            if result.verdict == "FAIL" and not args.no_shrink:
                _shrink_failure(result, args.impl, profile, args.timeout, args.out, text_out)
            progress.update(summary)
        complete = True
    except KeyboardInterrupt:
        progress.clear()
        print("sharespec: interrupted; partial report follows", file=text_out)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if json_out:
            json_out.close(summary, complete)
    progress.clear()
    print("", file=text_out)
    print(summary.table(), file=text_out)
    print(summary.closing_line(), file=text_out)
    if not complete:
        return 130
    return summary.exit_status()


def _show(args) -> int:
    from pathlib import Path

    from sharespec.casefiles import read_case_file
    from sharespec.model.case_json import dumps_case
    from sharespec.model.case_text import case_to_text
    from sharespec.suite import builtin_cases

    path = Path(args.case)
    if path.exists():
        cases = read_case_file(path)
    else:
        cases = [c for c in builtin_cases() if c.name == args.case]
        if not cases:
            raise UsageError(f"{args.case}: no such file, and no built-in case of that name")
    for case in cases:
        print(dumps_case(case) if args.json else case_to_text(case))
    return 0


def _generate(args) -> int:
    import os
    import tempfile
    from pathlib import Path

    from sharespec.model.case_text import case_to_text
    from sharespec.suite import generated_cases

    profile = _check_profile(args.profile)
    if args.count < 0:
        raise UsageError("--count must be >= 0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for case in generated_cases(args.seed, args.count, profile):
        fd, tmp = tempfile.mkstemp(dir=out, suffix=".partial")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(case_to_text(case))
        os.replace(tmp, out / f"{case.name}.case")
    print(f"wrote {args.count} cases to {out}")
    return 0


def _shrink_failure(result, impl, profile, timeout, out_dir, out) -> "dict":
    """Shrink one FAIL and write its files; prints where. Returns the paths written."""
    import time

    from sharespec.generators.reproducer import write_failure
    from sharespec.generators.shrink import fails_the_same_way, shrink
    from sharespec.runner import run_cases

    t0 = time.monotonic()
    stats: dict = {}
    small = shrink(result.case, fails_the_same_way(result, impl, profile, timeout), stats)
    (final,) = list(run_cases([small], profile=profile, impl=impl, timeout=timeout))
    paths = write_failure(small, final, out_dir)
    print(f"    shrunk {len(result.case.steps)} -> {len(small.steps)} steps "
          f"({stats['tries']} runs, {time.monotonic() - t0:.1f} s): {paths['case']}", file=out)
    print(f"    reproducer: python3 -S {paths['reproducer']}", file=out)
    return paths


def _shrink(args) -> int:
    from dataclasses import replace

    from sharespec.casefiles import read_case_file, with_expectations
    from sharespec.runner import run_cases

    cases = read_case_file(args.case)
    case = cases[0]
    if args.profile:
        case = replace(case, profile=_check_profile(args.profile), allowed=None)
    case = with_expectations(case, args.case)
    (result,) = list(run_cases([case], profile=case.profile, impl=args.impl, timeout=args.timeout))
    if result.verdict != "FAIL":
        print(f"{case.name}: {result.verdict}, nothing to shrink"
              + (f" ({result.detail})" if result.detail else ""))
        return 0 if result.verdict in ("PASS", "NOT_APPLICABLE") else 1
    print(f"{case.name}: FAIL: {result.detail}")
    _shrink_failure(result, args.impl, case.profile, args.timeout, args.out, sys.stdout)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
