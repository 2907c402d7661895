"""The system calls the implementation makes, through ctypes, with the Linux x86-64 constants.

Every wrapper performs exactly one call and returns what the case format calls its result
(docs/case-format.md, "Results"): "ok", a byte as a decimal string, or an errno name.
Loads and stores are real one-byte accesses at real addresses, so a bad access raises the
real SIGSEGV or SIGBUS and the process dies of it.
"""
import ctypes
import errno
import struct

# <sys/mman.h>
PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
PROTECTIONS = {"rw": PROT_READ | PROT_WRITE, "r": PROT_READ, "none": PROT_NONE,
               "w": PROT_WRITE, "x": PROT_EXEC, "rx": PROT_READ | PROT_EXEC}
MAP_SHARED, MAP_PRIVATE = 0x01, 0x02
MAP_NEITHER = 0x00             # MAP_TYPE bits clear: neither shared nor private (EINVAL)
MAP_FIXED = 0x10
MAP_GROWSDOWN = 0x100          # the vma grows down on a fault just below it (mm/mmap.c)
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED_NOREPLACE = 0x100000
MAP_LOCKED, MAP_POPULATE, MAP_SHARED_VALIDATE = 0x2000, 0x8000, 0x03
# A flag bit no kernel knows. LTP's mmap20 passes 1 << 7, which Linux 6.18 takes as
# MAP_ABOVE4G (in LEGACY_MAP_MASK): this bit is in no mask (observed: EOPNOTSUPP).
MAP_UNKNOWN_FLAG = 0x200000
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
MS_UNKNOWN_FLAG = 8
MSYNC_FLAGS = {"sync": MS_SYNC, "async": MS_ASYNC, "invalidate": MS_INVALIDATE,
               "sync+invalidate": MS_SYNC | MS_INVALIDATE,
               "async+invalidate": MS_ASYNC | MS_INVALIDATE, "none": 0,
               "sync+async": MS_SYNC | MS_ASYNC, "unknown": MS_UNKNOWN_FLAG}
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
MADVICES = {
    "dontneed": 4,      # MADV_DONTNEED
    "free": 8,          # MADV_FREE
    "remove": 9,        # MADV_REMOVE
    "dontfork": 10,     # MADV_DONTFORK
    "dofork": 11,       # MADV_DOFORK
    "wipeonfork": 18,   # MADV_WIPEONFORK
    "keeponfork": 19,   # MADV_KEEPONFORK
    "normal": 0,        # MADV_NORMAL
    "random": 1,        # MADV_RANDOM
    "sequential": 2,    # MADV_SEQUENTIAL
    "willneed": 3,      # MADV_WILLNEED
    "mergeable": 12,    # MADV_MERGEABLE
    "unmergeable": 13,  # MADV_UNMERGEABLE
    "hugepage": 14,     # MADV_HUGEPAGE
    "nohugepage": 15,   # MADV_NOHUGEPAGE
    "dontdump": 16,     # MADV_DONTDUMP
    "dodump": 17,       # MADV_DODUMP
    "cold": 20,         # MADV_COLD
    "pageout": 21,      # MADV_PAGEOUT
    "guard_install": 102,  # MADV_GUARD_INSTALL
    "guard_remove": 103,   # MADV_GUARD_REMOVE
    "invalid": 1212,    # no such advice (LTP madvise02's value): EINVAL
    # MADV_HWPOISON (100) is deliberately absent: it takes a physical page out of the host.
}
# POSIX_MADV_*: glibc ignores DONTNEED on Linux (R38) and passes the others to madvise (R48)
POSIX_MADVICES = {"dontneed": 4, "normal": 0, "random": 1, "sequential": 2, "willneed": 3}

# <sys/ipc.h>, <sys/shm.h>
IPC_PRIVATE = 0
IPC_CREAT, IPC_EXCL = 0o1000, 0o2000
IPC_RMID, IPC_STAT = 0, 2
IPC_INFO = 3
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
SHM_LOCKED = 0o2000          # in shm_perm.mode, beside SHM_DEST
SHMCTL_INVALID = -1          # no command: ksys_shmctl refuses cmd < 0 with EINVAL
SHM_RDONLY, SHM_RND, SHM_REMAP = 0o10000, 0o20000, 0o40000
SHM_DEST = 0o1000
SHM_MODE = 0o600
IPC_SET = 1
# The users of the case language (C07): root, and "other", an unprivileged uid and gid
# (nobody and nogroup on Debian and most distributions).
USER_IDS = {"root": 0, "other": 65534}

# <linux/memfd.h>, <linux/prctl.h>
MFD_CLOEXEC, MFD_ALLOW_SEALING = 0x1, 0x2
MFD_UNKNOWN_FLAGS = 0xFFFFFFFF          # every bit: flags no kernel knows (LTP memfd_create02)
MFD_NAME_TOO_LONG = "x" * 250           # MFD_NAME_MAX_LEN is 249 bytes
MFD_HUGETLB, SHM_HUGETLB = 0x4, 0o4000
HUGE_SHIFT = 26                         # MFD_HUGE_SHIFT = SHM_HUGE_SHIFT: log2 of the size there
HUGE_LOG2 = {"16kb": 14, "64kb": 16, "512kb": 19, "1mb": 20, "2mb": 21, "8mb": 23, "16mb": 24,
             "32mb": 25, "256mb": 28, "512mb": 29, "1gb": 30, "2gb": 31, "16gb": 34}


def huge_flags(hugetlb_flag, hugetlb, huge):
    """MFD_HUGETLB or SHM_HUGETLB (``hugetlb_flag``) and the size bits of ``huge``."""
    return (hugetlb_flag if hugetlb else 0) | (
        0 if huge == "default" else HUGE_LOG2[huge] << HUGE_SHIFT)
# <linux/fcntl.h>: F_ADD_SEALS, F_GET_SEALS and the seals, in bit order (protocol.SEAL_NAMES)
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
SEAL_BITS = {"seal": 0x1, "shrink": 0x2, "grow": 0x4, "write": 0x8, "future_write": 0x10}
F_SEAL_EXEC = 0x20                      # set by memfd_noexec; not in the case language
# <linux/falloc.h>
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 0x1, 0x2
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36

libc = ctypes.CDLL(None, use_errno=True)
_vp, _sz, _int, _long = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_long

libc.mmap.argtypes = [_vp, _sz, _int, _int, _int, _long]
libc.mmap.restype = _vp
libc.munmap.argtypes = [_vp, _sz]
libc.mprotect.argtypes = [_vp, _sz, _int]
libc.madvise.argtypes = [_vp, _sz, _int]
libc.posix_madvise.argtypes = [_vp, _sz, _int]
libc.mlock.argtypes = [_vp, _sz]
libc.munlock.argtypes = [_vp, _sz]
libc.msync.argtypes = [_vp, _sz, _int]
libc.mremap.argtypes = [_vp, _sz, _sz, _int, _vp]   # the fifth argument is the variadic new_address
libc.mremap.restype = _vp
libc.shmget.argtypes = [_int, _sz, _int]
libc.shmat.argtypes = [_int, _vp, _int]
libc.shmat.restype = _vp
libc.shmdt.argtypes = [_vp]
libc.shmctl.argtypes = [_int, _int, _vp]
libc.shm_open.argtypes = [ctypes.c_char_p, _int, _int]
libc.shm_unlink.argtypes = [ctypes.c_char_p]
libc.prctl.argtypes = [_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.syscall.restype = _long
libc.fallocate.argtypes = [_int, _int, _long, _long]
libc.memfd_create.argtypes = [ctypes.c_char_p, ctypes.c_uint]

MAP_FAILED = 2 ** 64 - 1   # (void *) -1 as ctypes returns it
libc.brk.argtypes = [_vp]
libc.brk.restype = _int
SYS_BRK = 12               # x86-64


def break_now():
    """The program break as the kernel has it (brk(0) never moves it)."""
    return libc.syscall(_long(SYS_BRK), _long(0))


def set_break(addr):
    """glibc's brk(addr), which keeps its own record of the break (__curbrk) right, so that
    malloc's later sbrk calls start from the break the case left."""
    ctypes.set_errno(0)
    return "ok" if libc.brk(addr) == 0 else _failed()


def errno_name(number):
    # ENOTSUP and EOPNOTSUPP are one number on Linux; the case language names it as mmap(2)
    # and LTP do (MAP_SHARED_VALIDATE)
    if number == errno.EOPNOTSUPP:
        return "EOPNOTSUPP"
    return errno.errorcode.get(number, "E%d" % number)


def _failed():
    return errno_name(ctypes.get_errno())


def _address(value):
    """A c_void_p result as an int (ctypes gives None for NULL)."""
    return 0 if value is None else value


# --- memory accesses -----------------------------------------------------------------

ACCESS = {"base": 0, "view": None}


def access_window(base, size):
    """Make loads and stores in [base, base+size) go through one ctypes array over it, made
    now (before any fork), so that an access allocates nothing: every page a fresh child
    touches is a copy-on-write fault."""
    ACCESS["base"], ACCESS["view"] = base, (ctypes.c_ubyte * size).from_address(base)


def load(addr):
    """A one-byte load; an unmapped or unreadable address kills the process (SIGSEGV/SIGBUS)."""
    view, offset = ACCESS["view"], addr - ACCESS["base"]
    if view is not None and 0 <= offset < len(view):
        return str(view[offset])
    return str(ctypes.c_ubyte.from_address(addr).value)


def store(addr, value):
    """A one-byte store; a bad address kills the process (SIGSEGV/SIGBUS)."""
    view, offset = ACCESS["view"], addr - ACCESS["base"]
    if view is not None and 0 <= offset < len(view):
        view[offset] = value
    else:
        ctypes.c_ubyte.from_address(addr).value = value
    return "ok"


# --- mappings ------------------------------------------------------------------------

def mmap(addr, length, prot, flags, fd, offset):
    """mmap(); returns (result, address)."""
    ctypes.set_errno(0)
    got = _address(libc.mmap(addr, length, prot, flags, fd, offset))
    if got == MAP_FAILED:
        return _failed(), None
    return "ok", got


def munmap(addr, length):
    return "ok" if libc.munmap(addr, length) == 0 else _failed()


def mprotect(addr, length, prot):
    return "ok" if libc.mprotect(addr, length, prot) == 0 else _failed()


def madvise(addr, length, advice):
    return "ok" if libc.madvise(addr, length, advice) == 0 else _failed()


def mlock(addr, length):
    return "ok" if libc.mlock(addr, length) == 0 else _failed()


def munlock(addr, length):
    return "ok" if libc.munlock(addr, length) == 0 else _failed()


def msync(addr, length, flags):
    return "ok" if libc.msync(addr, length, flags) == 0 else _failed()


def locked_pages():
    """VmLck of /proc/self/status (kB) in pages."""
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith("VmLck:"):
                return int(line.split()[1]) * 1024 // 4096
    raise ValueError("/proc/self/status has no VmLck line")


def posix_madvise(addr, length, advice):
    """posix_madvise returns the error number instead of setting errno."""
    number = libc.posix_madvise(addr, length, advice)
    return "ok" if number == 0 else errno_name(number)


def mremap(addr, old_length, new_length, flags, new_addr):
    got = _address(libc.mremap(addr, old_length, new_length, flags, new_addr))
    if got == MAP_FAILED:
        return _failed(), None
    return "ok", got


# --- System V shared memory ----------------------------------------------------------

def shmget(key, size, flags):
    """shmget(); returns (result, id)."""
    ident = libc.shmget(key, size, flags)
    if ident == -1:
        return _failed(), None
    return "ok", ident


def shmat(ident, addr, flags):
    got = _address(libc.shmat(ident, addr, flags))
    if got == MAP_FAILED:
        return _failed(), None
    return "ok", got


def shmdt(addr):
    return "ok" if libc.shmdt(addr) == 0 else _failed()


def shmctl_rmid(ident):
    return "ok" if libc.shmctl(ident, IPC_RMID, None) == 0 else _failed()


def shmctl_stat(ident):
    """IPC_STAT; returns (result, fields) (_shmid_ds_fields)."""
    buf = ctypes.create_string_buffer(256)
    if libc.shmctl(ident, IPC_STAT, buf) == -1:
        return _failed(), None
    return "ok", _shmid_ds_fields(buf.raw)


def _shmid_ds_fields(raw):
    """struct shmid_ds on x86-64: shm_perm.__key at 0, shm_perm.mode at 20, shm_segsz at 48,
    shm_atime at 56, shm_dtime at 64, shm_ctime at 72 (seconds), shm_cpid at 80, shm_lpid at
    84, shm_nattch at 88 (checked against /proc/sysvipc/shm)."""
    return {
        "atime": struct.unpack_from("<q", raw, 56)[0],
        "dtime": struct.unpack_from("<q", raw, 64)[0],
        "ctime": struct.unpack_from("<q", raw, 72)[0],
        "key": struct.unpack_from("<i", raw, 0)[0],
        "mode": struct.unpack_from("<H", raw, 20)[0],
        "segsz": struct.unpack_from("<Q", raw, 48)[0],
        "cpid": struct.unpack_from("<i", raw, 80)[0],
        "lpid": struct.unpack_from("<i", raw, 84)[0],
        "nattch": struct.unpack_from("<Q", raw, 88)[0],
    }


def shmctl_lock(ident, lock):
    """SHM_LOCK (lock true) or SHM_UNLOCK."""
    return "ok" if libc.shmctl(ident, SHM_LOCK if lock else SHM_UNLOCK, None) == 0 else _failed()


def shmctl_invalid(ident):
    return "ok" if libc.shmctl(ident, SHMCTL_INVALID, None) == 0 else _failed()


def shmctl_shm_stat(index, any_=False):
    """SHM_STAT (or SHM_STAT_ANY) of an index; returns (result, fields), the identifier the call
    returned in fields["id"]."""
    buf = ctypes.create_string_buffer(256)
    ident = libc.shmctl(index, SHM_STAT_ANY if any_ else SHM_STAT, buf)
    if ident == -1:
        return _failed(), None
    fields = _shmid_ds_fields(buf.raw)
    fields["id"] = ident
    return "ok", fields


def shmctl_info(shm_info=False):
    """IPC_INFO (struct shminfo) or SHM_INFO (struct shm_info): (result, the highest index in
    use, which both return). The structures' figures are the whole namespace's, not read."""
    buf = ctypes.create_string_buffer(256)
    highest = libc.shmctl(0, SHM_INFO if shm_info else IPC_INFO, buf)
    if highest == -1:
        return _failed(), None
    return "ok", highest


def shm_index(ident):
    """The index of segment ``ident`` in the namespace's table, found as LTP's shmctl04 does:
    SHM_STAT_ANY of every index up to SHM_INFO's highest, until one returns ``ident``; None if
    none does (the segment is gone, or ``ident`` is no segment's)."""
    if ident < 0:
        return None
    buf = ctypes.create_string_buffer(256)
    highest = libc.shmctl(0, SHM_INFO, buf)
    for index in range(max(highest, -1) + 1):
        if libc.shmctl(index, SHM_STAT_ANY, buf) == ident:
            return index
    return None


def shm_owner(ident):
    """(uid, gid, permission bits) of segment ``ident`` in the caller's IPC namespace
    (shm_perm.uid at 4, gid at 8, mode at 20), or None if there is no such segment. Read with
    SHM_STAT_ANY (Linux 4.17), which checks no permission: an owner may IPC_SET a segment it
    may not read (mode 0, or a case process that became another user); IPC_STAT where the
    kernel has no SHM_STAT_ANY."""
    if ident < 0:
        return None
    buf = ctypes.create_string_buffer(256)
    index = shm_index(ident)
    if index is None or libc.shmctl(index, SHM_STAT_ANY, buf) != ident:
        if libc.shmctl(ident, IPC_STAT, buf) == -1:
            return None
    uid, gid = struct.unpack_from("<II", buf.raw, 4)
    return uid, gid, struct.unpack_from("<H", buf.raw, 20)[0] & 0o777


def shmctl_set(ident, uid, gid, mode):
    """IPC_SET: the kernel reads shm_perm.uid, .gid and .mode only (ipc_update_perm)."""
    buf = ctypes.create_string_buffer(256)
    struct.pack_into("<II", buf, 4, uid, gid)
    struct.pack_into("<I", buf, 20, mode)
    return "ok" if libc.shmctl(ident, IPC_SET, buf) == 0 else _failed()


def shm_creator(ident):
    """The pid that created segment `ident` (shm_cpid, at 80), or None if it cannot be read."""
    buf = ctypes.create_string_buffer(256)
    if libc.shmctl(ident, IPC_STAT, buf) == -1:
        return None
    return struct.unpack_from("<i", buf.raw, 80)[0]


def key_exists(key):
    """Whether some segment holds this key now: shmget(key, 0, 0) finds it."""
    return libc.shmget(key, 0, 0) != -1 or ctypes.get_errno() != errno.ENOENT


def key_taken(key):
    """Whether some segment holds this key now: shmget(key, 0, 0) finds it (or EACCES: it is
    someone else's); OSError if the answer says neither (ENOSPC from a fault injected, say),
    rather than taking every key for taken and drawing forever."""
    if libc.shmget(key, 0, 0) != -1:
        return True
    number = ctypes.get_errno()
    if number in (errno.ENOENT, errno.EACCES):
        return number == errno.EACCES
    raise OSError(number, "shmget(%#x, 0, 0), which checks that a key is free, failed: %s"
                  % (key, errno_name(number)))


# --- descriptors and objects ---------------------------------------------------------

def shm_open(name, flags, mode):
    """shm_open(); returns (result, fd). glibc opens it close-on-exec."""
    fd = libc.shm_open(name.encode(), flags, mode)
    if fd == -1:
        return _failed(), None
    return "ok", fd


def fallocate(fd, mode, offset, length):
    """fallocate(2) itself: os.posix_fallocate cannot punch a hole."""
    if libc.fallocate(fd, mode, offset, length) != 0:
        return _failed()
    return "ok"


def memfd_create_null_name(flags):
    """memfd_create(NULL, flags): os.memfd_create cannot pass a NULL name."""
    fd = libc.memfd_create(None, flags)
    if fd < 0:
        return _failed(), None
    return "ok", fd


def shm_unlink(name):
    return "ok" if libc.shm_unlink(name.encode()) == 0 else _failed()


def set_child_subreaper():
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def set_death_signal(number):
    """The kernel sends this signal when the thread that forked this process ends."""
    if libc.prctl(PR_SET_PDEATHSIG, number, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def reserve(addr, length):
    """Hold [addr, addr+length) in this process only: PROT_NONE, no memory behind it, and
    MADV_DONTFORK so no child inherits it. True if it was free and is now held."""
    flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE
    result, got = mmap(addr, length, PROT_NONE, flags, -1, 0)
    if result != "ok":
        return False
    if got != addr or libc.madvise(addr, length, MADVICES["dontfork"]) != 0:
        libc.munmap(got, length)
        return False
    return True


def os_call(function, *args):
    """Run an os-module call; returns (result, value) with the errno name on failure."""
    try:
        return "ok", function(*args)
    except OSError as error:
        return errno_name(error.errno), None
