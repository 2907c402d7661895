"""``sharespec coverage [CORPUS | --suite]``: which cells (operation x argument class x outcome
kind) the cases hit, how often, and which cells the model can reach that none of them hits
(sharespec/coverage.py says what a cell is and which are reachable)."""
from __future__ import annotations

from sharespec.commands.common import UsageError

HELP = "count the cases hitting each operation x argument class x outcome kind, and the reachable cells nothing hits"


def add_arguments(parser) -> None:
    parser.add_argument("corpus", nargs="?", metavar="CORPUS",
                        help="a corpus folder, or case files (.case, .json, .jsonl, or a folder of them)")
    parser.add_argument("--suite", action="store_true",
                        help="the default suite (hand-written, random from --seed, z3, coverage witnesses)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the suite's random part")
    parser.add_argument("--profile", default="linux", help="for --suite (default: linux)")


def main(args) -> int:
    from pathlib import Path

    from sharespec.coverage import hits, reachable, table

    if bool(args.corpus) == bool(args.suite):
        raise UsageError("coverage: give a CORPUS or --suite (one of them)")
    if args.suite:
        from sharespec.suite import default_suite
        cases = default_suite(seed=args.seed, profile=args.profile)
    else:
        from sharespec.casefiles import path_kind
        path = Path(args.corpus)
        kind = path_kind(path)      # CaseError (exit 2) for a name no file can have
        if kind == "missing":
            raise UsageError(f"{args.corpus}: no such file or folder")
        if kind == "folder":
            from sharespec.corpus import read_corpus
            cases = list(read_corpus(path).cases)
        else:
            from sharespec.casefiles import read_case_file
            cases = read_case_file(path)
    counts = hits(cases)
    print(f"{len(cases)} cases")
    print(table(counts, reachable(args.profile)))
    return 0
