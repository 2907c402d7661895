"""Mutants of the descriptor calls: open (file, POSIX shm, memfd), close, ftruncate, pread,
pwrite, seal, shm_unlink. Each wraps the real call (syscalls.os_call, shm_open, shm_unlink,
or the worker's handler of the command)."""
import fcntl
import os

from .patching import constant
from .registry import PAGE, mutant, syscall, worker_call


def _os_call_wrapped(impl, function, wrap):
    """os_call(function, *args) goes through ``wrap(os_call, *args)`` for that function."""
    def make(os_call):
        def patched(called, *args):
            if called is function:
                return wrap(os_call, *args)
            return os_call(called, *args)
        return patched
    syscall(impl, "os_call", make)


def _size(fd):
    try:
        return os.fstat(fd).st_size
    except OSError:
        return None


# --- ftruncate -----------------------------------------------------------------------------

@mutant("ftruncate-shrink-ignored", "R03 R08")
def _shrink_ignored(impl):
    """ftruncate to a smaller size returns success and keeps the old size (only growing is
    done, as with fallocate)."""
    def wrap(os_call, fd, length):
        size = _size(fd)
        if size is not None and length < size:
            return "ok", None
        return os_call(os.ftruncate, fd, length)
    _os_call_wrapped(impl, os.ftruncate, wrap)


@mutant("ftruncate-rounds-up", "R03 R07")
def _rounds_up(impl):
    """ftruncate rounds the size up to whole pages: the bytes up to the page end read as
    part of the object (pread returns 0 there instead of end of file)."""
    _os_call_wrapped(impl, os.ftruncate, lambda os_call, fd, length:
                     os_call(os.ftruncate, fd, length + -length % PAGE))


@mutant("truncate-keeps-data", "R03", variant="truncate-keeps-data")
def _truncate_keeps_data(impl):
    """ftruncate shrinking an object keeps the cut bytes aside (a lazy emulator) and puts
    them back when the object grows again."""
    cut = {}            # (device, inode) -> {offset: byte} of bytes cut off

    def wrap(os_call, fd, length):
        try:
            info = os.fstat(fd)
        except OSError:
            return os_call(os.ftruncate, fd, length)
        key, size = (info.st_dev, info.st_ino), info.st_size
        kept = cut.setdefault(key, {})
        if length < size:
            try:
                data = os.pread(fd, size - length, length)
            except OSError:
                data = b""
            kept.update((length + i, b) for i, b in enumerate(data) if b)
        result = os_call(os.ftruncate, fd, length)
        if result[0] == "ok" and length > size:
            for offset, byte in sorted(kept.items()):
                if size <= offset < length:
                    os.pwrite(fd, bytes([byte]), offset)
        return result
    _os_call_wrapped(impl, os.ftruncate, wrap)


# --- pread, pwrite ------------------------------------------------------------------------

@mutant("pread-past-end-reads-zero", "R07")
def _pread_past_end(impl):
    """pread at or past the end of the object returns a zero byte instead of end of file."""
    def wrap(os_call, fd, count, offset):
        result, data = os_call(os.pread, fd, count, offset)
        return (result, b"\0") if result == "ok" and not data else (result, data)
    _os_call_wrapped(impl, os.pread, wrap)


@mutant("pwrite-ignores-offset", "R07 R12")
def _pwrite_ignores_offset(impl):
    """pwrite is made as write(): the byte goes to the file position (0 at first, then on),
    not to the offset asked."""
    _os_call_wrapped(impl, os.pwrite, lambda os_call, fd, data, offset:
                     os_call(os.write, fd, data))


# --- open, close, memfd_create --------------------------------------------------------------

def _open_with_flags(impl, change):
    def make(handler):
        def patched(command):
            if command.get("kind") in ("file", "shm"):
                command = dict(command, flags=change(command["flags"]))
            return handler(command)
        return patched
    worker_call(impl, "open", make)


@mutant("open-excl-ignored", "R46")
def _open_excl_ignored(impl):
    """open and shm_open ignore O_EXCL: an existing file or object is opened instead of
    EEXIST."""
    _open_with_flags(impl, lambda flags: flags & ~os.O_EXCL)


@mutant("open-rdonly-ignored", "C01")
def _open_rdonly_ignored(impl):
    """open and shm_open of a read-only descriptor open it read-write: pwrite and shared
    writable mappings through it succeed."""
    _open_with_flags(impl, lambda flags: (flags & ~os.O_ACCMODE) | os.O_RDWR)


@mutant("exec-keeps-fds", "R29")
def _exec_keeps_fds(impl):
    """Descriptors are opened without close-on-exec: they survive exec."""
    def make(handler):
        def patched(command):
            result, extra = handler(command)
            if result == "ok":
                os.set_inheritable(command["number"], True)
            return result, extra
        return patched
    worker_call(impl, "open", make)


@mutant("close-ignored", "")   # no catalogue rule is about close
def _close_ignored(impl):
    """close returns success and leaves the descriptor open."""
    _os_call_wrapped(impl, os.close, lambda os_call, fd: ("ok", None))


@mutant("memfd-without-sealing", "R47")
def _memfd_without_sealing(impl):
    """memfd_create drops MFD_ALLOW_SEALING: adding a seal fails with EPERM."""
    allow = constant(impl.syscalls, "MFD_ALLOW_SEALING")
    _os_call_wrapped(impl, os.memfd_create, lambda os_call, name, flags:
                     os_call(os.memfd_create, name, flags & ~allow))


# --- seals, shm_unlink ------------------------------------------------------------------------

@mutant("seal-busy-ignored", "R47")
def _seal_busy_ignored(impl):
    """F_ADD_SEALS(F_SEAL_WRITE) while a writable shared mapping exists returns success
    (adding no seal) instead of EBUSY."""
    def wrap(os_call, fd, cmd, *args):
        result, value = os_call(fcntl.fcntl, fd, cmd, *args)
        if cmd == fcntl.F_ADD_SEALS and result == "EBUSY":
            return "ok", 0
        return result, value
    _os_call_wrapped(impl, fcntl.fcntl, wrap)


@mutant("shm-unlink-destroys", "R46", variant="shm-unlink-destroys")
def _unlink_destroys(impl):
    """shm_unlink truncates the object to nothing before removing its name: the memory of its
    mappings is gone (SIGBUS)."""
    def make(shm_unlink):
        def patched(name):
            result, fd = impl.syscalls.shm_open(name, os.O_RDWR, 0o600)
            if result == "ok":
                os.ftruncate(fd, 0)
                os.close(fd)
            return shm_unlink(name)
        return patched
    syscall(impl, "shm_unlink", make)
