"""What a failure leaves behind: a folder with the case, the outcomes, the replay command and a
reproducer.

``write_failure(case, result, out_dir, replay=Replay(...))`` writes, for a failing (ideally
shrunk) case NAME, the folder ``out_dir/NAME/`` holding:

- ``NAME.case`` and ``NAME.json``: the case, under the profile it failed under, with that
  profile's expectations (re-running it gives the same verdict);
- ``outcome.txt``: the observed results beside the allowed ones, the deviation, the
  implementation, the exact command that replays the case on it, and how the case was shrunk
  (with the budget, if it ran out first);
- ``replay.sh``: that command as a script (``sharespec run --impl 'CMD' --case NAME.case``): it
  runs the case on the implementation under test;
- ``repro.py``: a standalone script (standard library only, ``python3 -S``) that performs the
  case's calls in the case's order ON THIS HOST and prints each result, then the first
  deviation ("step 4: observed X, the linux profile allows Y"); exit 1 when it reproduces. It
  says in its first lines that it replays the host, not the implementation.

(sharespec/pictures.py adds ``NAME.observation.json``, what was observed, which ``sharespec
explain NAME.case`` reads, and ``NAME.dot`` / ``NAME.svg``.)

The script is ``reproducer_template.py`` with the case's JSON pasted in: one small interpreter
of the case format rather than generated code per step, so that every reproducer shares one
reviewed implementation of the address and descriptor schemes. It checks each step against the
allowed set of the case (every result allowed over every way the earlier steps may go), which
is the oracle's verdict whenever the earlier steps are deterministic.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from sharespec.model.case import Case
from sharespec.model.case_json import case_to_json, dumps_case
from sharespec.model.case_text import case_to_text
from sharespec.model.validate import file_stem

TEMPLATE = Path(__file__).with_name("reproducer_template.py")


@dataclass(frozen=True)
class Replay:
    """How the failure was found: the implementation as the user named it (None: the bundled
    one), the profile, the case timeout; and what shrinking did."""
    impl: Optional[str] = None
    profile: str = "linux"
    timeout: float = 10.0
    original: Optional[str] = None        # the failing case it was shrunk from
    original_steps: Optional[int] = None
    shrink_runs: Optional[int] = None
    budget_ran_out: bool = False
    budget: Optional[float] = None

    def command(self, case_file: str) -> str:
        """``sharespec run --impl 'CMD' --case F.case``, with the options that change a verdict."""
        words = ["sharespec", "run"]
        if self.impl:
            words += ["--impl", self.impl]
        profile, _, settings = self.profile.partition(":")   # linux:shm_rmid_forced
        if profile != "linux":
            words += ["--profile", profile]
        if "shm_rmid_forced" in settings.split(":"):
            words += ["--shm-rmid-forced", "1"]
        if self.timeout != 10.0:
            words += ["--timeout", f"{self.timeout:g}"]
        words += ["--case", case_file]
        return " ".join(shlex.quote(w) for w in words)

    def implementation(self) -> str:
        return self.impl or "the bundled implementation (this host's kernel)"


def _json_for_template(value) -> str:
    body = json.dumps(value, indent=1)
    if "'''" in body:
        raise ValueError("a case cannot contain three quotes")
    return body


def reproducer_source(case: Case, replay: Optional[Replay] = None,
                      case_file: Optional[str] = None) -> str:
    """The text of a standalone reproducer of ``case`` (which must carry ``allowed``)."""
    about = {"impl": None, "command": None}
    if replay is not None:
        about = {"impl": replay.implementation(),
                 "command": replay.command(case_file or f"{case.name}.case")}
    # a quote inside the commands would end the r'''...''' string: JSON's escape for it
    about_text = json.dumps(about).replace("'", "\\u0027")
    return (TEMPLATE.read_text(encoding="utf-8")
            .replace("__CASE__", _json_for_template(case_to_json(case)))
            .replace("__REPLAY__", about_text))


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def outcome_text(case: Case, result, replay: Optional[Replay] = None,
                 case_file: Optional[str] = None) -> str:
    lines = [f"case {case.name}: {result.verdict} under profile {case.profile}", result.detail, ""]
    for i, st in enumerate(case.steps):
        allowed = " | ".join(sorted(map(str, case.allowed[i]))) if case.allowed else "?"
        observed = result.results[i] if i < len(result.results) else "-"
        mark = "   <-- deviation" if result.step == i else ""
        lines.append(f"step {i + 1}: {st.thread} {st.op.OP}: observed {observed}; "
                     f"allowed {allowed}{mark}")
    if replay is not None:
        lines += ["", f"implementation: {replay.implementation()}",
                  f"replay it on the implementation: {replay.command(case_file or case.name + '.case')}",
                  "   (or ./replay.sh in this folder)",
                  "repro.py performs the case on this host's kernel, not on the implementation"]
        if replay.original and replay.original_steps is not None:
            how = f"shrunk from {replay.original} ({replay.original_steps} steps"
            how += f", {replay.shrink_runs} runs)" if replay.shrink_runs is not None else ")"
            lines.append(how)
        if replay.budget_ran_out:
            lines.append(f"shrinking stopped at its budget ({replay.budget:g} s): this is the "
                         "smallest failing case found by then, perhaps not a minimal one")
    return "\n".join(lines) + "\n"


def replay_script(case_file: str, replay: Replay) -> str:
    """replay.sh: the replay command, run from wherever it is called, on the case beside it."""
    command = replay.command("CASE_FILE").replace("CASE_FILE", '"$here/' + case_file + '"')
    fallback = f"{shlex.quote(sys.executable)} -m sharespec"
    return "\n".join([
        "#!/bin/sh",
        "# Written by sharespec: runs this folder's case on the implementation under test,",
        f"# {replay.implementation()},",
        "# and judges it (exit 1: it fails again). repro.py, beside it, replays this host instead.",
        "# A relative command in --impl is found from the folder you run this from.",
        'here=$(cd "$(dirname "$0")" && pwd)',
        'if [ -z "${SHARESPEC:-}" ]; then',
        "    if command -v sharespec >/dev/null 2>&1; then SHARESPEC=sharespec",
        f"    else SHARESPEC={shlex.quote(fallback)}; fi",
        "fi",
        "exec $SHARESPEC " + command[len("sharespec "):] + ' "$@"',
        ""])


def failure_folder(out_dir, case: Case) -> Path:
    """Where the files of the failure of ``case`` go: a folder named after the case, inside
    ``out_dir`` whatever the name (file_stem escapes a name such as "../x")."""
    return Path(out_dir) / file_stem(case.name)


def write_failure(case: Case, result, out_dir, replay: Optional[Replay] = None) -> dict:
    """Write the failure folder; returns {"folder", "case", "json", "outcome", "replay",
    "reproducer"} -> path. The case is written under ``replay.profile`` (the profile the
    run judged it under), with that profile's expectations."""
    replay = replay or Replay(profile=case.profile)
    if case.profile != replay.profile:
        from sharespec.model.oracle import allowed_per_step
        case = replace(case, profile=replay.profile,
                       allowed=tuple(allowed_per_step(case.steps, replay.profile)))
    folder = failure_folder(out_dir, case)
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(case.name)   # never a path
    case_file = f"{stem}.case"
    paths = {"folder": folder, "case": folder / case_file, "json": folder / f"{stem}.json",
             "outcome": folder / "outcome.txt", "replay": folder / "replay.sh",
             "reproducer": folder / "repro.py"}
    _write(paths["case"], case_to_text(case))
    _write(paths["json"], dumps_case(case) + "\n")
    _write(paths["outcome"], outcome_text(case, result, replay, str(paths["case"])))
    _write(paths["replay"], replay_script(case_file, replay), 0o755)
    _write(paths["reproducer"], reproducer_source(case, replay, str(paths["case"])), 0o755)
    return paths
