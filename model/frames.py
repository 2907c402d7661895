"""Frame identity: which physical frame each page table entry reaches, as the `frames` step
observes it (Linux: /proc/PID/pagemap; impl/pagemap.py), and the bookkeeping that predicts it.

Values show sharing only indirectly; page tables show it directly. docs/frames.md gives
what Linux does that this module predicts (presence, fork's copy of entries, zaps, flags),
rule by rule.
"""
from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Optional

from .address_space import anon_vma_prepare
from .ops import PAGE_SIZE, Frames, Mremap
# The report's text lives with the other results; it is named here too, where reports are made.
from .results import (LETTERS, MAX_PLACES, OK, FrameReport, FramesByValues,  # noqa: F401
                      Value, parse_report, report_text)
from .state import MemObject, State

ZERO = "zero"


# --- judging an observation against the allowed results ----------------------------------

def matches(predicted, observed) -> bool:
    """Whether an observed result agrees with an allowed one. A frames report whose partition
    was hidden (PFNs need CAP_SYS_ADMIN) agrees on the flags it could see: not "z". Under
    posix the allowed result is a set of reports (FramesByValues): it agrees with what it
    admits; an observation is a report, never such a set."""
    if isinstance(predicted, FramesByValues):
        return isinstance(observed, FrameReport) and predicted.admits(observed)
    if isinstance(observed, FrameReport) and observed.classes is None:
        return (isinstance(predicted, FrameReport)
                and tuple(f.replace("z", "") for f in predicted.flags) == observed.flags)
    return predicted == observed


def is_partial(observed) -> bool:
    """A frames report whose partition (and zero-page flags) could not be observed."""
    return isinstance(observed, FrameReport) and observed.classes is None


def consistent_states(by_result: dict, observed) -> Optional[set]:
    """The next states every allowed result that agrees with the observation leads to; None if
    no allowed result agrees (the oracle's FAIL)."""
    if not isinstance(observed, (FrameReport, FramesByValues)):
        return by_result.get(observed)
    agreeing = [states for result, states in by_result.items() if matches(result, observed)]
    return set().union(*agreeing) if agreeing else None


def judged_in_part(by_result: dict, observed) -> bool:
    """Whether an observation that agreed was judged on part of what it claims: a report whose
    frame numbers were hidden, where the hidden part could change the verdict (always for a
    predicted report; under posix see FramesByValues.hidden_part_matters)."""
    if not is_partial(observed):
        return False
    return any(not isinstance(result, FramesByValues) or result.hidden_part_matters(observed)
               for result in by_result if matches(result, observed))


def why_not_allowed(by_result: dict, observed, places=()) -> str:
    """Why no allowed set of reports (posix) admits an observed frames report, naming the
    places and their values; "" when the allowed results are plain results."""
    sets = sorted((r for r in by_result if isinstance(r, FramesByValues)), key=str)
    if not sets:
        return ""
    if not isinstance(observed, FrameReport):
        return "a frames step reports a partition and flags, not a set of reports"
    reasons = ["; ".join(s.problems(observed, places)) for s in sets[:3]]
    if len(sets) == 1:
        return reasons[0]
    more = f" (and {len(sets) - 3} more)" if len(sets) > 3 else ""
    return " | ".join(f"in allowed state {i + 1}: {r}" for i, r in enumerate(reasons)) + more


# --- prediction --------------------------------------------------------------------------------

def frame_key(state: State, pid: int, vpn: int):
    """What a present entry reaches: ("frame", fid), ZERO, or None (not present)."""
    proc = state.processes[pid]
    if not proc.alive or vpn not in proc.present:
        return None
    vma = proc.vma_at(vpn)
    if vma is None:
        return None
    if not vma.shared and vpn in proc.private:
        return ("frame", proc.private[vpn])
    if vma.obj is None:
        return ZERO
    fid = state.objects[vma.obj].pages.get(vma.object_page(vpn))
    return None if fid is None else ("frame", fid)


def _mapcounts(state: State) -> dict:
    counts: dict = {}
    for pid, proc in enumerate(state.processes):
        if proc.alive:
            for vpn in proc.present:
                key = frame_key(state, pid, vpn)
                if key is not None:
                    counts[key] = counts.get(key, 0) + 1
    return counts


def _object_frames(state: State) -> set:
    return {fid for obj in state.objects for fid in obj.pages.values()}


def report(state: State, places) -> FrameReport:
    """The frames report a state determines for the places."""
    counts, object_frames = _mapcounts(state), _object_frames(state)
    keys, flags = [], []
    for place in places:
        where = state.locate(place)
        key = None if where is None else frame_key(state, *where)
        keys.append(key)
        if key is None:
            flags.append("-")
        elif key == ZERO:
            flags.append("pz")
        else:
            flags.append("p" + ("e" if counts.get(key) == 1 else "")
                         + ("f" if key[1] in object_frames else ""))
    classes, first = [], {}
    for i, key in enumerate(keys):
        if key is None:
            classes.append([i])
        elif key in first:
            first[key].append(i)
        else:
            first[key] = [i]
            classes.append(first[key])
    return FrameReport(tuple(sorted(tuple(c) for c in classes)), tuple(flags))


def observe(state: State, op: Frames) -> list:
    """The (state, report) pairs a frames step allows: one, unless places are under MADV_FREE
    (C05): each may have been reclaimed (not present, its private frame gone) or not."""
    lazy = []
    for place in op.places:
        where = state.locate(place)
        if where is not None and where[1] in state.processes[where[0]].lazyfree \
                and where[1] in state.processes[where[0]].present and where not in lazy:
            lazy.append(where)
    outcomes = []
    for chosen in itertools.product((False, True), repeat=len(lazy)):
        s = state
        for (pid, vpn), reclaimed in zip(lazy, chosen):
            if reclaimed:
                p = s.processes[pid]
                s = s.with_process(pid, replace(p, private=p.private.remove(vpn),
                                                lazyfree=p.lazyfree - {vpn},
                                                present=p.present - {vpn}))
        outcomes.append((s, report(s, op.places)))
    return outcomes


# --- bookkeeping: which entries each step populates and zaps ---------------------------------

# Each operation's handler (model/semantics.py) calls the function for its own effect on the
# page table entries; ``step`` then drops the entries that cannot exist any more (``settle``).
# Presence is tracked only where frames can be observed (profiles with Linux interfaces):
# under posix the entries stay empty, and the states stay as few as before frames existed.

def accessed(before: State, pid: int, vpn: int, outcomes: list, profile, written: bool) -> list:
    """A load or store that succeeded populates its entry; a read fault also maps what the
    page cache holds around it (fault-around). Faults populate nothing."""
    if not profile.linux_interfaces:
        return outcomes
    faulted = vpn not in before.processes[pid].present
    out = []
    for state, result in outcomes:
        if isinstance(result, Value) or result == OK:
            state = _populate(state, pid, vpn, written=written)
            if faulted and not written:
                state = _fault_around(state, pid, vpn)
        out.append((state, result))
    return out


def fresh_mapping(state: State, pid: int, start: int, end: int, profile) -> State:
    """A new mapping (mmap, shmat, mremap alias) starts with no entries, even over old ones."""
    if not profile.linux_interfaces:
        return state
    return _zap(state, pid, range(start, end))


def zapped(state: State, pid: int, start: int, end: int, profile) -> State:
    """MADV_DONTNEED zaps the entries of the range, shared ones too (R35, R36)."""
    if not profile.linux_interfaces:
        return state
    return _zap(state, pid, range(start, end))


def maybe_reclaimed(state: State, pid: int, vpns, profile, result) -> list:
    """MADV_PAGEOUT (R48): each present entry of the range that maps a frame no other entry
    maps may have been reclaimed (unmapped; its contents kept in swap or the page cache) or
    not, as reclaim succeeded or not. Shared frames are skipped by the kernel."""
    if not profile.linux_interfaces:
        return [(state, result)]
    counts = _mapcounts(state)
    proc = state.processes[pid]
    candidates = [vpn for vpn in vpns if vpn in proc.present
                  for key in (frame_key(state, pid, vpn),)
                  if key is not None and key != ZERO and counts.get(key) == 1]
    outcomes = []
    for chosen in itertools.product((False, True), repeat=len(candidates)):
        gone = {vpn for vpn, out in zip(candidates, chosen) if out}
        outcomes.append((state.with_process(pid, replace(proc, present=proc.present - gone))
                         if gone else state, result))
    return outcomes


def moved(before: State, state: State, pid: int, op, dest, profile) -> State:
    """mremap's move carries the entries of what it moved (R44) to page ``dest`` on."""
    if not profile.linux_interfaces:
        return state
    return _move_entries(before, state, pid, op, dest)


def _populate(state: State, pid: int, vpn: int, written: bool) -> State:
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    if not proc.alive or vma is None:
        return state
    if vma.obj is not None and (vma.shared or vpn not in proc.private):
        obj = state.objects[vma.obj]
        index = vma.object_page(vpn)
        if index not in obj.pages:  # a read fault allocates the page-cache frame
            state, fid = state.new_frame()
            state = state.with_object(vma.obj, replace(obj, pages=obj.pages.set(index, fid)))
    proc = state.processes[pid]
    vmas = proc.vmas
    if written and not vma.shared and not vma.anon_vma:
        state, vmas = anon_vma_prepare(state, vmas, vma)       # R30
        proc = state.processes[pid]
    return state.with_process(pid, replace(proc, vmas=vmas, present=proc.present | {vpn}))


FAULT_AROUND_PAGES = 16   # /sys/kernel/mm/... fault_around_bytes: 64 KiB by default


def _fault_around(state: State, pid: int, vpn: int) -> State:
    """A read fault on a mapping of an object also maps the neighbouring pages of the same
    mapping that the object already holds in its page cache, within an aligned 64 KiB window
    (do_fault_around / filemap_map_pages; observed on Linux 6.18). Write faults do not."""
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    if vma is None or vma.obj is None:
        return state
    obj = state.objects[vma.obj]
    first = vpn - vpn % FAULT_AROUND_PAGES
    extra = {v for v in range(max(first, vma.start), min(first + FAULT_AROUND_PAGES, vma.end))
             if v != vpn and vma.object_page(v) in obj.pages
             and vma.object_page(v) < obj.page_count()
             and (vma.shared or v not in proc.private)}
    if not extra:
        return state
    return state.with_process(pid, replace(proc, present=proc.present | extra))


def _zap(state: State, pid: int, vpns) -> State:
    proc = state.processes[pid]
    gone = proc.present.intersection(vpns)
    if not gone:
        return state
    return state.with_process(pid, replace(proc, present=proc.present - gone))


def _move_entries(before: State, state: State, pid: int, op: Mremap, dest) -> State:
    """A move carries the entries of what it moved (R44). It moved up to the last page now
    mapped at the destination: all of it, or, when a SysV attach later in the range stopped
    it with EFAULT, the mappings before that attach (nothing, if it failed at once)."""
    start = before.vpn(op.at)
    if dest is None:
        return state
    proc = state.processes[pid]
    span = min(-(-op.old_length // PAGE_SIZE), -(-op.new_length // PAGE_SIZE))
    moved = max((i + 1 for i in range(span) if proc.vma_at(dest + i) is not None), default=0)
    old = before.processes[pid].present
    carried = {dest + i for i in range(moved) if start + i in old}
    kept = {v for v in proc.present if not (start <= v < start + moved)}
    return state.with_process(pid, replace(proc, present=frozenset(kept | carried)))


def settle(state: State) -> State:
    """Entries that cannot exist any more go: of dead processes, of unmapped pages, of pages
    beyond their object's end (a shrinking ftruncate zaps even private copies), and of object
    pages that were removed (MADV_REMOVE, truncation)."""
    for pid, proc in enumerate(state.processes):
        if not proc.present:
            continue
        keep = set()
        if proc.alive:
            for vpn in proc.present:
                v = proc.vma_at(vpn)
                if v is None:
                    continue
                if v.obj is not None:
                    obj: MemObject = state.objects[v.obj]
                    index = v.object_page(vpn)
                    if index >= obj.page_count():
                        continue
                    if (v.shared or vpn not in proc.private) and index not in obj.pages:
                        continue
                keep.add(vpn)
        if len(keep) != len(proc.present):
            state = state.with_process(pid, replace(proc, present=frozenset(keep)))
    return state


# --- what a run could not rule out ------------------------------------------------------------

def unjudged_reason(steps: tuple, detail: str) -> str:
    """Why a run whose values all agreed is INCONCLUSIVE: its frames steps were judged on the
    flags alone (the frame numbers were hidden)."""
    where = ", ".join(str(i + 1) for i in steps)
    return (f"step(s) {where}: frame numbers hidden (pagemap needs CAP_SYS_ADMIN), so which places "
            f"share a frame and the zero page could not be checked; the flags agreed"
            + (f" [{detail}]" if detail else ""))


def environment_doubt(detail: str) -> Optional[str]:
    """Something the implementation reported that changes frames behind the program's back
    (impl/pagemap.py environment()): then a frames step that disagrees proves nothing."""
    for word, why in (("ksm=on", "KSM merges identical pages"), ("swap=on", "swap can reclaim pages"),
                      ("migration?", "pages moved during the read"),
                      ("swapped or migrating", "a page was swapped out or migrating")):
        if word in detail:
            return why
    return None
