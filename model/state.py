"""The state of the specification: immutable, hashable, small.

The words are the textbook's: processes have page tables that map virtual pages to
physical frames; the OS shares memory by making entries of several page tables reach the
same frame. Here a page table is derived from a process's mapping records (``Vma``) and
its private frames:

- a page of a *shared* mapping reaches the frame that its backing object (a SysV segment's
  memory, shared anonymous memory, a file, a memfd, a POSIX shm object) holds for that page;
- a page of a *private* mapping reaches its own private frame once it has one (after a write,
  or inherited by fork until either side writes: copy-on-write), and until then reads the
  zero page (anonymous) or the object's page (file-backed).

Frames are numbered in order of allocation and hold sparse contents (nonzero bytes only).
Virtual page numbers are slot-relative (docs/case-format.md, "Places and addresses").
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Optional, Tuple

from .credentials import ROOT, Creds, Perm
from .ops import PAGE_SIZE

SLOT_PAGES = 256
# The page numbers of the absolute addresses (model/absolute_addresses.py): below slot 0, a
# million pages apart, so that a range of a slot's size or a segment of a case's page cap never
# meets another class or a slot.
ABSOLUTE_SPAN = 2 ** 20
ABSOLUTE_PAGE_BASES = {"zero": -3 * ABSOLUTE_SPAN, "high": -2 * ABSOLUTE_SPAN,
                       "kernel": -1 * ABSOLUTE_SPAN,
                       # the program break's places (model/brk.py): pages above the base break
                       "brk": -4 * ABSOLUTE_SPAN}


class FrozenMap:
    """A small immutable, hashable mapping. Updates return a new map."""

    __slots__ = ("_d", "_h")

    def __init__(self, items: Iterable = ()):
        self._d = dict(items)
        self._h: Optional[int] = None

    def __getitem__(self, key):
        return self._d[key]

    def get(self, key, default=None):
        return self._d.get(key, default)

    def __contains__(self, key) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def items(self):
        return self._d.items()

    def keys(self):
        return self._d.keys()

    def values(self):
        return self._d.values()

    def set(self, key, value) -> "FrozenMap":
        d = dict(self._d)
        d[key] = value
        return FrozenMap(d)

    def update(self, pairs) -> "FrozenMap":
        d = dict(self._d)
        d.update(pairs)
        return FrozenMap(d)

    def remove(self, *keys) -> "FrozenMap":
        d = dict(self._d)
        for key in keys:
            d.pop(key, None)
        return FrozenMap(d)

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __eq__(self, other) -> bool:
        return isinstance(other, FrozenMap) and self._d == other._d

    def __repr__(self) -> str:
        return f"FrozenMap({self._d!r})"


EMPTY = FrozenMap()

Contents = Tuple[Tuple[int, int], ...]   # sorted (byte offset, nonzero value) pairs


def contents_get(contents: Contents, offset: int) -> int:
    for off, value in contents:
        if off == offset:
            return value
    return 0


def contents_set(contents: Contents, offset: int, value: int) -> Contents:
    kept = [(o, v) for o, v in contents if o != offset]
    if value:
        kept.append((offset, value))
    return tuple(sorted(kept))


def contents_zero_from(contents: Contents, offset: int) -> Contents:
    """The contents with every byte at or after ``offset`` zeroed (truncation of a partial page)."""
    return tuple((o, v) for o, v in contents if o < offset)


@dataclass(frozen=True)
class Vma:
    """One mapping record of one process: virtual pages [start, end) with one set of attributes.

    ``obj`` is the backing memory object (None: private anonymous memory); ``pgoff`` the
    object page that ``start`` maps. ``segment`` marks a SysV attach (a shm VMA); such VMAs
    never merge (R30). ``origin`` is the call that created the mapping (for a SysV attach, the
    attach), and once the record has an anon_vma, which anon_vma it is: a new origin when one
    is made, the neighbour's when it is reused (address_space.anon_vma_prepare), so two records
    with anon_vmas merge only when their origins agree (R30).
    """
    start: int
    end: int
    prot: str
    shared: bool
    obj: Optional[int]
    pgoff: int
    may_write: bool
    origin: int
    segment: Optional[int] = None
    dontfork: bool = False
    wipeonfork: bool = False
    # madvise hints that set a VMA flag (R48): they change no contents, but a record whose
    # flags differ from its neighbour's is a VMA of its own (a SysV attach gains a fragment,
    # R30; mremap of a range over two records fails, R44).
    readahead: str = "normal"    # "normal" | "random" (VM_RAND_READ) | "sequential" (VM_SEQ_READ)
    dontdump: bool = False       # VM_DONTDUMP
    thp: str = "none"            # "none" | "huge" (VM_HUGEPAGE) | "nohuge" (VM_NOHUGEPAGE)
    mergeable: bool = False      # VM_MERGEABLE (KSM; never on a shared mapping)
    # Linux: the record has an anon_vma (a private page was written in it). fork copies the
    # page table entries of a private record only then (vma_needs_copy); model/frames.py.
    anon_vma: bool = False
    # Linux: the record's anon_vma is one a fork gave it (anon_vma_fork: the child's own, its
    # anon_vma_chain also linking the parent's; vma_is_fork_child). Each record of the child
    # gets a distinct one and a fresh ``origin`` to stand for it, so it merges only with pieces
    # of itself, never with a record without an anon_vma (model/address_space.py, R30)
    fork_anon_vma: bool = False
    # VM_ACCOUNT: a private writable record is charged to the commit (accountable_mapping,
    # mprotect_fixup); records merge only when they agree (model/address_space.py, R30)
    accounted: bool = False
    # VM_LOCKED (mlock, MAP_LOCKED: model/locking.py); records merge only when they agree, so
    # mlock of part of a record splits it (observed, Linux 6.18)
    locked: bool = False
    # VM_LOCKED was cleared in place, with no merge attempt (dup_mmap in a fork child,
    # MREMAP_DONTUNMAP's old record): the record stays apart from neighbours it now equals
    # until a call changes, makes or moves it or a neighbour (address_space.merged ``fresh``:
    # the kernel's merge attempt), as the kernel's records do (observed)
    lock_cleared: bool = False
    # VM_GROWSDOWN (MAP_GROWSDOWN, model/growsdown.py): a fault just below grows the record;
    # records merge only when they agree
    growsdown: bool = False

    @property
    def pages(self) -> int:
        return self.end - self.start

    def advice_flags(self) -> tuple:
        """The flags madvise sets (R40, R41, R48): records merge only when they agree on all."""
        return (self.dontfork, self.wipeonfork, self.readahead, self.dontdump, self.thp,
                self.mergeable, self.locked, self.growsdown)

    def object_page(self, vpn: int) -> int:
        return self.pgoff + (vpn - self.start)

    def contains(self, vpn: int) -> bool:
        return self.start <= vpn < self.end


@dataclass(frozen=True)
class Fd:
    obj: int
    rdonly: bool
    wronly: bool = False         # O_WRONLY: no mmap, no pread (model/descriptors.py)


@dataclass(frozen=True)
class Process:
    alive: bool = True
    vmas: Tuple[Vma, ...] = ()                 # sorted by start, disjoint
    private: FrozenMap = EMPTY                 # vpn -> frame of this process's private pages
    lazyfree: frozenset = frozenset()          # vpns under MADV_FREE, not yet written (C05)
    guarded: frozenset = frozenset()           # vpns with a guard marker (MADV_GUARD_INSTALL, R49)
    present: frozenset = frozenset()           # vpns whose page table entry is populated
    # (vpn, offset) of bytes this process stored into its private pages; kept only where a
    # profile lets the other bytes of a private copy follow the object (R13, posix)
    written: frozenset = frozenset()
    fds: FrozenMap = EMPTY                     # fd handle -> Fd
    creds: Creds = ROOT                        # uid and gid, kept by fork and exec (C07)
    # pages VmLck counts beyond the VM_LOCKED records: MREMAP_DONTUNMAP clears VM_LOCKED on the
    # old range without taking it off mm->locked_vm (observed, Linux 6.18; model/locking.py)
    lock_leak: int = 0
    brk: int = 0                               # the break, pages above its base (model/brk.py)

    def vma_at(self, vpn: int) -> Optional[Vma]:
        for vma in self.vmas:
            if vma.start <= vpn < vma.end:
                return vma
        return None


@dataclass(frozen=True)
class Thread:
    process: int
    alive: bool = True


@dataclass(frozen=True)
class MemObject:
    """Backing memory: a SysV segment's, shared anonymous memory, a file, a memfd, a POSIX shm
    object. ``pages`` holds the frames the object has (page cache); a missing page reads 0."""
    kind: str                    # "sysv" | "anon" | "file" | "shm" | "memfd"
    size: int                    # bytes (for "sysv" and "anon": the rounded mapping size)
    pages: FrozenMap = EMPTY     # object page index -> frame
    write_sealed: bool = False
    # R12 (posix): (page index, byte offset) -> the value read(2) may still show of a byte
    # stored through a shared mapping (model/read_lag.py); empty under linux
    unsynced: FrozenMap = EMPTY
    perm: Perm = Perm()          # a file's or POSIX shm object's mode and owner (C07)
    # the other seals (ops.SEAL_NAMES but "write"): model/descriptors.py (R47)
    seals: frozenset = frozenset()
    # a hugetlbfs memfd's huge page size in bytes (MFD_HUGETLB, model/hugepages.py); 0: not one
    huge_page: int = 0

    def page_count(self) -> int:
        return -(-self.size // PAGE_SIZE)


@dataclass(frozen=True)
class Segment:
    """A SysV shared memory segment. ``key`` None: IPC_PRIVATE (also after IPC_RMID, R17)."""
    key: Optional[str]
    size: int                    # shm_segsz: the requested size (R04, R22)
    obj: int
    creator: int                 # process index
    removed: bool = False        # SHM_DEST
    destroyed: bool = False
    ever_attached: bool = False  # for shm_rmid_forced (R45)
    # The key it had before IPC_RMID, kept only where IPC_STAT may still show it (R17, posix).
    removed_key: Optional[str] = None
    locked: bool = False         # SHM_LOCKED (SHM_LOCK, SHM_UNLOCK: model/shmctl_commands.py)
    # shm_lprid: the process that last made or removed a mapping record of it (None: none yet)
    last_pid: Optional[int] = None
    perm: Perm = Perm()          # mode, owner and creator ids (C07; IPC_SET changes them)
    # shm_atime / shm_dtime not 0 any more: a record was opened / closed (model/shm_times.py)
    atime_set: bool = False
    dtime_set: bool = False


@dataclass(frozen=True)
class State:
    processes: Tuple[Process, ...] = (Process(),)
    threads: FrozenMap = FrozenMap({"T0": Thread(0)})
    frames: Tuple[Contents, ...] = ()
    objects: Tuple[MemObject, ...] = ()
    segments: Tuple[Segment, ...] = ()
    segment_handles: FrozenMap = EMPTY   # handle -> segment index, or -1 when shmget failed
    mapping_handles: FrozenMap = EMPTY   # handle -> base vpn
    file_names: FrozenMap = EMPTY        # file name -> object
    shm_names: FrozenMap = EMPTY         # POSIX shm name -> object
    origins: int = 0                     # mapping calls so far (Vma.origin)

    # --- small functional updates ----------------------------------------------------

    def with_process(self, pid: int, process: Process) -> "State":
        procs = list(self.processes)
        procs[pid] = process
        return replace(self, processes=tuple(procs))

    def with_object(self, oid: int, obj: MemObject) -> "State":
        objs = list(self.objects)
        objs[oid] = obj
        return replace(self, objects=tuple(objs))

    def with_segment(self, sid: int, seg: Segment) -> "State":
        segs = list(self.segments)
        segs[sid] = seg
        return replace(self, segments=tuple(segs))

    def with_frame(self, fid: int, contents: Contents) -> "State":
        frames = list(self.frames)
        frames[fid] = contents
        return replace(self, frames=tuple(frames))

    def new_frame(self, contents: Contents = ()) -> Tuple["State", int]:
        return replace(self, frames=self.frames + (contents,)), len(self.frames)

    def new_object(self, obj: MemObject) -> Tuple["State", int]:
        return replace(self, objects=self.objects + (obj,)), len(self.objects)

    def next_origin(self) -> Tuple["State", int]:
        return replace(self, origins=self.origins + 1), self.origins

    def next_slot_base(self) -> int:
        return len(self.mapping_handles) * SLOT_PAGES

    def thread_process(self, thread: str) -> Optional[int]:
        t = self.threads.get(thread)
        return None if t is None else t.process

    # --- names a step uses ------------------------------------------------------------

    def vpn(self, place) -> int:
        """The virtual page a place (mapping handle, page) names; an absolute place (``@zero``)
        names a page of its own below every slot (model/absolute_addresses.py)."""
        if place.mapping[:1] == "@":
            return ABSOLUTE_PAGE_BASES[place.mapping[1:]] + place.page
        return self.mapping_handles[place.mapping] + place.page

    def span(self, place, length: int) -> Tuple[int, int]:
        """[start, end) in pages of a range call's place and byte length (rounded up)."""
        start = self.vpn(place)
        return start, start + -(-length // PAGE_SIZE)

    def slot_base(self, handle: str) -> Optional[int]:
        """The page ``handle`` is bound at when that page is in a slot; None when it is not
        bound, or bound at an absolute place (``@brk``, ``@zero``: a page below every slot),
        which only the calls of its own family may name."""
        base = self.mapping_handles.get(handle)
        return base if base is not None and base >= 0 else None

    def bind_mapping(self, handle: str, base: Optional[int] = None) -> "State":
        """Name a mapping handle: at ``base``, or at the next free slot (a failed call binds
        its handle too, so that later steps naming it still resolve)."""
        if base is None:
            base = self.next_slot_base()
        return replace(self, mapping_handles=self.mapping_handles.set(handle, base))

    def live_segment(self, handle: str) -> Optional[int]:
        """The segment a handle names, unless shmget failed or the segment is destroyed."""
        sid = self.segment_handles.get(handle, -1)
        if sid < 0 or self.segments[sid].destroyed:
            return None
        return sid

    def segment_with_key(self, key: str) -> Optional[int]:
        """The live segment a shmget key names; a removed segment's key is IPC_PRIVATE (R18)."""
        if key == "private":
            return None
        return next((i for i, s in enumerate(self.segments) if s.key == key and not s.destroyed),
                    None)

    def locate(self, place) -> Optional[Tuple[int, int]]:
        """(process, vpn) of a place of a frames step; None if its thread has ended or its
        mapping handle was never bound."""
        thread = self.threads.get(place.thread)
        if thread is None or not thread.alive or place.mapping not in self.mapping_handles:
            return None
        return thread.process, self.vpn(place)


def initial() -> State:
    """One process with one thread, T0, and nothing mapped."""
    return State()
