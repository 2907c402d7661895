"""Mutants of the seals, memfd_create's arguments, dup, reopen, fallocate and fstat (issue 16,
item 3): a seal dropped or made as another, an argument memfd_create does not check, an open
file with the wrong access mode, a hole one page short or rounded to whole pages, a size read
from the wrong field. Each wraps the real call (fcntl and memfd_create through
syscalls.os_call, or the worker's handler of the command)."""
import fcntl
import os

from .bugs_files import _os_call_wrapped
from .patching import constant
from .registry import PAGE, mutant, worker_call


def _added_seals_rewritten(impl, rewrite):
    """fcntl(F_ADD_SEALS, seals) adds ``rewrite(seals, bits)`` instead (bits: name -> bit)."""
    add, bits = constant(impl.syscalls, "F_ADD_SEALS"), constant(impl.syscalls, "SEAL_BITS")

    def wrap(os_call, fd, cmd, *args):
        if cmd == add:
            args = (rewrite(args[0], bits),) + args[1:]
        return os_call(fcntl.fcntl, fd, cmd, *args)
    _os_call_wrapped(impl, fcntl.fcntl, wrap)


def _handler_wrapped(impl, op, change_command=None, change_answer=None):
    """The worker's handler of ``op`` gets ``change_command(command)`` and its answer
    (result, extra) goes through ``change_answer(command, answer)``."""
    def make(handler):
        def patched(command):
            if change_command is not None:
                command = change_command(command)
            answer = handler(command)
            return answer if change_answer is None else change_answer(command, answer)
        return patched
    worker_call(impl, op, make)


# --- seals ---------------------------------------------------------------------------------

@mutant("seal-shrink-ignored", "R47", "r47-memfd-seal-shrink-grow")
def _seal_shrink_ignored(impl):
    """F_ADD_SEALS drops F_SEAL_SHRINK and adds the rest: the memfd can still shrink."""
    _added_seals_rewritten(impl, lambda seals, bits: seals & ~bits["shrink"])


@mutant("seal-grow-ignored", "R47", "r47-memfd-seal-shrink-grow")
def _seal_grow_ignored(impl):
    """F_ADD_SEALS drops F_SEAL_GROW and adds the rest: ftruncate, fallocate and writes past
    the end still grow the memfd."""
    _added_seals_rewritten(impl, lambda seals, bits: seals & ~bits["grow"])


@mutant("seal-seal-ignored", "R47", "r47-memfd-seals-add-and-get")
def _seal_seal_ignored(impl):
    """F_ADD_SEALS drops F_SEAL_SEAL: seals can still be added after it."""
    _added_seals_rewritten(impl, lambda seals, bits: seals & ~bits["seal"])


@mutant("future-write-as-write", "R47", "r47-memfd-seal-future-write")
def _future_write_as_write(impl):
    """F_SEAL_FUTURE_WRITE is added as F_SEAL_WRITE: it fails with EBUSY while a shared
    writable mapping exists, and that mapping could not have kept writing."""
    def rewrite(seals, bits):
        if seals & bits["future_write"]:
            seals = (seals & ~bits["future_write"]) | bits["write"]
        return seals
    _added_seals_rewritten(impl, rewrite)


@mutant("seals-hide-seal-bit", "R47", "r47-memfd-without-sealing")
def _seals_hide_seal_bit(impl):
    """F_GET_SEALS leaves F_SEAL_SEAL out of what it reports (an emulator that keeps only the
    seals it was asked to add)."""
    get, bits = constant(impl.syscalls, "F_GET_SEALS"), constant(impl.syscalls, "SEAL_BITS")

    def wrap(os_call, fd, cmd, *args):
        result, seals = os_call(fcntl.fcntl, fd, cmd, *args)
        if cmd == get and result == "ok":
            seals &= ~bits["seal"]
        return result, seals
    _os_call_wrapped(impl, fcntl.fcntl, wrap)


# --- memfd_create's arguments ----------------------------------------------------------------

@mutant("memfd-always-sealable", "R47", "r47-memfd-without-sealing")
def _memfd_always_sealable(impl):
    """memfd_create adds MFD_ALLOW_SEALING whatever it is asked: a memfd made without it can
    be sealed."""
    allow = constant(impl.syscalls, "MFD_ALLOW_SEALING")
    _os_call_wrapped(impl, os.memfd_create, lambda os_call, name, flags:
                     os_call(os.memfd_create, name, flags | allow))


@mutant("memfd-name-truncated", "C01", "c01-memfd-create-arguments")
def _memfd_name_truncated(impl):
    """memfd_create cuts a name longer than 249 bytes instead of refusing it (EINVAL)."""
    _os_call_wrapped(impl, os.memfd_create, lambda os_call, name, flags:
                     os_call(os.memfd_create, name[:249], flags))


@mutant("memfd-flags-masked", "C01", "c01-memfd-create-arguments")
def _memfd_flags_masked(impl):
    """memfd_create ignores the flags it does not know instead of refusing them (EINVAL)."""
    known = constant(impl.syscalls, "MFD_CLOEXEC") | constant(impl.syscalls, "MFD_ALLOW_SEALING")
    _os_call_wrapped(impl, os.memfd_create, lambda os_call, name, flags:
                     os_call(os.memfd_create, name, flags & known))


# --- descriptors: open write-only, dup, reopen -------------------------------------------------

@mutant("open-wronly-as-rdwr", "C01", "c01-open-write-only")
def _open_wronly_as_rdwr(impl):
    """open(O_WRONLY) opens the file read-write: it can be mapped and read."""
    def change(command):
        if command.get("kind") == "file" and command["flags"] & os.O_ACCMODE == os.O_WRONLY:
            command = dict(command, flags=(command["flags"] & ~os.O_ACCMODE) | os.O_RDWR)
        return command
    _handler_wrapped(impl, "open", change_command=change)


@mutant("dup-read-only", "", "r47-memfd-seals-shared-by-descriptors")
def _dup_read_only(impl):
    """dup makes a read-only descriptor (an emulator that reopens the file through /proc with
    O_RDONLY): writes and seals through it fail."""
    def change(command):
        return dict(command, flags=os.O_RDONLY)
    reopen = impl.worker.CALLS["reopen"]
    worker_call(impl, "dup", lambda dup: lambda command: reopen(change(command)))


@mutant("reopen-mode-ignored", "", "r47-memfd-seals-shared-by-descriptors")
def _reopen_mode_ignored(impl):
    """A reopen through /proc/self/fd is read-write whatever mode it asks: a read-only reopen
    can write and add seals."""
    _handler_wrapped(impl, "reopen", change_command=lambda command: dict(
        command, flags=(command["flags"] & ~os.O_ACCMODE) | os.O_RDWR))


@mutant("reopen-trunc-ignored", "R47", "r47-memfd-seal-shrink-grow")
def _reopen_trunc_ignored(impl):
    """A reopen with O_TRUNC does not truncate (and so is not refused under F_SEAL_SHRINK)."""
    _handler_wrapped(impl, "reopen", change_command=lambda command: dict(
        command, flags=command["flags"] & ~os.O_TRUNC))


# --- fallocate, fstat ----------------------------------------------------------------------------

def _punch(impl):
    return (constant(impl.syscalls, "FALLOC_FL_PUNCH_HOLE")
            | constant(impl.syscalls, "FALLOC_FL_KEEP_SIZE"))


@mutant("fallocate-punch-short", "R39", "r39-fallocate-punch-hole")
def _fallocate_punch_short(impl):
    """A hole is punched one page short: the last page of the range keeps its bytes."""
    punch = _punch(impl)

    def change(command):
        if command["mode"] == punch and command["length"] > PAGE:
            command = dict(command, length=command["length"] - PAGE)
        return command
    _handler_wrapped(impl, "fallocate", change_command=change)


@mutant("fallocate-punch-whole-pages", "R39", "r39-fallocate-punch-hole")
def _fallocate_punch_whole_pages(impl):
    """A hole is punched in the whole pages of the range only: the partial pages at its ends
    are not zeroed."""
    punch = _punch(impl)

    def make(handler):
        def patched(command):
            if command["mode"] != punch:
                return handler(command)
            start = -(-command["offset"] // PAGE) * PAGE
            end = (command["offset"] + command["length"]) // PAGE * PAGE
            if end <= start:
                return "ok", None
            return handler(dict(command, offset=start, length=end - start))
        return patched
    worker_call(impl, "fallocate", make)


@mutant("fallocate-keeps-size", "", "c01-open-write-only")
def _fallocate_keeps_size(impl):
    """fallocate without a mode keeps the size (as with FALLOC_FL_KEEP_SIZE): it never grows
    the object."""
    keep = constant(impl.syscalls, "FALLOC_FL_KEEP_SIZE")
    _handler_wrapped(impl, "fallocate", change_command=lambda command: dict(
        command, mode=command["mode"] | keep))


@mutant("fstat-reports-blocks", "", "r47-memfd-seal-shrink-grow")
def _fstat_reports_blocks(impl):
    """fstat reports the bytes allocated (st_blocks * 512) as the size."""
    def change(command, answer):
        if answer[0].startswith("size("):
            try:
                return "size(%d)" % (os.fstat(command["fd"]).st_blocks * 512), None
            except OSError:
                pass
        return answer
    _handler_wrapped(impl, "fstat", change_answer=change)


@mutant("reopen-unchecked", "C07", "c07-reopen-checks-permission")
def _reopen_unchecked(impl):
    """A reopen through /proc/self/fd duplicates the open file it names instead of opening
    the inode again (an emulator that resolves the link to the file it already holds): no
    permission check, so after setuid a file only root may open reopens anyway."""
    dup = impl.worker.CALLS["dup"]

    def make(reopen):
        def unchecked(command):
            result = reopen(command)
            return dup(command) if result[0] == "EACCES" else result
        return unchecked
    worker_call(impl, "reopen", make)
