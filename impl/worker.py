"""The inside of a case process: model threads that wait for commands and make the calls.

Each model thread is a real thread blocked on its own command pipe. A command is one JSON
line from the executor with everything already resolved (addresses, real keys and names,
descriptor numbers, which pipe descriptors to close at a fork); the thread makes the call
and writes one JSON line to its process's result pipe. Steps never overlap: the executor
sends the next command only after it has read the result of the previous one.

Besides its model threads every case process has one idle thread (the one it started with),
which never makes a call; so every model thread can really end (thread_exit), and the
process ends when its last model thread does.
"""
import faulthandler
import fcntl
import json
import os
import resource
import signal
import sys
import threading
import time

from . import syscalls

STATE = {"result_fd": -1, "threads": 0}

# How exec starts the new image: the same Python, without site and environment, importing this
# package from its parent directory by its own name and running its __main__ with --resume.
BOOT = ("import sys, runpy; sys.path.insert(0, sys.argv.pop(1)); "
        "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)")
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def setup_process():
    """Once per process image: no core files, no faulthandler, default SIGINT/SIGTERM, and
    stdin/stdout away from the executor's streams."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    faulthandler.disable()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


def reply(message):
    try:
        os.write(STATE["result_fd"], (json.dumps(message) + "\n").encode())
    except OSError:
        os._exit(1)     # the executor is gone


def idle():
    """The process's idle thread: wait until a model thread ends the process."""
    while True:
        time.sleep(3600)


def start_process(result_fd, command_fd, message):
    """A new process image or a fork child: report, then serve one model thread."""
    STATE["result_fd"] = result_fd
    STATE["threads"] = 1
    reply(message)
    start_thread(command_fd)
    idle()


def start_thread(command_fd):
    threading.Thread(target=serve, args=(command_fd,), daemon=True).start()


def serve(command_fd):
    """The loop of one model thread."""
    pending = b""
    while True:
        while b"\n" not in pending:
            try:
                chunk = os.read(command_fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                os._exit(0)     # the executor closed the pipe: the case is over
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        command = json.loads(line)
        try:
            answer = perform(command, command_fd)
        except Exception as error:     # a bug here, not a result: the executor reports "error"
            answer = {"error": "%s: %s" % (type(error).__name__, error)}
        if answer is None:              # thread_exit of a thread that is not the last
            return
        reply(answer)


def perform(command, command_fd):
    op = command["op"]
    if op == "read":
        return {"r": syscalls.load(command["addr"])}
    if op == "write":
        return {"r": syscalls.store(command["addr"], command["value"])}
    if op in CALLS:
        result, extra = CALLS[op](command)
        answer = {"r": result}
        if extra is not None:
            answer["value"] = extra
        return answer
    if op == "fork":
        return {"r": fork(command)}
    if op == "spawn":
        STATE["threads"] += 1
        start_thread(command["cmd"])
        return {"r": "ok"}
    if op == "thread_exit":
        STATE["threads"] -= 1
        if STATE["threads"] == 0:
            reply({"r": "ok"})
            os._exit(0)         # pthread_exit of the last thread ends the process
        reply({"r": "ok"})
        return None
    if op == "exit":
        os._exit(0)
    if op == "exec":
        return {"r": execute(command_fd)}
    if op == "hang":            # tests only: a step that never finishes
        idle()
    raise ValueError("unknown command %r" % op)


def fork(command):
    """fork(), done as a double fork so that the new case process is a child of the executor
    (a subreaper): the executor then learns a fault from the real wait status. The middle
    process only forks and _exits, so the grandchild's memory is exactly what a direct fork
    would give (R11 copy-on-write, R40 MADV_DONTFORK, R41 MADV_WIPEONFORK) and the parent
    waits for it, so nattch is back to parent+child when the step ends (R28)."""
    try:
        middle = os.fork()
    except OSError as error:
        for fd in command["parent_close"]:
            os.close(fd)
        return syscalls.errno_name(error.errno)
    if middle == 0:
        try:
            child = os.fork()
            if child == 0:
                for fd in command["child_close"]:
                    os.close(fd)
                start_process(command["result"], command["cmd"], {"hello": os.getpid()})
            os._exit(0)
        except OSError as error:
            os._exit(error.errno)
        except BaseException:
            os._exit(255)
    for fd in command["parent_close"]:
        os.close(fd)
    _, status = os.waitpid(middle, 0)
    code = os.waitstatus_to_exitcode(status)
    return "ok" if code == 0 else syscalls.errno_name(code)


def execute(command_fd):
    """execve() of the same Python carrying on as this model thread; only the pipes survive
    (the case's descriptors are close-on-exec). Returns only if execve fails."""
    argv = [sys.executable, "-S", "-E", "-c", BOOT, os.path.dirname(PACKAGE_DIR),
            os.path.basename(PACKAGE_DIR), "--resume", str(command_fd), str(STATE["result_fd"])]
    try:
        os.execv(sys.executable, argv)
    except OSError as error:
        return syscalls.errno_name(error.errno)


def resume(arguments):
    """The new image after exec: serve the same model thread on the same pipes."""
    command_fd, result_fd = int(arguments[0]), int(arguments[1])
    try:
        setup_process()
        start_process(result_fd, command_fd, {"r": "ok"})
    except BaseException:
        os._exit(70)


# --- the calls, one per command: each returns (result, extra value or None) -----------------

def _shmget(c):
    return syscalls.shmget(c["key"], c["size"], c["flags"])


def _shmat(c):
    result, _ = syscalls.shmat(c["id"], c["addr"], c["flags"])
    return result, None


def _shmdt(c):
    return syscalls.shmdt(c["addr"]), None


def _shmctl(c):
    if c["cmd"] == "rmid":
        return syscalls.shmctl_rmid(c["id"]), None
    return syscalls.shmctl_stat(c["id"])


def _mmap(c):
    result, address = syscalls.mmap(c["addr"], c["length"], c["prot"], c["flags"], c["fd"],
                                    c["offset"])
    if result == "ok" and c["addr"] is not None and address != c["addr"]:
        raise ValueError("mmap placed the mapping at %#x, not %#x" % (address, c["addr"]))
    return result, None


def _munmap(c):
    return syscalls.munmap(c["addr"], c["length"]), None


def _mprotect(c):
    return syscalls.mprotect(c["addr"], c["length"], c["prot"]), None


def _madvise(c):
    return syscalls.madvise(c["addr"], c["length"], c["advice"]), None


def _posix_madvise(c):
    return syscalls.posix_madvise(c["addr"], c["length"], c["advice"]), None


def _mremap(c):
    result, _ = syscalls.mremap(c["addr"], c["old_length"], c["new_length"], c["flags"],
                                c["new_addr"])
    return result, None


def _open(c):
    if c["kind"] == "memfd":
        result, fd = syscalls.os_call(os.memfd_create, "sharespec",
                                      syscalls.MFD_CLOEXEC | syscalls.MFD_ALLOW_SEALING)
    elif c["kind"] == "shm":
        result, fd = syscalls.shm_open(c["path"], c["flags"], 0o600)
    else:
        result, fd = syscalls.os_call(os.open, c["path"], c["flags"] | os.O_CLOEXEC, 0o600)
    if result != "ok":
        return result, None
    if fd != c["number"]:
        os.dup2(fd, c["number"], inheritable=False)     # dup3(O_CLOEXEC)
        os.close(fd)
    return "ok", None


def _close(c):
    return syscalls.os_call(os.close, c["fd"])[0], None


def _ftruncate(c):
    return syscalls.os_call(os.ftruncate, c["fd"], c["length"])[0], None


def _pread(c):
    result, data = syscalls.os_call(os.pread, c["fd"], 1, c["offset"])
    if result != "ok":
        return result, None
    if not data:
        return "eof", None          # pread returned 0 bytes: the offset is at or past the end
    return str(data[0]), None


def _pwrite(c):
    return syscalls.os_call(os.pwrite, c["fd"], bytes([c["value"]]), c["offset"])[0], None


def _shm_unlink(c):
    return syscalls.shm_unlink(c["name"]), None


def _seal(c):
    return syscalls.os_call(fcntl.fcntl, c["fd"], fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE)[0], None


CALLS = {
    "shmget": _shmget, "shmat": _shmat, "shmdt": _shmdt, "shmctl": _shmctl,
    "mmap": _mmap, "munmap": _munmap, "mprotect": _mprotect, "madvise": _madvise,
    "posix_madvise": _posix_madvise, "mremap": _mremap,
    "open": _open, "close": _close, "ftruncate": _ftruncate, "pread": _pread,
    "pwrite": _pwrite, "shm_unlink": _shm_unlink, "seal": _seal,
}
