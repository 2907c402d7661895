"""How much of the Linux Test Project's memory-sharing checking sharespec can state, and how
much of that the model and this kernel agree on (issue 16).

The per-assertion classification is data (docs/ltp-assertions.json: every LTP check in scope,
with the case in tests/host/ltp_cases/ that states it, or the language features it needs). This
script measures it again: an assertion is *expressible* when its case file exists and reads
(sharespec parses it); it *agrees* when the case's written results are exactly what the model
allows (read_case_file rejects the file otherwise) and the case PASSes against an
implementation on this host. As the language grows, reclassify assertions in the JSON, add
their cases, and run this again.

    python benchmarks/ltp_table.py [--no-run] [--impl 'COMMAND'] [--markdown]

--no-run skips the host run (agreement then counts the model check only, and says so).
Exit status 1 when an expressible assertion does not agree.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sharespec.casefiles import read_case_file  # noqa: E402
from sharespec.model.case import CaseError  # noqa: E402

DATA = ROOT / "docs" / "ltp-assertions.json"
CASES = ROOT / "tests" / "host" / "ltp_cases"


def load_data(path: Path = DATA) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def model_check(cases_dir: Path = CASES) -> dict:
    """file name -> (case name, None) when the model allows exactly what the file says, else
    (None, the reason)."""
    out = {}
    for f in sorted(cases_dir.glob("*.case")):
        try:
            [case] = read_case_file(f)
            out[f.name] = (case.name, None)
        except CaseError as e:
            out[f.name] = (None, str(e))
    return out


def host_verdicts(cases_dir: Path = CASES, impl: str | None = None) -> dict:
    """case name -> verdict of `sharespec run --case` on this host."""
    with tempfile.TemporaryDirectory(prefix="sharespec-ltp-") as tmp:
        out = Path(tmp) / "run.jsonl"
        cmd = [sys.executable, "-m", "sharespec", "run", "-q", "--case", str(cases_dir),
               "--json", str(out)]
        if impl:
            cmd += ["--impl", impl]
        subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        if not out.exists():
            return {}
        records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {r["case"]: r["verdict"] for r in records if "verdict" in r}


def tabulate(data: dict, checked: dict, verdicts: dict | None) -> tuple[list, dict]:
    """Rows (program, in scope, expressible, agreeing, missing features) and the totals."""
    rows = []
    for prog in data["programs"]:
        asserts = prog["assertions"]
        expressible = agreeing = 0
        missing = Counter()
        for a in asserts:
            if "case" in a and a["case"] in checked:
                expressible += 1
                name, problem = checked[a["case"]]
                if problem is None and (verdicts is None or verdicts.get(name) == "PASS"):
                    agreeing += 1
            else:
                missing.update(a.get("missing", ["(case file missing)"]))
        rows.append((prog["program"], len(asserts), expressible, agreeing, missing))
    totals = {"in_scope": sum(r[1] for r in rows), "expressible": sum(r[2] for r in rows),
              "agreeing": sum(r[3] for r in rows)}
    return rows, totals


def feature_counts(data: dict) -> tuple[Counter, Counter]:
    """Per missing feature: the assertions that need it, and those that need only it (adding
    that feature alone makes them expressible)."""
    needs, only = Counter(), Counter()
    for prog in data["programs"]:
        for a in prog["assertions"]:
            if "missing" in a:
                needs.update(a["missing"])
                if len(a["missing"]) == 1:
                    only[a["missing"][0]] += 1
    return needs, only


def group_counts(data: dict) -> list:
    """Per feature group: the assertions that need at least one feature of the group, and
    those that need nothing else (the whole group would make them expressible)."""
    groups = data["feature_groups"]
    out = []
    for group, features in groups.items():
        missing = [set(a["missing"]) for p in data["programs"] for a in p["assertions"]
                   if "missing" in a]
        need = sum(1 for m in missing if m & set(features))
        within = sum(1 for m in missing if m <= set(features))
        out.append((group, need, within))
    return out


def render(data, rows, totals, verdicts, markdown: bool) -> str:
    short = lambda p: p.replace("testcases/kernel/syscalls/", "").replace("testcases/kernel/", "")
    pct = lambda a, b: f"{100 * a / b:.0f}%" if b else "-"
    lines = []
    judged = "model allows LTP's result and this kernel passes" if verdicts is not None \
        else "model allows LTP's result (host run skipped)"
    if markdown:
        lines += ["| LTP program | in scope | expressible | agreeing | missing features (assertions) |",
                  "|---|---:|---:|---:|---|"]
    else:
        lines += [f"{'LTP program':34} {'scope':>5} {'expr':>5} {'agree':>5}  missing features"]
    for prog, n, e, g, missing in rows:
        miss = ", ".join(f"{f} ({c})" for f, c in sorted(missing.items(), key=lambda x: (-x[1], x[0])))
        if markdown:
            lines.append(f"| {short(prog)} | {n} | {e} | {g} | {miss} |")
        else:
            lines.append(f"{short(prog):34} {n:5} {e:5} {g:5}  {miss}")
    t = totals
    summary = (f"{t['in_scope']} assertions in {len(rows)} programs; expressible "
               f"{t['expressible']} ({pct(t['expressible'], t['in_scope'])}); agreeing "
               f"{t['agreeing']} of {t['expressible']} ({pct(t['agreeing'], t['expressible'])}): {judged}")
    if markdown:
        lines.append(f"| **total** | **{t['in_scope']}** | **{t['expressible']}** | **{t['agreeing']}** | |")
    lines += ["", summary, ""]
    needs, only = feature_counts(data)
    lines.append("Missing features, by group (assertions needing a feature of the group; of those, "
                 "needing nothing outside it):")
    for group, n, within in group_counts(data):
        lines.append(f"  {group}: {n}; {within}")
        for f in data["feature_groups"][group]:
            if needs[f]:
                lines.append(f"    {f}: needed by {needs[f]}, the only blocker of {only[f]}")
    lines += ["", "Expressible if the groups were added in this order (cumulative):"]
    for group, total in cumulative(data, t["expressible"]):
        lines.append(f"  + {group}: {total} ({pct(total, t['in_scope'])})")
    return "\n".join(lines)


def cumulative(data: dict, expressible_now: int) -> list:
    """(group, expressible assertions once this group and the ones before it are added)."""
    added, out = set(), []
    missing = [set(a["missing"]) for p in data["programs"] for a in p["assertions"]
               if "missing" in a]
    for group, features in data["feature_groups"].items():
        added |= set(features)
        out.append((group, expressible_now + sum(1 for m in missing if m <= added)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-run", action="store_true", help="skip the run on this host")
    ap.add_argument("--impl", help="the implementation to run the cases against")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args(argv)
    data = load_data()
    checked = model_check()
    verdicts = None if args.no_run else host_verdicts(impl=args.impl)
    rows, totals = tabulate(data, checked, verdicts)
    print(render(data, rows, totals, verdicts, args.markdown))
    for f, (_, problem) in checked.items():
        if problem:
            print(f"model disagrees: {problem}", file=sys.stderr)
    if verdicts is not None:
        for name, v in sorted(verdicts.items()):
            if v != "PASS":
                print(f"host: {name}: {v}", file=sys.stderr)
    return 0 if totals["agreeing"] == totals["expressible"] else 1


if __name__ == "__main__":
    sys.exit(main())
