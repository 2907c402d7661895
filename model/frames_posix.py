"""Frames under ``posix``: every report that the values of a state allow (FramesByValues).

Under ``posix`` frame identity is unspecified beyond what the values imply. POSIX has no
interface that shows frames, and its text speaks of mappings and memory objects, never of the memory behind them: mmap "shall establish a mapping between an address
space of a process and a memory object"; with MAP_SHARED "write references shall change the
underlying object", with MAP_PRIVATE modifications "shall be visible only to the calling
process" (POSIX mmap, DESCRIPTION); its RATIONALE expects implementations "that do not use a
paged architecture" to "simply allocate a common memory region"; a fork child is a copy of
its parent (POSIX fork). What a frames step may report is then every report that *some*
assignment of frames holding the state's values could produce. Part by part:

- Sameness is never implied. Places that read the same bytes, even forever (R09, R10, R14: one
  shared object seen at two pages or from two processes), may be two frames kept coherent by
  copying each store (a distributed or MMU-less implementation; Linux's own nommu mmap copies
  private file mappings), and R11's "the child sees pre-fork data" holds with a copy made at
  fork. So no class is ever required, not even for one page seen through two threads of one
  process (R15 speaks of writes being seen, which copies also achieve): every place may be a
  class of its own.
- Difference is implied: a frame holds one content at a time, so a class may join only places
  that hold the same bytes in the state (R11: once one side of a fork wrote, its page and the
  other side's are two frames; before, they may be one or two).
- A place with no memory reaches no frame: its thread has ended, nothing is mapped there
  (R32), or the page lies wholly past the end of its object (R06, R08, R43). It must be
  reported "-", which makes it a class of its own, as under linux.
- Presence is unspecified: nothing obliges an implementation to hold a frame for a page before
  it is touched, or to keep it resident (only pages under mlock "shall ... be memory-resident",
  POSIX mlock). "-" is allowed at every place.
- The flags are Linux's words; POSIX constrains none of them, so only what a report itself
  says binds them: "z" (the zero page) holds zeros, so a place reported "z" must hold only
  zeros (R01, R02 under posix); flags describe the frame, so the places of one class carry
  the same flags; "e" (mapped exactly once) cannot describe a frame the same report shows at
  two different pages (threads of one process see one page; R15). Nothing else: "e" and "f"
  alone are free, and two "z" places may be two frames (some machines have several zero
  pages).
- Where POSIX leaves a value open, any of its values will do: the slack past EOF may read 0
  (R07), a private copy past a shrunk EOF may survive (R08), an unwritten private file page may
  have snapshotted its object (R13, a choice the states already carry).

The allowed set is a predicate (FramesByValues.admits), not a list: the partitions of n
places alone are the Bell numbers (26 places: about 5e19). The oracle asks this module for it
(oracle.outcomes): semantics.step still calls the step not applicable under posix, since step
lists results and these cannot be listed. It is an observation, so the state is unchanged. A
report whose frame numbers were hidden is judged on its flags; it is left unjudged (the run
INCONCLUSIVE) only when the hidden part could change the verdict: two or more present places
(they might share a frame), or one present place that cannot hold zeros (it might be "z").
Presence is therefore tracked only under profiles with Linux interfaces.
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
