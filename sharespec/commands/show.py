"""``sharespec show``: print a case in the text form with its expected outcomes."""
from __future__ import annotations

from sharespec.commands.common import UsageError

HELP = "print a case in the text form with its expected outcomes"


def add_arguments(show) -> None:
    show.add_argument("case", metavar="CASE", help="a case file, or the name of a built-in case")
    show.add_argument("--json", action="store_true", help="print the JSON form instead")


def main(args) -> int:
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
