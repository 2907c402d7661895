"""``sharespec shrink``: shrink a failing case to a minimal one, with a reproducer."""
from __future__ import annotations

import sys

from sharespec.commands.common import UsageError, check_profile
from sharespec.commands.run import add_shrink_arguments, shrink_budget, shrink_failure

HELP = "shrink a failing case to a minimal one, with a reproducer"


def add_arguments(shrink) -> None:
    shrink.add_argument("case", metavar="CASE", help="a case file (its first case is shrunk), or the name of a built-in case")
    shrink.add_argument("--impl", metavar="COMMAND",
                        help="the implementation under test (default: the bundled one)")
    shrink.add_argument("--out", default="sharespec-failures", metavar="DIR",
                        help="where the outputs go (default ./sharespec-failures)")
    shrink.add_argument("--profile", default=None, help="override the case's profile")
    shrink.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")
    shrink.add_argument("-j", "--jobs", type=int, default=1,
                        help="implementation processes trying candidates at once (default 1)")
    shrink.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_shrink_arguments(shrink)


def main(args) -> int:
    from dataclasses import replace

    from sharespec.casefiles import cases_named, with_expectations
    from sharespec.commands.common import check_impl, check_jobs, check_timeout
    from sharespec.runner import resolve_impl, run_cases

    budget = shrink_budget(args)
    check_jobs(args.jobs)
    check_timeout(args.timeout)
    impl_spec = args.impl
    try:
        impl = check_impl(resolve_impl(args.impl, args.timeout))   # --impl mutant:NAME
    except ValueError as e:
        raise UsageError(f"--impl: {e}") from None
    case = cases_named(args.case)[0]     # a file (its first case) or a built-in case's name
    if args.profile:
        case = replace(case, profile=check_profile(args.profile), allowed=None)
    case = with_expectations(case, args.case)
    (result,) = list(run_cases([case], profile=case.profile, impl=impl, timeout=args.timeout))
    if result.verdict != "FAIL":
        print(f"{case.name}: {result.verdict}, nothing to shrink"
              + (f" ({result.detail})" if result.detail else ""))
        return 0 if result.verdict in ("PASS", "NOT_APPLICABLE") else 1
    print(f"{case.name}: FAIL: {result.detail}")
    shrink_failure(result, impl, case.profile, args.timeout, args.out, sys.stdout,
                   impl_spec=impl_spec, budget=budget, jobs=args.jobs, quiet=args.quiet)
    return 1
