"""Minimal counterexamples: delta debugging over the steps of a failing case, then over its
arguments, until the case is 1-minimal.

``shrink(case, still_fails)`` returns a case that still fails (``still_fails(case)`` is true)
and from which no single step can be removed, and no single argument made simpler, without the
failure going away (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input",
TSE 2002, for ddmin).

Removing a step keeps the program valid: steps that use a handle whose binding step is gone,
or that a removed thread performs, go too (a cascade), and any candidate that
``validate_program`` still rejects, or that the model cannot judge, is skipped. Every
candidate's ``allowed`` is recomputed by the oracle, so a shrunk case is a consistent case.

"Simpler" is a well-founded order per argument, so shrinking ends: a smaller number (0, 1,
half, one less), a flag false, protection rw before r before none, no placement before a
placement, a private key before a named one, an earlier handle of the same kind.

The standard ``still_fails`` (``SameFailure``) re-runs the implementation and accepts a
candidate when it FAILs *the same way* as the original (its ``Fingerprint``):

- at a step of the same operation (``read``, ``shmat``, ...), so breaking the same rules;
- with an observed result of the same kind (a byte; or exactly the same errno or signal name;
  ``ok``; ...) -- a byte may differ, since values are what shrinking makes smaller,
- against an allowed set of the same kinds (e.g. "a byte was allowed", "only EINVAL"),
- and, when named variants of the specification explain the original (the diagnosis), one of
  them explains the candidate: two bugs can both make a read see the wrong byte.

This keeps a shrink from sliding to a different bug while letting values and places shrink.

A deadline bounds the search: when it passes, the smallest failing case found so far is
returned and ``stats["budget_exhausted"]`` says so. Candidates can be tried several at a time
(``SameFailure.width``, one per implementation process); the one taken is always the first in
the order below that fails, so the result does not depend on the width.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, fields, replace
from typing import Callable, Iterable, Optional

from sharespec.model.case import Case, CaseError
from sharespec.model.ops import PAGE_SIZE, PROTECTIONS, Place, Pwrite, Step
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.results import Errno, Fault, parse_result
from sharespec.model.semantics import NotApplicable
from sharespec.model.validate import INITIAL_THREAD, validate_program

from .canonical import canonical_program

StillFails = Callable[[Case], bool]


# --- candidates ----------------------------------------------------------------------

def handles_used(st: Step) -> set:
    """The handles a step needs bound: its thread, segments, descriptors, places' mappings."""
    used = {st.thread}
    for f in fields(st.op):
        value = getattr(st.op, f.name)
        if isinstance(value, Place):
            used.add(value.mapping)
        elif f.name in ("segment", "fd") and isinstance(value, str):
            used.add(value)
    return used


def with_dependents_removed(steps: Iterable[Step]) -> tuple:
    """The steps whose handles are still all bound by earlier kept steps (or are T0)."""
    bound = {INITIAL_THREAD}
    kept = []
    for st in steps:
        if handles_used(st) <= bound:
            kept.append(st)
            if st.bind is not None:
                bound.add(st.bind)
    return tuple(kept)


def make_case(case: Case, steps) -> Optional[Case]:
    """``case`` with these steps and the model's expectations; None if no valid case."""
    steps = with_dependents_removed(steps)
    if not steps:
        return None
    try:
        validate_program(steps)
        allowed = tuple(allowed_per_step(steps, case.profile))
    except (CaseError, NotApplicable, StateExplosion):
        return None
    return replace(case, steps=steps, allowed=allowed)


def _smaller_numbers(x: int) -> list:
    """0, 1, the page multiple below, and x - x/2^k for every k: the big steps first reach a
    threshold in O(log^2 x) tries (never 8192 -> 8191 -> ... one at a time), and x - 1 is
    among them, so the end result is 1-minimal."""
    out = {0, 1, x - x % 4096}
    d = x
    while d:
        out.add(x - d)
        d //= 2
    return sorted(c for c in out if 0 <= c < x)


def _simpler_values(name: str, value, earlier: dict) -> list:
    """Values strictly simpler than ``value`` for the argument ``name``."""
    if isinstance(value, bool):
        return [False] if value else []
    if isinstance(value, int):
        return _smaller_numbers(value)
    if name == "prot" and value in PROTECTIONS:
        return list(PROTECTIONS[:PROTECTIONS.index(value)])
    if name == "key" and value != "private":
        return ["private"]
    if name in ("segment", "fd") and isinstance(value, str):
        handles = earlier.get(name, [])
        return handles[:handles.index(value)] if value in handles else []
    if isinstance(value, Place):
        out = [replace(value, page=p) for p in _smaller_numbers(value.page)]
        out += [replace(value, offset=o) for o in _smaller_numbers(value.offset)]
        maps = earlier.get("mapping", [])
        if value.mapping in maps:
            out += [replace(value, mapping=m) for m in maps[:maps.index(value.mapping)]]
        return out
    return []


def argument_candidates(steps: tuple, index: int) -> list:
    """Programs with one argument of step ``index`` made simpler (simplest first)."""
    earlier: dict = {"thread": [INITIAL_THREAD]}
    for st in steps[:index]:
        if st.bind is not None:
            earlier.setdefault(st.op.BINDS, []).append(st.bind)
    st = steps[index]
    out = []
    threads = earlier["thread"]
    for t in threads[:threads.index(st.thread)] if st.thread in threads else []:
        out.append(replace(st, thread=t))
    for f in fields(st.op):
        value = getattr(st.op, f.name)
        if f.name == "at" and value is not None and f.default is None:
            out.append(replace(st, op=replace(st.op, at=None)))   # let the system place it
        for simpler in _simpler_values(f.name, value, earlier):
            out.append(replace(st, op=replace(st.op, **{f.name: simpler})))
    return [steps[:index] + (c,) + steps[index + 1:] for c in out]


# --- the search ----------------------------------------------------------------------

class _OutOfTime(Exception):
    """The shrinking budget ran out: the smallest failing case found so far is kept."""


class _Search:
    """Tries candidates in order and keeps the smallest case that still fails.

    ``still_fails`` is a predicate on one case, or an object with ``many(cases) -> [bool]``
    and ``width``: then ``width`` candidates are tried at once (on as many implementation
    processes) and the first of them in order that fails is taken, so the result is the one
    a one-at-a-time search finds; the others were tried for nothing, which costs runs, not
    time, while the cores would otherwise wait."""

    def __init__(self, case: Case, still_fails, stats: dict, deadline: Optional[float],
                 on_progress: Optional[Callable]):
        self.best = case
        self.still_fails = still_fails
        self.many = getattr(still_fails, "many", None)
        self.width = max(1, int(getattr(still_fails, "width", 1))) if self.many else 1
        self.stats = stats
        self.deadline = deadline
        self.on_progress = on_progress

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def first(self, candidates: Iterable) -> Optional[tuple]:
        """The first (case, tag) of ``candidates`` (pairs; a None case is skipped) that fails
        the same way, or None when none does."""
        batch: list = []
        for item in candidates:
            if self.out_of_time():          # making candidates costs the oracle's time too
                raise _OutOfTime()
            if item[0] is None:
                continue
            batch.append(item)
            if len(batch) == self.width:
                found = self._try(batch)
                if found is not None:
                    return found
                batch = []
        return self._try(batch) if batch else None

    def _try(self, batch: list) -> Optional[tuple]:
        if self.out_of_time():
            raise _OutOfTime()
        self.stats["tries"] += len(batch)
        cases = [case for case, _ in batch]
        verdicts = self.many(cases) if self.many else [self.still_fails(cases[0])]
        found = next((item for item, fails in zip(batch, verdicts) if fails), None)
        if found is not None:
            self.best = found[0]
        if self.on_progress is not None:
            self.on_progress(self.best, self.stats)
        return found


def _ddmin(case: Case, search: _Search) -> Case:
    """Zeller's ddmin over step indices (subsets and complements, granularity doubling)."""
    n = 2
    while len(case.steps) >= 2:
        steps = case.steps
        chunk = max(1, len(steps) // n)
        parts = [list(range(i, min(i + chunk, len(steps)))) for i in range(0, len(steps), chunk)]

        def candidates(case=case, steps=steps, parts=parts):
            for keep_part in (True, False):
                for part in parts:
                    keep = set(part) if keep_part else set(range(len(steps))) - set(part)
                    cand = make_case(case, [s for i, s in enumerate(steps) if i in keep])
                    if cand is not None and len(cand.steps) < len(steps):
                        yield cand, keep_part

        found = search.first(candidates())
        if found is not None:
            case, keep_part = found
            n = 2 if keep_part else max(n - 1, 2)
            continue
        if n >= len(steps):
            break
        n = min(n * 2, len(steps))
    return case


def _remove_one(case: Case, search: _Search) -> Optional[Case]:
    found = search.first((make_case(case, case.steps[:i] + case.steps[i + 1:]), i)
                         for i in range(len(case.steps)))
    return found[0] if found else None


def _simplify_one(case: Case, search: _Search) -> Optional[Case]:
    def candidates():
        for i in range(len(case.steps)):
            for program in argument_candidates(case.steps, i):
                cand = make_case(case, program)
                if cand is not None and len(cand.steps) == len(case.steps):
                    yield cand, i

    found = search.first(candidates())
    return found[0] if found else None


def moved_candidates(steps: tuple) -> Iterable[tuple]:
    """Programs one step shorter made by moving a step into a thread created after it (just
    after the fork or spawn that binds the thread, performed by that thread) and removing
    another step. A parent's attach, mapping or open that a fork child inherits can then be
    the child's own: ``shmat; fork; ...; shmdt; child exit`` becomes ``fork; child shmat; ...;
    child exit``, whose parent detach goes. Neither half alone is shorter, so the removals
    and simplifications never find it; together they are, so shrinking still ends."""
    creators = {st.bind: i for i, st in enumerate(steps)
                if st.bind is not None and st.op.BINDS == "thread"}
    for i, st in enumerate(steps):
        for thread, at in creators.items():
            if at <= i or thread == st.thread:
                continue
            rest = steps[:i] + steps[i + 1:]
            moved = rest[:at] + (replace(st, thread=thread),) + rest[at:]
            for r in range(len(moved)):
                if r != at:
                    yield moved[:r] + moved[r + 1:]


def pwrite_candidates(steps: tuple) -> Iterable[tuple]:
    """Programs one step shorter made by writing a byte of an object with pwrite instead of a
    store through a shared mapping of it (R12: the same byte of the same object), and removing
    another step: the mapping may then come later, or go, and the object need not be made
    large enough to map first (a pwrite past the end grows it)."""
    maps = {st.bind: st.op for st in steps
            if st.bind is not None and st.op.OP == "mmap" and getattr(st.op, "fd", None)
            and st.op.shared}
    for i, st in enumerate(steps):
        if st.op.OP != "write" or st.op.at.mapping not in maps:
            continue
        m = maps[st.op.at.mapping]
        offset = m.offset + st.op.at.page * PAGE_SIZE + st.op.at.offset
        rewritten = steps[:i] + (replace(st, op=Pwrite(m.fd, offset, st.op.value)),) + steps[i + 1:]
        for r in range(len(rewritten)):
            if r != i:
                yield rewritten[:r] + rewritten[r + 1:]


def _move_one(case: Case, search: _Search) -> Optional[Case]:
    def candidates():
        for program in itertools.chain(moved_candidates(case.steps),
                                       pwrite_candidates(case.steps)):
            cand = make_case(case, program)
            if cand is not None and len(cand.steps) < len(case.steps):
                yield cand, "moved"

    found = search.first(candidates())
    return found[0] if found else None


def shrink(case: Case, still_fails, stats: Optional[dict] = None, *,
           deadline: Optional[float] = None, on_progress: Optional[Callable] = None) -> Case:
    """A 1-minimal case that still fails, or, when ``deadline`` (a time.monotonic() value)
    passes first, the smallest failing case found by then (``stats["budget_exhausted"]``).

    ``stats`` (if given) receives the number of runs (``tries``); ``on_progress(case,
    stats)`` is called after each batch of runs with the smallest failing case so far."""
    stats = stats if stats is not None else {}
    stats.setdefault("tries", 0)
    stats["budget_exhausted"] = False
    if case.allowed is None:
        case = make_case(case, case.steps) or case
    search = _Search(case, still_fails, stats, deadline, on_progress)
    try:
        case = _ddmin(case, search)
        while True:   # alternate until neither a removal nor a simplification helps
            smaller = (_remove_one(case, search) or _simplify_one(case, search)
                       or _move_one(case, search))
            if smaller is None:
                break
            case = smaller
        # Handles renamed T0, T1, M0, ... by first occurrence, if the failure survives it.
        renamed = make_case(case, canonical_program(case.steps))
        if renamed is not None and renamed.steps != case.steps:
            search.first([(renamed, "renamed")])
    except _OutOfTime:
        stats["budget_exhausted"] = True
    return search.best


# --- "fails the same way": the failure fingerprint ------------------------------------

def _kind(result_text: str) -> str:
    result = parse_result(result_text)
    if isinstance(result, (Errno, Fault)):
        return str(result)            # a different errno or signal is a different failure
    return type(result).__name__      # a byte is a byte, whatever its value


_KIND_TEXT = {"Value": "a byte", "Ok": "ok", "Stat": "a stat", "FrameReport": "frames",
              "SegmentId": "a segment id", "Eof": "eof", "Dead": "dead"}


def _kind_text(kind: str) -> str:
    return _KIND_TEXT.get(kind, kind)


def failure_signature(case: Case, step: int, observed: str, allowed: Iterable[str]) -> tuple:
    """What "the same failure" keeps: the operation, the observed kind, the allowed kinds."""
    return (case.steps[step].op.OP, _kind(observed), tuple(sorted({_kind(a) for a in allowed})))


@dataclass(frozen=True)
class Fingerprint:
    """What makes two FAILs the same failure.

    - ``op``, ``observed``, ``allowed``: the failure signature (the operation of the failing
      step, the kind of result observed and the kinds allowed: a byte, ok, a stat, frames, an
      errno or a signal by name);
    - ``rules``: the catalogue rules of that step (rules_for_step), which the failure breaks;
    - ``variants``: the named variants of the specification (model/variants.py) that explain
      the failure's own observation (None: not diagnosed; empty: none does). Two failures
      with the same signature are the same kind when both are unexplained or some variant
      explains both: a deviation explained by ``wipeonfork-ignored`` (R41) is not the same
      bug as one explained by ``shared-anon-copied-on-fork`` (R10), though both are a read
      that saw the wrong byte."""
    op: str
    observed: str
    allowed: tuple
    rules: tuple = ()
    variants: Optional[frozenset] = None

    @property
    def signature(self) -> tuple:
        return (self.op, self.observed, self.allowed)

    def same_kind(self, other: "Fingerprint") -> bool:
        if self.signature != other.signature:
            return False
        if not self.variants and not other.variants:   # both unexplained, or undiagnosed
            return True
        return bool((self.variants or frozenset()) & (other.variants or frozenset()))

    def text(self) -> str:
        allowed = " or ".join(map(_kind_text, self.allowed)) or "nothing"
        line = f"{self.op}: {_kind_text(self.observed)} where {allowed} was allowed"
        if self.variants:
            line += f"; like {', '.join(sorted(self.variants))}"
        return line


def failure_fingerprint(result, variants: Optional[Iterable[str]] = None) -> Fingerprint:
    """The fingerprint of a runner CaseResult that FAILed (``variants``: the names of the
    variants consistent with it, from the diagnosis)."""
    from sharespec.model.rules import rules_for_step
    op, observed, allowed = failure_signature(result.case, result.step, result.observed,
                                              result.allowed)
    return Fingerprint(op, observed, allowed, tuple(rules_for_step(result.case.steps[result.step])),
                       None if variants is None else frozenset(variants))


class SameFailure:
    """The standard ``still_fails`` against an implementation: each candidate is run (through
    ``run_batch``, a function from a list of cases to their CaseResults in order, such as
    ImplementationPool.run) and accepted when it FAILs with the original's signature and, if
    named variants explain the original, is explained by one of them (judged as the
    diagnosis judges, sharespec/diagnosis.py). A shrink therefore cannot slide from one bug
    to an unrelated one that happens to fail at the same kind of step (issue 14, item 4),
    while values and places still shrink."""

    def __init__(self, want: Fingerprint, run_batch: Callable, width: int = 1,
                 base: str = "linux"):
        self.want, self.run_batch, self.width, self.base = want, run_batch, max(1, width), base

    def matches(self, result) -> bool:
        if result.verdict != "FAIL" or result.step is None:
            return False
        if failure_signature(result.case, result.step, result.observed,
                             result.allowed) != self.want.signature:
            return False
        if not self.want.variants:
            return True
        from sharespec.diagnosis import allows, failure_observation
        observation = failure_observation(result)
        return any(allows(v, observation, self.base) for v in sorted(self.want.variants))

    def many(self, cases: list) -> list:
        return [self.matches(r) for r in self.run_batch(cases)]

    def __call__(self, case: Case) -> bool:
        return self.many([case])[0]


def fails_the_same_way(original, impl: Optional[str] = None, profile: str = "linux",
                       timeout: float = 10.0, variants: Optional[Iterable[str]] = None) -> SameFailure:
    """``still_fails`` for one runner CaseResult, each candidate run by a fresh ``run_cases``
    (sharespec run keeps its implementations running instead: sharespec/failures.py)."""
    from sharespec.runner import run_cases

    def run_batch(cases):
        return list(run_cases(cases, profile=profile, impl=impl, jobs=1, timeout=timeout))

    return SameFailure(failure_fingerprint(original, variants), run_batch, 1, profile)
