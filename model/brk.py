"""The program break: brk(2), and shmat at addresses counted from the break (LTP shmt09).

The break is not in any slot: it is where the process's data segment ends, wherever the kernel
put the heap. A case names it as a place class of its own, ``@brk``: ``@brk[k]`` is k pages
above the break the acting process had when the case began (its *base*; the pages below the
base are the C library's heap). Two things take it:

- ``brk(@brk[k])`` sets the break to base + k pages (sbrk's raise and lower, in whole pages):
  ``ok``, or ``ENOMEM`` when it is refused (mm/mmap.c, SYSCALL_DEFINE1(brk)). Lowering always
  succeeds above the base (the pages between are unmapped; nothing of the case's lies there).
  Raising fails when a mapping starts below the new break plus one page: brk looks for the next
  VMA above the old break and refuses ``newbrk + PAGE_SIZE > vm_start_gap(next)`` (no stack
  here, so no stack_guard_gap). check_brk_limits' RLIMIT_DATA is assumed far away (a few pages).
- ``shmat(S, at=@brk[k], ...)``: do_shmat's overlap check (R27: an address without SHM_REMAP
  must not meet an existing mapping, EINVAL) sees the break's own mapping, so an attach below
  the current break fails with EINVAL after the segment checks; at or above it, it is an
  attach like any other (the model keeps it at page numbers of its own, below every slot, as
  it does the absolute addresses, model/absolute_addresses.py).

The model's state: ``Process.brk``, the break in pages above the base (0 at the start). A fork
child has its parent's break (and base: the same addresses); exec starts a new image whose
break is its own base again (0).

Assumptions, stated in docs/case-format.md ("The program break"): nothing but the case maps
near the break (on x86-64 the heap lies far below mmap_base), and only the case moves it while
a step looks at it: the implementation checks the latter at every @brk step and answers status
``error`` (INCONCLUSIVE) when the C library moved the break under the case; it never lowers a
break it did not set itself, as that would unmap the C library's heap.

The restrictions that keep it sound (validated, exit 2): ``@brk`` places are taken by brk and by
shmat without SHM_REMAP only (a remap there would replace the heap); a handle bound at one is
used by no later step (the implementation does not know its address before the call). Why
outside the symbolic core: the core encodes slots and absolute places of fixed addresses; the
break is a per-process quantity that moves, and no other rule reads it.
Linux-only: POSIX has no brk (removed in SUSv3), so a case naming it is NOT_APPLICABLE under
``posix``. No rule of the semantics catalogue is about brk; the shmat check cited is R27.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from .ops import Brk, ShmAt
from .results import OK, Errno
from .state import ABSOLUTE_PAGE_BASES

NAME = "brk"
PLACE = "@brk"
BASE = ABSOLUTE_PAGE_BASES[NAME]
LARGEST_PAGE = 64       # how far above the base a case may name (a few RLIMIT_DATA-free pages)
ENOMEM, EINVAL = Errno("ENOMEM"), Errno("EINVAL")


def brk(state, pid: int, st, profile) -> list:
    """brk(base + k pages): lower, or raise unless a mapping starts below the new break + 1."""
    proc = state.processes[pid]
    target, current = st.op.at.page, proc.brk
    if target > current:
        guard_end = BASE + target + 1          # newbrk + PAGE_SIZE > vm_start_gap(next)
        if any(v.start < guard_end and BASE + current < v.end for v in proc.vmas):
            return [(state, ENOMEM)]
    return [(state.with_process(pid, replace(proc, brk=target)), OK)]


def shmat(handler: Callable, state, pid: int, st, profile, bound_here: Callable) -> list:
    """shmat at ``@brk[k]``: Linux's shmat, except that an attach that would succeed below the
    current break fails with EINVAL (R27, the break's own VMA), binding its handle there."""
    below_break = st.op.at.page < state.processes[pid].brk
    out = []
    for after, result in handler(state, pid, st, profile):
        if result == OK and below_break and not st.op.remap:
            after, result = bound_here(state, st, state), EINVAL
        elif result != OK:
            after = bound_here(after, st, state)   # the handle means @brk[k], failed or not
        if (after, result) not in out:
            out.append((after, result))
    return out


# --- validation --------------------------------------------------------------------------------

def check_step(fail: Callable, absolute_handles: dict, step) -> None:
    """Where ``@brk`` may appear, and that no step uses a handle bound at one."""
    op = step.op
    at = getattr(op, "at", None)
    names_brk = at is not None and getattr(at, "mapping", None) == PLACE
    if isinstance(op, Brk) and not names_brk:
        fail(("args", "at", "mapping"), f"brk takes a place of the break ({PLACE}[k]), "
                                        f"not {getattr(at, 'mapping', at)!r}")
    if names_brk:
        if not isinstance(op, (Brk, ShmAt)):
            fail(("args", "at", "mapping"), f"{op.OP} cannot take {PLACE}: a place of the break "
                                            "is taken by brk and shmat only")
        if isinstance(op, ShmAt) and op.remap:
            fail(("args", "remap"), f"shmat at {PLACE} cannot remap: SHM_REMAP there would "
                                    "replace the C library's heap")
        if isinstance(op, Brk) and at.offset:
            fail(("args", "at", "offset"), "brk moves the break by whole pages: "
                                           f"{PLACE}[k] without a byte offset")
        if at.page > LARGEST_PAGE:
            fail(("args", "at", "page"), f"{PLACE} pages go up to {LARGEST_PAGE}, not {at.page}")
    for arg in ("at", "to"):
        place = getattr(op, arg, None)
        if place is not None and absolute_handles.get(getattr(place, "mapping", None)) == NAME:
            fail(("args", arg, "mapping"), f"{place.mapping} is bound at {PLACE}: no later step "
                                           "may use it")
    for i, place in enumerate(getattr(op, "places", None) or ()):
        if absolute_handles.get(place.mapping) == NAME:
            fail(("args", "places", i, "mapping"), f"{place.mapping} is bound at {PLACE}")
    if getattr(op, "OP", None) == "maps" and absolute_handles.get(op.mapping) == NAME:
        fail(("args", "mapping"), f"{op.mapping} is bound at {PLACE}")
