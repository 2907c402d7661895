"""Frames under ``posix``: every report that the values of a state allow (FramesByValues).

POSIX has no interface that shows frames and speaks of mappings and memory objects, never of
the memory behind them, so a frames step may report whatever some assignment of frames
holding the state's values could produce. The allowed set is a predicate, not a list (the
partitions of 26 places are about 5e19). docs/frames.md ("What POSIX allows") gives each
part of it with the POSIX text it rests on.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from .ops import PAGE_SIZE, Frames
# The set of reports and its text live with the other results (model/results.py); they are
# named here too, where their rules are explained.
from .results import FramesByValues, Held, VALUES_PREFIX, _held, parse_values  # noqa: F401
from .state import State


def held_at(state: State, place, profile) -> Optional[Held]:
    """What a place holds in a state (contents only: the same page is filled in by the caller),
    or None where it has no memory: the thread has ended, nothing is mapped there (R32), or
    the page lies wholly past its object's end (R06, R08, R43)."""
    where = state.locate(place)
    if where is None:
        return None
    pid, vpn = where
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    if vma is None:
        return None
    private = not vma.shared and vpn in proc.private
    obj = None if vma.obj is None else state.objects[vma.obj]
    if obj is not None and vma.object_page(vpn) >= obj.page_count() \
            and not (private and profile.private_copy_beyond_eof_may_survive):   # R08 (POSIX)
        return None
    if private:
        # C05: a page under MADV_FREE may have been reclaimed and read 0 (Linux-only).
        return _held(state.frames[proc.private[vpn]], 0 if vpn in proc.lazyfree else None)
    if obj is None:
        return Held()                                                 # R02
    index = vma.object_page(vpn)
    fid = obj.pages.get(index)
    nonzero = () if fid is None else state.frames[fid]
    zero_from = None
    if profile.file_slack_may_read_zero and vma.segment is None \
            and obj.kind in ("file", "shm", "memfd") and obj.size < (index + 1) * PAGE_SIZE:
        zero_from = max(0, obj.size - index * PAGE_SIZE)   # R07 (POSIX: the slack is zero)
    return _held(nonzero, zero_from)


def by_values(state: State, op: Frames, profile) -> FramesByValues:
    """The reports a frames step allows in a state under posix (the step changes nothing)."""
    held, first_at = [], {}
    for i, place in enumerate(op.places):
        h = held_at(state, place, profile)
        where = state.locate(place)
        if h is not None:
            if where in first_at:
                h = replace(held[first_at[where]], same_page_as=first_at[where])
            else:
                first_at[where] = i
        held.append(h)
    return FramesByValues(tuple(held))
