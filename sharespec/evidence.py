"""Environment or deviation: a refusal the profile does not allow is settled by evidence.

An implementation may be refused a call by its environment: a lowered limit (kernel.shmmax,
SHMMNI, RLIMIT_AS, a full or read-only /dev/shm) makes a legal ``shmget`` or ``mmap`` fail,
and that says nothing about how the implementation shares memory. But the errno's name alone
proves nothing: an implementation that answers a one-page ``mmap`` with ENOMEM every time
must FAIL, or no refusal could ever be caught. So a disallowed refusal is weighed:

1. a limit of this machine that explains it (read now, from /proc and the rlimits) makes the
   case INCONCLUSIVE, naming the limit;
2. otherwise the case is run again, alone, by a fresh implementation process: a refusal that
   does not repeat was a passing shortage, INCONCLUSIVE;
3. a refusal that repeats, with headroom on every limit that could explain it, is a FAIL, and
   the report says so ("ENOMEM for mmap of 4096 bytes, repeatable, with ... free").

The limits are this machine's: right for the bundled implementation and for anything that runs
on this kernel (qemu-user, a sandbox); an implementation that runs elsewhere (a whole-system
emulator) has its own, and a refusal there that repeats is reported as the FAIL it looks like.
"""
from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from typing import Callable, Optional

from sharespec.leftovers import sysv_segments
from sharespec.model import ops
from sharespec.model.results import Errno, Fault

PAGE = 4096
DEV_SHM = "/dev/shm"

# A disallowed result that a limit could cause; anything else (a wrong value, a wrong errno
# such as EINVAL from mprotect) is judged as it is.
REFUSALS = frozenset({"ENOSPC", "ENOMEM", "EPERM", "EACCES", "EAGAIN", "EMFILE", "ENFILE",
                      "EDQUOT", "ENOSYS", "EROFS", "EFBIG"})


@dataclass(frozen=True)
class Limits:
    """The limits of this machine that can refuse a memory-sharing call, as read now."""
    shmmax: Optional[int] = None
    shmall_pages: Optional[int] = None
    shmmni: Optional[int] = None
    segments: Optional[int] = None           # SysV segments that exist now
    segment_pages: Optional[int] = None      # pages they hold
    max_map_count: Optional[int] = None
    mem_available: Optional[int] = None      # bytes
    dev_shm_free: Optional[int] = None       # bytes
    dev_shm_readonly: bool = False
    rlimits: dict = field(default_factory=dict)   # name -> soft limit (None: unlimited)

    @classmethod
    def read(cls, pid: Optional[int] = None) -> "Limits":
        """The limits now; the rlimits of process ``pid`` (the implementation, whose limits
        may be lowered by a wrapper such as prlimit) where it can be read, else our own."""
        segments = segment_pages = None
        table = sysv_segments()
        if table is not None:
            segments = len(table)
            segment_pages = sum(-(-size // PAGE) for _, size in table.values())
        free = readonly = None
        try:
            st = os.statvfs(DEV_SHM)
            free, readonly = st.f_bavail * st.f_frsize, bool(st.f_flag & os.ST_RDONLY)
        except OSError:
            pass
        rlimits = _process_rlimits(pid) if pid is not None else None
        if rlimits is None:
            rlimits = {}
            for name in RLIMITS:
                soft = resource.getrlimit(getattr(resource, name))[0]
                rlimits[name] = None if soft == resource.RLIM_INFINITY else soft
        return cls(shmmax=_proc_int("/proc/sys/kernel/shmmax"),
                   shmall_pages=_proc_int("/proc/sys/kernel/shmall"),
                   shmmni=_proc_int("/proc/sys/kernel/shmmni"), segments=segments,
                   segment_pages=segment_pages,
                   max_map_count=_proc_int("/proc/sys/vm/max_map_count"),
                   mem_available=_meminfo("MemAvailable"), dev_shm_free=free,
                   dev_shm_readonly=bool(readonly), rlimits=rlimits)


RLIMITS = {"RLIMIT_AS": "Max address space", "RLIMIT_DATA": "Max data size",
           "RLIMIT_NPROC": "Max processes", "RLIMIT_NOFILE": "Max open files",
           "RLIMIT_MEMLOCK": "Max locked memory", "RLIMIT_FSIZE": "Max file size"}


def _process_rlimits(pid: int) -> Optional[dict]:
    """The soft rlimits of ``pid`` from /proc/PID/limits (None if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            text = f.read()
    except OSError:
        return None
    found = {}
    for name, label in RLIMITS.items():
        for line in text.splitlines():
            if line.startswith(label):
                soft = line[len(label):].split()[0]
                found[name] = None if soft == "unlimited" else int(soft)
    return found if len(found) == len(RLIMITS) else None


def _tasks_of_user(uid: int) -> Optional[int]:
    """Threads of every process of ``uid`` (RLIMIT_NPROC counts threads)."""
    total = 0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return total


def _proc_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _meminfo(key: str) -> Optional[int]:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def host_shm_rmid_forced() -> bool:
    """kernel.shm_rmid_forced of this machine's IPC namespace (R45): 1 changes the rules."""
    return _proc_int("/proc/sys/kernel/shm_rmid_forced") == 1


def is_refusal(op: ops.Op, observed) -> bool:
    """Could a limit have caused this disallowed result? Then it is weighed, not judged."""
    if isinstance(observed, Errno):
        if observed.name in REFUSALS:
            return True
        # shmget beyond kernel.shmmax, or below shmmin, is EINVAL (R22), a limit on Linux
        return observed.name == "EINVAL" and isinstance(op, ops.ShmGet)
    # a store to a page of a tmpfs object that tmpfs cannot allocate is SIGBUS
    return isinstance(observed, Fault) and observed.signal == "SIGBUS" and isinstance(
        op, (ops.Write, ops.Read))


def limit_explaining(op: ops.Op, observed, limits: Limits, earlier=()) -> Optional[str]:
    """The limit of this machine that explains the refusal ``observed`` of ``op``, in words,
    or None when every limit that could explain it has headroom. ``earlier``: the operations
    of the case before it."""
    name = observed.name if isinstance(observed, Errno) else str(observed)
    rl = limits.rlimits
    if isinstance(op, ops.ShmGet):
        if name == "EINVAL" and limits.shmmax is not None and op.size > limits.shmmax:
            return f"kernel.shmmax is {limits.shmmax}, below the {op.size} bytes asked"
        # the case's own segments made before this step count too (they may be gone now)
        own = [e for e in earlier if isinstance(e, ops.ShmGet)]
        if name == "ENOSPC" and limits.shmmni is not None and limits.segments is not None \
                and limits.segments + len(own) + 1 > limits.shmmni:
            return (f"kernel.shmmni is {limits.shmmni}, and {limits.segments} segments exist "
                    f"besides the {len(own)} the case made before")
        own_pages = sum(-(-e.size // PAGE) for e in own)
        if name == "ENOSPC" and None not in (limits.shmall_pages, limits.segment_pages) \
                and limits.segment_pages + own_pages + -(-op.size // PAGE) > limits.shmall_pages:
            return (f"kernel.shmall is {limits.shmall_pages} pages, and segments hold "
                    f"{limits.segment_pages} besides the case's own {own_pages + -(-op.size // PAGE)}")
    if name in ("ENOMEM", "EAGAIN") and isinstance(op, (ops.ShmGet, ops.ShmAt, ops.Mmap,
                                                        ops.Mremap, ops.Fork, ops.Spawn)):
        asked = _bytes_asked(op)
        if limits.mem_available is not None and limits.mem_available < max(asked, 64 << 20):
            return f"only {limits.mem_available} bytes of memory are available"
        for limit in ("RLIMIT_AS", "RLIMIT_DATA"):
            if rl.get(limit) is not None and isinstance(op, (ops.Mmap, ops.Mremap, ops.ShmAt,
                                                             ops.Fork, ops.Spawn)):
                return f"{limit} is {rl[limit]} bytes"
        if isinstance(op, (ops.Fork, ops.Spawn)) and rl.get("RLIMIT_NPROC") is not None:
            tasks = _tasks_of_user(os.getuid())
            if tasks is None or tasks + 64 >= rl["RLIMIT_NPROC"]:
                return f"RLIMIT_NPROC is {rl['RLIMIT_NPROC']} and {tasks} tasks of this user exist"
        if limits.max_map_count is not None and limits.max_map_count < 1024:
            return f"vm.max_map_count is {limits.max_map_count}"
    if name in ("EMFILE",) and rl.get("RLIMIT_NOFILE") is not None and rl["RLIMIT_NOFILE"] < 256:
        return f"RLIMIT_NOFILE is {rl['RLIMIT_NOFILE']}"
    if _on_dev_shm(op):
        if name == "EROFS" and limits.dev_shm_readonly:
            return f"{DEV_SHM} is mounted read-only"
        if name in ("ENOSPC", "SIGBUS", "EFBIG") and limits.dev_shm_free is not None \
                and limits.dev_shm_free < (1 << 20):
            return f"{DEV_SHM} has {limits.dev_shm_free} bytes free"
        if name in ("EFBIG", "SIGBUS") and rl.get("RLIMIT_FSIZE") is not None:
            return f"RLIMIT_FSIZE is {rl['RLIMIT_FSIZE']}"
    return None


def headroom(op: ops.Op, limits: Limits) -> str:
    """The figures that show there was room for ``op`` (for the FAIL's report)."""
    parts = []
    if isinstance(op, ops.ShmGet):
        parts.append(f"kernel.shmmax {limits.shmmax}, {limits.segments} of {limits.shmmni} "
                     f"segments in use")
    if limits.mem_available is not None:
        parts.append(f"{limits.mem_available >> 20} MiB available")
    if _on_dev_shm(op) and limits.dev_shm_free is not None:
        parts.append(f"{limits.dev_shm_free >> 20} MiB free on {DEV_SHM}")
    limited = [f"{k}={v}" for k, v in limits.rlimits.items() if v is not None
               and k not in ("RLIMIT_NOFILE",)]
    parts.append("rlimits " + (", ".join(limited) if limited else "unlimited"))
    return "; ".join(parts)


def _bytes_asked(op: ops.Op) -> int:
    for attribute in ("size", "length", "new_length"):
        value = getattr(op, attribute, None)
        if isinstance(value, int):
            return value
    return PAGE


def _on_dev_shm(op: ops.Op) -> bool:
    """Steps whose refusal can come from the tmpfs under /dev/shm (shm and file objects live
    there; memfds in the kernel's internal tmpfs, which has no size of its own)."""
    if isinstance(op, ops.Open):
        return op.kind in ("file", "shm")
    return isinstance(op, (ops.Ftruncate, ops.Pwrite, ops.Write, ops.Read, ops.Mmap,
                           ops.ShmUnlink, ops.Fallocate))


def describe_step(op: ops.Op) -> str:
    asked = _bytes_asked(op)
    sized = isinstance(op, (ops.ShmGet, ops.Mmap, ops.Mremap, ops.Ftruncate, ops.Fallocate))
    return f"{op.OP} of {asked} bytes" if sized else op.OP


@dataclass(frozen=True)
class Weighing:
    """What the evidence says about one disallowed refusal."""
    environment: bool     # True: INCONCLUSIVE; False: the FAIL stands
    sentence: str


def weigh(op: ops.Op, observed, step_index: int, rerun: Callable[[], "tuple[Optional[int], object]"],
          read_limits: Callable[[], Limits] = Limits.read, earlier=()) -> Weighing:
    """Weigh the refusal ``observed`` of ``op`` at step ``step_index`` (counted from 0).
    ``rerun()`` runs the case again, alone, in a fresh implementation process, and returns
    (the step it failed at or None, what was observed there)."""
    what = f"{observed} for {describe_step(op)}"
    reason = limit_explaining(op, observed, read_limits(), earlier)
    if reason:
        return Weighing(True, f"step {step_index + 1}: {what}: the environment: {reason}")
    again_step, again_observed = rerun()
    if again_step != step_index or str(again_observed) != str(observed):
        seen = "passed" if again_step is None else f"gave {again_observed} at step {again_step + 1}"
        return Weighing(True, f"step {step_index + 1}: {what}, which did not repeat on a re-run "
                              f"alone (the re-run {seen}): a passing shortage")
    limits = read_limits()      # read again: the shortage may have been someone else's
    reason = limit_explaining(op, observed, limits, earlier)
    if reason:
        return Weighing(True, f"step {step_index + 1}: {what}: the environment: {reason}")
    return Weighing(False, f"{what}, repeatable on a re-run alone, with headroom "
                           f"({headroom(op, limits)})")
