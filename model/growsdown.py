"""MAP_GROWSDOWN (R50): a private anonymous mapping that grows down when a page below it is
touched, unless another mapping lies within the stack guard gap below the touched page.

What Linux does (mm/mmap.c, observed on 6.18 with probes of plain loads and stores):
- A fault at an address with no mapping, whose next mapping above is VM_GROWSDOWN, calls
  expand_stack: the record is extended down to the faulting page, however far below it is (no
  stack-pointer check on x86-64 since 4.20), and the access then goes ahead on the new pages
  (untouched anonymous memory: a load reads zero).
- expand_downwards refuses (ENOMEM, so the access gets SIGSEGV) when the mapping just below the
  faulting page (vma_prev) is neither VM_GROWSDOWN nor inaccessible (PROT_NONE) and ends less
  than stack_guard_gap (256 pages by default) below it. Only that one record is looked at.
- acct_stack_growth also checks RLIMIT_STACK (8 MiB by default), RLIMIT_AS and, for a locked
  record, RLIMIT_MEMLOCK; a case grows by at most 255 pages in its slot, so the model assumes
  the default stack limit (docs/case-format.md, "Growing mappings").
- MAP_GROWSDOWN of shared anonymous memory is EINVAL; the case language states the flag of
  private anonymous memory only (model/validate.py refuses the rest).

What the model can predict, given that slots need not be adjacent (docs/case-format.md):
- The touched page and the growsdown record above it in the same slot: the record grows or not
  by the record just below the page. If that record is in the slot too, the answer is one: it
  is within 255 pages, so it stops the growth unless it is PROT_NONE or growsdown. If there is
  none in the slot, what lies below the slot is the implementation's: both are allowed.
- No record above the page in its slot: the next record above in memory is outside the slot. It
  can be a case's growsdown record only if that record is the lowest of another slot (at its
  page 0, or above pages nothing maps) that the implementation put just above; then the model
  does not predict (NotApplicable): which slot lies above which is the implementation's, and
  a record grown across slots is none the model can hold. Otherwise nothing grows (R32:
  SIGSEGV). (The model once asked for page 0 only: a random case with the growsdown record at
  page 2 of the slot above, nothing below it, grew on this host where the model said SIGSEGV.)
- A locked growsdown record (RLIMIT_MEMLOCK, the new pages faulted in) is not modelled either.
- A MAP_SHARED_VALIDATE mapping placed by a hint (impl: no MAP_FIXED_NOREPLACE) avoids the guard
  gap of a growsdown record (vm_start_gap): with a growsdown record in the process the model
  does not predict where it lands.

Outside the symbolic core (model/symbolic/core.py): the outcome of a load or store depends on
the records around an unmapped page, a search over the record list the encoding does not have.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from .ops import Mmap, Read, Write
from .state import SLOT_PAGES, State, Vma

GUARD_GAP_PAGES = 256   # stack_guard_gap's default (mm/mmap.c); a slot is never wider


class Unpredictable(Exception):
    """Raised with the reason; semantics turns it into NotApplicable."""


def accessible(vma: Vma) -> bool:
    """vma_is_accessible: VM_READ, VM_WRITE or VM_EXEC (every protection but none)."""
    return vma.prot != "none"


def _above(vmas, vpn: int) -> Optional[Vma]:
    return next((v for v in vmas if v.start > vpn), None)


def _below(vmas, vpn: int) -> Optional[Vma]:
    below = [v for v in vmas if v.end <= vpn]
    return below[-1] if below else None


def _lowest_in_slot(vmas, slot: int) -> Optional[Vma]:
    return next((v for v in vmas if v.start // SLOT_PAGES == slot), None)


def growth(state: State, pid: int, vpn: int) -> list:
    """The states an access at ``vpn`` may meet: [state] when nothing grows, the grown state, or
    both (R50). Raises Unpredictable where the slots' order would decide."""
    proc = state.processes[pid]
    if proc.vma_at(vpn) is not None:
        return [state]
    slot = vpn // SLOT_PAGES
    above = _above(proc.vmas, vpn)
    if above is None or above.start // SLOT_PAGES != slot:
        if any(v.growsdown and v.start // SLOT_PAGES != slot and
               v is _lowest_in_slot(proc.vmas, v.start // SLOT_PAGES) for v in proc.vmas):
            raise Unpredictable("an access at the top of a slot, with a growsdown mapping the "
                                "lowest of another slot: which slot lies above is the "
                                "implementation's (model/growsdown.py)")
        return [state]
    if not above.growsdown:
        return [state]
    if above.locked:
        raise Unpredictable("growth of a locked growsdown mapping (model/growsdown.py)")
    grown = _grow(state, pid, above, vpn)
    prev = _below(proc.vmas, vpn)
    if prev is None or (prev.end - 1) // SLOT_PAGES != slot:
        return [state, grown]       # below the slot: the implementation's
    if prev.growsdown or not accessible(prev):
        return [grown]
    return [state]                  # within the guard gap (< 256 pages): ENOMEM, SIGSEGV


def _grow(state: State, pid: int, vma: Vma, vpn: int) -> State:
    """expand_downwards: the record now starts at ``vpn`` (an anonymous record's pgoff follows
    its start, as the kernel's vm_pgoff does)."""
    proc = state.processes[pid]
    grown = replace(vma, start=vpn, pgoff=vma.pgoff - (vma.start - vpn))
    vmas = tuple(grown if v is vma else v for v in proc.vmas)
    return state.with_process(pid, replace(proc, vmas=vmas))


def wrapped(op_type, handler, require_linux, not_applicable):
    """``handler`` with growth before loads and stores, and MAP_GROWSDOWN checked Linux-only."""
    if op_type in (Read, Write):
        def handle(state, pid, st, profile, **rules):
            # ``rules``: a variant's store rules (model/variants.py), passed on
            if not any(v.growsdown for v in state.processes[pid].vmas):
                return handler(state, pid, st, profile, **rules)
            try:
                starts = growth(state, pid, state.vpn(st.op.at))
            except Unpredictable as e:
                raise not_applicable(str(e)) from None
            return [outcome for s in starts for outcome in handler(s, pid, st, profile, **rules)]
    elif op_type is Mmap:
        def handle(state, pid, st, profile):
            if st.op.growsdown:
                require_linux(profile, "MAP_GROWSDOWN")
            if (st.op.validate and st.op.fixed == "none"
                    and any(v.growsdown for v in state.processes[pid].vmas)):
                raise not_applicable("a hinted MAP_SHARED_VALIDATE mapping beside a growsdown "
                                     "one's guard gap (model/growsdown.py)")
            return handler(state, pid, st, profile)
    else:
        return handler
    handle.__name__ = handler.__name__
    handle.__qualname__ = getattr(handler, "__qualname__", handler.__name__)
    handle.__doc__ = handler.__doc__
    handle.__wrapped__ = handler
    return handle
