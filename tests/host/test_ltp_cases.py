"""The LTP corpus (tests/host/ltp_cases/, issue 16): every case states what a Linux Test Project
program expects, in sharespec's case language, and

- the model allows exactly the results the case writes (so it allows LTP's expected result);
- the bundled implementation PASSes every case on this host's kernel;
- the classification in docs/ltp-assertions.json and the case files agree with each other, and
  the measured totals are pinned, so that a silent change of either shows.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sharespec.casefiles import read_case_file

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "host" / "ltp_cases"
DATA = json.loads((ROOT / "docs" / "ltp-assertions.json").read_text())
CASE_FILES = sorted(CASES.glob("*.case"))
assert CASE_FILES, f"no LTP case in {CASES}"
LTP_CITATION = re.compile(r"^# LTP (testcases/kernel/\S+\.c)\b")

sys.path.insert(0, str(ROOT / "benchmarks"))
import ltp_table  # noqa: E402


def cited_program(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    m = LTP_CITATION.match(first)
    assert m, f"{path.name}: the first line must cite the LTP file ('# LTP testcases/...c: ...')"
    return m.group(1)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_model_allows_exactly_what_the_ltp_case_says(path):
    # read_case_file raises CaseError when a written result differs from the model's set
    [case] = read_case_file(path)
    assert case.allowed is not None and all(case.allowed)
    assert case.name == "ltp-" + path.stem


def test_every_case_is_classified_under_the_program_it_cites():
    by_case = {}
    for prog in DATA["programs"]:
        for a in prog["assertions"]:
            if "case" in a:
                by_case.setdefault(a["case"], set()).add(prog["program"])
    files = {p.name for p in CASE_FILES}
    assert set(by_case) == files, (set(by_case) ^ files)
    for path in CASE_FILES:
        assert by_case[path.name] == {cited_program(path)}, path.name


def test_every_unexpressible_assertion_names_known_features():
    known = {f for fs in DATA["feature_groups"].values() for f in fs}
    for prog in DATA["programs"]:
        for a in prog["assertions"]:
            assert ("case" in a) != ("missing" in a), (prog["program"], a["what"])
            assert set(a.get("missing", ())) <= known, (prog["program"], a["missing"])


def test_measured_totals_are_pinned():
    rows, totals = ltp_table.tabulate(DATA, ltp_table.model_check(CASES), verdicts=None)
    assert len(rows) == 79
    assert totals == {"in_scope": 280, "expressible": 256, "agreeing": 256}
    # what each group of missing features would add (docs/ltp.md)
    assert [n for _, n in ltp_table.cumulative(DATA, 256)] == [256, 257, 257, 258, 262, 280]


def test_every_ltp_case_passes_on_this_kernel(tmp_path):
    out = tmp_path / "ltp.jsonl"
    r = subprocess.run([sys.executable, "-m", "sharespec", "run", "-q", "--case", str(CASES),
                        "--json", str(out)], capture_output=True, text=True, timeout=600,
                       cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    verdicts = {rec["case"]: rec["verdict"]
                for rec in map(json.loads, out.read_text().splitlines()) if "verdict" in rec}
    assert set(verdicts) == {"ltp-" + p.stem for p in CASE_FILES}
    assert {v for v in verdicts.values()} == {"PASS"}, {k: v for k, v in verdicts.items() if v != "PASS"}
