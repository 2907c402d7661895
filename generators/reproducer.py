"""What a failure leaves behind: the case in both forms, the outcomes, and a reproducer.

``write_failure(case, result, out_dir)`` writes, for a failing (ideally shrunk) case NAME:

- ``NAME.case`` and ``NAME.json``: the case, with the model's expectations;
- ``NAME.outcome.txt``: the observed results beside the allowed ones, and the deviation;
- ``NAME.repro.py``: a standalone script (standard library only, ``python3 -S``) that performs
  the case's calls in the case's order on this machine and prints each result, then the first
  deviation ("step 4: observed X, the linux profile allows Y"); exit 1 when it reproduces.

The script is ``reproducer_template.py`` with the case's JSON pasted in: one small interpreter
of the case format rather than generated code per step, so that every reproducer shares one
reviewed implementation of the address and descriptor schemes. It checks each step against the
allowed set of the case (every result allowed over every way the earlier steps may go), which
is the oracle's verdict whenever the earlier steps are deterministic.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from sharespec.model.case import Case
from sharespec.model.case_json import case_to_json, dumps_case
from sharespec.model.case_text import case_to_text

TEMPLATE = Path(__file__).with_name("reproducer_template.py")


def reproducer_source(case: Case) -> str:
    """The text of a standalone reproducer of ``case`` (which must carry ``allowed``)."""
    body = json.dumps(case_to_json(case), indent=1)
    if "'''" in body:
        raise ValueError("a case cannot contain three quotes")
    return TEMPLATE.read_text(encoding="utf-8").replace("__CASE__", body)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def outcome_text(case: Case, result) -> str:
    lines = [f"case {case.name}: {result.verdict}", result.detail, ""]
    for i, st in enumerate(case.steps):
        allowed = " | ".join(sorted(map(str, case.allowed[i]))) if case.allowed else "?"
        observed = result.results[i] if i < len(result.results) else "-"
        mark = "   <-- deviation" if result.step == i else ""
        lines.append(f"step {i + 1}: {st.thread} {st.op.OP}: observed {observed}; "
                     f"allowed {allowed}{mark}")
    return "\n".join(lines) + "\n"


def write_failure(case: Case, result, out_dir) -> dict:
    """Write the four files; returns {"case", "json", "outcome", "reproducer"} -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"case": out / f"{case.name}.case", "json": out / f"{case.name}.json",
             "outcome": out / f"{case.name}.outcome.txt",
             "reproducer": out / f"{case.name}.repro.py"}
    _write(paths["case"], case_to_text(case))
    _write(paths["json"], dumps_case(case) + "\n")
    _write(paths["outcome"], outcome_text(case, result))
    _write(paths["reproducer"], reproducer_source(case), 0o755)
    return paths
