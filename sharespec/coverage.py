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
from sharespec.model.results import (Dead, Eof, Errno, Fault, FileSize, FrameReport, Indexes,
                                     Info, LockedPages, Ok, SealSet, SegmentId, ShmTimes, Stat,
                                     SysvipcSums, Value)
from sharespec.model.ops import (PAGE_SIZE, Exec, Exit, Fallocate, Fork, Ftruncate, Madvise, Mmap,
                                 Mprotect, Pwrite,
                                 Mremap, Munmap, PosixMadvise, ShmAt, ShmCtl, ShmDt, ShmGet,
                                 ShmUnlink, ThreadExit)
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
KINDS = ("ok", "value", "fault", "errno", "stat", "segment", "eof", "dead", "frames", "info",
         "seals", "size", "indexes", "sysvipc", "vmlck", "times")


def outcome_kind(result) -> str:
    for cls, kind in ((Ok, "ok"), (Value, "value"), (Fault, "fault"), (Errno, "errno"),
                      (Stat, "stat"), (SegmentId, "segment"), (Eof, "eof"), (Dead, "dead"),
                      (FrameReport, "frames"), (Info, "info"), (SealSet, "seals"),
                      (FileSize, "size"), (Indexes, "indexes"), (SysvipcSums, "sysvipc"),
                      (LockedPages, "vmlck"), (ShmTimes, "times")):
        if isinstance(result, cls):
            return kind
    return type(result).__name__.lower()


def step_cells(state, st, results) -> set:
    """The cells one step hits from ``state`` with these allowed results."""
    action = classify(state, st)
    kinds = {outcome_kind(r) for r in results}
    args = [f"{k}={v}" for k, v in action.classes + context_classes(state, st)] or ["-"]
    return {(action.family, arg, kind) for arg in args for kind in kinds}


# --- the classes of what a step acts on ---------------------------------------------------
# Beside its arguments' classes (actions.classify), a step is counted by what it finds: a
# range over one record, several, or a hole (R05, R31, R33: a call must act on every record of
# its range); the memory under it (R43: the new pages of private memory grown by mremap are
# zero); the fork settings the range carries, which mprotect and mremap must keep (R40, R41);
# what a process holds when it execs, exits or forks, and whether a thread_exit ends the
# process (R15, R28, R29); whether ftruncate grows or shrinks the object (R03, R08); whether
# the segment of shmget, shmat or shmctl is removed but still attached (R17-R19); whether
# shmdt meets an attach split in pieces (R25, R31); whether shm_unlink's object is still
# mapped (R46). A witness
# of each such cell, its effect observed (coverage_observations.py), shows a call that gets
# one of them wrong.

RANGE_OPS = (Munmap, Mprotect, Madvise, PosixMadvise, Mremap)


def _memory(state, vma) -> str:
    if vma.segment is not None:
        return "sysv"
    if vma.obj is None:
        return "private anon"
    kind = state.objects[vma.obj].kind
    return f"{'shared' if vma.shared else 'private'} {'anon' if kind == 'anon' else 'object'}"


def context_classes(state, st) -> tuple:
    """(argument, class) pairs of what the step finds in the acting thread's process."""
    thread = state.threads.get(st.thread)
    if thread is None or not thread.alive:
        return ()
    proc = state.processes[thread.process]
    op = st.op
    if isinstance(op, (Ftruncate, Pwrite, Fallocate, Mmap)) and getattr(op, "fd", None) in proc.fds \
            and state.objects[proc.fds[op.fd].obj].huge_page:
        # model/hugepages.py: whole huge pages, no write(2), an empty pool to reserve from
        return (("object", "hugetlb"),)
    if isinstance(op, RANGE_OPS):
        base = state.mapping_handles.get(op.at.mapping)
        if base is None or base < 0:
            return ()
        length = op.old_length if isinstance(op, Mremap) else op.length
        first = base + op.at.page
        pages = range(first, first + max(1, -(-length // PAGE_SIZE)))
        vmas = list(dict.fromkeys(v for v in proc.vmas for p in pages if v.contains(p)))
        if not vmas:
            return (("span", "unmapped"),)
        mapped = sum(1 for p in pages if any(v.contains(p) for v in vmas))
        span = "hole" if mapped < len(pages) else "one" if len(vmas) == 1 else "several"
        advised = ("dontfork" if any(v.dontfork for v in vmas) else
                   "wipeonfork" if any(v.wipeonfork for v in vmas) else "none")
        memory = _memory(state, vmas[0])
        out = (("span", span), ("memory", memory), ("advised", advised))
        if length % PAGE_SIZE:    # R05, R33, R35: the partial last page counts whole
            out += (("tail", "mapped" if any(v.contains(pages[-1]) for v in vmas) else "hole"),)
        if isinstance(op, Madvise):  # R37-R39, R48, R49: an advice's effect depends on the
            out += (("advice on", f"{op.advice} {memory}"),)   # memory it meets (a guard keeps
            #                           shared pages and drops private ones; a hint splits an attach)
        if isinstance(op, Mremap):  # what grows, moves or aliases: private memory's new pages,
            kind = classify(state, st).classes[0][1]   # the fork settings a move must keep
            out += (("remapped", f"{memory} {kind}"), ("remapped", f"{advised} {kind}"))
        return out
    if isinstance(op, (Exec, Exit, Fork, ThreadExit)):
        held = [name for name, has in (("mappings", any(v.segment is None for v in proc.vmas)),
                                       ("attaches", any(v.segment is not None for v in proc.vmas)),
                                       ("fds", bool(proc.fds)),
                                       ("dontfork", any(v.dontfork for v in proc.vmas)),
                                       ("wipeonfork", any(v.wipeonfork for v in proc.vmas)))
                if has]
        if isinstance(op, ThreadExit):   # R15, R28: the last thread's exit ends the process
            last = sum(t.alive and t.process == thread.process for t in state.threads.values()) == 1
            held = [f"{h}, last thread" if last else h for h in held or ["nothing"]]
        return tuple(("holds", h) for h in held or ["nothing"])
    if isinstance(op, (ShmGet, ShmAt, ShmCtl)):
        return _segment_classes(state, op)
    if isinstance(op, ShmDt):            # R25, R31: shmdt unmaps every piece of the attach
        base = state.slot_base(op.at.mapping)
        first = next((v for v in proc.vmas if base is not None
                      and v.contains(base + op.at.page)), None)
        if first is not None and first.segment is not None:
            pieces = sum(1 for v in proc.vmas
                         if v.segment == first.segment and v.origin == first.origin)
            return (("pieces", "one" if pieces == 1 else "several"),)
        return ()
    if isinstance(op, ShmUnlink):        # R46: the name goes, the memory stays while in use
        oid = state.shm_names.get(op.name)
        if oid is None:
            return ()
        mapped = any(v.obj == oid for p in state.processes if p.alive for v in p.vmas)
        opened = any(f.obj == oid for p in state.processes if p.alive for f in p.fds.values())
        use = "mapped" if mapped else "open" if opened else "unused"
        return (("object", f"{use}, {'sized' if state.objects[oid].size else 'empty'}"),)
    if isinstance(op, Ftruncate):        # R03, R08: a shrink cuts, a growth adds zeros
        found = proc.fds.get(op.fd)
        if found is not None:
            size = state.objects[found.obj].size
            return (("size", "grows" if op.length > size else "shrinks" if op.length < size
                     else "same"),)
    return ()


def _segment_classes(state, op) -> tuple:
    """What shmget, shmat and shmctl find: for shmget, whether a removed segment is still
    attached (R18: IPC_RMID frees its key at once); for shmat and shmctl, whether their
    segment is live, removed but still attached (R17, R19: still attachable and stat-able, its
    key IPC_PRIVATE), or gone."""
    if isinstance(op, ShmGet):
        removed = any(s.removed and not s.destroyed for s in state.segments)
        return (("segments", "removed attached" if removed else "none removed"),)
    sid = state.segment_handles.get(op.segment)
    if sid is None or sid < 0:
        return (("segment", "none"),)
    seg = state.segments[sid]
    return (("segment", "gone" if seg.destroyed else "removed attached" if seg.removed
             else "live"),)


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
    Explored once per profile and scopes (about half a second), read-only: the witnesses of
    the default suite, ``sharespec coverage`` and the tests that check both read the same one."""
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


def witness_cases(cells: Optional[Iterable] = None, profile="linux", observed: bool = False) -> list:
    """One case per reachable cell (of ``cells``, or every one), each the first program that
    hits it, with the model's expectations.

    ``observed``: each program with the fill and the probes of coverage_observations.py, which
    make the effect of its last step visible (what it unmapped, protected, dropped or kept for
    a fork child); every program is kept. Otherwise programs that are a prefix of another are
    left out (the longer one hits their cells too)."""
    from sharespec.coverage_observations import observed_program
    from sharespec.generators.canonical import fingerprinted_case
    from sharespec.model.oracle import StateExplosion, allowed_per_step
    found = reachable(profile)
    wanted = found if cells is None else {c: found[c] for c in cells if c in found}
    programs = set(wanted.values())
    if not observed:
        programs -= {p[:k] for p in programs for k in range(1, len(p))}
    out = []
    for program in sorted(programs, key=lambda p: (len(p), repr(p))):
        steps, what = program, "the shortest program for a coverage cell"
        if observed:
            steps = observed_program(program, profile)
            what += ", its effect observed"
        try:
            allowed = tuple(allowed_per_step(steps, profile))
        except StateExplosion:
            steps, allowed = program, tuple(allowed_per_step(program, profile))
        out.append(fingerprinted_case("coverage", steps, str(profile), "coverage", what, allowed))
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
