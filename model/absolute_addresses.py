"""Absolute addresses: a small closed set of places outside every slot, so that a case can state
the address-range checks LTP makes (shmat03, mmap15, munmap03).

A place is usually a page of a handle's slot, which the implementation puts where it likes
(docs/case-format.md, "Places and addresses"). Three addresses mean the same on every Linux
process instead, and are named by ``@`` and a class name:

- ``@zero``: address 0, the nil page. Below vm.mmap_min_addr (security_mmap_addr: cap_mmap_addr
  wants CAP_SYS_RAWIO, EPERM; an LSM may refuse root too, EACCES); ``@zero+1`` is LTP shmat03's
  address 1, which SHM_RND rounds down to 0 (with SHM_REMAP: EINVAL, ipc/shm.c do_shmat after
  commit 8f89c007b6de). Only its first page is a place: page 1 (4096) is above mmap_min_addr on
  some hosts and below it on others.
- ``@high``: 1 << 53, LTP mmap15's address. Past the end of user space with 4-level paging
  (TASK_SIZE 2^47 - 4096 on x86-64: mmap MAP_FIXED ENOMEM, munmap EINVAL), inside it with
  5-level paging (2^56): which one a host has is its own, so the model allows both at each
  step (a looser set, never a FAIL on either kind of host).
- ``@kernel``: 2^64 - 2^31, the x86-64 kernel text, above every user space of any paging mode
  (and, untagged, on arm64 too): mmap MAP_FIXED and shmat ENOMEM (__get_unmapped_area's
  ``addr > TASK_SIZE - len``), munmap EINVAL (do_vmi_munmap's range check, LTP munmap03),
  mprotect ENOMEM (no VMA there).

The model keeps these ranges at page numbers of their own, below every slot (slots start at
page 0): a mapping made there (root at page 0, or anything at @high on a 5-level host) is a
record like any other, so nattch, fork, exec, exit, munmap and shmdt see it, and it can never
overlap a slot. A handle bound by an mmap or shmat at an absolute place means that address,
whether or not the call succeeded (as the implementation's addresses are static). Such places
and handles are taken only by the calls whose checks they exist for (ABSOLUTE_CALLS); reading,
writing, observing or remapping there is refused by the validator: nothing the case could say
about bytes at address 0 would be portable, and mremap's address checks are another story.

No rule of the semantics catalogue names these checks (they are the address-space limits of
mmap(2), munmap(2) and shmat(2)); the rules whose order they interleave with are cited: R05,
R26, R27, C01, C07. Linux-only: POSIX leaves the valid range of addresses to the
implementation, so every absolute place is NOT_APPLICABLE under ``posix``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from . import address_space as aspace
from . import brk
from .ops import Mmap, Munmap, ShmAt, Step
from .results import OK, Errno
from .state import ABSOLUTE_PAGE_BASES as PAGE_BASES
from .state import ABSOLUTE_SPAN as _SPAN

# class -> the byte address an implementation uses.
ADDRESSES = {"zero": 0, "high": 1 << 53, "kernel": 2 ** 64 - 2 ** 31}
CLASSES = tuple(ADDRESSES)
assert set(PAGE_BASES) == set(CLASSES) | {"brk"}   # brk: model/brk.py; class -> the model's first page (model/state.py)
# The calls that take an absolute place, or a handle bound at one: the argument named.
ABSOLUTE_CALLS = {"mmap": "at", "munmap": "at", "mprotect": "at", "shmat": "at", "shmdt": "at"}
PREFIX = "@"

EINVAL, ENOMEM, EPERM, EACCES = (Errno(n) for n in ("EINVAL", "ENOMEM", "EPERM", "EACCES"))
PROCEED = "proceed"   # the address passes: the call goes on as it would in a slot


def is_absolute_name(mapping: object) -> bool:
    """Whether a place's ``mapping`` names an absolute address (``@zero``) rather than a handle."""
    return isinstance(mapping, str) and mapping.startswith(PREFIX)


def class_name(mapping: str) -> str:
    return mapping[len(PREFIX):]


def page_base(mapping: str) -> int:
    """The model's page number of an absolute place's class (``@high`` -> its base)."""
    return PAGE_BASES[class_name(mapping)]


def class_of_page(vpn: Optional[int]) -> Optional[str]:
    """The class whose range holds a model page number, or None (a slot)."""
    if vpn is None or vpn >= 0:
        return None
    return next((n for n, base in PAGE_BASES.items() if base <= vpn < base + _SPAN), None)


def class_of(state, place) -> Optional[str]:
    """The class an operation's place lies in: named (``@kernel``) or through a handle bound at
    one; None for a place of a slot."""
    if place is None:
        return None
    if is_absolute_name(place.mapping):
        return class_name(place.mapping)
    return class_of_page(state.mapping_handles.get(place.mapping))


# --- the checks, per call ---------------------------------------------------------------------

def mapping_verdicts(name: str, privileged: bool) -> tuple:
    """What __get_unmapped_area says of a MAP_FIXED range starting at the class (mmap, and the
    do_mmap of shmat): each an errno, or PROCEED where the address passes."""
    if name == "kernel":
        return (ENOMEM,)                      # addr > TASK_SIZE - len, any paging
    if name == "high":
        return (ENOMEM, PROCEED)              # 4-level: past TASK_SIZE; 5-level: user space
    # zero: security_mmap_addr. cap_mmap_addr refuses without CAP_SYS_RAWIO (EPERM), and runs
    # first; an LSM (SELinux's mmap_zero) may still refuse a privileged caller (EACCES), and a
    # container may run root without CAP_SYS_RAWIO (EPERM). C07: "other" has no capability at
    # all. A host with vm.mmap_min_addr 0 lets anyone map page 0: the implementation answers
    # such a case with status error (docs/case-format.md), so the model need not allow it.
    return (PROCEED, EACCES, EPERM) if privileged else (EPERM,)


def unmapping_verdicts(name: str) -> tuple:
    """do_vmi_munmap's range check: start > TASK_SIZE or len > TASK_SIZE - start is EINVAL."""
    if name == "kernel":
        return (EINVAL,)
    if name == "high":
        return (EINVAL, PROCEED)
    return (PROCEED,)


# --- the handlers ----------------------------------------------------------------------------

def guard(handler: Callable, require_linux: Callable) -> Callable:
    """``handler`` (mmap, munmap, mprotect, shmat or shmdt) with the absolute-address checks
    around it; a step at a slot goes to ``handler`` unchanged."""
    def guarded(state, pid: int, st: Step, profile) -> list:
        op = st.op
        name = class_of(state, getattr(op, "at", None))
        if name is None:
            return handler(state, pid, st, profile)
        if name == "brk":
            require_linux(profile, "the program break (brk)")
            if isinstance(op, ShmAt):
                return brk.shmat(handler, state, pid, st, profile, _bound_here)
            return handler(state, pid, st, profile)
        require_linux(profile, "an absolute address")
        privileged = state.processes[pid].creds.privileged
        if isinstance(op, Mmap):
            return _mmap(handler, state, pid, st, profile, name, privileged)
        if isinstance(op, Munmap):
            return _munmap(handler, state, pid, st, profile, name)
        if isinstance(op, ShmAt):
            return _shmat(handler, state, pid, st, profile, name, privileged)
        return handler(state, pid, st, profile)   # mprotect, shmdt: nothing mapped there: ENOMEM
    guarded.__wrapped__ = handler
    guarded.__name__ = getattr(handler, "__name__", "guarded")
    return guarded


def _bound_here(state, st: Step, before) -> object:
    """``state`` with ``st``'s handle bound at its place, as ``before`` names the place."""
    # A failed mmap or shmat at an absolute place binds its handle there too (the handle
    # means that address, as in the implementation), not to the next slot.
    if st.bind is None:
        return state
    base = before.mapping_handles[st.op.at.mapping] if not is_absolute_name(st.op.at.mapping) \
        else page_base(st.op.at.mapping)
    return state.bind_mapping(st.bind, base + st.op.at.page)


def _mmap(handler, state, pid, st, profile, name, privileged) -> list:
    """mmap MAP_FIXED(_NOREPLACE) at an absolute place. The kernel checks, in order: the
    descriptor (EBADF), the length and offset (EINVAL, C01, R05), then the address
    (__get_unmapped_area: the range, alignment, security_mmap_addr), then MAP_FIXED_NOREPLACE's
    overlap (EEXIST) and the descriptor's access and mount (EACCES, EPERM). So an outcome of
    Linux's handler that is EBADF or EINVAL stands, and every other one is decided by the
    address first."""
    out = []
    for after, result in handler(state, pid, st, profile):
        if isinstance(result, Errno) and result.name in ("EBADF", "EINVAL"):
            out.append((_bound_here(after, st, state), result))
            continue
        for verdict in mapping_verdicts(name, privileged):
            if verdict == PROCEED:
                out.append((after if result == OK else _bound_here(after, st, state), result))
            else:
                out.append((_bound_here(state, st, state), verdict))
    return _distinct(out)


def _munmap(handler, state, pid, st, profile, name) -> list:
    """munmap at an absolute place: unaligned or of length 0 is EINVAL (R05), then the range
    check of do_vmi_munmap, then Linux's unmap (of nothing, or of what was mapped there)."""
    op = st.op
    if op.at.offset or op.length == 0:
        return handler(state, pid, st, profile)
    out = []
    for verdict in unmapping_verdicts(name):
        out += handler(state, pid, st, profile) if verdict == PROCEED else [(state, verdict)]
    return _distinct(out)


def _shmat(handler, state, pid, st, profile, name, privileged) -> list:
    """shmat at an absolute place (do_shmat): SHM_RND rounds down to SHMLBA (R26); rounded to 0
    with SHM_REMAP it is EINVAL before the segment is looked at (commit 8f89c007b6de, LTP
    shmat03); the segment and permission checks (R19, C07) and, without SHM_REMAP at a nonzero
    address, the overlap check (R27) come next; the address checks of do_mmap last. At address
    0 do_shmat skips the overlap check (``addr && !SHM_REMAP``), so MAP_FIXED replaces what is
    there, as SHM_REMAP would."""
    op = st.op
    if name == "zero" and op.at.page == 0 and op.rnd and op.remap:
        return [(_bound_here(state, st, state), EINVAL)]
    if name == "zero" and op.at.page == 0 and op.rnd and op.at.offset:
        st = replace(st, op=replace(op, remap=True))   # no overlap check at 0: as SHM_REMAP
    out = []
    for after, result in handler(state, pid, st, profile):
        if result != OK:
            out.append((_bound_here(after, st, state), result))
            continue
        for verdict in mapping_verdicts(name, privileged):
            out.append((after, result) if verdict == PROCEED
                       else (_failed_attach(state, st, profile), verdict))
    return _distinct(out)


def _failed_attach(state, st: Step, profile) -> object:
    """The state after a shmat whose do_mmap failed: nothing mapped, the handle bound at its
    place. R45: do_shmat counted the attach before do_mmap and undoes it on the way out
    (shm_may_destroy), so under shm_rmid_forced a segment never attached goes with it."""
    failed = _bound_here(state, st, state)
    sid = state.live_segment(st.op.segment)
    if sid is not None and profile.shm_rmid_forced:
        seg = state.segments[sid]
        failed = aspace.settle_segment(failed.with_segment(sid, replace(seg, ever_attached=True)),
                                       sid, profile)
    return failed


def _distinct(outcomes: list) -> list:
    """The outcomes without repeats, in order (two verdicts may lead to one outcome)."""
    seen, out = set(), []
    for outcome in outcomes:
        if outcome not in seen:
            seen.add(outcome)
            out.append(outcome)
    return out


# --- what a case may say (model/validate.py calls these) -----------------------------------------

def check_place(fail: Callable, path: tuple, place) -> None:
    """An absolute place names a known class, at its first page (the only page whose address
    means the same on every host), with any byte offset in it (``@zero+1``)."""
    name = class_name(place.mapping)
    if name == "brk":
        return                      # any page above the break's base (model/brk.py checks it)
    if name not in ADDRESSES:
        fail(path + ("mapping",), f"{place.mapping} is not an absolute address (known: "
                                  f"{', '.join(PREFIX + n for n in CLASSES)})")
    if place.page != 0:
        fail(path + ("page",), f"an absolute place is page 0 of its address ({place.mapping}[0]),"
                               f" not page {place.page!r}")


def check_step(fail: Callable, absolute_handles: dict, step) -> None:
    """Where absolute places and the handles bound at them may appear (ABSOLUTE_CALLS); records
    in ``absolute_handles`` (handle -> class) the handles a step binds at one."""
    op = step.op

    def class_named(place) -> Optional[str]:
        if place is None or not hasattr(place, "mapping"):
            return None
        if is_absolute_name(place.mapping):
            return class_name(place.mapping)
        return absolute_handles.get(place.mapping)

    for arg in ("at", "to"):
        place = getattr(op, arg, None)
        name = class_named(place)
        if name is None or name == "brk":     # model/brk.py says where @brk goes
            continue
        if ABSOLUTE_CALLS.get(op.OP) != arg:
            fail(("args", arg, "mapping"),
                 f"{op.OP} cannot take {place.mapping}: an absolute address (or a handle bound at "
                 f"one) is a place of {', '.join(ABSOLUTE_CALLS)} only")
        if place.page != 0:
            fail(("args", arg, "page"), f"{place.mapping} is at an absolute address: only its "
                                        f"page 0 is a place, not page {place.page}")
        if isinstance(op, ShmAt) and name == "zero" and place.offset == 0:
            fail(("args", arg), "shmat at address 0 is shmat without an address (the kernel "
                                "chooses one): write shmat(S) instead, or @zero+1 with rnd")
    for i, place in enumerate(getattr(op, "places", None) or ()):
        if place.mapping in absolute_handles:
            fail(("args", "places", i, "mapping"), f"frames cannot look at {place.mapping}: it is "
                                                   "bound at an absolute address")
    if getattr(op, "OP", None) == "maps" and op.mapping in absolute_handles:
        fail(("args", "mapping"), f"maps cannot look at {op.mapping}: it is bound at an absolute "
                                  "address")
    name = class_named(getattr(op, "at", None))
    if step.bind is not None and isinstance(op, (Mmap, ShmAt)) and name is not None:
        absolute_handles[step.bind] = name
