"""What ``sharespec run`` does with its failures: diagnose each, group them by kind, shrink the
first of each kind within a time budget, and write its folder.

For every FAIL, as it streams past:

1. its own diagnosis (sharespec/diagnosis.py): the named variants its observation is
   consistent with;
2. its fingerprint (generators/shrink.py ``Fingerprint``: the failing step's operation and
   rules, the kinds of result observed and allowed, the variants): a failure of a kind already
   seen is reported as "same failure as X" and not shrunk again;
3. the first failure of a kind is shrunk, keeping the same failure (``SameFailure``), on
   ``jobs`` implementation processes kept running for it (ImplementationPool), until it is
   minimal or its budget runs out: ``per_failure`` seconds, and no more than is left of
   ``total`` (diagnoses count against the total too). When the budget runs out, the
   smallest failing case found so far is kept and the report says so; when the total is
   spent, failures of new kinds are written as they are, unshrunk;
4. its folder is written (generators/reproducer.py ``write_failure``, and the pictures; not
   with --no-shrink), under
   the profile the run judged it under, with the command that replays it on the
   implementation.

Progress of a shrink goes to standard error: a bar on a terminal, a plain line every few
seconds otherwise, nothing with ``quiet``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Optional, TextIO

# A diagnosis judges one observation under each of the ~30 variants: usually 10-100 ms. This
# bounds a pathological one (a long case whose model is highly nondeterministic).
DIAGNOSIS_LIMIT = 3.0


@dataclass
class Budget:
    """Seconds for shrinking (and diagnosing): ``per_failure`` for each kind, ``total`` for
    the run. None: no limit."""
    per_failure: Optional[float] = 10.0
    total: Optional[float] = 60.0
    spent: float = 0.0

    def left(self) -> Optional[float]:
        return None if self.total is None else max(0.0, self.total - self.spent)

    def deadline(self, limit: Optional[float], start: float) -> Optional[float]:
        """When a piece of work started at ``start`` and allowed ``limit`` seconds must stop."""
        bounds = [b for b in (limit, self.left()) if b is not None]
        return start + min(bounds) if bounds else None


@dataclass
class FailureKind:
    """The failures of one fingerprint: the first (shrunk and written) and the others."""
    fingerprint: object
    first: str
    paths: dict = field(default_factory=dict)
    shrunk_steps: Optional[int] = None
    original_steps: int = 0
    budget_ran_out: bool = False
    others: list = field(default_factory=list)


class ShrinkProgress:
    """A shrink's progress on standard error: a bar on a terminal (budget used, steps, runs),
    otherwise a plain line at most every ``every`` seconds; nothing when quiet."""

    def __init__(self, stream: TextIO, quiet: bool = False, every: float = 2.0):
        self.stream, self.quiet, self.every = stream, quiet, every
        self.tty = (not quiet) and stream.isatty() and os.environ.get("TERM") != "dumb"
        self.name, self.start, self.budget, self.last = "", 0.0, None, 0.0
        self.steps = 0

    def begin(self, name: str, steps: int, budget: Optional[float]) -> None:
        self.name, self.steps, self.budget = name, steps, budget
        self.start = self.last = time.monotonic()

    def __call__(self, case, stats: dict) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        elapsed = now - self.start
        of = f"/{self.budget:g}" if self.budget is not None else ""
        text = (f"shrinking {self.name}: {self.steps} -> {len(case.steps)} steps, "
                f"{stats['tries']} runs, {elapsed:.1f}{of} s")
        if self.tty:
            bar = ""
            if self.budget:
                filled = min(20, int(20 * elapsed / self.budget))
                bar = "[" + "#" * filled + "." * (20 - filled) + "] "
            self.stream.write("\r  " + bar + text[:70] + " \x1b[K")
            self.stream.flush()
        elif now - self.last >= self.every:
            self.last = now
            print(f"  {text}", file=self.stream, flush=True)

    def end(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class Failures:
    """The failures of one run (see the module's docstring). ``impl_spec``: the
    implementation as the user named it (``mutant:NAME``, a command; None: the bundled one),
    for the replay command; ``impl``: the command it resolved to."""

    def __init__(self, impl: Optional[str], profile: str, timeout: float, out_dir, out: TextIO,
                 *, impl_spec: Optional[str] = None, jobs: int = 1, shrink: bool = True,
                 budget: Optional[Budget] = None, progress: Optional[ShrinkProgress] = None):
        from sharespec.diagnosis import DiagnosisTable
        from sharespec.implementation_pool import ImplementationPool
        self.impl, self.impl_spec, self.profile, self.timeout = impl, impl_spec, profile, timeout
        self.out_dir, self.out, self.shrink_enabled = out_dir, out, shrink
        self.budget = budget or Budget()
        self.progress = progress
        self.pool = ImplementationPool(impl, profile, timeout, jobs)
        self.kinds: list = []
        self.table = DiagnosisTable()
        self.count = 0

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> "Failures":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one failure -------------------------------------------------------------------

    def add(self, result) -> Optional[dict]:
        """Handle one FAIL; returns the paths written (None for a "same as" failure)."""
        from sharespec.generators.shrink import failure_fingerprint
        self.count += 1
        diagnosis = self._diagnose(result)
        self.table.add(result.case.name, diagnosis)
        fingerprint = failure_fingerprint(result, None if diagnosis is None else diagnosis.names)
        kind = next((k for k in self.kinds if k.fingerprint.same_kind(fingerprint)), None)
        if kind is not None:
            kind.others.append(result.case.name)
            where = f": see {kind.paths['folder']}" if kind.paths else ""
            print(f"    same failure as {kind.first} ({fingerprint.text()}){where}", file=self.out)
        else:
            kind = FailureKind(fingerprint, result.case.name, original_steps=len(result.case.steps))
            self.kinds.append(kind)
            if self.shrink_enabled:       # --no-shrink: no folder either, as before
                self._shrink_and_write(result, kind)
        if diagnosis is not None:
            print(f"    {diagnosis.sentence()}", file=self.out)
        else:
            print("    diagnosis: not made (the shrinking and diagnosis budget is spent)",
                  file=self.out)
        return kind.paths if kind.first == result.case.name else None

    def _diagnose(self, result):
        from sharespec.diagnosis import diagnose_failure
        start = time.monotonic()
        if self.budget.left() == 0:
            return None
        try:
            return diagnose_failure(result, self.profile,
                                    self.budget.deadline(DIAGNOSIS_LIMIT, start))
        finally:
            self.budget.spent += time.monotonic() - start

    def _shrink_and_write(self, result, kind: FailureKind) -> None:
        from sharespec.generators.reproducer import Replay, write_failure
        from sharespec.generators.shrink import SameFailure, make_case, shrink
        from sharespec.pictures import write_failure_pictures

        start = time.monotonic()
        # The case under the profile it was judged under (a posix run of a case written
        # "profile linux" fails under posix, and must be written and shrunk as posix).
        case = result.case
        if case.profile != self.profile or case.allowed is None:
            case = (make_case(replace(case, profile=self.profile), case.steps)
                    or replace(case, profile=self.profile))
        stats: dict = {"tries": 0, "budget_exhausted": False}
        small, final = case, result
        left = self.budget.left()
        shrinking = left is None or left > 0
        deadline = self.budget.deadline(self.budget.per_failure, start)
        budget_seconds = None if deadline is None else deadline - start
        if shrinking:
            still_fails = SameFailure(kind.fingerprint, self.pool.run, self.pool.width,
                                      self.profile)
            if self.progress is not None:
                self.progress.begin(result.case.name, len(case.steps), budget_seconds)
            try:
                small = shrink(case, still_fails, stats, deadline=deadline,
                               on_progress=self.progress)
            finally:
                if self.progress is not None:
                    self.progress.end()
            if small is not case:
                (final,) = self.pool.run([small])
                if not still_fails.matches(final):     # it did not fail again: keep the original
                    small, final = case, result
        seconds = time.monotonic() - start
        replay = Replay(self.impl_spec, self.profile, self.timeout,
                        original=result.case.name if shrinking else None,
                        original_steps=len(result.case.steps), shrink_runs=stats["tries"],
                        budget_ran_out=stats["budget_exhausted"], budget=budget_seconds)
        paths = write_failure(small, final, self.out_dir, replay)
        try:
            paths.update(write_failure_pictures(small, final, paths["folder"]))
        except Exception as e:      # a picture is a help, not the failure: the run goes on
            print(f"    picture: not drawn ({e})", file=self.out)
        self.budget.spent += time.monotonic() - start
        kind.paths, kind.shrunk_steps = paths, len(small.steps)
        kind.budget_ran_out = stats["budget_exhausted"]
        self._print_written(result, small, paths, replay, stats, seconds, shrinking)

    def _print_written(self, result, small, paths, replay, stats, seconds, shrinking) -> None:
        out = self.out
        if shrinking:
            note = ""
            if stats["budget_exhausted"]:
                note = (f"; the budget ran out ({replay.budget:g} s): the smallest failing "
                        "case found so far")
            print(f"    shrunk {len(result.case.steps)} -> {len(small.steps)} steps "
                  f"({stats['tries']} runs, {seconds:.1f} s{note}): {paths['case']}", file=out)
        else:
            print(f"    not shrunk (the total shrinking budget ({self.budget.total:g} s) is "
                  f"spent): {paths['case']}", file=out)
        print(f"    replay on the implementation: {replay.command(str(paths['case']))}", file=out)
        print(f"    reproducer (performs the case on this host): python3 -S {paths['reproducer']}",
              file=out)
        if "dot" in paths:
            print(f"    picture: {paths.get('svg', paths['dot'])} (sharespec explain "
                  f"{paths['case']} --out FILE.svg)", file=out)

    # --- the end of the run ---------------------------------------------------------------

    def report_lines(self) -> list:
        """Failures by kind, then the diagnosis table (empty when nothing failed)."""
        if not self.kinds:
            return []
        lines = [f"{self.count} failure(s) of {len(self.kinds)} kind(s):"]
        for kind in self.kinds:
            shrunk = ""
            if kind.shrunk_steps is not None:
                shrunk = f", {kind.original_steps} -> {kind.shrunk_steps} steps"
                if kind.budget_ran_out:
                    shrunk += " (budget ran out)"
            same = f", and {len(kind.others)} more the same" if kind.others else ""
            where = f": {kind.paths['folder']}" if kind.paths else ""
            lines.append(f"  {kind.first}{same}: {kind.fingerprint.text()}{shrunk}{where}")
        if self.table:
            lines += self.table.lines()
        return lines

