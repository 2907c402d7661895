"""Coverage you can see: which cells (operation family x argument class x outcome kind) a set of
cases hits, and which cells the model says are reachable but nothing hits.

A *cell* is ``(family, argument=class, outcome kind)``: for a step, its family and the class
of each of its arguments come from the action menu's ``classify`` (model/actions.py), judged
in the state before the step; the outcome kinds are those of the results the case allows
there (``value``, ``fault``, ``errno``, ``stat``, ``ok``, ...). A step with no argument
classes (fork, exit) has the one cell ``(family, -, kind)``. Each case counts once per cell.

*Reachable* cells are those of every transition of the explicit model's breadth-first
explorations within the coverage scopes (``COVERAGE_SCOPES``: every family and argument class
for two steps; the exhaustive scope's classes for three): each is a real program of the model,
so each is a cell some case could hit. ``witness_cases`` gives, for every reachable
cell, the first (shortest) program that hits it; the default suite includes those the
hand-written cases miss, so it hits every reachable cell (sharespec/suite.py).
"""
from __future__ import annotations

import functools
from collections import Counter
from dataclasses import replace
from types import MappingProxyType
from typing import Iterable, Optional

from sharespec.model.actions import FAMILIES, classify
from sharespec.model.case import Case
from sharespec.model.profiles import get_profile
from sharespec.model.results import Dead, Eof, Errno, Fault, FrameReport, Ok, SegmentId, Stat, Value
from sharespec.model.ops import PAGE_SIZE
from sharespec.model.scope import SMALL, Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial

# Two explorations: every argument class for two steps, and the exhaustive scope's classes
# (model/scope.SMALL, every family) for three (a read-only attach, then mprotect to rw, ...).
COVERAGE_SCOPES = (
    Scope(processes=2, threads=2, pages=2, mappings=2, segments=1, objects=1, steps=2,
          values=(1,), offsets=(0, PAGE_SIZE - 1)),
    replace(SMALL, steps=3, families=None),
)
KINDS = ("ok", "value", "fault", "errno", "stat", "segment", "eof", "dead", "frames")


def outcome_kind(result) -> str:
    for cls, kind in ((Ok, "ok"), (Value, "value"), (Fault, "fault"), (Errno, "errno"),
                      (Stat, "stat"), (SegmentId, "segment"), (Eof, "eof"), (Dead, "dead"),
                      (FrameReport, "frames")):
        if isinstance(result, cls):
            return kind
    return type(result).__name__.lower()


def step_cells(state, st, results) -> set:
    """The cells one step hits from ``state`` with these allowed results."""
    action = classify(state, st)
    kinds = {outcome_kind(r) for r in results}
    args = [f"{k}={v}" for k, v in action.classes] or ["-"]
    return {(action.family, arg, kind) for arg in args for kind in kinds}


def case_cells(case: Case) -> set:
    """Every cell a case hits (its steps judged along the model's first path that keeps the
    acting thread alive; the allowed results are the case's own)."""
    profile = get_profile(case.profile)
    states = [initial()]
    cells: set = set()
    for st, allowed in zip(case.steps, case.allowed):
        here = next((s for s in states if st.thread in s.threads and s.threads[st.thread].alive),
                    states[0])
        cells |= step_cells(here, st, allowed)
        try:
            states = list(dict.fromkeys(n for s in states for n, _ in step(s, st, profile)))[:64]
        except NotApplicable:
            break
    return cells


def hits(cases: Iterable[Case]) -> Counter:
    """cell -> how many cases hit it."""
    counts: Counter = Counter()
    for case in cases:
        counts.update(case_cells(case))
    return counts


@functools.lru_cache(maxsize=8)
def reachable(profile="linux", scopes=COVERAGE_SCOPES) -> "MappingProxyType":
    """cell -> the first (shortest) program that hits it, over the explorations of ``scopes``.
    Explored once per profile and scopes (about half a second), read-only: the default suite
    asks for it to find the cells it missed, and again for their witnesses."""
    from sharespec.generators.exhaustive import explore
    first: dict = {}
    for scope in scopes:
        g = explore(scope, profile).graph
        paths = {0: ()}
        for node in sorted(g.nodes, key=lambda n: (g.nodes[n]["depth"], n)):
            for _, target, data in g.out_edges(node, data=True):
                st, result = data["step"], data["result"]
                program = paths[node] + (st,)
                paths.setdefault(target, program)
                for cell in step_cells(g.nodes[node]["state"], st, [result]):
                    if cell not in first or len(program) < len(first[cell]):
                        first[cell] = program
    return MappingProxyType(first)


def witness_cases(cells: Optional[Iterable] = None, profile="linux") -> list:
    """One case per reachable cell (of ``cells``, or every one), each the first program that
    hits it, with the model's expectations; programs that are a prefix of another are left
    out (the longer one hits their cells too)."""
    from sharespec.generators.canonical import case_fingerprint
    from sharespec.model.oracle import allowed_per_step
    found = reachable(profile)
    wanted = found if cells is None else {c: found[c] for c in cells if c in found}
    programs = set(wanted.values())
    prefixes = {p[:k] for p in programs for k in range(1, len(p))}
    out = []
    for program in sorted(programs - prefixes, key=lambda p: (len(p), repr(p))):
        allowed = tuple(allowed_per_step(program, profile))
        bare = Case(name="x", profile=str(profile), rules=(), origin="coverage", description="",
                    steps=program, allowed=allowed)
        out.append(replace(bare, name=f"coverage-{case_fingerprint(bare)[:12]}",
                           description="the shortest program for a coverage cell"))
    return out


def table(counts: Counter, reachable_cells: Iterable = ()) -> str:
    """The table, family by family: each argument class with its count per outcome kind, then
    the reachable cells nothing hit."""
    reachable_cells = set(reachable_cells)
    kinds = [k for k in KINDS if any(c[2] == k for c in set(counts) | reachable_cells)]
    rows = sorted({c[:2] for c in set(counts) | reachable_cells},
                  key=lambda r: (FAMILIES.index(r[0]) if r[0] in FAMILIES else 99, r[1]))
    width = max([len(f"{f} {a}") for f, a in rows] + [20])
    lines = [f"{'operation argument=class':<{width}}  " + " ".join(f"{k:>7}" for k in kinds)]
    for family, arg in rows:
        cells = []
        for kind in kinds:
            cell = (family, arg, kind)
            n = counts.get(cell, 0)
            cells.append(f"{'-' if not n and cell not in reachable_cells else n:>7}"
                         if n or cell in reachable_cells else f"{'.':>7}")
        lines.append(f"{family + ' ' + arg:<{width}}  " + " ".join(cells))
    unhit = sorted(reachable_cells - set(counts))
    lines.append("")
    lines.append(f"{len(set(counts))} cells hit; {len(reachable_cells)} reachable in the coverage "
                 f"scope, {len(unhit)} of them unhit" + (":" if unhit else ""))
    lines += [f"  {f} {a} -> {k}" for f, a, k in unhit]
    return "\n".join(lines)
