"""The inside of a case process: model threads that wait for commands and make the calls.

Each model thread is a real thread blocked on its own command pipe. A command is one message
(a frame, see frame()) from the executor with everything already resolved (addresses, real
keys and names, descriptor numbers, which pipe descriptors to close at a fork); the thread
makes the call and writes one message to its process's result pipe. Consecutive steps of one
thread may come as one batch (serve): they are made in order, and their answers written
together, except that an answer is never held back past a call that may end the process (an
access that faults, exit, exec, fork...). Steps never overlap: the executor sends the next
command only after it has read the answers of the previous ones.

The thread a case process starts with (its leader: after fork, the thread that forked;
after exec, the thread that exec'd) serves the process's first model thread, so a fork
starts no thread. The leader never ends before its process: if its model thread ends while
others live (thread_exit), it stays, making no call (it waits on the ended thread's command
pipe, where only the executor's messages between cases come), as the kernel
reports the death of a process through its leader (wait status, /proc/PID/stat). Every
other model thread really ends at thread_exit, and the process ends when its last model
thread does.
"""
import faulthandler
import fcntl
import marshal
import os
import resource
import signal
import sys
import _thread
import time

from . import syscalls

STATE = {"result_fd": -1, "threads": 0, "standard": set(), "ledger": None}

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


def close_all_but(keep):
    """Close every descriptor of this process but those in `keep`."""
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass          # listdir's own descriptor


def frame(message):
    """A message between the executor and a case process (a dict of strings, numbers, lists):
    its length in 4 bytes, then marshal's encoding. Both ends run this same Python; marshal
    touches far fewer pages than json, and every page a freshly forked case process touches
    is a copy-on-write fault, the main cost of a step there."""
    data = marshal.dumps(message)
    return len(data).to_bytes(4, "little") + data


def unframe(pending):
    """(True, message, rest) when the bytes read so far hold a whole message, else
    (False, None, pending)."""
    if len(pending) >= 4:
        end = 4 + int.from_bytes(pending[:4], "little")
        if len(pending) >= end:
            return True, marshal.loads(pending[4:end]), pending[end:]
    return False, None, pending


def reply(message):
    send([message])


def send(messages):
    if messages:
        try:
            os.write(STATE["result_fd"], b"".join(frame(message) for message in messages))
        except OSError:
            os._exit(1)     # the executor is gone


def start_process(result_fd, command_fd, message):
    """A new process image or a fork child: one model thread, serving command_fd, and the
    report that the process is there, if any (message). The caller then serves
    (run_process, or serve, in a fork child)."""
    STATE["result_fd"] = result_fd
    STATE["threads"] = 1
    if message is not None:
        reply(message)


def run_process(command_fd):
    """The leader of a new process image: serve its model thread (and go on reading its
    command pipe after it ended: see serve)."""
    serve(command_fd)


def start_thread(command_fd):
    """A model thread: a bare _thread (threading's start-up handshake costs a round trip)."""
    _thread.start_new_thread(serve, (command_fd,))


# The calls whose answers may wait to be written with the rest of their batch: none of them can
# end, replace or fork the process (the executor never batches a step that reaches outside the
# case window, where a call could hit the implementation's own memory).
HOLDABLE = {"shmget", "shmat", "shmdt", "shmctl", "mmap", "munmap", "mprotect", "madvise",
            "posix_madvise", "mremap", "open", "close", "ftruncate", "pread", "pwrite",
            "shm_unlink", "seal", "spawn"}


def serve(command_fd):
    """The loop of one model thread; returns when it ends, except in the leader, which stays
    reading the ended thread's command pipe: no step comes there any more, only what the
    executor sends between cases (to a first process it recycles: worker.reset)."""
    pending = b""
    while True:
        found, command, pending = unframe(pending)
        while not found:
            try:
                chunk = os.read(command_fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                os._exit(0)     # the executor closed the pipe: the case is over
            found, command, pending = unframe(pending + chunk)
        if command["op"] == "end":      # the case is over and this thread was left running
            STATE["threads"] -= 1
            return                      # (never the leader: see executor.start_recycling)
        if command["op"] in HOUSEKEEPING:           # between cases, never a step
            HOUSEKEEPING[command["op"]](command)
            continue
        batch = command["steps"] if command["op"] == "batch" else [command]
        answers = perform_batch(batch, command_fd)
        if answers is None:             # thread_exit of a thread that is not the last
            if _thread.get_native_id() == os.getpid():
                continue                # the leader stays (see the module's docstring)
            return
        if answers and "become" in answers[-1]:
            command_fd, pending = answers[-1]["become"], b""    # the child of a fork
        else:
            send(answers)


def perform_batch(batch, command_fd):
    """Make the calls of a batch in order; returns the answers not yet sent, or None if the
    thread has ended. A fork's child gets [{"become": its command pipe}] and serves its own
    model thread from then on (so a chain of forks does not nest)."""
    answers = []
    for command in batch:
        if command["op"] not in HOLDABLE:
            send(answers)               # before a call that may end the process
            answers = []
        if "id_from" in command:        # a segment whose shmget is earlier in the batch
            made = batch[command.pop("id_from")]["answer"]
            command["id"] = made["value"] if made.get("r") == "ok" else -1
        try:
            answer = perform(command, command_fd)
        except Exception as error:      # a bug here, not a result: the executor says "error"
            answer = {"error": "%s: %s" % (type(error).__name__, error)}
        if answer is None or "become" in answer:
            return answer and [answer]
        command["answer"] = answer
        answers.append(answer)
        if "error" in answer:
            break
    return answers


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
        result, child = fork(command)
        if child == 0:
            return {"become": command["cmd"]}
        return {"r": result, "pid": child}
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
    executor's cleanup; the executor reads how it ended from /proc (hygiene.ending).
    Returns (result, the child's pid), and in the child ("ok", 0): the parent tells the
    executor the pid, the child says nothing until its first command (every page a fresh
    child touches costs a copy-on-write fault)."""
    try:
        child = os.fork()
    except OSError as error:
        for fd in command["parent_close"]:
            os.close(fd)
        return syscalls.errno_name(error.errno), None
    if child == 0:
        try:
            for fd in command["child_close"]:
                os.close(fd)
            start_process(command["result"], command["cmd"], None)
        except BaseException:
            os._exit(70)
        return "ok", 0
    for fd in command["parent_close"]:
        os.close(fd)
    return "ok", child


# --- the first process between cases (executor.CaseRun.start_recycling, recycled) -------

def begin(command):
    """The first command of a case to its first process: close the copies of the executor's
    ends of pipes made by the last `reap`, and allow the case's descriptor numbers. No reply
    (the first step's follows)."""
    for fd in command["close"]:
        os.close(fd)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    STATE.setdefault("nofile", soft)
    if soft < command["nofile"]:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(command["nofile"], hard), hard))


def reset(command):
    """After a case that ended well, make this first process what it was before the case, or
    say why it cannot be. Undone: every mapping and attach in the case's window (one munmap of
    the whole window; the executor made sure no step reached outside it), the case's
    descriptor numbers, the raised RLIMIT_NOFILE. Checked with the kernel: this is the only
    thread left (the real threads of the case's ended model threads are gone), the open
    descriptors are exactly the executor's list plus the standard ones, and, when the case
    forked nothing, this process has no child. (Only open and fork change the descriptors of
    a case process, and only spawn starts a thread: the executor says which were made here.)
    Replies {"r": "clean"} or {"r": "dirty", "why": ...}."""
    problem = None
    deadline = time.monotonic() + 1.0
    while command["spawned"] and thread_count() != 1:   # an ended thread still on its way out
        if time.monotonic() > deadline:
            problem = "a thread of the case is still running"
            break
        os.sched_yield()        # it is all but gone: let it finish now
    start, length = command["window"]
    if syscalls.libc.munmap(start, length) != 0:
        problem = problem or "munmap of the case window failed"
    first, last = command["descriptors"]
    os.closerange(first, last)
    if "nofile" in STATE:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (STATE["nofile"], hard))
    if command["opened"]:
        expected = set(command["fds"]) | STATE["standard"]
        lowest = 0
        while lowest in expected:               # where listdir's own descriptor goes
            lowest += 1
        if set(map(int, os.listdir("/proc/self/fd"))) != expected | {lowest}:
            problem = problem or "descriptors other than the expected ones are open"
    if not command["forked"] and has_child():
        problem = problem or "a child process that no step made"
    STATE["threads"] = 1        # the others are gone (or it is dirty): this one serves T0 again
    reply({"r": "dirty", "why": problem} if problem else {"r": "clean"})


def reap(command):
    """After `reset`, once the executor has removed the case's segments (so no pid of the case
    could have been reused meanwhile): reap the case's other processes, all dead by now (this
    process is their subreaper, so its having no child left means none of them is alive), and
    make `pipes` new pipes for the next case's other processes, whose executor ends the
    executor takes with pidfd_getfd. Replies {"r": "clean", "pipes": [[read, write], ...]}."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            reply({"r": "dirty", "why": "a process of the case is still alive"})
            return
    reply({"r": "clean", "pipes": [os.pipe2(0) for _ in range(command["pipes"])]})


def thread_count():
    fd = os.open("/proc/self/stat", os.O_RDONLY)
    try:
        return int(os.read(fd, 4096).rsplit(b")", 1)[1].split()[17])
    finally:
        os.close(fd)


def has_child():
    """Whether this process has a child, alive or a zombie (which is left unreaped)."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


HOUSEKEEPING = {"begin": begin, "reset": reset, "reap": reap}


def execute(command_fd):
    """execve() of the same Python carrying on as this model thread; only the pipes survive
    (the case's descriptors are close-on-exec). Returns only if execve fails."""
    argv = [sys.executable, "-S", "-E", "-c", BOOT, os.path.dirname(PACKAGE_DIR),
            os.path.basename(PACKAGE_DIR), "--resume", str(command_fd), str(STATE["result_fd"]),
            str(-1 if STATE["ledger"] is None else STATE["ledger"])]
    try:
        os.execv(sys.executable, argv)
    except OSError as error:
        return syscalls.errno_name(error.errno)


def resume(arguments):
    """The new image after exec: serve the same model thread on the same pipes."""
    command_fd, result_fd = int(arguments[0]), int(arguments[1])
    if len(arguments) > 2 and int(arguments[2]) >= 0:
        STATE["ledger"] = int(arguments[2])
    try:
        setup_process()
        start_process(result_fd, command_fd, {"r": "ok"})
        run_process(command_fd)
    except BaseException:
        os._exit(70)


# --- the calls, one per command: each returns (result, extra value or None) -----------------

def _shmget(c):
    """shmget; the id of a segment it may have made goes to the executor's ledger at once (a
    killed executor never reads the answer: the ledger is how its case's segments are found,
    first_process.LEDGER)."""
    result, ident = syscalls.shmget(c["key"], c["size"], c["flags"])
    if result == "ok" and STATE["ledger"] is not None and c["flags"] & syscalls.IPC_CREAT:
        try:
            os.write(STATE["ledger"], b"segment %d\n" % ident)
        except OSError:
            pass
    return result, ident


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
        if c.get("noreplace"):
            # The case asked for MAP_FIXED_NOREPLACE and the call succeeded elsewhere instead
            # of failing with EEXIST (a kernel before 4.17, or an emulator, takes the flag for
            # a hint): "ok" is what the call did. The stray mapping goes, so that nothing of
            # the case is left outside the case window.
            syscalls.munmap(address, c["length"])
            return result, None
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
