"""The inside of a case process: model threads that wait for commands and make the calls.

Each model thread is a real thread blocked on its own command pipe. A command is one JSON
line from the executor with everything already resolved (addresses, real keys and names,
descriptor numbers, which pipe descriptors to close at a fork); the thread makes the call
and writes one JSON line to its process's result pipe. Steps never overlap: the executor
sends the next command only after it has read the result of the previous one.

The thread a case process starts with (its leader: after fork, the thread that forked;
after exec, the thread that exec'd) serves the process's first model thread, so a fork
starts no thread. The leader never ends before its process: if its model thread ends while
others live (thread_exit), it stays as an idle thread that makes no call, as the kernel
reports the death of a process through its leader (wait status, /proc/PID/stat). Every
other model thread really ends at thread_exit, and the process ends when its last model
thread does.
"""
import faulthandler
import fcntl
import json
import os
import resource
import signal
import sys
import _thread
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


class Become(BaseException):
    """Raised in the child of a fork: unwinds the parent's step, so that the thread serves the
    child's model thread from the top of its loop (a chain of forks does not nest)."""

    def __init__(self, command_fd):
        super().__init__(command_fd)
        self.command_fd = command_fd


def idle():
    """The leader once its model thread has ended: wait until another one ends the process."""
    while True:
        time.sleep(3600)


def start_process(result_fd, command_fd, message):
    """A new process image or a fork child: one model thread, serving command_fd, and the
    report that the process is there. The caller then serves (run_process, or Become)."""
    STATE["result_fd"] = result_fd
    STATE["threads"] = 1
    reply(message)


def run_process(command_fd):
    """The leader of a new process image: serve its model thread, then idle."""
    serve(command_fd)
    idle()


def start_thread(command_fd):
    """A model thread: a bare _thread (threading's start-up handshake costs a round trip)."""
    _thread.start_new_thread(serve, (command_fd,))


def serve(command_fd):
    """The loop of one model thread; returns when it ends (the leader then idles)."""
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
            if command["op"] == "begin":
                begin(command)
                continue
            answer = perform(command, command_fd)
        except Become as child:        # this is the child of the fork just made
            command_fd, pending = child.command_fd, b""
            continue
        except Exception as error:     # a bug here, not a result: the executor reports "error"
            answer = {"error": "%s: %s" % (type(error).__name__, error)}
        if answer is None:              # thread_exit of a thread that is not the last
            if _thread.get_native_id() == os.getpid():
                idle()                  # the leader stays (see the module's docstring)
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
    if op == "hang":            # tests only: a step that never finishes (until the executor goes)
        while os.read(command_fd, 65536):
            pass
        os._exit(0)
    raise ValueError("unknown command %r" % op)


def fork(command):
    """fork(), directly: the child's memory is exactly what fork gives (R11 copy-on-write, R40
    MADV_DONTFORK, R41 MADV_WIPEONFORK) and nattch is parent+child when the step ends (R28).
    Nobody in the case ever reaps a case process, so its pid stays its own until the
    executor's cleanup; the executor reads how it ended from /proc (hygiene.ending)."""
    try:
        child = os.fork()
    except OSError as error:
        for fd in command["parent_close"]:
            os.close(fd)
        return syscalls.errno_name(error.errno)
    if child == 0:
        try:
            for fd in command["child_close"]:
                os.close(fd)
            start_process(command["result"], command["cmd"], {"hello": os.getpid()})
        except BaseException:
            os._exit(70)
        raise Become(command["cmd"])
    for fd in command["parent_close"]:
        os.close(fd)
    return "ok"


def begin(command):
    """The first command a pre-started first process gets: drop the spare pipe ends the case
    does not use, and allow the case's descriptor numbers. No reply (the first step's follows)."""
    for fd in command["close"]:
        os.close(fd)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < command["nofile"]:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(command["nofile"], hard), hard))


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
        run_process(command_fd)
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
