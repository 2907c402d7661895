"""``sharespec shrink``: shrink a failing case to a minimal one, with a reproducer."""
from __future__ import annotations

import sys

from sharespec.commands.common import check_profile
from sharespec.commands.run import shrink_failure

HELP = "shrink a failing case to a minimal one, with a reproducer"


def add_arguments(shrink) -> None:
    shrink.add_argument("case", metavar="CASE", help="a case file (its first case is shrunk)")
    shrink.add_argument("--impl", metavar="COMMAND",
                        help="the implementation under test (default: the bundled one)")
    shrink.add_argument("--out", default="sharespec-failures", metavar="DIR",
                        help="where the outputs go (default ./sharespec-failures)")
    shrink.add_argument("--profile", default=None, help="override the case's profile")
    shrink.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")


def main(args) -> int:
    from dataclasses import replace

    from sharespec.casefiles import read_case_file, with_expectations
    from sharespec.runner import run_cases

    cases = read_case_file(args.case)
    case = cases[0]
    if args.profile:
        case = replace(case, profile=check_profile(args.profile), allowed=None)
    case = with_expectations(case, args.case)
    (result,) = list(run_cases([case], profile=case.profile, impl=args.impl, timeout=args.timeout))
    if result.verdict != "FAIL":
        print(f"{case.name}: {result.verdict}, nothing to shrink"
              + (f" ({result.detail})" if result.detail else ""))
        return 0 if result.verdict in ("PASS", "NOT_APPLICABLE") else 1
    print(f"{case.name}: FAIL: {result.detail}")
    shrink_failure(result, args.impl, case.profile, args.timeout, args.out, sys.stdout)
    return 1
