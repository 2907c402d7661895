"""``sharespec merge``: the JSON results of the parts of a sharded run, as one report.

Each part is what ``sharespec run --shard I/N --json FILE`` wrote: an environment record (which
names the selection of cases by digest, and the shard), one record per case, and a summary.
The parts merge only if they are the parts of one run: the same selection (same digest and
size), the same profile, the same number of shards, every shard from 1 to N exactly once, each
part complete, and no case judged twice. Anything else is refused (exit 2, naming the file and
the problem), since a report made of mismatched parts would count what was never run.

The merged summary, table by rule and covered rules are recomputed from the case records, so
they are what the unsharded run would have reported; the environment of each part (kernel,
machine, ...) is kept beside them, since parts may run on different machines.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

from sharespec.commands.common import UsageError

HELP = "merge the JSON results of the parts of a sharded run into one report"


def add_arguments(merge) -> None:
    merge.add_argument("results", nargs="+", metavar="RESULTS.jsonl",
                       help="the files written by sharespec run --shard I/N --json FILE")
    merge.add_argument("--json", metavar="OUT",
                       help="also write the merged report as JSON lines (OUT, or - for stdout)")
    merge.add_argument("-q", "--quiet", action="store_true", help="print only the summary")


class Part:
    """One part's results file, checked for shape: every field merge reads has the type it
    must have, so a damaged or hand-made part is refused (exit 2), never half-merged."""

    def __init__(self, path: str):
        from sharespec.casefiles import json_value, read_text
        from sharespec.model.case import CaseError
        from sharespec.runner import VERDICTS

        self.path = path
        try:
            lines = read_text(path).split("\n")   # not splitlines(): U+2028 is not a line end
        except CaseError as e:
            raise UsageError(f"{path}: {e.problem}") from None
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            record = json_value(line, path, f"line {number}", "a results record")   # CaseError: exit 2
            if not isinstance(record, dict):
                raise UsageError(f"{path}: line {number}: a record must be a JSON object")
            try:
                json.dumps(record, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(f"{path}: line {number}: holds a lone surrogate (\"\\ud800\"), "
                                 "which no report can print") from None
            records.append((number, record))
        if not records or not isinstance(records[0][1].get("environment"), dict):
            raise UsageError(f"{path}: line 1: not the results of sharespec run --json "
                             "(the first record must be the environment, a JSON object)")
        if len(records) < 2 or not isinstance(records[-1][1].get("summary"), dict):
            raise UsageError(f"{path}: no closing summary: the run did not finish writing")
        self.environment = records[0][1]["environment"]
        self.summary = records[-1][1]
        self.cases = []
        for number, record in records[1:-1]:
            if not isinstance(record.get("case"), str) or not isinstance(record.get("verdict"), str):
                raise UsageError(f"{path}: line {number}: a case record needs \"case\" and \"verdict\"")
            if record["verdict"] not in VERDICTS:
                raise UsageError(f"{path}: line {number}: unknown verdict {record['verdict'][:40]!r} "
                                 f"(known: {', '.join(VERDICTS)})")
            rules = record.get("rules") or []
            if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
                raise UsageError(f"{path}: line {number}: \"rules\" must be a list of rule ids")
            if not isinstance(record.get("detail", ""), str):
                raise UsageError(f"{path}: line {number}: \"detail\" must be a string")
            self.cases.append(record)
        if self.summary.get("complete") is not True:
            raise UsageError(f"{path}: an incomplete run (interrupted): run this part again")
        counted = self.summary["summary"].get("cases")
        if type(counted) is not int or counted != len(self.cases):
            raise UsageError(f"{path}: its summary counts {str(counted)[:40]} cases but it holds "
                             f"{len(self.cases)} case records")
        selection = self.environment.get("selection")
        if not isinstance(selection, dict) or not isinstance(selection.get("digest"), str):
            raise UsageError(f"{path}: names no selection of cases (written by an older sharespec?)")
        self.digest = selection["digest"]
        self.total = selection.get("cases")
        if type(self.total) is not int:
            raise UsageError(f"{path}: the selection's \"cases\" must be a number of cases")
        shard = self.environment.get("shard") or {"index": 1, "count": 1, "cases": len(self.cases)}
        if not isinstance(shard, dict):
            raise UsageError(f"{path}: bad shard record {str(shard)[:80]}")
        self.index, self.count = shard.get("index"), shard.get("count")
        if not (type(self.index) is int and type(self.count) is int
                and 1 <= self.index <= self.count):
            raise UsageError(f"{path}: bad shard record {str(shard)[:80]}")
        self.profile = self.environment.get("profile")
        if not isinstance(self.profile, str):
            raise UsageError(f"{path}: the environment names no profile")


def check_consistent(parts: list) -> None:
    """UsageError unless ``parts`` are exactly the parts of one run."""
    first = parts[0]
    for p in parts[1:]:
        if p.digest != first.digest or p.total != first.total:
            raise UsageError(f"{p.path}: a different selection of cases from {first.path} "
                             f"({p.total} cases, digest {p.digest[:12]} against {first.total} cases, "
                             f"digest {first.digest[:12]}): parts of different corpora or suites")
        if p.profile != first.profile:
            raise UsageError(f"{p.path}: profile {p.profile} but {first.path} has {first.profile}")
        if p.count != first.count:
            raise UsageError(f"{p.path}: shard {p.index}/{p.count} but {first.path} is "
                             f"{first.index}/{first.count}: different numbers of shards")
    seen: dict = {}
    for p in parts:
        if p.index in seen:
            raise UsageError(f"shard {p.index}/{p.count} given twice: {seen[p.index]} and {p.path}")
        seen[p.index] = p.path
    missing = [i for i in range(1, first.count + 1) if i not in seen]
    if missing:
        raise UsageError("missing shard" + ("s " if len(missing) > 1 else " ")
                         + ", ".join(f"{i}/{first.count}" for i in missing))
    names: dict = {}
    for p in parts:
        for record in p.cases:
            if record["case"] in names:
                raise UsageError(f"{p.path}: case {record['case']} was already judged in "
                                 f"{names[record['case']]}")
            names[record["case"]] = p.path
    judged = sum(len(p.cases) for p in parts)
    if judged != first.total:
        raise UsageError(f"the parts judged {judged} cases but the selection has {first.total}")


def merged_summary(parts: list):
    """A report.Summary over every part's case records."""
    from sharespec.report import Summary
    summary = Summary()
    for p in sorted(parts, key=lambda p: p.index):
        for record in p.cases:
            case = SimpleNamespace(name=record["case"], rules=tuple(record.get("rules") or ()))
            summary.add(SimpleNamespace(case=case, verdict=record["verdict"],
                                        detail=record.get("detail", "")))
    return summary


def main(args) -> int:
    from sharespec.report import JsonResults

    from sharespec.commands.common import check_output
    check_output(args.json)
    parts = [Part(path) for path in args.results]
    check_consistent(parts)
    parts.sort(key=lambda p: p.index)
    summary = merged_summary(parts)
    first = parts[0]
    environment = {"profile": first.profile, "selection": first.environment["selection"],
                   "shards": first.count,
                   "parts": [{"file": p.path, "shard": f"{p.index}/{p.count}",
                              "cases": len(p.cases)} | p.environment for p in parts]}
    text_out = sys.stderr if args.json == "-" else sys.stdout
    if args.json:
        out = JsonResults(args.json, environment)
        for p in parts:
            for record in p.cases:
                out.write(record)
        out.close(summary, True)
    print(f"merged {len(parts)} parts of {first.total} cases (profile {first.profile})",
          file=text_out)
    if not args.quiet:
        for p in parts:
            env = p.environment
            print(f"  part {p.index}/{p.count}: {len(p.cases)} cases, {p.path}: kernel "
                  f"{env.get('kernel')} {env.get('machine')}, {env.get('libc')}, "
                  f"python {env.get('python')}, sharespec {env.get('sharespec')}", file=text_out)
        for name, detail in summary.failures:
            print(f"  {name}: {detail}", file=text_out)
    print("", file=text_out)
    print(summary.table(), file=text_out)
    covered = summary.covered_rules()
    print(f"covered rules ({len(covered)}): {' '.join(covered) or '-'}", file=text_out)
    print(summary.closing_line(), file=text_out)
    return summary.exit_status()
