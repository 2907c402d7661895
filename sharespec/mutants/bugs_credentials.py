"""Mutants of credentials and permission bits (C07): a setuid that changes nothing, or the
calling thread only, or only the effective uid; a fork child back to root; a setgid ignored;
the mode of a new segment or object ignored or masked; IPC_SET ignored or half done; a
read-only attach that asks for write permission. Each patches one worker call (the case
processes' handler of the command) or one system call of impl.syscalls."""
import ctypes
import os

from .patching import constant
from .registry import mutant, syscall, worker_call, worker_fork

SYS_SETUID = 105        # x86-64: the raw system call changes the calling thread only


def _call_replaced(impl, op, patched):
    """The worker's handler of ``op`` becomes ``patched(original, command)``."""
    worker_call(impl, op, lambda original: lambda command: patched(original, command))


@mutant("setuid-ignored", "C07", "c07-shmat-permission-bits")
def _setuid_ignored(impl):
    """setuid answers "ok" and changes nothing: the process stays root, so every permission
    check passes for everybody (a sandbox that pretends)."""
    _call_replaced(impl, "setuid", lambda original, command: ("ok", None))


@mutant("setuid-one-thread", "C07", "c07-credentials-per-process")
def _setuid_one_thread(impl):
    """setuid is the raw system call, as a C library without nptl's set*id broadcast makes it:
    only the calling thread changes uid, its process's other threads stay root."""
    libc = constant(impl.syscalls, "libc")

    def patched(original, command):
        if libc.syscall(ctypes.c_long(SYS_SETUID), ctypes.c_long(command["id"])) != 0:
            return impl.syscalls.errno_name(ctypes.get_errno()), None
        return "ok", None
    _call_replaced(impl, "setuid", patched)


@mutant("setuid-keeps-saved-root", "C07", "c07-shmat-permission-bits")
def _setuid_keeps_saved_root(impl):
    """setuid changes the effective uid only (seteuid): the real and saved uids stay root, so
    a later setuid(root) succeeds where it must be EPERM."""
    def patched(original, command):
        if command["id"] != 0 and os.geteuid() == 0 and os.getuid() == 0:
            return impl.syscalls.os_call(os.seteuid, command["id"])[0], None
        if command["id"] == 0 and os.getuid() == 0:
            return impl.syscalls.os_call(os.seteuid, 0)[0], None
        return original(command)
    _call_replaced(impl, "setuid", patched)


@mutant("uid-not-inherited-by-fork", "C07", "c07-credentials-per-process")
def _uid_not_inherited(impl):
    """A fork child starts as root again: setuid changes only the effective uid, and the
    child takes back its real uid (root) at once."""
    def patched(original, command):
        if os.getuid() == 0:
            return impl.syscalls.os_call(os.seteuid, command["id"])[0], None
        return original(command)
    _call_replaced(impl, "setuid", patched)

    def make(fork):
        def forked(command):
            result, pid = fork(command)
            if pid == 0 and os.getuid() == 0:
                os.seteuid(0)
            return result, pid
        return forked
    worker_fork(impl, make)


@mutant("setgid-ignored", "C07", "c07-group-bits")
def _setgid_ignored(impl):
    """setgid answers "ok" and changes nothing: the process keeps group root."""
    _call_replaced(impl, "setgid", lambda original, command: ("ok", None))


@mutant("shmget-mode-ignored", "C07", "c07-shmat-permission-bits")
def _shmget_mode_ignored(impl):
    """shmget creates every segment with mode 0600, whatever mode it is given (the found
    segment's check still asks for the given bits)."""
    creat = constant(impl.syscalls, "IPC_CREAT")

    def make(shmget):
        def patched(key, size, flags):
            if flags & creat:
                flags = (flags & ~0o777) | 0o600
            return shmget(key, size, flags)
        return patched
    syscall(impl, "shmget", make)


@mutant("open-mode-ignored", "C07", "c07-file-and-shm-modes")
def _open_mode_ignored(impl):
    """open and shm_open create every file and object with mode 0600."""
    _call_replaced(impl, "open", lambda original, command: original(dict(command, mode=0o600)))


@mutant("open-mode-masked-by-umask", "C07", "c07-file-and-shm-modes")
def _open_mode_masked(impl):
    """open and shm_open apply a umask of 022 to the mode (the implementation forgot to clear
    its umask): an object made with 0666 is 0644, and others cannot write it."""
    _call_replaced(impl, "open",
                   lambda original, command: original(dict(command, mode=command["mode"] & ~0o022)))


@mutant("ipc-set-ignored", "C07", "c07-ipc-set-owner")
def _ipc_set_ignored(impl):
    """shmctl IPC_SET answers "ok" and changes neither the mode nor the owner."""
    def patched(original, command):
        if command["cmd"] == "set":
            return "ok", None
        return original(command)
    _call_replaced(impl, "shmctl", patched)


@mutant("ipc-set-keeps-owner", "C07", "c07-ipc-set-owner")
def _ipc_set_keeps_owner(impl):
    """shmctl IPC_SET sets the mode but not the owner uid (it writes back the uid it had)."""
    owner = constant(impl.syscalls, "shm_owner")

    def patched(original, command):
        if command["cmd"] == "set":
            now = owner(command["id"])
            if now is not None:
                command = dict(command, uid=now[0])
        return original(command)
    _call_replaced(impl, "shmctl", patched)


@mutant("shmat-rdonly-asks-write", "C07", "c07-shmat-permission-bits")
def _shmat_rdonly_asks_write(impl):
    """shmat with SHM_RDONLY asks for read and write permission (a read-write attach first,
    undone): a process that may only read a segment cannot attach it at all."""
    rdonly = constant(impl.syscalls, "SHM_RDONLY")

    def make(shmat):
        def patched(ident, addr, flags):
            if flags & rdonly:
                result, got = shmat(ident, None, 0)
                if result != "ok":
                    return result, None
                impl.syscalls.shmdt(got)
            return shmat(ident, addr, flags)
        return patched
    syscall(impl, "shmat", make)
