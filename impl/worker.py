"""The inside of a case process: model threads that wait for commands and make the calls.

Each model thread is a real thread blocked on its own command pipe. A command is one message
(a frame, see frame()) from the executor with everything already resolved (addresses, real
keys and names, descriptor numbers, which pipe descriptors to close at a fork); the thread
makes the call and writes one answer to its process's result pipe. Steps never overlap: the
executor sends the next command only after it has read the answer to the last one.

The thread a case process starts with (its leader: after fork, the thread that forked;
after exec, the thread that exec'd) serves the process's first model thread, so a fork
starts no thread. The leader never ends before its process: if its model thread ends while
others live (thread_exit), it stays, making no call, because the kernel reports the death of
a process through its leader (wait status, /proc/PID/stat). Every other model thread really
ends at thread_exit, and the process ends when its last model thread does.
"""
import faulthandler
import fcntl
import marshal
import os
import resource
import signal
import sys
import _thread

from . import ipc_namespace, syscalls

PAGE = 4096

# What this process is: its result pipe, how many model threads it has, and the runner's
# ledger (a descriptor, or None), where shmget notes each segment it makes (_shmget).
STATE = {"result_fd": -1, "threads": 0, "ledger": None}

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
    its length in 4 bytes, then marshal's encoding (both ends run this same Python)."""
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
    try:
        os.write(STATE["result_fd"], frame(message))
    except OSError:
        os._exit(1)     # the executor is gone


def start_process(result_fd, command_fd, message):
    """A new process image or a fork child: one model thread, serving command_fd, and the
    report that the process is there, if any (message). The caller then serves command_fd
    (serve)."""
    STATE["result_fd"] = result_fd
    STATE["threads"] = 1
    if message is not None:
        reply(message)


def start_thread(command_fd):
    """A model thread: a bare _thread (threading's start-up handshake costs a round trip)."""
    _thread.start_new_thread(serve, (command_fd,))


def serve(command_fd):
    """The loop of one model thread: a command, its call, its answer. Returns when the thread
    ends, except in the leader, which stays blocked on the ended thread's command pipe, where
    nothing comes any more; every thread leaves with the process when the executor closes
    its pipes."""
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
        try:
            answer = perform(command, command_fd)
        except Exception as error:      # a bug here, not a result: the executor says "error"
            answer = {"error": "%s: %s" % (type(error).__name__, error)}
        if answer is None:              # thread_exit of a thread that is not the last
            if _thread.get_native_id() == os.getpid():
                continue                # the leader stays (see the module's docstring)
            return
        if "become" in answer:          # the child of a fork serves its own model thread
            command_fd, pending = answer["become"], b""
        else:
            reply(answer)


def perform(command, command_fd):
    """Make one command's call; returns its answer ({"r": result, ...}), None when the thread
    has ended, or {"become": its command pipe} in the child of a fork."""
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
        reply({"r": "ok"})
        if STATE["threads"] == 0:
            os._exit(0)         # pthread_exit of the last thread ends the process
        return None
    if op == "exit":
        os._exit(0)
    if op == "exec":
        return {"r": execute(command_fd)}
    raise ValueError("unknown command %r" % op)


def fork(command):
    """fork(), directly: the child's memory is exactly what fork gives (R11 copy-on-write, R40
    MADV_DONTFORK, R41 MADV_WIPEONFORK) and nattch is parent+child when the step ends (R28).
    Nobody in the case ever reaps a case process, so its pid stays its own until the
    executor's clean-up, which reads how it ended from /proc (hygiene.ending). Each side
    closes the pipe ends that are the other's (command["parent_close"], ["child_close"]), so
    that a process's death shows as end-of-file on its result pipe. Returns (result, the
    child's pid), and in the child ("ok", 0)."""
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


def execute(command_fd):
    """execve() of the same Python carrying on as this model thread; only the pipes and the
    ledger survive (the case's descriptors are close-on-exec). Returns only if execve fails."""
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
        serve(command_fd)
    except BaseException:
        os._exit(70)


# --- the calls, one per command: each returns (result, extra value or None) -----------------

def _shmget(c):
    """shmget; the id of a segment it may have made goes to the executor's ledger at once (a
    killed executor never reads the answer: the ledger is how its case's segments are found,
    ledger.py)."""
    result, ident = syscalls.shmget(c["key"], c["size"], c["flags"])
    if result == "ok" and STATE["ledger"] is not None and c["flags"] & syscalls.IPC_CREAT:
        try:
            os.write(STATE["ledger"], b"segment %d\n" % ident)
        except OSError:
            pass
    return result, ident


def _shmat(c):
    addr = c["addr"] + _break_base() if c.get("brk") else c["addr"]
    result, _ = syscalls.shmat(c["id"], addr, c["flags"])
    return result, None


def _break_base():
    """The break @brk[0] means in this process: the break at its first @brk step. Every @brk
    step first checks that the break is where the case left it; if the C library's malloc moved
    it (its main arena grows and trims the heap with sbrk), the case's places no longer mean what
    the model says, and lowering the break could unmap malloc's heap: the step is an error (the
    case's status error, INCONCLUSIVE) instead."""
    now = syscalls.break_now()
    if "brk_base" not in STATE:
        if now % PAGE:
            raise RuntimeError("environment: the program break %#x is not page-aligned" % now)
        STATE["brk_base"] = STATE["brk_set"] = now
    if now != STATE["brk_set"]:
        raise RuntimeError("environment: the C library moved the program break (%#x, the case "
                           "left it at %#x)" % (now, STATE["brk_set"]))
    return STATE["brk_base"]


def _brk(c):
    """brk(@brk[k]): raise the break, or lower it back down to one the case set (never below
    the base: the pages there are malloc's heap; the validator keeps k >= 0)."""
    base = _break_base()
    result = syscalls.set_break(base + c["addr"])
    STATE["brk_set"] = syscalls.break_now()
    return result, None


def _shmdt(c):
    return syscalls.shmdt(c["addr"]), None


def _shmctl(c):
    cmd, ident = c["cmd"], c["id"]
    if cmd == "rmid":
        return syscalls.shmctl_rmid(ident), None
    if cmd in ("stat", "stat_full", "times"):
        return syscalls.shmctl_stat(ident)
    if cmd == "set":
        # what the step leaves out keeps its value: read here, in the case's IPC namespace
        kept = syscalls.shm_owner(ident) or (0, 0, 0)   # gone: IPC_SET fails before it looks
        uid, gid, mode = (kept[i] if c[k] is None else c[k]
                          for i, k in enumerate(("uid", "gid", "mode")))
        return syscalls.shmctl_set(ident, uid, gid, mode), None
    if cmd in ("lock", "unlock"):
        return syscalls.shmctl_lock(ident, cmd == "lock"), None
    if cmd == "invalid":
        return syscalls.shmctl_invalid(ident), None
    if cmd == "shm_stat_id":                 # the identifier passed where an index is due
        return syscalls.shmctl_shm_stat(ident)
    if cmd == "stat_any_count":              # the namespace's figures (ipc_namespace.py)
        return ipc_namespace.stat_any_count()
    if cmd == "sysvipc":
        return ipc_namespace.sysvipc_sums()
    index = syscalls.shm_index(ident)
    if cmd == "shm_info_counts":
        result, value = ipc_namespace.shm_info_counts()
        if result != "ok":
            return result, None
        return result, {"covers": index is not None and value["highest"] >= index,
                        "counts": value["counts"]}
    if cmd in ("shm_stat", "shm_stat_any", "shm_stat_times"):  # a segment gone: -1, EINVAL
        return syscalls.shmctl_shm_stat(-1 if index is None else index, cmd == "shm_stat_any")
    result, highest = syscalls.shmctl_info(cmd == "shm_info")   # info, shm_info
    if result != "ok":
        return result, None
    return result, {"covers": index is not None and highest >= index}


def _mmap(c):
    result, address = syscalls.mmap(c["addr"], c["length"], c["prot"], c["flags"], c["fd"],
                                    c["offset"])
    if result == "ok" and c["addr"] is not None and address != c["addr"]:
        if c.get("noreplace") or c.get("hint"):
            # The case asked for MAP_FIXED_NOREPLACE and the call succeeded elsewhere instead
            # of failing with EEXIST (a kernel before 4.17, or an emulator, takes the flag for
            # a hint): "ok" is what the call did. The stray mapping goes, so that nothing of
            # the case is left outside the case window.
            syscalls.munmap(address, c["length"])
            return result, None
        raise ValueError("mmap placed the mapping at %#x, not %#x" % (address, c["addr"]))
    return result, None


def _mlock(c):
    return syscalls.mlock(c["addr"], c["length"]), None


def _munlock(c):
    return syscalls.munlock(c["addr"], c["length"]), None


def _msync(c):
    return syscalls.msync(c["addr"], c["length"], c["flags"]), None


def _vmlck(c):
    return "vmlck(%d)" % syscalls.locked_pages(), None


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
        flags = syscalls.MFD_CLOEXEC | (0 if c["nosealing"] else syscalls.MFD_ALLOW_SEALING)
        flags |= c.get("huge", 0)                 # MFD_HUGETLB and a size
        if c["invalid"] == "null_name":
            result, fd = syscalls.memfd_create_null_name(flags)
        else:
            name = syscalls.MFD_NAME_TOO_LONG if c["invalid"] == "long_name" else "sharespec"
            if c["invalid"] == "flags":
                flags = syscalls.MFD_UNKNOWN_FLAGS
            result, fd = syscalls.os_call(os.memfd_create, name, flags)
    elif c["kind"] == "shm":
        result, fd = syscalls.shm_open(c["path"], c["flags"], c["mode"])
    else:
        result, fd = syscalls.os_call(os.open, c["path"], c["flags"] | os.O_CLOEXEC, c["mode"])
    return _numbered(result, fd, c["number"])


def _numbered(result, fd, number):
    """The new descriptor moved to its handle's number (addresses.fd_number)."""
    if result != "ok":
        return result, None
    if fd != number:
        os.dup2(fd, number, inheritable=False)     # dup3(O_CLOEXEC)
        os.close(fd)
    return "ok", None


def _dup(c):
    return _numbered(*syscalls.os_call(os.dup, c["fd"]), c["number"])


def _reopen(c):
    path = "/proc/self/fd/%d" % c["fd"]
    return _numbered(*syscalls.os_call(os.open, path, c["flags"] | os.O_CLOEXEC), c["number"])


def _seals(c):
    result, seals = syscalls.os_call(fcntl.fcntl, c["fd"], syscalls.F_GET_SEALS)
    if result != "ok":
        return result, None
    names = [name for name, bit in syscalls.SEAL_BITS.items() if seals & bit]
    return "seals(%s)" % ("+".join(names) or "none"), None


def _fallocate(c):
    return syscalls.fallocate(c["fd"], c["mode"], c["offset"], c["length"]), None


def _fstat(c):
    result, info = syscalls.os_call(os.fstat, c["fd"])
    return (result if result != "ok" else "size(%d)" % info.st_size), None


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


def _setuid(c):
    """glibc's setuid applies to every thread of the process (nptl(7)), as the case format
    says; from root it sets the real, effective and saved uids, dropping every capability."""
    return syscalls.os_call(os.setuid, c["id"])[0], None


def _setgid(c):
    return syscalls.os_call(os.setgid, c["id"])[0], None


def _seal(c):
    return syscalls.os_call(fcntl.fcntl, c["fd"], syscalls.F_ADD_SEALS, c["seals"])[0], None


def _maps(c):
    """The records of /proc/self/maps in [addr, end), cut at both ends, as
    maps(FIRST-END:PERMS,...) with pages counted from addr (docs/case-format.md)."""
    start, end = c["addr"], c["end"]
    records = []
    with open("/proc/self/maps") as lines:
        for line in lines:
            span, perms = line.split(None, 2)[:2]
            low, high = (int(x, 16) for x in span.split("-"))
            if low < end and start < high:
                records.append("%d-%d:%s" % ((max(low, start) - start) // PAGE,
                                             (min(high, end) - start) // PAGE, perms))
    return "maps(%s)" % ",".join(records), None


CALLS = {
    "shmget": _shmget, "shmat": _shmat, "shmdt": _shmdt, "shmctl": _shmctl,
    "mmap": _mmap, "munmap": _munmap, "mprotect": _mprotect, "madvise": _madvise,
    "posix_madvise": _posix_madvise, "mremap": _mremap,
    "open": _open, "close": _close, "ftruncate": _ftruncate, "pread": _pread,
    "pwrite": _pwrite, "shm_unlink": _shm_unlink, "seal": _seal, "maps": _maps,
    "setuid": _setuid, "setgid": _setgid,
    "seals": _seals, "dup": _dup, "reopen": _reopen, "fallocate": _fallocate, "fstat": _fstat,
    "mlock": _mlock, "munlock": _munlock, "msync": _msync, "vmlck": _vmlck,
    "brk": _brk,
}
