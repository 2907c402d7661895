"""A case that observes the IPC namespace's figures runs in a fresh IPC namespace of its own,
and what it observes there.

Why: SHM_INFO's used_ids, shm_tot, shm_rss and shm_swp, the indexes SHM_STAT_ANY answers and
/proc/sysvipc/shm are the whole namespace's; on a shared host other processes change them
between any two calls. In a fresh namespace every segment is the case's, so they are exact
(docs/case-format.md, "IPC figures").

How: the case's first process calls unshare(CLONE_NEWIPC) before its first step (Python 3.11
has no os.unshare: libc's, through ctypes); every process it forks inherits the namespace. It
then gives the namespace the host's shm limits and kernel.shm_rmid_forced (R45), read just
before (a fresh namespace starts with the kernel's defaults), so that the case is judged under
the same settings as the others of the run.

Clean-up: the namespace's segments are destroyed with the namespace, when its last process
has exited (free_ipc_ns, shm_exit_ns: every segment, attached or not); nothing of this package
keeps it alive (no descriptor of /proc/PID/ns/ipc, no bind mount). The executor, which stays
in the host's namespace, must therefore never act on the case's segment ids: in its own
namespace they name other segments, perhaps another user's (segments.CaseSegments.private).

Needs (feature ``ipc_namespace``, probed in a child): unshare(CLONE_NEWIPC) allowed (root, or
CAP_SYS_ADMIN), no swap in use (/proc/swaps lists none: else a page may be counted in shm_swp
rather than shm_rss) and shmem transparent hugepages off (shmem_enabled never or deny: else a
fault may allocate 512 pages at once). The model assumes all three (model/residency.py).

Standard library only.
"""
import ctypes
import os
import struct

from . import syscalls

CLONE_NEWIPC = 0x08000000
SWAPS = "/proc/swaps"
SHMEM_THP = "/sys/kernel/mm/transparent_hugepage/shmem_enabled"
# the host's settings a fresh namespace would otherwise not have (ipc/ipc_sysctl.c: each is
# per namespace)
SYSCTLS = ("shmmax", "shmall", "shmmni", "shm_rmid_forced")
SYSCTL_DIR = "/proc/sys/kernel/"
TABLE = "/proc/sysvipc/shm"


def unsuited():
    """Why this host cannot give a case exact figures ("" if it can), without unsharing."""
    try:
        with open(SWAPS) as swaps:
            if len(swaps.read().splitlines()) > 1:
                return "swap is in use (%s): a page may count in shm_swp" % SWAPS
    except OSError as error:
        return "%s cannot be read (%s)" % (SWAPS, error.strerror)
    try:
        with open(SHMEM_THP) as thp:
            chosen = thp.read().split("[", 1)[1].split("]", 1)[0]
        if chosen not in ("never", "deny"):
            return "shmem transparent hugepages are %r (%s): a fault may allocate a huge page" % (
                chosen, SHMEM_THP)
    except (OSError, IndexError):
        pass                    # no THP in this kernel: pages are small
    return ""


def probe():
    """The feature's probe: "" if a child can enter a fresh IPC namespace and the host suits,
    else why not. The child unshares, never this process."""
    why = unsuited()
    if why:
        return why
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            if syscalls.libc.unshare(CLONE_NEWIPC) != 0:
                code = 100 + min(ctypes.get_errno(), 100)
        except BaseException:
            code = 99
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return ""
    if code >= 100:
        return "unshare(CLONE_NEWIPC): %s" % syscalls.errno_name(code - 100)
    return "unshare(CLONE_NEWIPC) could not be tried (status %d)" % code


def enter_fresh():
    """In a case's first process, before its first step: a new IPC namespace with the host's
    shm settings. OSError if it cannot be made."""
    host = {}
    for name in SYSCTLS:
        try:
            with open(SYSCTL_DIR + name) as f:
                host[name] = f.read().strip()
        except OSError:
            pass
    if syscalls.libc.unshare(CLONE_NEWIPC) != 0:
        number = ctypes.get_errno()
        raise OSError(number, "unshare(CLONE_NEWIPC): %s" % syscalls.errno_name(number))
    for name, value in host.items():
        with open(SYSCTL_DIR + name, "w") as f:
            f.write(value)


def shm_info_counts():
    """SHM_INFO: (result, {"highest": index, "counts": [used_ids, shm_tot, shm_rss, shm_swp]});
    struct shm_info on x86-64 is an int (padded to 8 bytes) and unsigned longs."""
    buf = ctypes.create_string_buffer(256)
    highest = syscalls.libc.shmctl(0, syscalls.SHM_INFO, buf)
    if highest == -1:
        return syscalls.errno_name(ctypes.get_errno()), None
    used_ids, tot, rss, swp = struct.unpack_from("i4xQQQ", buf.raw)
    return "ok", {"highest": highest, "counts": [used_ids, tot, rss, swp]}


def stat_any_count():
    """As LTP's shmctl04 counts: SHM_INFO's highest index, then SHM_STAT_ANY of every index up
    to it; (result, the number that answered)."""
    buf = ctypes.create_string_buffer(256)
    highest = syscalls.libc.shmctl(0, syscalls.SHM_INFO, buf)
    if highest == -1:
        return syscalls.errno_name(ctypes.get_errno()), None
    return "ok", sum(1 for index in range(highest + 1)
                     if syscalls.libc.shmctl(index, syscalls.SHM_STAT_ANY, buf) != -1)


def sysvipc_sums():
    """/proc/sysvipc/shm summed over its rows: (result, [rows, size, rss, swap]) in bytes, the
    columns found by the header's names."""
    try:
        with open(TABLE) as table:
            lines = table.read().splitlines()
    except OSError as error:
        return syscalls.errno_name(error.errno or 0), None
    header = lines[0].lower().split()     # "RSS" before Linux 4.x
    columns = [header.index(name) for name in ("size", "rss", "swap")]
    rows = [line.split() for line in lines[1:] if line.strip()]
    return "ok", [len(rows)] + [sum(int(row[c]) for row in rows) for c in columns]
