"""``sharespec run``: run conformance cases against an implementation (default: this host)."""
from __future__ import annotations

import argparse
import signal
import sys

from sharespec import interrupts
from sharespec.cli import arm_interrupts, hold_interrupts
from sharespec.commands.common import (
    UsageError, check_descriptors, check_impl, check_jobs, check_output, check_profile, check_timeout,
)

HELP = "run conformance cases against an implementation (default: this host)"

# sharespec.cli holds SIGINT and SIGTERM from its first line until this command has checked
# its output (arm_interrupts below): a signal before that still ends in exit 130 with the
# (empty) partial report, and with --json FILE a FILE saying "complete": false.
ARMS_INTERRUPTS = True


def add_arguments(run) -> None:
    run.add_argument("--profile", default="linux", help="linux (default) or posix")
    run.add_argument("--seed", type=int, default=0, help="seed of the generated cases (default 0)")
    run.add_argument("--json", nargs="?", const="-", metavar="FILE",
                     help="write one JSON record per case and a summary (to FILE, or stdout)")
    run.add_argument("--case", action="append", default=[], metavar="FILE",
                     help="run these cases (.case, .json, .jsonl, or a folder) instead of the default suite")
    run.add_argument("--corpus", action="append", default=[], metavar="DIR",
                     help="run the corpus in DIR (written by sharespec generate) instead of the "
                          "default suite; may be repeated, and combined with --case")
    run.add_argument("--shard", metavar="I/N",
                     help="run only part I of N of the cases (split by case fingerprint: "
                          "deterministic, the same on every machine); merge parts with sharespec merge")
    run.add_argument("--generated", type=int, default=None, metavar="N",
                     help="how many generated cases the default suite adds (default 40)")
    run.add_argument("--z3-bound", type=int, default=4, metavar="K",
                     help="the default suite adds the z3 coverage corpus up to K steps (default 4; 0: none)")
    run.add_argument("--impl", metavar="COMMAND",
                     help="the implementation under test: a command speaking the protocol "
                          "(default: the bundled real-OS implementation)")
    run.add_argument("-j", "--jobs", type=int, default=1, help="cases run in parallel (default 1)")
    run.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")
    run.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    run.add_argument("--no-shrink", action="store_true",
                     help="do not shrink failures nor write their folders (each is still diagnosed)")
    add_shrink_arguments(run)
    run.add_argument("--maxfail", type=int, default=None, metavar="N",
                     help="stop after N failures: the report is partial, the exit status 1")
    run.add_argument("--strict-cleanup", action="store_true",
                     help="a case after which the implementation under test leaves SysV segments "
                          "or /dev/shm objects behind is an ERROR (the implementation is restarted "
                          "after each case to know it); without it, a warning")
    run.add_argument("--out", default="sharespec-failures", metavar="DIR",
                     help="where failures are written, a folder each (default ./sharespec-failures)")
    run.add_argument("--max-inconclusive", type=_fraction, default=0.10, metavar="FRACTION",
                     help="exit 3 when more than this fraction of the judged cases is "
                          "inconclusive (default 0.10; 10%% works too)")
    run.add_argument("--shm-rmid-forced", choices=("auto", "0", "1"), default="auto",
                     help="judge with kernel.shm_rmid_forced (R45) set or not; auto (default): "
                          "as this machine's IPC namespace has it (say 0 for an implementation "
                          "that does not run on this kernel)")
    run.epilog = EXIT_STATUSES
    run.formatter_class = argparse.RawDescriptionHelpFormatter


EXIT_STATUSES = """exit status:
  0    every judged case passed (and at most --max-inconclusive were inconclusive)
  1    a case failed, or the implementation broke the protocol (ERROR)
  2    bad usage or input (the message names the file, the place and the problem); nothing ran
  3    nothing failed, but too little was learnt: no case passed, or more than
       --max-inconclusive of the judged cases were inconclusive (the last line says why)
  130  interrupted (SIGINT or SIGTERM); a partial report was printed"""


def _fraction(text: str) -> float:
    """0.1, or 10%: a fraction between 0 and 1."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a fraction: {text!r}") from None
    if not 0 <= value <= 1:       # also refuses nan
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (or 0% and 100%): {text!r}")
    return value


def add_shrink_arguments(parser) -> None:
    parser.add_argument("--shrink-budget", type=float, default=10.0, metavar="SECONDS",
                        help="seconds to shrink one failure (default 10); when they run out, "
                             "the smallest failing case found so far is kept")
    parser.add_argument("--shrink-total", type=float, default=60.0, metavar="SECONDS",
                        help="seconds to shrink and diagnose all the failures of a run "
                             "(default 60); then failures are written unshrunk")


def shrink_budget(args):
    """The Budget of --shrink-budget and --shrink-total (0 or less: UsageError)."""
    from sharespec.failures import Budget
    for option, value in (("--shrink-budget", args.shrink_budget),
                          ("--shrink-total", args.shrink_total)):
        if not value > 0:
            raise UsageError(f"{option} must be a positive number of seconds")
    return Budget(args.shrink_budget, args.shrink_total)


def main(args) -> int:
    from sharespec.corpus import Selection, parse_shard
    from sharespec.report import JsonResults, Progress, Summary, describe, environment
    from sharespec.runner import run_cases

    profile = check_profile(args.profile)
    check_jobs(args.jobs)
    check_descriptors(args.jobs)
    check_timeout(args.timeout)
    check_output(args.json)
    # SIGTERM ends a run the way Ctrl-C does, from here on: the start too (the checks, reading
    # the cases, loading or rebuilding the z3 corpus) stops with a partial report and exit 130.
    # SIGINT too, with the latch (sharespec/interrupts.py), also where sharespec runs inside
    # another program (a wrapper, a test): Python's own handler has no latch, and its
    # KeyboardInterrupt can be lost in a finalizer or a worker's clean-up.
    previous = signal.signal(signal.SIGTERM, interrupts.interrupt)
    previous_int = signal.signal(signal.SIGINT, interrupts.interrupt)
    json_out = failures = None
    try:
        arm_interrupts()          # one held since start-up is raised here
        if args.maxfail is not None and args.maxfail < 1:
            raise UsageError("--maxfail must be at least 1")
        budget = shrink_budget(args)
        from sharespec.runner import resolve_impl   # --impl mutant:NAME (sharespec/mutants)
        impl_spec = args.impl
        try:
            args.impl = check_impl(resolve_impl(args.impl, args.timeout))
        except ValueError as e:
            raise UsageError(f"--impl: {e}") from None
        try:
            shard = parse_shard(args.shard) if args.shard is not None else None
        except ValueError as e:
            raise UsageError(f"--shard: {e}") from None
        cases, sources, streamed = cases_to_run(args, profile, shard)
        selection = None if streamed else Selection.of(cases, shard, sources)
        if selection is not None:
            cases = selection.cases
        judged_under = with_host_settings(profile, args.shm_rmid_forced)

        out = sys.stdout
        json_out = (JsonResults(args.json, environment(profile, args.seed) | selection.record())
                    if args.json else None)
        text_out = sys.stderr if args.json == "-" else out
        summary = Summary()
        from sharespec.failures import Failures, ShrinkProgress
        failures = Failures(args.impl, judged_under, args.timeout, args.out, text_out,
                            impl_spec=impl_spec, jobs=args.jobs, shrink=not args.no_shrink,
                            budget=budget, progress=ShrinkProgress(sys.stderr, args.quiet))
        progress = Progress(text_out, None if streamed else len(cases))
        progress.enabled = progress.enabled and not args.quiet
    except KeyboardInterrupt:
        interrupts.handled()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        if failures is not None:
            failures.close()
        if json_out is not None:
            json_out.abandon()       # interrupted_at_start writes FILE whole, saying partial
        return interrupted_at_start(args, profile)
    except BaseException:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        if json_out is not None:
            json_out.abandon()
        raise
    if shard is not None:
        print(f"shard {shard}: {len(cases)} of {selection.total} cases", file=text_out)
    complete, stopped, results = False, False, None
    try:
        if judged_under != profile:
            print(f"sharespec: kernel.shm_rmid_forced is 1 here: judging under {judged_under} "
                  "(R45: a segment goes when its last attach does)", file=sys.stderr)
        results = run_cases(cases, profile=judged_under, impl=args.impl, jobs=args.jobs,
                            timeout=args.timeout, strict_cleanup=args.strict_cleanup)
        for result in results:
            interrupts.raise_if_swallowed()
            summary.add(result)
            if json_out:
                json_out.write(result.record())
            if not args.quiet or result.verdict not in ("PASS", "NOT_APPLICABLE"):
                progress.clear()
                print(describe(result), file=text_out)
            if result.verdict == "FAIL":
                failures.add(result)
                if args.maxfail is not None and failures.count >= args.maxfail:
                    stopped = True
                    results.close()      # its workers stop now, their implementations too
                    break
            progress.update(summary)
        complete = not stopped
    except KeyboardInterrupt:
        interrupts.handled()
        progress.clear()
        print("sharespec: interrupted; partial report follows", file=text_out)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        if results is not None:
            results.close()     # interrupted: the workers and implementations stop now
        failures.close()
        if json_out:
            json_out.close(summary, complete)
        hold_interrupts()       # the cases are over: a signal now does not cut the report
    progress.clear()
    if stopped:
        left = "the rest" if streamed else f"{len(cases) - summary.total} case(s)"
        print(f"sharespec: stopped after {failures.count} failure(s) (--maxfail {args.maxfail}); "
              f"{left} not run; partial report follows", file=text_out)
    report = failures.report_lines()
    if report:
        print("", file=text_out)
        print("\n".join(report), file=text_out)
    if not args.quiet:    # -q: only failures and the closing lines
        print("", file=text_out)
        print(summary.table(), file=text_out)
    print(summary.closing_line(), file=text_out)
    if not complete and not stopped:
        return 130
    status, why = summary.settle(args.max_inconclusive)
    if why:
        print(f"sharespec: exit {status}: {why}", file=text_out)
    return status


def cases_to_run(args, profile: str, shard) -> tuple:
    """(cases, sources, streamed): the cases asked for, read whole first (bad input runs
    nothing), or the default suite. That one is streamed (judged as it is made: the first
    verdict comes before the rest is read, or rebuilt when the model changed) unless something
    needs the whole set first (--shard, and --json, whose first record names the set)."""
    from sharespec.casefiles import read_case_paths
    from sharespec.corpus import read_corpus
    from sharespec.suite import GENERATED_PER_RUN, default_suite, default_suite_stream
    if args.case or args.corpus:
        cases = list(read_case_paths(args.case))
        sources = [{"case": c} for c in args.case]
        for folder in args.corpus:
            corpus = read_corpus(folder)
            cases += corpus.cases
            sources.append({"corpus": folder, "digest": corpus.digest})
        return cases, sources, False
    count = GENERATED_PER_RUN if args.generated is None else args.generated
    if count < 0:
        raise UsageError("--generated must be >= 0")
    if args.z3_bound < 0:
        raise UsageError("--z3-bound must be >= 0")
    sources = [{"default_suite": {"seed": args.seed, "generated": count, "z3_bound": args.z3_bound}}]
    suite = (args.seed, profile, count, args.z3_bound, sys.stderr, args.quiet)
    if shard is None and not args.json:
        return default_suite_stream(*suite), sources, True
    return default_suite(*suite), sources, False


def interrupted_at_start(args, profile: str) -> int:
    """Interrupted before any case was judged: the (empty) partial report, exit 130."""
    from sharespec.report import JsonResults, Summary, environment
    text_out = sys.stderr if args.json == "-" else sys.stdout
    hold_interrupts()      # a second signal does not cut this report short
    print("sharespec: interrupted while preparing the cases; partial report follows", file=text_out)
    summary = Summary()
    if args.json:
        try:
            JsonResults(args.json, environment(profile, args.seed) | {"selection": None}).close(
                summary, False)
        except OSError as e:
            print(f"sharespec: could not write {args.json}: {e}", file=sys.stderr)
    print(summary.closing_line(), file=text_out)
    return 130


def with_host_settings(profile: str, shm_rmid_forced: str) -> str:
    """The profile the run judges under: ``profile`` with the settings of this machine that
    change the rules (kernel.shm_rmid_forced, R45), as ``linux:shm_rmid_forced``."""
    from sharespec.evidence import host_shm_rmid_forced
    forced = host_shm_rmid_forced() if shm_rmid_forced == "auto" else shm_rmid_forced == "1"
    return f"{profile}:shm_rmid_forced" if forced and profile == "linux" else profile


def shrink_failure(result, impl, profile, timeout, out_dir, out, *, impl_spec=None,
                   budget=None, jobs: int = 1, quiet: bool = False) -> "dict":
    """Diagnose, shrink and write one FAIL (``sharespec shrink``); prints where. Returns the
    paths written."""
    from sharespec.failures import Failures, ShrinkProgress
    with Failures(impl, profile, timeout, out_dir, out, impl_spec=impl_spec, jobs=jobs,
                  budget=budget, progress=ShrinkProgress(sys.stderr, quiet)) as failures:
        return failures.add(result)
