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

The standard ``still_fails`` (``fails_the_same_way``) re-runs the implementation through the
runner and accepts a candidate when it FAILs *the same way* as the original:

- at a step of the same operation (``read``, ``shmat``, ...),
- with an observed result of the same kind (a byte; or exactly the same errno or signal name;
  ``ok``; ...) -- a byte may differ, since values are what shrinking makes smaller,
- against an allowed set of the same kinds (e.g. "a byte was allowed", "only EINVAL").

This keeps a shrink from sliding to a different bug while letting values and places shrink.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Callable, Iterable, Optional

from sharespec.model.case import Case, CaseError
from sharespec.model.ops import PROTECTIONS, Place, Step
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

def _ddmin(case: Case, still_fails: StillFails, stats: dict) -> Case:
    """Zeller's ddmin over step indices (subsets and complements, granularity doubling)."""
    n = 2
    while len(case.steps) >= 2:
        steps = case.steps
        chunk = max(1, len(steps) // n)
        parts = [list(range(i, min(i + chunk, len(steps)))) for i in range(0, len(steps), chunk)]
        progressed = False
        for keep_part in (True, False):
            for part in parts:
                keep = set(part) if keep_part else set(range(len(steps))) - set(part)
                cand = make_case(case, [s for i, s in enumerate(steps) if i in keep])
                if cand is None or len(cand.steps) >= len(steps):
                    continue
                stats["tries"] += 1
                if still_fails(cand):
                    case, progressed = cand, True
                    n = 2 if keep_part else max(n - 1, 2)
                    break
            if progressed:
                break
        if not progressed:
            if n >= len(steps):
                break
            n = min(n * 2, len(steps))
    return case


def _remove_one(case: Case, still_fails: StillFails, stats: dict) -> Optional[Case]:
    for i in range(len(case.steps)):
        cand = make_case(case, case.steps[:i] + case.steps[i + 1:])
        if cand is None:
            continue
        stats["tries"] += 1
        if still_fails(cand):
            return cand
    return None


def _simplify_one(case: Case, still_fails: StillFails, stats: dict) -> Optional[Case]:
    for i in range(len(case.steps)):
        for program in argument_candidates(case.steps, i):
            cand = make_case(case, program)
            if cand is None or len(cand.steps) != len(case.steps):
                continue
            stats["tries"] += 1
            if still_fails(cand):
                return cand
    return None


def shrink(case: Case, still_fails: StillFails, stats: Optional[dict] = None) -> Case:
    """A 1-minimal case that still fails. ``stats`` (if given) receives the number of tries."""
    stats = stats if stats is not None else {}
    stats.setdefault("tries", 0)
    if case.allowed is None:
        case = make_case(case, case.steps) or case
    case = _ddmin(case, still_fails, stats)
    while True:   # alternate until neither a removal nor a simplification helps
        smaller = _remove_one(case, still_fails, stats) or _simplify_one(case, still_fails, stats)
        if smaller is None:
            break
        case = smaller
    # Handles renamed T0, T1, M0, ... by first occurrence, if the failure survives it.
    renamed = make_case(case, canonical_program(case.steps))
    if renamed is not None and renamed.steps != case.steps:
        stats["tries"] += 1
        if still_fails(renamed):
            case = renamed
    return case


# --- "fails the same way" against an implementation ------------------------------------

def _kind(result_text: str) -> str:
    result = parse_result(result_text)
    if isinstance(result, (Errno, Fault)):
        return str(result)            # a different errno or signal is a different failure
    return type(result).__name__      # a byte is a byte, whatever its value


def failure_signature(case: Case, step: int, observed: str, allowed: Iterable[str]) -> tuple:
    """What "the same failure" keeps: the operation, the observed kind, the allowed kinds."""
    return (case.steps[step].op.OP, _kind(observed), tuple(sorted({_kind(a) for a in allowed})))


def fails_the_same_way(original, impl: Optional[str] = None, profile: str = "linux",
                       timeout: float = 10.0) -> StillFails:
    """The standard callback: re-run the implementation, compare failure signatures.
    ``original`` is the runner's CaseResult of the failing case."""
    from sharespec.runner import run_cases

    want = failure_signature(original.case, original.step, original.observed, original.allowed)

    def still_fails(case: Case) -> bool:
        (result,) = list(run_cases([case], profile=profile, impl=impl, jobs=1, timeout=timeout))
        return (result.verdict == "FAIL"
                and failure_signature(case, result.step, result.observed, result.allowed) == want)

    return still_fails
