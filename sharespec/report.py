"""Reports: a line per case as it finishes, a summary by catalogue rule, JSON records."""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import re
from collections import Counter, defaultdict
from typing import Optional, TextIO

from sharespec import __version__
from sharespec.model.rules import HOST_SETTING_RULES, OBSERVABLE_RULES, UNOBSERVABLE_RULES
from sharespec.runner import VERDICTS, CaseResult

# Exit statuses of run and merge (also in the README and in `sharespec run --help`).
EXIT_PASSED = 0          # every judged case passed, and enough of them were judged
EXIT_FAILED = 1          # a case failed, or the implementation broke the protocol
EXIT_USAGE = 2           # bad usage or input: nothing ran
EXIT_UNSETTLED = 3       # nothing failed, but too little was learnt: no case passed, or more
                         # than --max-inconclusive of the judged cases were inconclusive
EXIT_INTERRUPTED = 130   # SIGINT or SIGTERM: a partial report was printed
DEFAULT_MAX_INCONCLUSIVE = 0.10


def environment(profile: str, seed: int) -> dict:
    libc = " ".join(platform.libc_ver()) or "unknown"
    return {"sharespec": __version__, "kernel": platform.release(), "machine": platform.machine(),
            "libc": libc, "python": platform.python_version(), "profile": profile, "seed": seed}


class Summary:
    """Counts by verdict and by rule, kept as cases stream past (no case is retained)."""

    def __init__(self):
        self.verdicts: Counter = Counter()
        self.by_rule: dict = defaultdict(Counter)
        self.failures: list = []   # (name, detail): small, only the failing ones
        self.inconclusive_reasons: Counter = Counter()

    def add(self, result: CaseResult) -> None:
        self.verdicts[result.verdict] += 1
        for rule in result.case.rules:
            self.by_rule[rule][result.verdict] += 1
        if result.verdict in ("FAIL", "ERROR"):
            self.failures.append((result.case.name, result.detail))
        if result.verdict == "INCONCLUSIVE":
            self.inconclusive_reasons[_reason_kind(result.detail)] += 1

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())

    def exit_status(self, max_inconclusive: float = DEFAULT_MAX_INCONCLUSIVE) -> int:
        return self.settle(max_inconclusive)[0]

    def settle(self, max_inconclusive: float = DEFAULT_MAX_INCONCLUSIVE) -> "tuple[int, str]":
        """(exit status, the line that says why when it is not 0). A run that learnt nothing
        must not look green: an implementation that answers "error" to every case, or one that
        cannot even start under an emulator, gets EXIT_UNSETTLED, never EXIT_PASSED."""
        v = self.verdicts
        if v["FAIL"] or v["ERROR"]:
            return EXIT_FAILED, (f"{v['FAIL']} case(s) failed and {v['ERROR']} broke the protocol")
        judged = self.total - v["NOT_APPLICABLE"]
        if not v["PASS"]:
            why = "no case was run" if not self.total else (
                f"no case passed ({v['INCONCLUSIVE']} inconclusive, {v['NOT_APPLICABLE']} "
                "not applicable): nothing was learnt about the implementation")
            return EXIT_UNSETTLED, why + self._top_reasons()
        if judged and v["INCONCLUSIVE"] > max_inconclusive * judged:
            return EXIT_UNSETTLED, (
                f"{v['INCONCLUSIVE']} of {judged} judged cases ({v['INCONCLUSIVE'] / judged:.0%}) "
                f"were inconclusive, more than --max-inconclusive {max_inconclusive:.0%}"
                + self._top_reasons())
        return EXIT_PASSED, ""

    def _top_reasons(self) -> str:
        if not self.inconclusive_reasons:
            return ""
        top = "; ".join(f"{n} x {reason}" for reason, n in self.inconclusive_reasons.most_common(3))
        return f"; most common: {top}"

    def covered_rules(self) -> list:
        return sorted(r for r, c in self.by_rule.items() if c["PASS"])

    def uncovered_rules(self) -> list:
        wanted = [r for r in OBSERVABLE_RULES if r not in UNOBSERVABLE_RULES and r not in HOST_SETTING_RULES]
        return [r for r in wanted if not self.by_rule.get(r, Counter())["PASS"]]

    def record(self) -> dict:
        return {"summary": {v.lower(): self.verdicts[v] for v in VERDICTS} | {"cases": self.total},
                "by_rule": {r: dict(c) for r, c in sorted(self.by_rule.items())},
                "covered_rules": self.covered_rules(), "uncovered_rules": self.uncovered_rules()}

    def table(self) -> str:
        lines = [f"{'rule':<6} {'pass':>5} {'fail':>5} {'incon':>6} {'n/a':>5} {'error':>6}"]
        for rule, c in sorted(self.by_rule.items()):
            lines.append(f"{rule:<6} {c['PASS']:>5} {c['FAIL']:>5} {c['INCONCLUSIVE']:>6} "
                         f"{c['NOT_APPLICABLE']:>5} {c['ERROR']:>6}")
        return "\n".join(lines)

    def closing_line(self) -> str:
        v = self.verdicts
        return (f"{v['PASS']} passed, {v['FAIL']} failed, {v['INCONCLUSIVE']} inconclusive, "
                f"{v['NOT_APPLICABLE']} not applicable, {v['ERROR']} errors ({self.total} cases)")


def _reason_kind(detail: str) -> str:
    """An inconclusive detail without what varies from case to case (step numbers, counts,
    quoted output), so that the same reason is counted once: "step 3: ..." -> "step N: ..."."""
    kind = re.sub(r"\b\d+\b", "N", detail.split(" [")[0])
    return kind[:160]


def describe(result: CaseResult) -> str:
    """One line (two for a failure) about one case."""
    head = f"{result.verdict:<14} {result.case.name}"
    if result.verdict == "PASS":
        return head
    if result.verdict == "FAIL":
        rules = ", ".join(result.rules)
        return (f"{head}\n    {result.detail}" + (f"\n    rules: {rules}" if rules else ""))
    return f"{head}: {result.detail}"


class Progress:
    """A one-line counter on a terminal; nothing otherwise (plain lines are printed instead)."""

    def __init__(self, stream: TextIO, total: Optional[int]):
        self.stream, self.total = stream, total
        self.enabled = stream.isatty() and os.environ.get("TERM") != "dumb"

    def update(self, summary: Summary) -> None:
        if not self.enabled:
            return
        of = f"/{self.total}" if self.total else ""
        v = summary.verdicts
        self.stream.write(f"\r  {summary.total}{of} cases  pass {v['PASS']}  fail {v['FAIL']}  "
                          f"inconclusive {v['INCONCLUSIVE']}  error {v['ERROR']} ")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()


def output_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot take a results file (written beside it, then renamed onto it), or
    None. Checked before a run begins (commands.common.check_output)."""
    import stat
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        return f"cannot be written: {e.strerror or e}"
    if mode is not None and stat.S_ISDIR(mode):
        return "is a folder: give the name of a file"
    if mode is not None and not stat.S_ISREG(mode):
        return "is not a regular file (a device, a FIFO, ...): give the name of a file"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"no such folder {folder}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write in {folder}"
    return None


class JsonResults:
    """``--json FILE``: one record per case and a closing summary, JSON lines, written to a
    temporary file beside FILE and renamed at the end, so that a reader never sees half a file."""

    def __init__(self, path: str, env: dict):
        self.path = path
        if path == "-":
            self.stream, self.tmp = sys.stdout, None
        else:
            folder = os.path.dirname(os.path.abspath(path))
            fd, self.tmp = tempfile.mkstemp(prefix=".sharespec-", suffix=".partial", dir=folder)
            self.stream = os.fdopen(fd, "w", encoding="utf-8")
        self.write({"environment": env})

    def write(self, record: dict) -> None:
        self.stream.write(json.dumps(record, sort_keys=False) + "\n")

    def close(self, summary: Summary, complete: bool) -> None:
        self.write(summary.record() | {"complete": complete})
        if self.tmp is None:
            self.stream.flush()
            return
        self.stream.close()
        os.replace(self.tmp, self.path)

    def abandon(self) -> None:
        if self.tmp is not None:
            self.stream.close()
            os.unlink(self.tmp)
