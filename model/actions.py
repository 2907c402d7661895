"""The action menu: every step the case language allows from a state, one per argument class.

``actions(state, scope)`` lists, in a fixed order, the steps a program may take next: every
operation family (``FAMILIES``), by every live thread, and for each argument every *class*
that can change an outcome, as far as the scope's class bounds allow (model/scope.py):

- protections ``rw``/``r``/``none``/``w``/``x``/``rx``; shared or private; anonymous, file,
  memfd or POSIX shm memory; read-only and read-write opens and attaches;
- lengths of one page, of the rest of a mapping (several pages), of a page and one byte
  (unaligned), and past the end of a mapping (into the hole after it);
- ranges and places at the first, a middle and the last page of a mapping (and, for accesses,
  the page after it), at the byte offsets of ``scope.offsets``;
- every madvise advice; mremap grow, shrink, move, move to a new size, alias, to a chosen
  place (MREMAP_FIXED: over a mapping, without MAYMOVE, unaligned, overlapping), DONTUNMAP;
- object sizes, offsets into objects (start, middle, last byte, end), SysV keys and flags;
- credentials (C07): setuid/setgid to root or other, the modes shmget and open(creat) create
  with, IPC_SET of a mode or an owner;
- memory locks and msync (model/locking.py): mlock/munlock over the ranges above, msync with
  every flag class, the VmLck observation, and mmap with MAP_LOCKED, MAP_POPULATE,
  MAP_SHARED_VALIDATE (with and without a bit no kernel knows) and that bit alone;
- the program break (model/brk.py): brk up, down and back to its base, shmat below, at and just
  past the break.

Each action carries its family and its argument classes (``Action.classes``), which is how
coverage is counted (sharespec/coverage.py). Every engine draws from this one menu:
the exhaustive enumerator, the random walk, the Hypothesis strategies and the distinguishing
search; the z3 encoding's argument domain (symbolic/encoding.valid_args) is checked against it
by tests/model/test_actions.py. A new operation or argument class is added here (and in the scope's
CLASSES), and every engine reaches it.

Handles are named by count (T1, M0, S0, F0), so the program that reaches a state needs no
other memory; descriptors are counted beside the state (``fds_bound``), since a closed or
exited descriptor leaves no trace in it.

    >>> from sharespec.model.state import initial
    >>> from sharespec.model.scope import Scope
    >>> [a.label for a in actions(initial(), Scope(families=("mmap",), map_lengths=("page",),
    ...                                            map_prots=("rw",)))]
    ['mmap sharing=shared prot=rw length=page', 'mmap sharing=private prot=rw length=page']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence

from .ops import (LINUX_ONLY_OPS, MEMFD_INVALID, PAGE_SIZE, Close, Dup, Exec, Exit, Fallocate,
                  Fork, Fstat, Ftruncate, Madvise, Mlock, Mmap, Mprotect, Mremap, Msync, Munlock,
                  Munmap, Open, Place, PosixMadvise, Pread, Pwrite, Read, Reopen, Seal, Seals,
                  SetGid, SetUid, ShmAt, ShmCtl, ShmDt, ShmGet, ShmUnlink, Spawn, Step,
                  ThreadExit, Vmlck, Write)
from .ops import Brk
from . import absolute_addresses
from . import brk as brk_model
from .scope import FAMILIES, MODE_BITS, Scope
from .state import SLOT_PAGES, State

# How often random generators draw each family: accesses often, the steps that end threads
# rarely (they end the program early), the range operations more than their share (each has
# many classes: where, how long, which protection or advice), reads and preads less (every
# generated case ends by reading everything it touched: generators/observation_tail.py).
FAMILY_WEIGHTS = {
    "mmap": 3, "write": 5, "read": 3, "fork": 3, "shmget": 2, "shmat": 3, "spawn": 2, "open": 2,
    "ftruncate": 2, "pwrite": 2, "pread": 1, "munmap": 3, "mprotect": 3, "shmdt": 1, "shmctl": 2,
    "mmap_fd": 3, "mmap_fixed": 1, "madvise": 4, "posix_madvise": 1, "mremap": 3, "close": 1,
    "shm_unlink": 1, "seal": 1, "thread_exit": 1, "exit": 1, "exec": 1, "setuid": 1, "setgid": 1,
    "seals": 1, "dup": 1, "reopen": 1, "fallocate": 2, "fstat": 1, "absolute": 1,
    "mlock": 2, "munlock": 1, "msync": 1, "vmlck": 1, "mmap_flags": 2,
    "brk": 1,
    "growsdown": 1,
    "mmap_neither": 1,
}
# Families that name a handle of a kind that must exist first.
NEEDS = {**dict.fromkeys(("write", "read", "munmap", "mprotect", "shmdt", "mmap_fixed", "madvise",
                          "posix_madvise", "mremap", "mlock", "munlock", "msync"), "mapping"),
         **dict.fromkeys(("shmat", "shmctl"), "segment"),
         **dict.fromkeys(("ftruncate", "pwrite", "pread", "mmap_fd", "close", "seal", "seals",
                          "dup", "reopen", "fallocate", "fstat"), "fd")}
# Families that only Linux has (under a profile without the Linux interfaces they are left out):
# the operations ops.py names Linux-only, as far as they are families.
LINUX_ONLY = ((LINUX_ONLY_OPS | {"mmap_flags", "growsdown"}) & frozenset(FAMILIES)) | {"absolute"}   # POSIX:
# addresses are the implementation's to bound (model/absolute_addresses.py); mmap_flags are
# MAP_LOCKED, MAP_POPULATE and MAP_SHARED_VALIDATE (model/locking.py)
# mmap's flag classes (scope CLASSES["map_flags"]) -> the Mmap arguments each sets
MAP_FLAG_ARGS = {"locked": {"locked": True}, "populate": {"populate": True},
                 "validate": {"validate": True},
                 "validate_unknown": {"validate": True, "unknown": True},
                 "unknown": {"unknown": True}}


@dataclass(frozen=True)
class Action:
    """One step of the menu, with what it is an instance of."""
    family: str
    step: Step
    classes: tuple = ()          # ((argument, class), ...) in the family's argument order

    @property
    def label(self) -> str:
        return " ".join([self.family] + [f"{k}={v}" for k, v in self.classes])


def actions(state: State, scope: Scope, *, fds_bound: Optional[int] = None,
            actors: Optional[Sequence[str]] = None, linux: bool = True,
            families: Optional[Iterable[str]] = None) -> list:
    """Every action from ``state`` within ``scope``, in a fixed order: by actor (``actors``, or
    every live thread), then family (FAMILIES order), then argument classes (scope order).

    ``linux`` False leaves out what only Linux has (madvise, mremap, seals, memfds, SHM_REMAP,
    MAP_FIXED_NOREPLACE). ``families`` narrows the scope's families further."""
    if fds_bound is None:
        fds_bound = len({fd for p in state.processes for fd in p.fds})
    allowed = set(scope.families or FAMILIES) & set(families or FAMILIES)
    if not linux:
        allowed -= LINUX_ONLY
    live = [h for h, t in state.threads.items() if t.alive]
    out: list = []
    for actor in (live if actors is None else actors):
        menu = _Menu(state, scope, actor, fds_bound, linux)
        for family in FAMILIES:
            if family in allowed:
                seen = set()
                for op, bind in getattr(menu, family)():
                    st = Step(actor, op, bind)
                    if st not in seen:   # two classes that give one step (a 1-page mapping)
                        seen.add(st)
                        out.append(Action(family, st, classify(state, st).classes))
    return out


def by_family(acts: Iterable[Action]) -> dict:
    """family -> its actions, in menu order."""
    out: dict = {}
    for a in acts:
        out.setdefault(a.family, []).append(a)
    return out


class _Menu:
    """The steps of one actor, one method per family: (op, bind) pairs, one per argument class
    the scope offers (``classify`` names the classes of each)."""

    def __init__(self, state: State, scope: Scope, actor: str, fds_bound: int, linux: bool):
        self.state, self.scope, self.actor, self.linux = state, scope, actor, linux
        thread = state.threads.get(actor)
        self.proc = state.processes[thread.process] if thread is not None and thread.alive else None
        self.live_processes = len({t.process for t in state.threads.values() if t.alive})
        self.fds_bound = fds_bound
        self.new_thread = f"T{len(state.threads)}"
        self.new_mapping = (f"M{len(state.mapping_handles)}"
                            if len(state.mapping_handles) < scope.mappings else None)
        # Handles bound at an absolute address take part in the absolute family only.
        self.mappings = [m for m in state.mapping_handles if state.slot_base(m) is not None]
        self.segments = list(state.segment_handles)
        self.fds = list(self.proc.fds) if self.proc is not None else []

    # --- where things are ---------------------------------------------------------------

    def pages_of(self, m: str, classes: tuple) -> Iterator[int]:
        """The page index of each page class asked for, in mapping ``m`` as the actor sees it."""
        n = extent(self.state, self.proc, m)
        at = {"start": 0, "middle": n // 2 if n >= 3 else None, "last": n - 1, "past": n}
        for name in classes:
            if at[name] is not None and at[name] < SLOT_PAGES:
                yield at[name]

    def ranges(self) -> Iterator[tuple]:
        """(place, length) of every range class of every mapping."""
        for m in self.mappings:
            n = extent(self.state, self.proc, m)
            for page in self.pages_of(m, self.scope.range_pages):
                rest = max(1, n - page)
                sizes = {"page": PAGE_SIZE, "pages": max(2, rest) * PAGE_SIZE,
                         "unaligned": PAGE_SIZE + 1, "past_end": (rest + 1) * PAGE_SIZE}
                for name in self.scope.lengths:
                    yield Place(m, page), sizes[name]

    def map_length(self, name: str) -> int:
        pages = max(1, self.scope.pages)
        return {"page": PAGE_SIZE, "pages": pages * PAGE_SIZE,
                "unaligned": PAGE_SIZE + 1 if pages >= 2 else 100}[name]

    def fd_objects(self):
        for fd in self.fds:
            yield fd, self.state.objects[self.proc.fds[fd].obj]

    # --- processes and threads -----------------------------------------------------------

    def fork(self):
        if len(self.state.threads) < self.scope.threads and \
                self.live_processes < self.scope.processes:
            yield Fork(), self.new_thread

    def spawn(self):
        if len(self.state.threads) < self.scope.threads:
            yield Spawn(), self.new_thread

    def thread_exit(self):
        yield ThreadExit(), None

    def exit(self):
        yield Exit(), None

    def exec(self):
        yield Exec(), None

    def setuid(self):
        for user in self.scope.users:
            yield SetUid(user), None

    def setgid(self):
        for user in self.scope.users:
            yield SetGid(user), None

    # --- SysV ------------------------------------------------------------------------------

    def shmget(self):
        if len(self.segments) >= self.scope.segments:
            return
        name = f"S{len(self.segments)}"
        sizes = {"page": PAGE_SIZE, "pages": PAGE_SIZE * max(2, self.scope.pages), "unaligned": 100}
        for key in self.scope.keys:
            for size in self.scope.shm_sizes:
                for flags in self.scope.shm_flags:
                    if key == "private" and flags == "none":
                        continue   # IPC_PRIVATE always creates: "none" is "creat" again
                    for mode in self.scope.modes:
                        yield ShmGet(key, sizes[size], creat=flags != "none",
                                     excl=flags == "excl", mode=MODE_BITS[mode]), name
                for huge in self.scope.shm_huges:
                    if huge != "none":   # only a creation looks at it: creat, mode 0600
                        yield ShmGet(key, sizes[size], creat=True, **SHM_HUGE[huge]), name

    def shmat(self):
        if self.new_mapping is None:
            return
        for seg in self.segments:
            for how in self.scope.attaches:
                if how == "slot":
                    yield ShmAt(seg), self.new_mapping
                elif how == "rdonly":
                    yield ShmAt(seg, rdonly=True), self.new_mapping
                elif how != "remap" or self.linux:
                    for m in self.mappings:
                        for page in self.pages_of(m, ("start", "past")):
                            place = Place(m, page, 1 if how == "rnd" else 0)
                            yield (ShmAt(seg, at=place, rnd=how == "rnd", remap=how == "remap"),
                                   self.new_mapping)

    def shmdt(self):
        for m in self.mappings:
            for page in self.pages_of(m, self.scope.range_pages):
                yield ShmDt(Place(m, page)), None

    def shmctl(self):
        for seg in self.segments:
            for cmd in self.scope.shmctl_cmds:
                if cmd == "set":
                    for mode in self.scope.modes:         # C07: IPC_SET of the mode ...
                        yield ShmCtl(seg, "set", mode=MODE_BITS[mode]), None
                    for user in self.scope.users:         # ... or of the owner
                        yield ShmCtl(seg, "set", uid=user), None
                elif cmd in ("rmid", "stat", "invalid") or self.linux:
                    yield ShmCtl(seg, cmd), None     # (the others: shmctl_commands.LINUX_ONLY)

    # --- absolute addresses (model/absolute_addresses.py) ------------------------------------

    def absolute(self):
        """mmap MAP_FIXED, munmap, mprotect, shmat (SHM_RND, and with SHM_REMAP) and shmdt at
        each absolute address class, one page long."""
        for name in self.scope.absolutes:
            place = Place("@zero", 0, 1) if name == "zero_unaligned" else Place("@" + name)
            if self.new_mapping is not None:
                yield Mmap(False, "rw", PAGE_SIZE, at=place, fixed="replace"), self.new_mapping
            yield Munmap(place, PAGE_SIZE), None
            yield Mprotect(place, PAGE_SIZE, "r"), None
            if self.new_mapping is not None and name != "zero":   # shmat at 0: no address
                for seg in self.segments:
                    yield ShmAt(seg, at=place, rnd=bool(place.offset)), self.new_mapping
                    if self.linux:
                        yield ShmAt(seg, at=place, rnd=bool(place.offset), remap=True), \
                            self.new_mapping
            yield ShmDt(Place(place.mapping)), None

    # --- mappings --------------------------------------------------------------------------

    def mmap(self):
        if self.new_mapping is None:
            return
        for sharing in self.scope.sharing:
            for prot in self.scope.map_prots:
                for length in self.scope.map_lengths:
                    yield Mmap(sharing == "shared", prot, self.map_length(length)), self.new_mapping

    def mmap_fd(self):
        if self.new_mapping is None:
            return
        offsets = {"start": 0, "page": PAGE_SIZE, "unaligned": 1}
        for fd in self.fds:
            for sharing in self.scope.sharing:
                for prot in self.scope.map_prots:
                    for length in self.scope.map_lengths:
                        for offset in self.scope.file_offsets:
                            yield (Mmap(sharing == "shared", prot, self.map_length(length), fd=fd,
                                        offset=offsets[offset]), self.new_mapping)

    def mmap_fixed(self):
        if self.new_mapping is None:
            return
        for m in self.mappings:
            for page in self.pages_of(m, self.scope.range_pages):
                for fixed in self.scope.fixed:
                    if fixed == "noreplace" and not self.linux:
                        continue
                    for sharing in self.scope.sharing:
                        yield (Mmap(sharing == "shared", "rw", PAGE_SIZE, at=Place(m, page),
                                    fixed=fixed), self.new_mapping)

    def mmap_flags(self):
        """MAP_LOCKED, MAP_POPULATE, MAP_SHARED_VALIDATE (shared only: it is a map type),
        of anonymous memory and of each descriptor (model/locking.py)."""
        if self.new_mapping is None:
            return
        for flag in self.scope.map_flags:
            for fd in [None] + self.fds:
                for sharing in self.scope.sharing:
                    if flag.startswith("validate") and sharing != "shared":
                        continue
                    for prot in self.scope.map_prots:
                        yield (Mmap(sharing == "shared", prot, self.map_length("pages"), fd=fd,
                                    **MAP_FLAG_ARGS[flag]), self.new_mapping)

    def mmap_neither(self):
        """mmap with neither MAP_SHARED nor MAP_PRIVATE (model/map_type.py, C01): of anonymous
        memory and of each descriptor handle bound so far, held or not (EBADF first for one
        closed), and over the first page of each mapping with MAP_FIXED (nothing is unmapped)
        and MAP_FIXED_NOREPLACE (EEXIST first)."""
        if self.new_mapping is None:
            return
        for fd in [None] + self.fds + [f"F{i}" for i in range(self.fds_bound)
                                       if f"F{i}" not in self.fds]:
            yield Mmap(False, "rw", PAGE_SIZE, fd=fd, neither=True), self.new_mapping
        for m in self.mappings:
            for page in self.pages_of(m, ("start",)):
                for fixed in self.scope.fixed:
                    if fixed == "noreplace" and not self.linux:
                        continue
                    yield (Mmap(False, "rw", PAGE_SIZE, at=Place(m, page), fixed=fixed,
                                neither=True), self.new_mapping)

    def growsdown(self):
        """MAP_GROWSDOWN (model/growsdown.py, R50): a private anonymous page one page above the
        end of each mapping, in its slot. The page left between is just below it (a read's or a
        write's "middle" of a one-page mapping), with the mapping's own record within the guard
        gap: SIGSEGV, or growth where that record is PROT_NONE."""
        if self.new_mapping is None:
            return
        for m in self.mappings:
            page = extent(self.state, self.proc, m) + 1
            if page < SLOT_PAGES:
                yield (Mmap(False, "rw", PAGE_SIZE, at=Place(m, page), fixed="replace",
                            growsdown=True), self.new_mapping)

    def mlock(self):
        for at, length in self.ranges():
            yield Mlock(at, length), None

    def munlock(self):
        for at, length in self.ranges():
            yield Munlock(at, length), None

    def msync(self):
        for at, length in self.ranges():
            for flags in self.scope.msync_flags:
                yield Msync(at, length, flags), None

    def vmlck(self):
        yield Vmlck(), None

    # --- the program break (model/brk.py) ------------------------------------------------------

    def brk(self):
        """brk up one and two pages, down one and back to the base; shmat of each segment at
        the page below the break, at the break, and one byte past it with SHM_RND."""
        if self.proc is None:
            return
        now = self.proc.brk
        for page in (now + 1, now + 2, now - 1, 0):
            if 0 <= page <= brk_model.LARGEST_PAGE and (page != 0 or now > 1):
                yield Brk(Place(brk_model.PLACE, page)), None
        if self.new_mapping is None:
            return
        for seg in self.segments:
            for page, offset in ((now - 1, 0), (now, 0), (now, 1)):
                if 0 <= page <= brk_model.LARGEST_PAGE:
                    yield (ShmAt(seg, at=Place(brk_model.PLACE, page, offset), rnd=bool(offset)),
                           self.new_mapping)

    def munmap(self):
        for at, length in self.ranges():
            yield Munmap(at, length), None

    def mprotect(self):
        for at, length in self.ranges():
            for prot in self.scope.prots:
                yield Mprotect(at, length, prot), None

    def madvise(self):
        for at, length in self.ranges():
            for advice in self.scope.advices:
                yield Madvise(at, length, advice), None

    def posix_madvise(self):
        for at, length in self.ranges():
            for advice in self.scope.posix_advices:
                yield PosixMadvise(at, length, advice), None

    def mremap(self):
        for m in self.mappings:
            n = extent(self.state, self.proc, m)
            for page in self.pages_of(m, self.scope.range_pages):
                rest = max(1, n - page) * PAGE_SIZE
                at = Place(m, page)
                for kind in self.scope.remaps:
                    if kind.startswith("fixed"):
                        yield self.mremap_fixed(m, page, n, rest, kind), None
                    elif kind == "grow":
                        yield Mremap(at, rest, rest + PAGE_SIZE, "grow"), None
                    elif kind == "shrink" and rest > PAGE_SIZE:
                        yield Mremap(at, rest, rest - PAGE_SIZE, "grow"), None
                    elif self.new_mapping is None or kind == "shrink":
                        continue
                    elif kind == "move":
                        yield Mremap(at, rest, rest, "move"), self.new_mapping
                    elif kind == "move_resize":
                        yield Mremap(at, rest, rest + PAGE_SIZE, "move"), self.new_mapping
                    elif kind == "dontunmap":
                        yield Mremap(at, rest, rest, "move", dontunmap=True), self.new_mapping
                    else:
                        yield Mremap(at, 0, rest, "alias"), self.new_mapping

    def mremap_fixed(self, m: str, page: int, n: int, rest: int, kind: str) -> Mremap:
        """MREMAP_FIXED of [page, page + rest) of ``m``: over the first other mapping, or
        (with none) to the page after ``m``'s end; overlapping: one page further on."""
        others = [o for o in self.mappings if o != m]
        to = Place(others[0]) if others else Place(m, n)
        if kind == "fixed_overlap":
            to = Place(m, page + (1 if rest > PAGE_SIZE else 0))
        elif kind == "fixed_unaligned":
            to = Place(to.mapping, to.page, 1)
        return Mremap(Place(m, page), rest, rest, "fixed", to=to,
                      maymove=kind != "fixed_nomaymove", dontunmap=kind == "fixed_dontunmap")

    # --- backing objects -------------------------------------------------------------------

    def open(self):
        if self.fds_bound >= self.scope.objects:
            return
        name = f"F{self.fds_bound}"
        for kind in self.scope.object_kinds:
            if kind == "memfd":
                if self.linux:
                    for how in self.scope.memfd_opens:
                        yield (Open("memfd", nosealing=how == "nosealing",
                                    invalid=how if how in MEMFD_INVALID else "none",
                                    **MEMFD_HUGE.get(how, {})), name)
                continue
            for obj in self.scope.object_names:
                for how in self.scope.opens:
                    if how == "wronly" and kind != "file":
                        continue              # shm_open takes O_RDONLY or O_RDWR
                    creating = how in ("creat", "excl", "rdonly", "wronly")
                    for mode in self.scope.modes if creating else ("owner",):
                        yield (Open(kind, obj, creat=creating, excl=how == "excl",
                                    rdonly=how == "rdonly", wronly=how == "wronly",
                                    mode=MODE_BITS[mode]), name)

    def ftruncate(self):
        sizes = {"page": PAGE_SIZE, "zero": 0, "unaligned": 1,
                 "pages": PAGE_SIZE * max(2, self.scope.pages)}
        for fd in self.fds:
            for size in self.scope.truncates:
                yield Ftruncate(fd, sizes[size]), None

    def io_offsets(self, size: int):
        at = {"start": 0, "middle": size // 2, "last": size - 1, "end": size}
        for name in self.scope.io_offsets:
            if at[name] >= 0:
                yield at[name]

    def pwrite(self):
        for fd, obj in self.fd_objects():
            for off in self.io_offsets(obj.size):
                for value in self.scope.values:
                    yield Pwrite(fd, off, value), None

    def pread(self):
        for fd, obj in self.fd_objects():
            for off in self.io_offsets(obj.size):
                yield Pread(fd, off), None

    def close(self):
        for fd in self.fds:
            yield Close(fd), None

    def shm_unlink(self):
        if "shm" in self.scope.object_kinds:
            for name in self.scope.object_names:
                yield ShmUnlink(name), None

    def seal(self):
        for fd in self.fds:
            for seals in self.scope.seal_sets:
                yield Seal(fd, seals), None

    def seals(self):
        for fd in self.fds:
            yield Seals(fd), None

    def fstat(self):
        for fd in self.fds:
            yield Fstat(fd), None

    def alias_name(self):
        """The handle a dup or reopen binds, while the scope allows another descriptor."""
        if self.fds_bound < self.scope.objects + self.scope.aliases:
            return f"F{self.fds_bound}"
        return None

    def dup(self):
        name = self.alias_name()
        for fd in self.fds if name else ():
            yield Dup(fd), name

    def reopen(self):
        name = self.alias_name()
        for fd in self.fds if name else ():
            for how in self.scope.reopens:
                yield (Reopen(fd, "rdwr", trunc=True) if how == "trunc" else Reopen(fd, how)), name

    def fallocate(self):
        for fd, obj in self.fd_objects():
            for how in self.scope.fallocates:
                yield {"extend": Fallocate(fd, obj.size, PAGE_SIZE),
                       "inside": Fallocate(fd, 0, max(1, obj.size)),
                       "punch": Fallocate(fd, 0, PAGE_SIZE, punch=True),
                       "punch_unaligned": Fallocate(fd, 1, PAGE_SIZE, punch=True),
                       "zero": Fallocate(fd, 0, 0)}[how], None

    # --- memory accesses -------------------------------------------------------------------

    def places(self):
        for m in self.mappings:
            for page in self.pages_of(m, self.scope.place_pages):
                for offset in self.scope.offsets:
                    yield Place(m, page, offset)

    def write(self):
        for place in self.places():
            for value in self.scope.values:
                yield Write(place, value), None

    def read(self):
        for place in self.places():
            yield Read(place), None


# --- the classes of any step --------------------------------------------------------------

def extent(state: State, proc, m: str) -> int:
    """How many pages of its slot mapping ``m`` reaches in a process (the end of its last
    record), at least 1 (an unmapped handle still names its first page). Only its own slot
    counts: a handle placed inside another's slot (MAP_FIXED at M0[1]) ends where that slot
    does, since a range may not cross into the next slot (validate.check_within_slot)."""
    base = state.mapping_handles.get(m)
    if base is None or proc is None:
        return 1
    slot_end = (base // SLOT_PAGES + 1) * SLOT_PAGES
    ends = [min(v.end, slot_end) - base for v in proc.vmas if base <= v.start < slot_end]
    return max(ends, default=1)


def _page_class(page: int, n: int) -> str:
    if page >= n:
        return "past"
    return "start" if page == 0 else "last" if page == n - 1 else "middle"


def _length_class(page: int, length: int, n: int) -> str:
    if length % PAGE_SIZE:
        return "unaligned"
    if page + length // PAGE_SIZE > n:
        return "past_end"
    return "page" if length == PAGE_SIZE else "pages"


# The huge-page classes (scope.CLASSES memfd_opens, shm_huges) and their arguments
MEMFD_HUGE = {"hugetlb": {"hugetlb": True}, "hugetlb_sized": {"hugetlb": True, "huge": "64kb"},
              "huge_size_only": {"huge": "2mb"}}
SHM_HUGE = {"hugetlb": {"hugetlb": True}, "hugetlb_sized": {"hugetlb": True, "huge": "64kb"},
            "size_only": {"huge": "2mb"}}


def _huge_class(op, classes: dict) -> str:
    """The class of an open(memfd) or shmget's huge-page arguments: "none" (no huge pages),
    "hugetlb" (the default size), "hugetlb_sized" (a size flag: the menu offers 64 KiB, a size
    x86-64 has no pool of), or a size flag alone."""
    if not op.hugetlb and op.huge == "default":
        return "none"
    if not op.hugetlb:
        return "huge_size_only" if "huge_size_only" in classes else "size_only"
    return "hugetlb" if op.huge == "default" else "hugetlb_sized"


def _size_class(size: int) -> str:
    return ("zero" if size == 0 else "unaligned" if size % PAGE_SIZE else
            "page" if size == PAGE_SIZE else "pages")


def _mode_class(mode: int) -> str:
    """The scope's class of a mode (scope.MODE_BITS), or "other" for any other bits."""
    return next((name for name, bits in MODE_BITS.items() if bits == mode), "other")


def _byte_class(offset: int) -> str:
    return "start" if offset == 0 else "last" if offset == PAGE_SIZE - 1 else "middle"


def _fixed_class(state: State, op: Mremap) -> str:
    """The class of an mremap to a chosen place, in the order the kernel checks
    (check_mremap_params): no MAYMOVE, an unaligned place, an overlap, then DONTUNMAP."""
    if not op.maymove:
        return "fixed_nomaymove"
    if op.to.offset:
        return "fixed_unaligned"
    old, new = state.mapping_handles.get(op.at.mapping), state.mapping_handles.get(op.to.mapping)
    if old is not None and new is not None:
        start, dest = old + op.at.page, new + op.to.page
        if start + -(-op.old_length // PAGE_SIZE) > dest and \
                dest + -(-op.new_length // PAGE_SIZE) > start:
            return "fixed_overlap"
    return "fixed_dontunmap" if op.dontunmap else "fixed"


def _brk_action(st: Step, now: int) -> Action:
    """brk's classes: whether it raises, lowers or keeps the break; shmat's: where it attaches
    against the break (below it, at it, unaligned past it) (model/brk.py)."""
    page = st.op.at.page
    if isinstance(st.op, Brk):
        move = "raise" if page > now else "lower" if page < now else "keep"
        return Action("brk", st, (("call", "brk"), ("move", move)))
    where = "below" if page < now else "unaligned" if st.op.at.offset else "at"
    return Action("brk", st, (("call", "shmat"), ("at", where)))


def classify(state: State, st: Step) -> Action:
    """The family and argument classes of any step, taken from ``state`` (the state before it):
    where a place or range lies in its mapping as the actor's process sees it, how long a length
    is against that mapping, which object a descriptor names. The classes of the actions of
    ``actions`` are these; coverage (sharespec/coverage.py) counts programs by them."""
    thread = state.threads.get(st.thread)
    proc = state.processes[thread.process] if thread is not None and thread.alive else None
    op = st.op

    def where(place: Place) -> str:
        return _page_class(place.page, extent(state, proc, place.mapping))

    def obj_kind(fd: Optional[str]) -> str:
        found = proc.fds.get(fd) if proc is not None else None
        return state.objects[found.obj].kind if found is not None else "closed"

    def sharing(shared: bool) -> tuple:
        return ("sharing", "shared" if shared else "private")

    absolute = absolute_addresses.class_of(state, getattr(op, "at", None))
    if isinstance(op, Brk) or absolute == brk_model.NAME:
        return _brk_action(st, proc.brk if proc is not None else 0)
    if absolute is not None:
        call = "shmat_remap" if isinstance(op, ShmAt) and op.remap else op.OP
        unaligned = absolute == "zero" and op.at.offset
        return Action("absolute", st, (("call", call),
                                       ("address", "zero_unaligned" if unaligned else absolute)))
    match op:
        case Mmap(neither=True):
            return Action("mmap_neither", st, (("object", "anon" if op.fd is None
                                                else obj_kind(op.fd)), ("fixed", op.fixed)))
        case Mmap(growsdown=True):
            return Action("growsdown", st, (("prot", op.prot),))
        case Mmap() if op.locked or op.populate or op.validate or op.unknown:
            flag = ("validate_unknown" if op.validate and op.unknown else "validate" if op.validate
                    else "locked" if op.locked else "populate" if op.populate else "unknown")
            return Action("mmap_flags", st, (("flags", flag),
                                             ("object", "anon" if op.fd is None else obj_kind(op.fd)),
                                             sharing(op.shared), ("prot", op.prot)))
        case Mmap(fd=None, fixed="none"):
            return Action("mmap", st, (sharing(op.shared), ("prot", op.prot),
                                       ("length", _size_class(op.length))))
        case Mmap(fixed="none"):
            offset = ("start" if op.offset == 0 else "unaligned" if op.offset % PAGE_SIZE
                      else "page")
            return Action("mmap_fd", st, (("object", obj_kind(op.fd)), sharing(op.shared),
                                          ("prot", op.prot), ("length", _size_class(op.length)),
                                          ("offset", offset)))
        case Mmap():
            return Action("mmap_fixed", st, (("fixed", op.fixed), sharing(op.shared),
                                             ("at", where(op.at))))
        case Munmap() | Mprotect() | Madvise() | PosixMadvise() | Mlock() | Munlock() | Msync():
            n = extent(state, proc, op.at.mapping)
            classes = (("at", _page_class(op.at.page, n)),
                       ("length", _length_class(op.at.page, op.length, n)))
            if isinstance(op, Msync):
                classes += (("flags", op.flags),)
            if isinstance(op, Mprotect):
                classes += (("prot", op.prot),)
            elif isinstance(op, (Madvise, PosixMadvise)):
                classes += (("advice", op.advice),)
            return Action(op.OP, st, classes)
        case Mremap():
            if op.mode == "fixed":
                kind = _fixed_class(state, op)
            elif op.dontunmap:
                kind = "dontunmap"
            elif op.mode == "alias":
                kind = "alias"
            elif op.mode == "grow":
                kind = "grow" if op.new_length > op.old_length else "shrink"
            else:
                kind = "move" if op.new_length == op.old_length else "move_resize"
            return Action("mremap", st, (("remap", kind), ("at", where(op.at))))
        case ShmGet():
            flags = "excl" if op.excl else "creat" if op.creat else "none"
            huge = _huge_class(op, SHM_HUGE)
            return Action("shmget", st, (("key", "private" if op.key == "private" else "K1"),
                                         ("size", _size_class(op.size)), ("flags", flags),
                                         ("mode", _mode_class(op.mode)))
                          + ((("huge", huge),) if huge != "none" else ()))
        case ShmAt():
            how = ("remap" if op.remap else "rnd" if op.rnd else "at" if op.at is not None else
                   "rdonly" if op.rdonly else "slot")
            classes = (("attach", how),)
            if op.at is not None:
                classes += (("at", where(op.at)),)
            return Action("shmat", st, classes)
        case ShmDt():
            return Action("shmdt", st, (("at", where(op.at)),))
        case ShmCtl(cmd="set"):
            changes = (("mode", _mode_class(op.mode)),) if op.mode is not None else ()
            changes += (("uid", op.uid),) if op.uid is not None else ()
            changes += (("gid", op.gid),) if op.gid is not None else ()
            return Action("shmctl", st, (("cmd", "set"),) + changes)
        case ShmCtl():
            return Action("shmctl", st, (("cmd", op.cmd),))
        case SetUid():
            return Action("setuid", st, (("uid", op.uid),))
        case SetGid():
            return Action("setgid", st, (("gid", op.gid),))
        case Open(kind="memfd"):
            how = ("nosealing" if op.nosealing else "sealing") if op.invalid == "none" \
                else op.invalid
            if op.hugetlb or op.huge != "default":
                how = _huge_class(op, MEMFD_HUGE)
            return Action("open", st, (("object", "memfd"), ("memfd", how)))
        case Open():
            how = ("rdonly" if op.rdonly else "wronly" if op.wronly else "excl" if op.excl else
                   "creat" if op.creat else "none")
            return Action("open", st, (("object", op.kind), ("name", op.name), ("open", how),
                                       ("mode", _mode_class(op.mode))))
        case Ftruncate():
            return Action("ftruncate", st, (("object", obj_kind(op.fd)),
                                            ("length", _size_class(op.length))))
        case Pread() | Pwrite():
            found = proc.fds.get(op.fd) if proc is not None else None
            size = state.objects[found.obj].size if found is not None else 0
            at = ("end" if op.offset >= size else "start" if op.offset == 0 else
                  "last" if op.offset == size - 1 else "middle")
            return Action(op.OP, st, (("object", obj_kind(op.fd)), ("offset", at)))
        case Seal():
            return Action("seal", st, (("object", obj_kind(op.fd)), ("seal", op.seal)))
        case Seals() | Fstat() | Dup():
            return Action(op.OP, st, (("object", obj_kind(op.fd)),))
        case Reopen():
            return Action("reopen", st, (("object", obj_kind(op.fd)),
                                         ("reopen", "trunc" if op.trunc else op.mode)))
        case Fallocate():
            found = proc.fds.get(op.fd) if proc is not None else None
            size = state.objects[found.obj].size if found is not None else 0
            how = ("zero" if op.length == 0 else
                   ("punch" if not (op.offset | op.length) % PAGE_SIZE else "punch_unaligned")
                   if op.punch else "extend" if op.offset + op.length > size else "inside")
            return Action("fallocate", st, (("object", obj_kind(op.fd)), ("fallocate", how)))
        case Read() | Write():
            return Action(op.OP, st, (("at", where(op.at)), ("byte", _byte_class(op.at.offset))))
        case _:
            return Action(op.OP, st, ())
