"""The encoded core: which programs the z3 encoding covers, and how a concrete program is
written as the per-step arguments the encoding chooses.

The explicit semantics (semantics.py) has 24 operations; the symbolic encoding covers the
part of them that tells the sharing story, and says so for anything else (``OutsideCore``),
so that a program outside the core is never silently treated as agreeing.

The core (every flag and argument not listed is at its default):

- processes and threads: ``fork``, ``spawn``, ``thread_exit``, ``exit``, ``exec`` (R29: a
  fresh address space, the other threads of the process gone, its descriptors closed);
- anonymous memory: ``mmap(anon, shared|private, rw|r|none, pages*4096)`` at its handle's slot
  (no ``at``/``fixed``);
- SysV: ``shmget(private|K, size, [creat], [excl])`` with one key name and sizes 100 or a whole
  number of pages up to ``scope.pages``; ``shmat(S, [rdonly])`` at its handle's slot;
  ``shmdt(M[p])``; ``shmctl(S, rmid|stat)`` (the other commands: SHMCTL_OUTSIDE);
- backing objects (at most ``scope.objects`` descriptor handles, so at most that many objects):
  ``open(file|shm, NAME, [creat], [excl], [rdonly])`` with one name per kind (the file and the
  POSIX shm object may share the name; they are different namespaces), ``open(memfd)`` without
  flags (Linux only); ``close(F)``; ``ftruncate(F, pages*4096)`` with 0..``scope.pages`` whole
  pages; ``pread(F, p*4096)`` (p 0..``scope.pages``) and ``pwrite(F, p*4096, v)`` (p below
  ``scope.pages``): byte 0 of a page, as for ``read``/``write``; ``shm_unlink(NAME)``;
  ``seal(F, write)`` (Linux only); ``mmap(F, shared|private, rw|r|none, pages*4096)`` with
  offset 0, at its handle's slot. Objects are never larger than ``scope.pages`` pages. With
  byte-0 accesses only and whole-page lengths, an object's size is exactly its number of pages
  (no access ever lands in the slack of a partial last page, R07);
- ``munmap``, ``mprotect``, ``madvise`` (dontneed, dontfork, dofork, wipeonfork, keeponfork,
  remove (R39), free (C05)) of ``M[p]`` and a whole number of pages;
- ``read(M[p])``, ``write(M[p], v)``: byte 0 of a page (one byte per page is enough to tell
  who shares a frame with whom);
- ``mremap`` (Linux only, R42-R44): grow (or shrink) in place, move and alias of ``M[p]``
  with old and new sizes in whole pages that stay inside the scope's pages of a slot (an
  alias has old size 0, grow and move do not); a move that keeps the size may span several
  records and the gaps between them (Linux 6.17+), except in a SysV attach.

A page of the address space is a *cell* (process, slot, page). A slot's pages map its object
from a page offset on (``slot_pgoff``: 0, except for the destination of a move or an alias),
and a slot names its object (the shared anonymous object of the slot that created it, a
segment, or a backing object): mremap copies cells from one slot to another, and the encoding
stays flat.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

from ..ops import (DEFAULT_MODE, PAGE_SIZE, Close, Exec, Exit, Fork, Ftruncate, Madvise, Mmap,
                   Mprotect, Mremap, Munmap, Open, Pread, Pwrite, Read, Seal, ShmAt, ShmCtl, ShmDt,
                   ShmGet, ShmUnlink, Spawn, Step, ThreadExit, Write)
from ..scope import Scope

# Operation kinds of the encoding; NOP pads a program shorter than the unrolling.
OP_NAMES = ("nop", "mmap", "shmat", "shmget", "shmdt", "shmctl", "munmap", "mprotect", "madvise",
            "read", "write", "fork", "spawn", "thread_exit", "exit", "exec", "mremap",
            "open", "close", "ftruncate", "pread", "pwrite", "shm_unlink", "seal")
OPS = {name: i for i, name in enumerate(OP_NAMES)}
PROTS = ("rw", "r", "none")
# The protections of the language (ops.PROTECTIONS) the encoding leaves out, and why.
_PROT_BITS = ("C01: a cell's protection is one of three; PROT_WRITE alone and PROT_EXEC "
              "differ from them only in reads that may fault (model/protections.py) and in "
              "records that do not merge")
PROTS_OUTSIDE = dict.fromkeys(("w", "x", "rx"), _PROT_BITS)
ADVICES = ("dontneed", "dontfork", "dofork", "wipeonfork", "keeponfork", "remove", "free")
# The advices of the language (ops.MADVICES) the encoding leaves out, and why: a program that
# uses one is OutsideCore.
_HINT = ("R48: a hint sets only a VMA flag the cells do not carry (readahead, dump, "
         "hugepage, KSM); it changes no contents, only which records split and merge")
ADVICES_OUTSIDE = {
    **dict.fromkeys(("normal", "random", "sequential", "dontdump", "dodump", "hugepage",
                     "nohugepage", "mergeable", "unmergeable"), _HINT),
    **dict.fromkeys(("willneed", "cold"), "R48: no effect a program can see"),
    "pageout": "R48: reclaim shows only in frame observations, which the encoding has not",
    **dict.fromkeys(("guard_install", "guard_remove"),
                    "R49: a marker per page table entry, which a cell does not carry"),
    "invalid": "C01: EINVAL before anything is looked at; nothing to encode",
}
# The shmctl commands (ops.SHMCTL_COMMANDS) the encoding leaves out, and why: a program that
# uses one is OutsideCore. The core's segment carries no lock bit and no process ids.
_STAT_MORE = ("model/shmctl_commands.py: the stat shows shm_lprid, which every step that makes "
              "or removes a SysV record sets, and the lock bit; a segment's cells carry neither")
SHMCTL_OUTSIDE = {
    **dict.fromkeys(("stat_full", "shm_stat", "shm_stat_any", "shm_stat_id"), _STAT_MORE),
    **dict.fromkeys(("lock", "unlock"), "C09: the lock bit only (no effect on contents), "
                                        "which a segment's cells do not carry"),
    **dict.fromkeys(("info", "shm_info"), "a system-wide figure: the highest index in use"),
    **dict.fromkeys(("shm_info_counts", "stat_any_count", "sysvipc"),
                    "model/residency.py: the namespace's figures count the segments and their "
                    "resident pages, and a cell carries no residency (a page read but never "
                    "written holds no byte)"),
    "invalid": "EINVAL before anything is looked at; nothing to encode",
    **dict.fromkeys(("times", "shm_stat_times"),
                    "model/shm_times.py: whether a record was ever opened or closed, which "
                    "every step that makes or removes a SysV record changes; a segment's cells "
                    "carry none"),
}
MREMAP_MODES = ("grow", "move", "alias")
# mremap's mode fixed and MREMAP_DONTUNMAP are left out: a move to a place inside another
# handle's slot breaks the core's one-slot-per-mapping cells, and DONTUNMAP keeps a record
# whose pages were moved away, which a cell cannot tell from one never touched.
# model/absolute_addresses.py: the core's pages are those of its slots; @zero, @high and
# @kernel are addresses outside them whose outcomes hang on the host (privilege, paging levels).
ABSOLUTE_OUTSIDE = ("an absolute address (@zero, @high, @kernel): the cells are slot pages, and "
                    "what the kernel says there depends on privilege and paging levels")
MREMAP_OUTSIDE = "mremap fixed or dontunmap: a move into another slot, or a source kept mapped"
# Permission bits and owners (C07) are left out: every process of the core is root, which
# passes every check, so a mode other than the default could change no outcome there, and
# IPC_SET only what a later non-root process may do.
MODES_OUTSIDE = ("C07: permission bits and owners are not in the cells (the core's processes "
                 "are all root, which passes every check)")
# Huge-page objects (model/hugepages.py) are left out: their outcomes are sets over the host's
# huge page sizes, and an object's size in huge pages would need a page size per cell.
HUGETLB_OUTSIDE = ("huge pages (MFD_HUGETLB, SHM_HUGETLB, a size flag): sets over the host's "
                   "huge page sizes, a per-object huge page size the cells do not carry "
                   "(model/hugepages.py)")
# MAP_GROWSDOWN (model/growsdown.py, R50) is left out: whether a load or store grows a record
# hangs on the records around an unmapped page, a search the cells do not encode.
GROWSDOWN_OUTSIDE = ("mmap with MAP_GROWSDOWN: whether an access grows a record hangs on the "
                     "records around the page (model/growsdown.py, R50)")
KEY_NAME = "K1"           # the one SysV key name of the core (besides IPC_PRIVATE)
OBJECT_NAME = "obj"       # the one file name and the one POSIX shm name of the core
OBJECT_KINDS = ("file", "memfd", "shm")   # an object's kind (index); ops.Open's kinds
OBJ_FILE, OBJ_MEMFD, OBJ_SHM = 0, 1, 2

# Slot kinds (what the mapping bound to a handle is). An object mapping maps a backing
# object (file, memfd, POSIX shm): shared, or private (copy on write of the object's pages).
KIND_NONE, KIND_PRIVATE, KIND_ANON, KIND_SYSV, KIND_OBJ_SHARED, KIND_OBJ_PRIVATE = range(6)
KIND_NAMES = ("none", "private anonymous", "shared anonymous", "SysV", "shared object",
              "private object")

# Result codes of the encoding.
RESULT_NAMES = ("ok", "value", "new", "same", "stat", "dead", "SIGSEGV", "EINVAL", "ENOENT",
                "EEXIST", "EACCES", "ENOMEM", "SIGBUS", "EFAULT", "eof", "EBADF", "EPERM", "EBUSY")
R = {name: i for i, name in enumerate(RESULT_NAMES)}


class OutsideCore(Exception):
    """The program uses something the symbolic encoding does not cover (says what)."""


@dataclass(frozen=True)
class SymbolicScope:
    """The bounds of the encoding: processes created in all, threads bound in all, mapping
    handles, pages per mapping (and per backing object), segment handles, bytes a write may
    store, steps unrolled, descriptor handles (``open`` steps, so also backing objects)."""
    processes: int = 3
    threads: int = 3
    mappings: int = 2
    pages: int = 2
    segments: int = 2
    values: tuple = (1, 2)
    steps: int = 6
    objects: int = 2

    def __post_init__(self):
        for name in ("processes", "threads", "mappings", "pages", "segments", "steps", "objects"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"scope: {name} must be a whole number >= 0, not {v!r}")
        if self.processes < 1 or self.threads < 1:
            raise ValueError("scope: at least one process and one thread")
        if not 1 <= self.pages <= 6:
            raise ValueError("scope: the encoding handles 1..6 pages per mapping")
        if max(self.processes, self.threads, self.mappings, self.segments, self.objects) > 7:
            raise ValueError("scope: the encoding handles at most 7 processes, threads, "
                             "mappings, segments and objects")
        if (self.mappings - 1) * (self.pages - 1) + 2 * self.pages > 15:
            raise ValueError("scope: too many mappings and pages for the encoding's 4-bit object "
                             "page numbers (an object page after mremap moves is at most "
                             "(mappings-1)*(pages-1) + pages)")
        if not self.values or any(not 1 <= v <= 255 for v in self.values):
            raise ValueError("scope: values written are bytes 1..255")

    @property
    def sizes(self) -> tuple:
        """shmget sizes in bytes, ascending (index = the encoding's size code)."""
        return (100,) + tuple(PAGE_SIZE * n for n in range(1, self.pages + 1))

    @staticmethod
    def from_scope(scope: Scope, steps: Optional[int] = None) -> "SymbolicScope":
        return SymbolicScope(processes=scope.processes, threads=scope.threads,
                             mappings=max(1, scope.mappings), pages=max(1, min(scope.pages, 6)),
                             segments=scope.segments, objects=min(scope.objects, 7),
                             values=tuple(v for v in scope.values if v) or (1,),
                             steps=scope.steps if steps is None else steps)

    def with_steps(self, steps: int) -> "SymbolicScope":
        return replace(self, steps=steps)


def parse_symbolic_scope(text: str, base: SymbolicScope = SymbolicScope()) -> SymbolicScope:
    """``processes=2,pages=1,steps=6`` -> SymbolicScope; ValueError naming the bad part."""
    fields = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ValueError(f"scope: expected NAME=NUMBER, got {part!r}")
        name, value = (s.strip() for s in part.split("=", 1))
        if name not in SymbolicScope.__dataclass_fields__ or name == "values":
            raise ValueError(f"scope: unknown bound {name!r} (known: processes, threads, "
                             "mappings, pages, segments, objects, steps)")
        try:
            fields[name] = int(value)
        except ValueError:
            raise ValueError(f"scope: {name} must be a number, not {value!r}") from None
    merged = {f: getattr(base, f) for f in SymbolicScope.__dataclass_fields__}
    merged.update(fields)
    return SymbolicScope(**merged)


@dataclass(frozen=True)
class StepArgs:
    """One step as the encoding's arguments (indices by order of binding)."""
    op: int
    actor: int = 0
    slot: int = 0
    page: int = 0
    length: int = 1
    value: int = 0
    shared: bool = False
    prot: int = 0
    handle: int = 0
    key: bool = False
    size: int = 1
    creat: bool = False
    excl: bool = False
    rdonly: bool = False
    advice: int = 0
    rmid: bool = False
    mode: int = 0             # mremap: index into MREMAP_MODES
    old: int = 0              # mremap: old size in pages (0: alias)
    fd: int = 0               # a descriptor handle (open binds the next one)
    okind: int = 0            # open: index into OBJECT_KINDS
    fdmap: bool = False       # mmap of the descriptor ``fd`` (else anonymous memory)
    neither: bool = False     # mmap with neither MAP_SHARED nor MAP_PRIVATE (model/map_type.py)


def _pages(length: int) -> int:
    return -(-length // PAGE_SIZE)


def program_to_args(steps: Sequence[Step], scope: SymbolicScope) -> list:
    """The encoding's arguments for a concrete program, or OutsideCore saying why not.

    Handles become indices in order of binding; the program's own bookkeeping (which thread
    belongs to which program process) follows ``validate``, so the limits are checked on it.
    """
    threads = {"T0": 0}
    maps: dict = {}
    segs: dict = {}
    fds: dict = {}
    keys: set = set()
    names: dict = {}          # object kind -> the one name the program uses for it
    processes = 1
    out = []

    def fail(i, why):
        raise OutsideCore(f"step {i + 1}: {why}")

    def place(i, at, kind="place"):
        if at.mapping not in maps:
            fail(i, f"mapping {at.mapping} is not bound")
        if at.offset:
            fail(i, f"{kind} offset {at.offset}: the core reads and writes byte 0 of a page")
        if at.page > scope.pages:
            fail(i, f"page {at.page} beyond the scope's {scope.pages} pages (+1)")
        return maps[at.mapping], at.page

    def length(i, n):
        pages = _pages(n)
        if not 1 <= pages <= scope.pages:
            fail(i, f"length {n}: the core takes 1..{scope.pages} pages")
        return pages

    def fd(i, handle):
        if handle not in fds:
            fail(i, f"descriptor {handle} is not bound")
        return fds[handle]

    def name(i, kind, n):
        if names.setdefault(kind, n) != n:
            fail(i, f"a second {kind} name {n!r} (the core has one per kind)")

    def file_page(i, offset, last):
        if offset % PAGE_SIZE or not 0 <= offset // PAGE_SIZE <= last:
            fail(i, f"offset {offset}: the core takes byte 0 of pages 0..{last}")
        return offset // PAGE_SIZE

    for i, st in enumerate(steps):
        op = st.op
        if st.thread not in threads:
            fail(i, f"thread {st.thread} is not bound")
        actor = threads[st.thread]
        a: dict = {"actor": actor}
        if str(getattr(getattr(op, "at", None), "mapping", "")).startswith("@"):
            fail(i, ABSOLUTE_OUTSIDE)
        match op:
            case Fork() | Spawn():
                if len(threads) >= scope.threads:
                    fail(i, f"more than {scope.threads} threads")
                if isinstance(op, Fork):
                    if processes >= scope.processes:
                        fail(i, f"more than {scope.processes} processes")
                    processes += 1
                threads[st.bind] = len(threads)
                a["op"] = OPS[op.OP]
            case ThreadExit() | Exit() | Exec():
                a["op"] = OPS[op.OP]
            case Mmap() | Mprotect() if op.prot in PROTS_OUTSIDE:
                fail(i, f"{op.OP} {op.prot}: {PROTS_OUTSIDE[op.prot]}")
            case Mremap() if op.mode == "fixed" or op.dontunmap:
                fail(i, MREMAP_OUTSIDE)
            case Mmap() if op.locked or op.populate or op.validate or op.unknown:
                fail(i, "mmap with MAP_LOCKED, MAP_POPULATE, MAP_SHARED_VALIDATE or an unknown "
                        "flag (model/locking.py, outside the core: no VM_LOCKED or page table "
                        "entries in the cells)")
            case Mmap() if op.growsdown:
                fail(i, GROWSDOWN_OUTSIDE)
            case Mmap():
                if op.offset or op.at is not None or op.fixed != "none":
                    fail(i, "mmap with an offset or at a fixed place")
                if len(maps) >= scope.mappings:
                    fail(i, f"more than {scope.mappings} mappings")
                a.update(op=OPS["mmap"], shared=op.shared, prot=PROTS.index(op.prot),
                         length=length(i, op.length), slot=len(maps), neither=op.neither)
                if op.fd is not None:
                    a.update(fdmap=True, fd=fd(i, op.fd))
                maps[st.bind] = len(maps)
            case Open() | ShmGet() if op.hugetlb or op.huge != "default":
                fail(i, f"{op.OP} {HUGETLB_OUTSIDE}")
            case Open():
                if len(fds) >= scope.objects:
                    fail(i, f"more than {scope.objects} descriptors")
                if op.kind == "memfd" and (op.creat or op.excl or op.rdonly):
                    fail(i, "open(memfd) with flags (memfd_create takes none)")
                if op.wronly or op.nosealing or op.invalid != "none":
                    fail(i, "open with wronly, nosealing or an invalid memfd_create argument "
                            "(model/descriptors.py, outside the core)")
                if op.kind != "memfd":
                    name(i, op.kind, op.name)
                if op.mode != DEFAULT_MODE:
                    fail(i, f"open mode {op.mode:#o}: {MODES_OUTSIDE}")
                a.update(op=OPS["open"], okind=OBJECT_KINDS.index(op.kind), creat=op.creat,
                         excl=op.excl, rdonly=op.rdonly, fd=len(fds))
                fds[st.bind] = len(fds)
            case Close():
                a.update(op=OPS["close"], fd=fd(i, op.fd))
            case Ftruncate():
                if op.length % PAGE_SIZE or op.length > scope.pages * PAGE_SIZE:
                    fail(i, f"ftruncate to {op.length}: the core takes 0..{scope.pages} whole pages")
                a.update(op=OPS["ftruncate"], fd=fd(i, op.fd), length=op.length // PAGE_SIZE)
            case Pread():
                a.update(op=OPS["pread"], fd=fd(i, op.fd), page=file_page(i, op.offset, scope.pages))
            case Pwrite():
                a.update(op=OPS["pwrite"], fd=fd(i, op.fd),
                         page=file_page(i, op.offset, scope.pages - 1), value=op.value)
            case ShmUnlink():
                name(i, "shm", op.name)
                a.update(op=OPS["shm_unlink"])
            case Seal():
                if op.seal != "write":
                    fail(i, f"seal {op.seal} (the core has write)")
                a.update(op=OPS["seal"], fd=fd(i, op.fd))
            case ShmGet():
                if len(segs) >= scope.segments:
                    fail(i, f"more than {scope.segments} segment handles")
                if op.key != "private":
                    keys.add(op.key)
                    if len(keys) > 1:
                        fail(i, "a second SysV key name (the core has one)")
                if op.size not in scope.sizes:
                    fail(i, f"shmget size {op.size} (the core's sizes: {scope.sizes})")
                if op.mode != DEFAULT_MODE:
                    fail(i, f"shmget mode {op.mode:#o}: {MODES_OUTSIDE}")
                a.update(op=OPS["shmget"], key=op.key != "private", size=scope.sizes.index(op.size),
                         creat=op.creat, excl=op.excl, handle=len(segs))
                segs[st.bind] = len(segs)
            case ShmAt():
                if op.at is not None or op.rnd or op.remap:
                    fail(i, "shmat at a given address")
                if op.segment not in segs:
                    fail(i, f"segment {op.segment} is not bound")
                if len(maps) >= scope.mappings:
                    fail(i, f"more than {scope.mappings} mappings")
                a.update(op=OPS["shmat"], handle=segs[op.segment], rdonly=op.rdonly, slot=len(maps))
                maps[st.bind] = len(maps)
            case ShmDt():
                slot, page = place(i, op.at)
                a.update(op=OPS["shmdt"], slot=slot, page=page)
            case ShmCtl():
                if op.cmd in SHMCTL_OUTSIDE:
                    fail(i, f"shmctl {op.cmd}: {SHMCTL_OUTSIDE[op.cmd]}")
                if op.segment not in segs:
                    fail(i, f"segment {op.segment} is not bound")
                if op.cmd == "set":
                    fail(i, f"shmctl set (IPC_SET): {MODES_OUTSIDE}")
                a.update(op=OPS["shmctl"], handle=segs[op.segment], rmid=op.cmd == "rmid")
            case Munmap():
                slot, page = place(i, op.at)
                a.update(op=OPS["munmap"], slot=slot, page=page, length=length(i, op.length))
            case Mprotect():
                slot, page = place(i, op.at)
                a.update(op=OPS["mprotect"], slot=slot, page=page, length=length(i, op.length),
                         prot=PROTS.index(op.prot))
            case Madvise():
                if op.advice not in ADVICES:
                    fail(i, f"madvise {op.advice}: {ADVICES_OUTSIDE.get(op.advice, 'unknown')}")
                slot, page = place(i, op.at)
                a.update(op=OPS["madvise"], slot=slot, page=page, length=length(i, op.length),
                         advice=ADVICES.index(op.advice))
            case Mremap():
                slot, page = place(i, op.at)
                new = length(i, op.new_length)
                old = _pages(op.old_length)
                if op.mode not in MREMAP_MODES or (op.mode == "alias") != (old == 0):
                    fail(i, "mremap: the core's alias has old size 0, grow and move do not")
                if page + old > scope.pages or (op.mode == "grow" and page + new > scope.pages):
                    fail(i, f"mremap past the scope's {scope.pages} pages of a slot")
                a.update(op=OPS["mremap"], slot=slot, page=page, length=new, old=old,
                         mode=MREMAP_MODES.index(op.mode))
                if op.mode != "grow":
                    if len(maps) >= scope.mappings:
                        fail(i, f"more than {scope.mappings} mappings")
                    maps[st.bind] = len(maps)
            case Read():
                slot, page = place(i, op.at)
                a.update(op=OPS["read"], slot=slot, page=page)
            case Write():
                slot, page = place(i, op.at)
                a.update(op=OPS["write"], slot=slot, page=page, value=op.value)
            case _:
                fail(i, f"{op.OP} is outside the encoded core")
        out.append(StepArgs(**a))
    if len(out) > scope.steps:
        raise OutsideCore(f"{len(out)} steps, the unrolling has {scope.steps}")
    return out
