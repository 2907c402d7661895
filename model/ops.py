"""The operations of the specification: a closed set of frozen dataclasses.

A program is a sequence of steps; each step is one of these operations, performed
by a named thread. Operations never mention addresses: they name *handles*
(mappings, segments, descriptors, threads) bound by earlier steps, and *places*
(a mapping handle, a page index and a byte offset inside that page).

The same vocabulary is the case format's (docs/case-format.md): the JSON name of
each operation is its ``OP`` attribute, and its fields are the JSON arguments.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Optional, Union

PAGE_SIZE = 4096

# "w" is PROT_WRITE alone, "x" PROT_EXEC alone, "rx" PROT_READ|PROT_EXEC (C01; model/protections.py
# says what each lets a load or store do on x86-64)
PROTECTIONS = ("rw", "r", "none", "w", "x", "rx")
MADVICES = ("dontneed", "remove", "dontfork", "dofork", "wipeonfork", "keeponfork", "free",
            # hints: they change no contents; some set a VMA flag (R48)
            "normal", "random", "sequential", "willneed", "cold", "pageout", "dontdump", "dodump",
            "hugepage", "nohugepage", "mergeable", "unmergeable",
            # guard regions (R49); "invalid" is an advice value no kernel knows (EINVAL, C01).
            # MADV_HWPOISON is left out: it takes a physical page out of the host for good.
            "guard_install", "guard_remove", "invalid")
# posix_madvise: glibc ignores POSIX_MADV_DONTNEED (R38) and passes the others to madvise (R48)
POSIX_MADVICES = ("dontneed", "normal", "random", "sequential", "willneed")
MREMAP_MODES = ("grow", "move", "alias", "fixed")
OBJECT_KINDS = ("file", "memfd", "shm")
FIXED_MODES = ("none", "replace", "noreplace")
SHMCTL_COMMANDS = ("rmid", "stat",
                   # model/shmctl_commands.py: IPC_STAT with the lock bit and cpid/lpid, SHM_LOCK,
                   # SHM_UNLOCK, SHM_STAT and SHM_STAT_ANY of the segment's index, SHM_STAT given
                   # the id as an index, IPC_INFO, SHM_INFO, and a command no kernel knows
                   "stat_full", "lock", "unlock", "shm_stat", "shm_stat_any", "shm_stat_id",
                   "info", "shm_info", "invalid",
                   # IPC_SET of the mode and owner (C07, model/credentials.py)
                   "set",
                   # the IPC namespace's figures (model/residency.py): SHM_INFO's counts, the
                   # indexes SHM_STAT_ANY answers, /proc/sysvipc/shm summed; a case with one
                   # runs in a fresh IPC namespace (needs_private_ipc)
                   "shm_info_counts", "stat_any_count", "sysvipc",
                   # shm_atime, shm_dtime, shm_ctime: 0 or set (model/shm_times.py)
                   "times", "shm_stat_times")
FIGURE_COMMANDS = ("shm_info_counts", "stat_any_count", "sysvipc")
# Credentials (C07, model/credentials.py): root, and "other", an unprivileged uid and gid the
# implementation picks; permission bits are an octal mode, 0600 unless a step names one.
USERS = ("root", "other")
DEFAULT_MODE = 0o600
# memfd seals in the kernel's bit order (F_SEAL_SEAL 1, SHRINK 2, GROW 4, WRITE 8, FUTURE_WRITE
# 16); a set of them is written joined by "+" in that order, the empty set "none" (R47).
SEAL_NAMES = ("seal", "shrink", "grow", "write", "future_write")
SEAL_SETS = ("none",) + tuple(
    "+".join(name for bit, name in enumerate(SEAL_NAMES) if mask >> bit & 1)
    for mask in range(1, 1 << len(SEAL_NAMES)))
# memfd_create's arguments that change its outcome (LTP memfd_create02.c): "none", a NULL name
# (EFAULT), a name longer than 249 bytes (EINVAL), flags no kernel knows (EINVAL).
MEMFD_INVALID = ("none", "null_name", "long_name", "flags")
REOPEN_MODES = ("rdwr", "rdonly", "wronly")
# msync's flags (model/locking.py): MS_SYNC, MS_ASYNC, MS_INVALIDATE alone or with one of the
# two, none at all (0), and the invalid ones: MS_SYNC|MS_ASYNC and a bit no kernel knows.
MSYNC_FLAGS = ("sync", "async", "invalidate", "sync+invalidate", "async+invalidate", "none",
               "sync+async", "unknown")
# Huge page sizes a hugetlb memfd or SysV segment may ask for (MFD_HUGE_* and SHM_HUGE_*, the
# log2 of the size in flag bits 26..31, include/uapi/asm-generic/hugetlb_encode.h); "default"
# passes no size: the host's default huge page size (model/hugepages.py).
HUGE_SIZES = ("default", "16kb", "64kb", "512kb", "1mb", "2mb", "8mb", "16mb", "32mb", "256mb",
              "512mb", "1gb", "2gb", "16gb")


@dataclass(frozen=True, order=True)
class Place:
    """A byte address named symbolically: ``mapping[page]+offset``.

    ``page`` may lie beyond the mapping's current end (that is how a program
    touches the page after a segment, or the tail of a grown mapping), and
    ``offset`` may be any byte in the page (unaligned addresses are how SHM_RND
    and the EINVAL rules are exercised).
    """

    mapping: str
    page: int = 0
    offset: int = 0

    def byte_offset(self) -> int:
        return self.page * PAGE_SIZE + self.offset


class Op:
    """Base of every operation. ``OP`` is the case-format name; ``BINDS`` the
    kind of handle its ``bind`` names, if any."""

    OP: ClassVar[str]
    BINDS: ClassVar[Optional[str]] = None

    def arguments(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


# --- processes and threads -------------------------------------------------------

@dataclass(frozen=True)
class Fork(Op):
    """fork(): a new process whose only thread is bound to the step's handle."""
    OP: ClassVar[str] = "fork"
    BINDS: ClassVar[Optional[str]] = "thread"


@dataclass(frozen=True)
class Spawn(Op):
    """pthread_create(): a new thread in the acting thread's process."""
    OP: ClassVar[str] = "spawn"
    BINDS: ClassVar[Optional[str]] = "thread"


@dataclass(frozen=True)
class ThreadExit(Op):
    """pthread_exit() of the acting thread; the last thread's exit ends the process."""
    OP: ClassVar[str] = "thread_exit"


@dataclass(frozen=True)
class Exit(Op):
    """_exit(): the acting thread's whole process ends."""
    OP: ClassVar[str] = "exit"


@dataclass(frozen=True)
class Exec(Op):
    """execve() of a program that carries on with the case: a fresh address space."""
    OP: ClassVar[str] = "exec"


@dataclass(frozen=True)
class SetUid(Op):
    """setuid(): the process's user becomes ``uid`` ("root" or "other"), for all its threads
    (glibc applies it to every thread, nptl(7)); from root it drops every capability (C07)."""
    OP: ClassVar[str] = "setuid"
    uid: str


@dataclass(frozen=True)
class SetGid(Op):
    """setgid(): the process's group becomes ``gid`` ("root" or "other"), for all its threads."""
    OP: ClassVar[str] = "setgid"
    gid: str


# --- System V shared memory ------------------------------------------------------

@dataclass(frozen=True)
class ShmGet(Op):
    """shmget(key, size, flags). ``key`` is ``"private"`` or a symbolic key name."""
    OP: ClassVar[str] = "shmget"
    BINDS: ClassVar[Optional[str]] = "segment"
    key: str
    size: int
    creat: bool = False
    excl: bool = False
    mode: int = DEFAULT_MODE     # the permission bits it creates with, and asks for (C07)
    hugetlb: bool = False        # SHM_HUGETLB (model/hugepages.py)
    huge: str = "default"        # SHM_HUGE_<size> (HUGE_SIZES), with or without SHM_HUGETLB


@dataclass(frozen=True)
class ShmAt(Op):
    """shmat(id, addr, flags). ``at`` None lets the system choose the address."""
    OP: ClassVar[str] = "shmat"
    BINDS: ClassVar[Optional[str]] = "mapping"
    segment: str
    at: Optional[Place] = None
    rdonly: bool = False
    rnd: bool = False
    remap: bool = False


@dataclass(frozen=True)
class ShmDt(Op):
    """shmdt(addr)."""
    OP: ClassVar[str] = "shmdt"
    at: Place


@dataclass(frozen=True)
class ShmCtl(Op):
    """shmctl(id, cmd): IPC_RMID, IPC_STAT, IPC_SET, and the commands of
    model/shmctl_commands.py (``cmd`` is one of SHMCTL_COMMANDS; those that take an index name
    it by the segment). IPC_SET sets the permission bits ``mode`` and the owner ``uid`` and
    ``gid``; None keeps one as it is."""
    OP: ClassVar[str] = "shmctl"
    segment: str
    cmd: str
    mode: Optional[int] = None
    uid: Optional[str] = None
    gid: Optional[str] = None


# --- mappings --------------------------------------------------------------------

@dataclass(frozen=True)
class Mmap(Op):
    """mmap(). ``fd`` None means MAP_ANONYMOUS; ``offset`` is in bytes into the object.

    ``fixed``: "none" (no MAP_FIXED; ``at`` is then ignored by the system's choice),
    "replace" (MAP_FIXED at ``at``) or "noreplace" (MAP_FIXED_NOREPLACE at ``at``).
    ``locked``: MAP_LOCKED; ``populate``: MAP_POPULATE; ``validate``: MAP_SHARED_VALIDATE in
    place of MAP_SHARED; ``unknown``: a flag bit no kernel knows (model/locking.py);
    ``growsdown``: MAP_GROWSDOWN, private anonymous only (model/growsdown.py).
    ``neither``: flags with neither MAP_SHARED nor MAP_PRIVATE (MAP_TYPE bits 0; ``shared`` is
    then False), which mmap refuses with EINVAL (C01; model/semantics.py ``_neither_refused``).
    """
    OP: ClassVar[str] = "mmap"
    BINDS: ClassVar[Optional[str]] = "mapping"
    shared: bool
    prot: str
    length: int
    fd: Optional[str] = None
    offset: int = 0
    at: Optional[Place] = None
    fixed: str = "none"
    locked: bool = False
    populate: bool = False
    validate: bool = False
    unknown: bool = False
    growsdown: bool = False      # MAP_GROWSDOWN (model/growsdown.py)
    neither: bool = False        # MAP_TYPE 0: neither MAP_SHARED nor MAP_PRIVATE (EINVAL)


@dataclass(frozen=True)
class Munmap(Op):
    OP: ClassVar[str] = "munmap"
    at: Place
    length: int


@dataclass(frozen=True)
class Mprotect(Op):
    OP: ClassVar[str] = "mprotect"
    at: Place
    length: int
    prot: str


@dataclass(frozen=True)
class Madvise(Op):
    OP: ClassVar[str] = "madvise"
    at: Place
    length: int
    advice: str


@dataclass(frozen=True)
class PosixMadvise(Op):
    """posix_madvise: advice that may not change semantics (R38, R48)."""
    OP: ClassVar[str] = "posix_madvise"
    at: Place
    length: int
    advice: str = "dontneed"


@dataclass(frozen=True)
class Mremap(Op):
    """mremap(). "grow": in place, no MREMAP_MAYMOVE; "move": MAYMOVE|FIXED to the
    bound handle's address; "alias": old_size 0, MAYMOVE|FIXED to the bound handle;
    "fixed": MREMAP_FIXED (with MREMAP_MAYMOVE if ``maymove``) to the place ``to``, binding
    nothing (the place already names it). ``dontunmap`` adds MREMAP_DONTUNMAP (move, fixed)."""
    OP: ClassVar[str] = "mremap"
    BINDS: ClassVar[Optional[str]] = "mapping"
    at: Place
    old_length: int
    new_length: int
    mode: str
    to: Optional[Place] = None
    maymove: bool = False
    dontunmap: bool = False


@dataclass(frozen=True)
class Mlock(Op):
    """mlock(addr, len): the pages become VM_LOCKED and are faulted in (model/locking.py)."""
    OP: ClassVar[str] = "mlock"
    at: Place
    length: int


@dataclass(frozen=True)
class Munlock(Op):
    """munlock(addr, len)."""
    OP: ClassVar[str] = "munlock"
    at: Place
    length: int


@dataclass(frozen=True)
class Msync(Op):
    """msync(addr, len, flags); ``flags`` is one of MSYNC_FLAGS."""
    OP: ClassVar[str] = "msync"
    at: Place
    length: int
    flags: str = "sync"


@dataclass(frozen=True)
class Brk(Op):
    """brk(addr): set the program break to ``at``, a place of the break (``@brk[k]``, k pages
    above the break the process began the case with; model/brk.py)."""
    OP: ClassVar[str] = "brk"
    at: Place


@dataclass(frozen=True)
class Vmlck(Op):
    """The acting process's locked memory, in pages (Linux: VmLck of /proc/PID/status)."""
    OP: ClassVar[str] = "vmlck"


# --- backing objects -------------------------------------------------------------

@dataclass(frozen=True)
class Open(Op):
    """A descriptor for a backing object.

    kind "file": open(name) of a regular file on tmpfs; "shm": shm_open(name);
    "memfd": memfd_create() (always a new object, ``name`` unused).
    ``wronly``: O_WRONLY (a file only). memfd only: ``nosealing`` leaves out
    MFD_ALLOW_SEALING (the memfd starts with F_SEAL_SEAL); ``invalid`` passes an argument
    memfd_create refuses (MEMFD_INVALID); ``hugetlb`` and ``huge``: MFD_HUGETLB and a size.
    """
    OP: ClassVar[str] = "open"
    BINDS: ClassVar[Optional[str]] = "fd"
    kind: str
    name: str = ""
    creat: bool = False
    excl: bool = False
    rdonly: bool = False
    mode: int = DEFAULT_MODE     # the permission bits of a file or shm object it creates (C07)
    wronly: bool = False
    nosealing: bool = False
    invalid: str = "none"
    hugetlb: bool = False        # MFD_HUGETLB (model/hugepages.py)
    huge: str = "default"        # MFD_HUGE_<size> (HUGE_SIZES), with or without MFD_HUGETLB


@dataclass(frozen=True)
class Close(Op):
    OP: ClassVar[str] = "close"
    fd: str


@dataclass(frozen=True)
class Ftruncate(Op):
    OP: ClassVar[str] = "ftruncate"
    fd: str
    length: int


@dataclass(frozen=True)
class Pread(Op):
    """pread of one byte."""
    OP: ClassVar[str] = "pread"
    fd: str
    offset: int


@dataclass(frozen=True)
class Pwrite(Op):
    """pwrite of one byte."""
    OP: ClassVar[str] = "pwrite"
    fd: str
    offset: int
    value: int


@dataclass(frozen=True)
class ShmUnlink(Op):
    OP: ClassVar[str] = "shm_unlink"
    name: str


@dataclass(frozen=True)
class Seal(Op):
    """fcntl(F_ADD_SEALS) on a memfd; ``seal`` is a set of seals (SEAL_SETS: "write",
    "shrink+write", "none", ...)."""
    OP: ClassVar[str] = "seal"
    fd: str
    seal: str = "write"


@dataclass(frozen=True)
class Seals(Op):
    """fcntl(F_GET_SEALS): the object's seals (an observation)."""
    OP: ClassVar[str] = "seals"
    fd: str


@dataclass(frozen=True)
class Dup(Op):
    """dup(): a second descriptor of the same open file (same object, same access mode)."""
    OP: ClassVar[str] = "dup"
    BINDS: ClassVar[Optional[str]] = "fd"
    fd: str


@dataclass(frozen=True)
class Reopen(Op):
    """open("/proc/self/fd/N", mode [| O_TRUNC]): a new open file of the same object, with its
    own access mode (``mode`` in REOPEN_MODES)."""
    OP: ClassVar[str] = "reopen"
    BINDS: ClassVar[Optional[str]] = "fd"
    fd: str
    mode: str = "rdwr"
    trunc: bool = False


@dataclass(frozen=True)
class Fallocate(Op):
    """fallocate(fd, mode, offset, length): mode 0 (allocate, extending the size) or, with
    ``punch``, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE."""
    OP: ClassVar[str] = "fallocate"
    fd: str
    offset: int
    length: int
    punch: bool = False


@dataclass(frozen=True)
class Fstat(Op):
    """fstat(): the object's size in bytes (an observation)."""
    OP: ClassVar[str] = "fstat"
    fd: str


# --- memory accesses -------------------------------------------------------------

@dataclass(frozen=True)
class Read(Op):
    """A one-byte load."""
    OP: ClassVar[str] = "read"
    at: Place


@dataclass(frozen=True)
class Write(Op):
    """A one-byte store."""
    OP: ClassVar[str] = "write"
    at: Place
    value: int


# --- observations of the page tables --------------------------------------------

@dataclass(frozen=True, order=True)
class FramePlace:
    """A virtual page of one process: the page table of ``thread``'s process at ``mapping[page]``."""
    thread: str
    mapping: str
    page: int = 0


@dataclass(frozen=True)
class Frames(Op):
    """Read the page tables (Linux: /proc/PID/pagemap) at the places, in one go: which places
    reach one physical frame, and per place present / exclusive / file / zero page
    (model/frames.py). The acting thread performs nothing else."""
    OP: ClassVar[str] = "frames"
    places: tuple


@dataclass(frozen=True)
class Maps(Op):
    """Read the acting process's mappings (Linux: /proc/self/maps) from ``mapping``'s first
    page to the end of the slot it lies in: each record's pages, protection and sharing
    (model/maps.py). The acting thread performs nothing else."""
    OP: ClassVar[str] = "maps"
    mapping: str


Operation = Union[
    Fork, Spawn, ThreadExit, Exit, Exec, SetUid, SetGid,
    ShmGet, ShmAt, ShmDt, ShmCtl,
    Mmap, Munmap, Mprotect, Madvise, PosixMadvise, Mremap,
    Open, Close, Ftruncate, Pread, Pwrite, ShmUnlink, Seal,
    Seals, Dup, Reopen, Fallocate, Fstat,
    Read, Write, Frames, Maps, Mlock, Munlock, Msync, Vmlck,
    Brk,
]

ALL_OPS: tuple[type, ...] = (
    Fork, Spawn, ThreadExit, Exit, Exec, SetUid, SetGid,
    ShmGet, ShmAt, ShmDt, ShmCtl,
    Mmap, Munmap, Mprotect, Madvise, PosixMadvise, Mremap,
    Open, Close, Ftruncate, Pread, Pwrite, ShmUnlink, Seal,
    Seals, Dup, Reopen, Fallocate, Fstat,
    Read, Write, Frames, Maps, Mlock, Munlock, Msync, Vmlck,
    Brk,
)
OP_BY_NAME: dict[str, type] = {cls.OP: cls for cls in ALL_OPS}

# Calls that POSIX does not have: under the posix profile a case using them is not applicable.
LINUX_ONLY_OPS = frozenset({"madvise", "mremap", "seal", "frames", "maps", "seals", "reopen",
                            "fallocate",
                            # model/locking.py: POSIX's mlock is an option whose errors and
                            # effects the model does not state apart from Linux's
                            "mlock", "munlock", "vmlck",
                            # model/brk.py: POSIX removed brk (SUSv3)
                            "brk"})


@dataclass(frozen=True)
class Step:
    """One step of a program: ``thread`` performs ``op``; ``bind`` names what it creates."""
    thread: str
    op: Operation
    bind: Optional[str] = None


def needs_private_ipc(ops) -> bool:
    """Whether a program observes the IPC namespace's figures (FIGURE_COMMANDS), and so must run
    in a fresh IPC namespace of its own, where every segment is the case's (model/residency.py;
    docs/case-format.md, "IPC figures")."""
    return any(isinstance(op, ShmCtl) and op.cmd in FIGURE_COMMANDS for op in ops)
