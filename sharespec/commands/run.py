"""``sharespec run``: run conformance cases against an implementation (default: this host)."""
from __future__ import annotations

import signal
import sys

from sharespec.commands.common import UsageError, check_profile

HELP = "run conformance cases against an implementation (default: this host)"


def add_arguments(run) -> None:
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


def main(args) -> int:
    from sharespec.casefiles import read_case_paths
    from sharespec.report import JsonResults, Progress, Summary, describe, environment
    from sharespec.runner import run_cases
    from sharespec.suite import GENERATED_PER_RUN, builtin_cases, generated_cases

    profile = check_profile(args.profile)
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
                shrink_failure(result, args.impl, profile, args.timeout, args.out, text_out)
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


def shrink_failure(result, impl, profile, timeout, out_dir, out) -> "dict":
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
