#!/usr/bin/env python3
# A standalone reproducer written by sharespec (generators/reproducer.py). Standard library
# only: it runs with `python3 -S` on Linux x86-64, without sharespec installed.
#
# It performs the case ON THIS HOST, with this host's kernel: it replays the host, NOT the
# implementation under test, whose failure it was written for. `REPLAY` below names that
# implementation and the command that replays the case on it (the folder's replay.sh).
#
# It performs the steps of the case below, in order, with the addresses of the case format
# (docs/case-format.md): the k-th mapping handle owns a 1 MiB slot at ARENA + k MiB, the same
# in every process; every process of the case is a child of this script (a subreaper, with a
# double fork), so a fault is learnt from the real wait status.
# Exit status: 1 when a step's result is one the profile does not allow, 0 when every step
# is allowed, 2 when the case uses a call this reproducer does not perform.
import ctypes, errno, json, os, queue, select, signal, struct, sys, tempfile, threading, time

CASE = json.loads(r'''__CASE__''')
REPLAY = json.loads(r'''__REPLAY__''')
PAGE, ARENA, FD_BASE, SHMLBA = 4096, 0x100000000000, 700, 4096
libc = ctypes.CDLL(None, use_errno=True)
vp, sz, ci, cl = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_long
libc.mmap.argtypes, libc.mmap.restype = [vp, sz, ci, ci, ci, cl], vp
libc.mprotect.argtypes = libc.madvise.argtypes = libc.posix_madvise.argtypes = [vp, sz, ci]
libc.munmap.argtypes = libc.mlock.argtypes = libc.munlock.argtypes = [vp, sz]
libc.msync.argtypes = [vp, sz, ci]
libc.mremap.argtypes, libc.mremap.restype = [vp, sz, sz, ci, vp], vp
libc.shmget.argtypes = [ci, sz, ci]
libc.shmat.argtypes, libc.shmat.restype = [ci, vp, ci], vp
libc.shmdt.argtypes = [vp]
libc.shmctl.argtypes = [ci, ci, vp]
libc.shm_open.argtypes = [ctypes.c_char_p, ci, ci]
libc.shm_unlink.argtypes = [ctypes.c_char_p]
libc.prctl.argtypes = [ci, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
FAILED = 2 ** 64 - 1
PROT = {"rw": 3, "r": 1, "none": 0, "w": 2, "x": 4, "rx": 5}
ADVICE = {"dontneed": 4, "free": 8, "remove": 9, "dontfork": 10, "dofork": 11,
          "wipeonfork": 18, "keeponfork": 19, "normal": 0, "random": 1, "sequential": 2,
          "willneed": 3, "mergeable": 12, "unmergeable": 13, "hugepage": 14, "nohugepage": 15,
          "dontdump": 16, "dodump": 17, "cold": 20, "pageout": 21, "guard_install": 102,
          "guard_remove": 103, "invalid": 1212}
MSYNC = {"sync": 4, "async": 1, "invalidate": 2, "sync+invalidate": 6, "async+invalidate": 3,
         "none": 0, "sync+async": 5, "unknown": 8}
HUGE_LOG2 = {"16kb": 14, "64kb": 16, "512kb": 19, "1mb": 20, "2mb": 21, "8mb": 23, "16mb": 24,
             "32mb": 25, "256mb": 28, "512mb": 29, "1gb": 30, "2gb": 31, "16gb": 34}


def huge_flags(hugetlb_bit, a):
    """MFD_HUGETLB or SHM_HUGETLB, and the size in bits 26..31 (MFD_HUGE_* = SHM_HUGE_*)."""
    size = a.get("huge", "default")
    return (hugetlb_bit if a.get("hugetlb") else 0) | (0 if size == "default" else HUGE_LOG2[size] << 26)


POSIX_ADVICE = {"dontneed": 4, "normal": 0, "random": 1, "sequential": 2, "willneed": 3}
USER_IDS = {"root": 0, "other": 65534}   # the case format's "other": nobody / nogroup
SEALS = ("seal", "shrink", "grow", "write", "future_write")   # F_SEAL_* bits 1, 2, 4, 8, 16


def err():
    if ctypes.get_errno() == errno.EOPNOTSUPP:   # ENOTSUP is the same number: the case says EOPNOTSUPP
        return "EOPNOTSUPP"
    return errno.errorcode.get(ctypes.get_errno(), "E%d" % ctypes.get_errno())


def call(ret, bad=-1):
    return err() if ret == bad else "ok"


def addr_call(ret):
    return err() if ret is None or ret == FAILED else "ok"


def os_call(f, *a):
    try:
        return "ok", f(*a)
    except OSError as e:
        return errno.errorcode.get(e.errno, "E%d" % e.errno), None


def shm_index(ident, buf):
    """The index of segment ident: SHM_STAT_ANY (15) of every index up to SHM_INFO's (14)."""
    if ident is None or ident < 0:
        return None
    for index in range(max(libc.shmctl(0, 14, buf), -1) + 1):
        if libc.shmctl(index, 15, buf) == ident:
            return index
    return None


def perform_shmctl(ident, cmd):
    """IPC_RMID 0, IPC_STAT 2, IPC_INFO 3, SHM_LOCK 11, SHM_UNLOCK 12, SHM_STAT 13, SHM_INFO 14,
    SHM_STAT_ANY 15, and -1 for an invalid command. A stat's value: key, mode, segsz, nattch,
    cpid, lpid (struct shmid_ds on x86-64) and what the call returned."""
    simple = {"rmid": 0, "lock": 11, "unlock": 12, "invalid": -1}
    if cmd in simple:
        return call(libc.shmctl(ident, simple[cmd], None)), None
    buf = ctypes.create_string_buffer(256)
    if cmd == "shm_info_counts":             # struct shm_info: int used_ids, then unsigned longs
        index = shm_index(ident, buf)
        highest = libc.shmctl(0, 14, buf)
        if highest == -1:
            return err(), None
        return "ok", [index is not None and highest >= index] + list(struct.unpack_from("<i4xQQQ", buf.raw))
    if cmd == "stat_any_count":
        highest = libc.shmctl(0, 14, buf)
        return (err(), None) if highest == -1 else (
            "ok", sum(libc.shmctl(i, 15, buf) != -1 for i in range(highest + 1)))
    if cmd == "sysvipc":                     # /proc/sysvipc/shm: rows, and size, rss, swap summed
        lines = open("/proc/sysvipc/shm").read().splitlines()
        head = lines[0].lower().split()
        rows = [line.split() for line in lines[1:] if line.strip()]
        return "ok", [len(rows)] + [sum(int(r[head.index(c)]) for r in rows) for c in ("size", "rss", "swap")]
    if cmd in ("info", "shm_info"):
        index = shm_index(ident, buf)
        highest = libc.shmctl(0, 14 if cmd == "shm_info" else 3, buf)
        return (err(), None) if highest == -1 else ("ok", index is not None and highest >= index)
    if cmd in ("shm_stat", "shm_stat_any", "shm_stat_times"):
        index = shm_index(ident, buf)
        got = libc.shmctl(-1 if index is None else index, 15 if cmd == "shm_stat_any" else 13, buf)
    elif cmd == "shm_stat_id":
        got = libc.shmctl(ident, 13, buf)
    else:                                    # stat, stat_full
        got = libc.shmctl(ident, 2, buf)
    if got == -1:
        return err(), None
    raw = buf.raw
    return "ok", [struct.unpack_from("<i", raw, 0)[0], struct.unpack_from("<H", raw, 20)[0],
                  struct.unpack_from("<Q", raw, 48)[0], struct.unpack_from("<Q", raw, 88)[0],
                  struct.unpack_from("<i", raw, 80)[0], struct.unpack_from("<i", raw, 84)[0], got,
                  ] + list(struct.unpack_from("<qqq", raw, 56))    # shm_atime, shm_dtime, shm_ctime


def perform(c):
    """One call with every handle already resolved to a number; returns (result, value)."""
    op = c["op"]
    if op == "read":
        return str(ctypes.string_at(c["addr"], 1)[0]), None
    if op == "write":
        ctypes.memset(c["addr"], c["value"], 1)
        return "ok", None
    if op == "shmget":
        ident = libc.shmget(c["key"], c["size"], c["flags"])
        return (err(), None) if ident == -1 else ("ok", ident)
    if op == "shmat":
        return addr_call(libc.shmat(c["id"], c["addr"], c["flags"])), None
    if op == "shmdt":
        return call(libc.shmdt(c["addr"])), None
    if op == "shmctl":
        if c["cmd"] == "set":    # IPC_SET reads shm_perm.uid, .gid and .mode only
            buf = ctypes.create_string_buffer(256)
            struct.pack_into("<III", buf, 4, c["uid"], c["gid"], 0)
            struct.pack_into("<I", buf, 20, c["mode"])
            return call(libc.shmctl(c["id"], 1, buf)), None
        return perform_shmctl(c["id"], c["cmd"])
    if op == "mmap":
        return addr_call(libc.mmap(c["addr"], c["length"], c["prot"], c["flags"], c["fd"],
                                   c["offset"])), None
    if op == "munmap":
        return call(libc.munmap(c["addr"], c["length"])), None
    if op == "mprotect":
        return call(libc.mprotect(c["addr"], c["length"], c["prot"])), None
    if op == "madvise":
        return call(libc.madvise(c["addr"], c["length"], c["advice"])), None
    if op == "posix_madvise":
        if c["posix_advice"] == POSIX_ADVICE["dontneed"]:
            return "ok", None      # glibc ignores POSIX_MADV_DONTNEED
        n = libc.posix_madvise(c["addr"], c["length"], c["posix_advice"])   # an error number
        return ("ok" if n == 0 else errno.errorcode.get(n, "E%d" % n)), None
    if op == "mremap":
        return addr_call(libc.mremap(c["addr"], c["old"], c["new"], c["flags"], c["to"])), None
    if op in ("open", "dup", "reopen"):
        if op == "dup":
            r, fd = os_call(os.dup, c["fd"])
        elif op == "reopen":
            r, fd = os_call(os.open, "/proc/self/fd/%d" % c["fd"], c["flags"] | os.O_CLOEXEC)
        elif c["kind"] == "memfd" and c["invalid"] == "null_name":
            libc.memfd_create.argtypes = [ctypes.c_char_p, ctypes.c_uint]
            fd = libc.memfd_create(None, c["mfd"])
            r = err() if fd == -1 else "ok"
        elif c["kind"] == "memfd":
            name = "x" * 250 if c["invalid"] == "long_name" else "repro"
            r, fd = os_call(os.memfd_create, name, 0xFFFFFFFF if c["invalid"] == "flags" else c["mfd"])
        elif c["kind"] == "shm":
            fd = libc.shm_open(c["path"].encode(), c["flags"], c["mode"])
            r = err() if fd == -1 else "ok"
        else:
            r, fd = os_call(os.open, c["path"], c["flags"] | os.O_CLOEXEC, c["mode"])
        if r == "ok" and fd != c["number"]:
            os.dup2(fd, c["number"], inheritable=False)
            os.close(fd)
        return r, None
    if op == "close":
        return os_call(os.close, c["fd"])[0], None
    if op == "ftruncate":
        return os_call(os.ftruncate, c["fd"], c["length"])[0], None
    if op == "pread":
        r, data = os_call(os.pread, c["fd"], 1, c["offset"])
        return (r if r != "ok" else (str(data[0]) if data else "eof")), None
    if op == "pwrite":
        return os_call(os.pwrite, c["fd"], bytes([c["value"]]), c["offset"])[0], None
    if op == "shm_unlink":
        return call(libc.shm_unlink(c["path"].encode())), None
    if op in ("setuid", "setgid"):     # glibc: for every thread of the process
        return os_call(os.setuid if op == "setuid" else os.setgid, c["id"])[0], None
    if op == "seal":
        import fcntl
        return os_call(fcntl.fcntl, c["fd"], 1033, c["seals"])[0], None
    if op == "seals":     # F_GET_SEALS, F_SEAL_EXEC (0x20) left out as the case format does
        import fcntl
        r, got = os_call(fcntl.fcntl, c["fd"], 1034)
        names = [n for b, n in enumerate(SEALS) if r == "ok" and got >> b & 1]
        return (r if r != "ok" else "seals(%s)" % ("+".join(names) or "none")), None
    if op == "fallocate":
        libc.fallocate.argtypes = [ci, ci, cl, cl]
        return call(libc.fallocate(c["fd"], 3 if c["punch"] else 0, c["offset"], c["length"])), None
    if op == "fstat":
        r, st = os_call(os.fstat, c["fd"])
        return (r if r != "ok" else "size(%d)" % st.st_size), None
    if op == "maps":          # /proc/self/maps over [addr, end), pages counted from addr
        records = []
        for line in open("/proc/self/maps"):
            span, perms = line.split()[:2]
            low, high = (int(x, 16) for x in span.split("-"))
            if low < c["end"] and c["addr"] < high:
                records.append("%d-%d:%s" % ((max(low, c["addr"]) - c["addr"]) // PAGE,
                                             (min(high, c["end"]) - c["addr"]) // PAGE, perms))
        return "maps(%s)" % ",".join(records), None
    if op in ("mlock", "munlock"):
        return call(getattr(libc, op)(c["addr"], c["length"])), None
    if op == "msync":
        return call(libc.msync(c["addr"], c["length"], c["flags"])), None
    if op == "vmlck":         # VmLck of /proc/self/status, kB -> pages
        kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmLck:"))
        return "vmlck(%d)" % (kb // 4), None
    raise ValueError(op)


# --- the case processes: one command pipe each, one shared result pipe ---------------------

def reply(message):
    os.write(RESULT_W, (json.dumps(message) + "\n").encode())


def thread_loop(q):
    while True:
        c = q.get()
        if serve_one(c) == "end":
            return


def serve(k):
    """Process k's first thread: reads its commands; other threads' go to their queues."""
    reply({"hello": k, "pid": os.getpid()})
    queues = {}
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = os.read(CMD[k][0], 4096)
            if not chunk:
                os._exit(0)
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        c = json.loads(line)
        if c["op"] == "spawn":
            q = queues[c["bind"]] = queue.Queue()
            threading.Thread(target=thread_loop, args=(q,), daemon=True).start()
            reply({"i": c["i"], "r": "ok"})
        elif c["thread"] in queues:
            queues[c["thread"]].put(c)
        else:
            serve_one(c)


def serve_one(c):
    if c["op"] == "exit":
        os._exit(0)
    if c["op"] == "thread_exit":
        reply({"i": c["i"], "r": "ok"})
        return "end"
    if c["op"] == "fork":
        middle = os.fork()
        if middle == 0:
            if os.fork() == 0:
                serve(c["child"])
            os._exit(0)
        os.waitpid(middle, 0)
        # the middle process copied the parent's attaches and closed them at its exit, so a
        # stat's shm_lpid may name it: the coordinator reads it as the forking process
        reply({"i": c["i"], "r": "ok", "middle": middle})
        return None
    r, v = perform(c)
    reply({"i": c["i"], "r": r, "v": v})
    return None


# --- the coordinator -----------------------------------------------------------------

def announce():
    """The first lines printed: what this script replays, and what it does not."""
    print("sharespec reproducer of case %s (profile %s): it performs the case on THIS HOST "
          "(%s %s), not on the implementation under test" % (CASE["name"], CASE["profile"],
                                                               os.uname().sysname, os.uname().release))
    if REPLAY.get("impl"):
        print("the failure was observed on: %s" % REPLAY["impl"])
    if REPLAY.get("command"):
        print("to replay the case on that implementation: %s" % REPLAY["command"])
    sys.stdout.flush()


def main():
    global RESULT_W, CMD
    announce()
    steps = CASE["steps"]
    libc.prctl(36, 1, 0, 0, 0)                 # PR_SET_CHILD_SUBREAPER
    run = "%d" % os.getpid()
    # files live on tmpfs, as the case format's per-run directory does (R07 is tmpfs's rule)
    tmp = tempfile.mkdtemp(prefix="repro-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    if any(s["op"] in ("setuid", "setgid") or s["args"].get("mode") not in (None, 0o600)
           or s["args"].get("cmd") == "set" for s in steps):
        # C07: a case starts as root, with no supplementary groups and umask 0, and "other"
        # may create and open files in its directory
        if os.geteuid() != 0:
            print("the case changes credentials or names permission bits: run this as root")
            os.rmdir(tmp)
            return 2
        os.setgroups([])
        os.umask(0)
        os.chmod(tmp, 0o777)
    if any(s["op"] == "shmctl" and s["args"].get("cmd") in ("shm_info_counts", "stat_any_count",
                                                          "sysvipc") for s in steps):
        # the IPC namespace's figures: the case runs in a namespace of its own, where every
        # segment is the case's (docs/case-format.md, "IPC figures"); it goes with this script
        if libc.unshare(0x08000000) != 0:            # CLONE_NEWIPC
            print("the case observes the IPC namespace's figures: unshare(CLONE_NEWIPC) failed "
                  "(%s); run this as root" % err())
            os.rmdir(tmp)
            return 2
    n_processes = 1 + sum(s["op"] == "fork" for s in steps)
    CMD = [os.pipe() for _ in range(n_processes)]
    result_r, RESULT_W = os.pipe()
    slot, base, seg_ids, fds, proc_of, pids = {}, {}, {}, {}, {"T0": 0}, {}
    state = {0: "alive"}
    keys = {}
    for s in steps:
        if s.get("bind") and s["op"] in ("mmap", "shmat", "mremap"):
            slot.setdefault(s["bind"], len(slot))
        if s.get("bind") and s["op"] in ("open", "dup", "reopen"):
            fds.setdefault(s["bind"], FD_BASE + len(fds))
    if os.fork() == 0:
        serve(0)
    pending, stash = b"", []

    def next_message(pid, deadline, kind="i"):
        """The next message of this kind ("i": a step's result, "hello": a new process),
        or the acting process's wait status if it ended first."""
        nonlocal pending
        while True:
            for m in stash:
                if kind in m:
                    stash.remove(m)
                    return m
            if b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                stash.append(json.loads(line))
                continue
            if pid is not None:
                got, status = os.waitpid(pid, os.WNOHANG)
                if got:
                    return {"status": status}
            if time.monotonic() > deadline:
                return {"timeout": True}
            ready, _, _ = select.select([result_r], [], [], 0.05)
            if ready:
                pending += os.read(result_r, 65536)

    def address(place):
        m = place["mapping"]
        return base.get(m, ARENA + slot.get(m, len(slot)) * 256 * PAGE) + place["page"] * PAGE + place["offset"]

    pids[0] = next_message(None, time.monotonic() + 5, "hello")["pid"]
    results = []
    try:
        code = run_steps(steps, results, locals())
    finally:
        clean_up(pids, seg_ids, steps, run, tmp)
    if code is not None:
        return code
    return verdict(steps, results)


def run_steps(steps, results, env):
    (proc_of, state, slot, base, seg_ids, fds, keys, pids, next_message, address, run, tmp) = (
        env[n] for n in ("proc_of", "state", "slot", "base", "seg_ids", "fds", "keys", "pids",
                         "next_message", "address", "run", "tmp"))
    forks = 0
    first = {0: "T0"}         # process number -> its first thread (how a stat names a process)
    middles = {}              # pid of a fork's middle process -> the forking process number
    made_at, started = {}, time.time()   # segment id -> time.time() before the shmget that made it
    for i, s in enumerate(steps):
        a, op = s["args"], s["op"]
        k = proc_of.get(s["thread"], -1)
        if state.get(k) != "alive":
            results.append("dead")
            continue
        c = {"i": i, "thread": s["thread"], "op": op, "bind": s.get("bind")}
        at_break = op == "brk" or (a.get("at") or {}).get("mapping") == "@brk"   # model/brk.py
        if op in ("exec",) or at_break or (op == "thread_exit" and s["thread"] in first_threads(steps)):
            print("step %d: %s is not performed by this reproducer" % (i + 1, op))
            return 2
        if op == "fork":
            forks += 1
            c["child"] = forks
            proc_of[s["bind"]] = forks
            first[forks] = s["bind"]
        elif op == "spawn":
            proc_of[s["bind"]] = k
        elif op in ("read", "write", "shmdt"):
            c["addr"] = address(a["at"])
            c["value"] = a.get("value")
        elif op == "shmget":
            key = 0 if a["key"] == "private" else keys.setdefault(a["key"], (os.getpid() * 97 + len(keys) + 1) & 0x7fffffff)
            c.update(key=key, size=a["size"], flags=a.get("mode", 0o600) | (0o1000 if a["creat"] else 0) | (0o2000 if a["excl"] else 0))
            c["flags"] |= huge_flags(0o4000, a)                  # SHM_HUGETLB, SHM_HUGE_*
        elif op == "shmat":
            at = None if a["at"] is None else address(a["at"])
            if at is None and not a["remap"]:
                at = ARENA + slot[s["bind"]] * 256 * PAGE   # its slot
            # (SHM_REMAP without an address stays NULL: Linux answers EINVAL, R27)
            c.update(id=seg_ids.get(a["segment"], -1), addr=at,
                     flags=(0o10000 if a["rdonly"] else 0) | (0o20000 if a["rnd"] else 0) | (0o40000 if a["remap"] else 0))
        elif op == "shmctl":
            c.update(id=seg_ids.get(a["segment"], -1), cmd=a["cmd"])
            if a["cmd"] == "set":    # what the step leaves out keeps its value (read as root)
                buf = ctypes.create_string_buffer(256)
                now = (0, 0, 0)
                if libc.shmctl(c["id"], 2, buf) == 0:
                    now = struct.unpack_from("<II", buf.raw, 4) + (struct.unpack_from("<H", buf.raw, 20)[0] & 0o777,)
                c.update(uid=now[0] if a.get("uid") is None else USER_IDS[a["uid"]],
                         gid=now[1] if a.get("gid") is None else USER_IDS[a["gid"]],
                         mode=now[2] if a.get("mode") is None else a["mode"])
        elif op in ("setuid", "setgid"):
            c["id"] = USER_IDS[a["uid" if op == "setuid" else "gid"]]
        elif op == "mmap":
            at = ARENA + slot[s["bind"]] * 256 * PAGE if a["at"] is None else address(a["at"])
            flags = (0 if a.get("neither") else 3 if a.get("validate") else 1 if a["shared"] else 2) \
                | (0x20 if a["fd"] is None else 0)  # neither: MAP_TYPE 0, the kernel's EINVAL
            # none: its slot, NOREPLACE (MAP_SHARED_VALIDATE refuses it: a hint instead)
            flags |= 0x10 if a["fixed"] == "replace" else 0 if a.get("validate") and a["fixed"] == "none" else 0x100000
            flags |= (0x2000 if a.get("locked") else 0) | (0x8000 if a.get("populate") else 0)
            flags |= 0x200000 if a.get("unknown") else 0    # a flag bit in no kernel's mask
            flags |= 0x100 if a.get("growsdown") else 0     # MAP_GROWSDOWN
            c.update(addr=at, length=a["length"], prot=PROT[a["prot"]], flags=flags,
                     fd=-1 if a["fd"] is None else fds[a["fd"]], offset=a["offset"])
        elif op in ("mlock", "munlock", "msync"):
            c.update(addr=address(a["at"]), length=a["length"], flags=MSYNC.get(a.get("flags"), 4))
        elif op in ("munmap", "mprotect", "madvise", "posix_madvise"):
            c.update(addr=address(a["at"]), length=a["length"], prot=PROT.get(a.get("prot"), 0),
                     advice=ADVICE.get(a.get("advice"), 0),
                     posix_advice=POSIX_ADVICE.get(a.get("advice"), 4))
        elif op == "mremap":
            to = ARENA + slot[s["bind"]] * 256 * PAGE if s.get("bind") else None
            flags = 0 if a["mode"] == "grow" else 3          # MREMAP_MAYMOVE|MREMAP_FIXED
            if a["mode"] == "fixed":                         # MREMAP_FIXED, MAYMOVE if asked
                to, flags = address(a["to"]), 2 | (1 if a.get("maymove") else 0)
            flags |= 4 if a.get("dontunmap") else 0              # MREMAP_DONTUNMAP
            c.update(addr=address(a["at"]), old=a["old_length"], new=a["new_length"],
                     flags=flags, to=to)
        elif op == "open":
            path = os.path.join(tmp, a["name"]) if a["kind"] == "file" else "/repro-%s-%s" % (run, a["name"])
            access = os.O_RDONLY if a["rdonly"] else os.O_WRONLY if a.get("wronly") else os.O_RDWR
            flags = access | (os.O_CREAT if a["creat"] else 0) | (os.O_EXCL if a["excl"] else 0)
            c.update(kind=a["kind"], path=path, flags=flags, number=fds[s["bind"]],
                     mode=a.get("mode", 0o600), invalid=a.get("invalid", "none"),
                     mfd=(1 if a.get("nosealing") else 3) | huge_flags(4, a))   # MFD_HUGETLB
        elif op in ("dup", "reopen"):
            mode = {"rdwr": os.O_RDWR, "rdonly": os.O_RDONLY, "wronly": os.O_WRONLY}[a.get("mode", "rdwr")]
            c.update(fd=fds.get(a["fd"], FD_BASE + 99), number=fds[s["bind"]],
                     flags=mode | (os.O_TRUNC if a.get("trunc") else 0))
        elif op in ("close", "ftruncate", "pread", "pwrite", "seal", "seals", "fallocate", "fstat"):
            c.update(fd=fds.get(a["fd"], FD_BASE + 99), length=a.get("length"), offset=a.get("offset"), value=a.get("value"),
                     punch=a.get("punch"), seals=sum(1 << SEALS.index(n) for n in a.get("seal", "none").split("+") if n != "none"))
        elif op == "shm_unlink":
            c["path"] = "/repro-%s-%s" % (run, a["name"])
        elif op == "maps":        # to the end of the slot the handle's first page lies in
            at = address({"mapping": a["mapping"], "page": 0, "offset": 0})
            c.update(addr=at, end=ARENA + ((at - ARENA) // (256 * PAGE) + 1) * 256 * PAGE)
        began = time.time()       # a times window starts at the shmget that made the segment
        os.write(CMD[k][1], (json.dumps(c) + "\n").encode())
        m = next_message(pids[k], time.monotonic() + 10)
        if "timeout" in m:
            results.append("timeout")
            break
        if "status" in m:
            st = m["status"]
            if os.WIFSIGNALED(st):
                results.append(signal.Signals(os.WTERMSIG(st)).name)
                state[k] = "dead"
            else:
                results.append("ok")      # exit
                state[k] = "gone"
            continue
        r = m["r"]
        if op == "fork" and r == "ok":
            middles[m.get("middle")] = k
            hello = next_message(None, time.monotonic() + 5, "hello")
            pids[hello["hello"]] = hello["pid"]
            state[hello["hello"]] = "alive"
        if op == "shmget":
            ident = m.get("v")
            if r == "ok":
                same = [h for h, x in seg_ids.items() if x == ident]
                r = "=" + same[0] if same else "new"
                if r == "new":
                    made_at[ident] = began
            seg_ids[s["bind"]] = ident if ident is not None else -1
        if op == "shmctl" and r == "ok" and a["cmd"] in ("info", "shm_info"):
            r = "info(max>=%s)" % a["segment"] if m["v"] else "info"
        elif op == "shmctl" and r == "ok" and a["cmd"] == "shm_info_counts":
            covers, used, tot, rss, swp = m["v"]
            r = "info(%sused_ids=%d,shm_tot=%d,shm_rss=%d,shm_swp=%d)" % (
                "max>=%s," % a["segment"] if covers else "", used, tot, rss, swp)
        elif op == "shmctl" and r == "ok" and a["cmd"] == "stat_any_count":
            r = "indexes(%d)" % m["v"]
        elif op == "shmctl" and r == "ok" and a["cmd"] == "sysvipc":
            r = "sysvipc(count=%d,size=%d,rss=%d,swap=%d)" % tuple(m["v"])
        elif op == "shmctl" and r == "ok" and a["cmd"] in ("times", "shm_stat_times"):
            # whole seconds, a second earlier for the kernel's coarse clock (impl/shm_times.py)
            low = int(made_at.get(seg_ids.get(a["segment"]), started) // 1) - 1
            high = -int(-time.time() // 1)
            r = "times(%s)" % ",".join("%s=%s" % (n, "0" if t == 0 else "set" if low <= t <= high else "out")
                                       for n, t in zip(("atime", "dtime", "ctime"), m["v"][7:]))
        elif op == "shmctl" and r == "ok" and a["cmd"] not in ("rmid", "set", "lock", "unlock", "invalid"):
            key, mode, segsz, nattch, cpid, lpid, got = m["v"][:7]
            name = next((n for n, x in keys.items() if x == key), "private")
            r = "stat(nattch=%d,segsz=%d,dest=%d,key=%s" % (nattch, segsz, 1 if mode & 0o1000 else 0, name)
            if a["cmd"] != "stat":     # SHM_LOCKED 0o2000; a process by its first thread
                by_pid = {pid: first[number] for number, pid in pids.items() if number in first}
                by_pid.update((pid, first[number]) for pid, number in middles.items())
                r += ",locked=%d,cpid=%s,lpid=%s" % (1 if mode & 0o2000 else 0, by_pid.get(cpid, "?"),
                                                     "none" if lpid == 0 else by_pid.get(lpid, "?"))
            if a["cmd"].startswith("shm_stat"):
                r += ",id=%s" % next((h for h, x in seg_ids.items() if x == got), "?")
            r += ")"
        if r == "ok" and s.get("bind") and a.get("at") is not None and (op == "shmat" or a.get("fixed", "none") != "none"):
            at = address(a["at"])
            base[s["bind"]] = at - at % SHMLBA if op == "shmat" and a["rnd"] else at
        results.append(r)
    return None


def clean_up(pids, seg_ids, steps, run, tmp):
    for pid in pids.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for ident in set(seg_ids.values()):
        if ident is not None and ident >= 0:
            libc.shmctl(ident, 0, None)
    for s in steps:
        if s["op"] == "open" and s["args"]["kind"] == "shm":
            libc.shm_unlink(("/repro-%s-%s" % (run, s["args"]["name"])).encode())
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break


def verdict(steps, results):
    deviation = 0
    for i, (s, r) in enumerate(zip(steps, results)):
        allowed = s.get("allowed", [])
        mark = "" if r in allowed else "   <-- not allowed"
        print("step %d: %s %s -> %s%s" % (i + 1, s["thread"], s["op"], r, mark))
        if r not in allowed and not deviation:
            deviation = i + 1
            first = "step %d: observed %s, the %s profile allows %s" % (i + 1, r, CASE["profile"], " | ".join(allowed))
    if deviation:
        print(first)
        return 1
    print("every step's result is one the %s profile allows" % CASE["profile"])
    return 0


def first_threads(steps):
    """Threads that start a process (T0 and fork's): their thread_exit is not performed."""
    return {"T0"} | {s["bind"] for s in steps if s["op"] == "fork"}


if __name__ == "__main__":
    sys.exit(main())
