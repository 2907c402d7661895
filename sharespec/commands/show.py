"""``sharespec show``: print a case in the text form with its expected outcomes."""
from __future__ import annotations

HELP = "print a case in the text form with its expected outcomes"


def add_arguments(show) -> None:
    show.add_argument("case", metavar="CASE", help="a case file or folder, or the name of a built-in case")
    show.add_argument("--json", action="store_true", help="print the JSON form instead")


def main(args) -> int:
    from sharespec.casefiles import cases_named
    from sharespec.model.case_json import dumps_case
    from sharespec.model.case_text import case_to_text

    for case in cases_named(args.case):   # a file, a folder, or a built-in case's name
        print(dumps_case(case) if args.json else case_to_text(case))
    return 0
