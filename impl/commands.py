"""A step as its case process receives it: everything resolved to what the call takes.

Addresses come from the case's places (addresses.Places), keys and names from its namespace
(hygiene.Namespace), segment ids from the answers of earlier shmgets, descriptor numbers from
the fd handles (addresses.fd_number), flags from syscalls. Fork and spawn name pipes, which
the executor adds (executor.CaseRun.pipes_for_fork).
"""
import os

from . import addresses, syscalls

INFO_COUNTS = ("used_ids", "shm_tot", "shm_rss", "shm_swp")   # SHM_INFO's, in order


class Resolver:
    """The commands of one case, resolved step by step as the case goes."""

    def __init__(self, plan, places, names):
        self.plan = plan
        self.places = places
        self.names = names
        self.segment_ids = {}       # segment handle -> id (-1 if its shmget failed)

    def command(self, step):
        op, args = step.op, step.args
        command = {"op": op}
        if "at" in args and op not in ("shmat", "mmap"):
            command["addr"] = self.places.place(args["at"])
        if op in ("munmap", "mprotect", "madvise", "posix_madvise", "mlock", "munlock", "msync"):
            command["length"] = args["length"]
        if op == "msync":
            command["flags"] = syscalls.MSYNC_FLAGS[args["flags"]]
        if op == "write":
            command["value"] = args["value"]
        elif op == "shmget":
            flags = args["mode"]
            flags |= syscalls.IPC_CREAT if args["creat"] else 0
            flags |= syscalls.IPC_EXCL if args["excl"] else 0
            flags |= syscalls.huge_flags(syscalls.SHM_HUGETLB, args["hugetlb"], args["huge"])
            command.update(key=self.names.key(args["key"]), size=args["size"], flags=flags)
        elif op == "shmat":
            flags = syscalls.SHM_RDONLY if args["rdonly"] else 0
            flags |= syscalls.SHM_RND if args["rnd"] else 0
            flags |= syscalls.SHM_REMAP if args["remap"] else 0
            if args["at"] is not None:
                addr = self.places.place(args["at"])
            elif args["remap"]:
                addr = None               # R27: SHM_REMAP with a NULL address -> EINVAL
            else:
                addr = self.places.handle(step.bind)
            command.update(id=self.segment_ids[args["segment"]], addr=addr, flags=flags)
            if args["at"] is not None and args["at"]["mapping"] == addresses.BRK:
                command["brk"] = True     # addr counts from the break (impl/worker.py)
        elif op == "shmctl":
            command.update(id=self.segment_ids[args["segment"]], cmd=args["cmd"])
            if args["cmd"] == "set":
                command.update(self.ipc_set_arguments(args))
        elif op in ("setuid", "setgid"):
            command["id"] = syscalls.USER_IDS[args["uid" if op == "setuid" else "gid"]]
        elif op == "mmap":
            command.update(self.mmap_arguments(step))
        elif op == "mprotect":
            command["prot"] = syscalls.PROTECTIONS[args["prot"]]
        elif op == "madvise":
            command["advice"] = syscalls.MADVICES[args["advice"]]
        elif op == "posix_madvise":
            command["advice"] = syscalls.POSIX_MADVICES[args["advice"]]
        elif op == "maps":
            # from the handle's first page to the end of the slot it lies in: nothing the case
            # does not own (docs/case-format.md, "Mapping observations")
            start = self.places.handle(args["mapping"])
            command.update(addr=start, end=addresses.slot_end(start))
        elif op == "mremap":
            flags, new_addr = 0, None
            if args["mode"] == "fixed":
                flags = syscalls.MREMAP_FIXED
                flags |= syscalls.MREMAP_MAYMOVE if args["maymove"] else 0
                new_addr = self.places.place(args["to"])
            elif args["mode"] != "grow":
                flags = syscalls.MREMAP_MAYMOVE | syscalls.MREMAP_FIXED
                new_addr = self.places.handle(step.bind)
            flags |= syscalls.MREMAP_DONTUNMAP if args["dontunmap"] else 0
            command.update(old_length=args["old_length"], new_length=args["new_length"],
                           flags=flags, new_addr=new_addr)
        elif op == "open":
            flags = os.O_RDONLY if args["rdonly"] else os.O_WRONLY if args["wronly"] else os.O_RDWR
            flags |= os.O_CREAT if args["creat"] else 0
            flags |= os.O_EXCL if args["excl"] else 0
            path = ""
            if args["kind"] == "shm":
                path = self.names.shm_name(args["name"])
            elif args["kind"] == "file":
                path = self.names.file_path(args["name"])
            command.update(kind=args["kind"], path=path, flags=flags, mode=args["mode"],
                           number=addresses.fd_number(self.plan, step.bind),
                           nosealing=args["nosealing"], invalid=args["invalid"],
                           huge=syscalls.huge_flags(syscalls.MFD_HUGETLB, args["hugetlb"],
                                                    args["huge"]))
        elif op in ("dup", "reopen"):
            command.update(fd=addresses.fd_number(self.plan, args["fd"]),
                           number=addresses.fd_number(self.plan, step.bind))
            if op == "reopen":
                flags = {"rdwr": os.O_RDWR, "rdonly": os.O_RDONLY, "wronly": os.O_WRONLY}
                command["flags"] = flags[args["mode"]] | (os.O_TRUNC if args["trunc"] else 0)
        elif op == "seal":
            command["fd"] = addresses.fd_number(self.plan, args["fd"])
            command["seals"] = sum(syscalls.SEAL_BITS[name] for name in args["seal"].split("+")
                                   if name != "none")
        elif op == "fallocate":
            command.update(fd=addresses.fd_number(self.plan, args["fd"]), offset=args["offset"],
                           length=args["length"],
                           mode=(syscalls.FALLOC_FL_PUNCH_HOLE | syscalls.FALLOC_FL_KEEP_SIZE
                                 if args["punch"] else 0))
        elif op in ("close", "ftruncate", "pread", "pwrite", "seals", "fstat"):
            command["fd"] = addresses.fd_number(self.plan, args["fd"])
            for name in ("length", "offset", "value"):
                if name in args:
                    command[name] = args[name]
        elif op == "shm_unlink":
            command["name"] = self.names.shm_name(args["name"])
        return command

    def ipc_set_arguments(self, args):
        """IPC_SET sets uid, gid and mode together: what the step leaves out (None here) keeps
        its value, which the case's own process reads just before the call (worker._shmctl):
        a case with its own IPC namespace has its segment ids there only, and in the
        executor's namespace the same id may name another user's segment."""
        return {"uid": None if args["uid"] is None else syscalls.USER_IDS[args["uid"]],
                "gid": None if args["gid"] is None else syscalls.USER_IDS[args["gid"]],
                "mode": args["mode"]}

    def mmap_arguments(self, step):
        """MAP_SHARED or MAP_PRIVATE (or neither); anonymous or the fd; where the system chooses, the
        handle's slot with MAP_FIXED_NOREPLACE; with fixed, MAP_FIXED(_NOREPLACE) at the place."""
        args = step.args
        flags = syscalls.MAP_SHARED if args["shared"] else syscalls.MAP_PRIVATE
        if args["validate"]:
            flags = syscalls.MAP_SHARED_VALIDATE
        if args["neither"]:
            flags = syscalls.MAP_NEITHER   # neither bit of MAP_TYPE: the kernel's EINVAL
        flags |= syscalls.MAP_LOCKED if args["locked"] else 0
        flags |= syscalls.MAP_POPULATE if args["populate"] else 0
        flags |= syscalls.MAP_UNKNOWN_FLAG if args["unknown"] else 0
        flags |= syscalls.MAP_GROWSDOWN if args["growsdown"] else 0
        fd = -1
        if args["fd"] is None:
            flags |= syscalls.MAP_ANONYMOUS
        else:
            fd = addresses.fd_number(self.plan, args["fd"])
        # MAP_SHARED_VALIDATE refuses MAP_FIXED_NOREPLACE (EOPNOTSUPP, observed on 6.18): a
        # validated mapping of the case's choosing goes to its slot by a hint instead, and one
        # placed elsewhere is undone (worker._mmap)
        hint = args["validate"] and args["fixed"] == "none"
        if args["fixed"] == "replace":
            flags |= syscalls.MAP_FIXED
        elif not hint:
            flags |= syscalls.MAP_FIXED_NOREPLACE
        if args["fixed"] != "none" and args["at"] is not None:
            addr = self.places.place(args["at"])
        else:
            addr = self.places.handle(step.bind)
        return {"addr": addr, "length": args["length"], "prot": syscalls.PROTECTIONS[args["prot"]],
                "flags": flags, "fd": fd, "offset": args["offset"],
                "noreplace": args["fixed"] == "noreplace", "hint": hint}

    # --- what an answer means for the later steps ----------------------------------------

    def segment_result(self, step, result, ident):
        """R21, R22: "new" or "=S" for the earlier handle bound to the same identifier."""
        if result != "ok":
            self.segment_ids[step.bind] = -1
            return result
        same = [h for h, i in self.segment_ids.items() if i == ident]
        self.segment_ids[step.bind] = ident
        return "=" + same[0] if same else "new"

    def stat_result(self, cmd, fields, pids):
        """The stat's text; with the lock bit and cpid/lpid for all but ``stat``, named by the
        first thread of the case process with that pid (``pids``: pid -> process number;
        "none" for pid 0, "?" for a pid of no case process), and SHM_STAT's identifier named
        by the first segment handle bound to it ("?" if none)."""
        dest = 1 if fields["mode"] & syscalls.SHM_DEST else 0
        text = "stat(nattch=%d,segsz=%d,dest=%d,key=%s" % (
            fields["nattch"], fields["segsz"], dest, self.names.key_name(fields["key"]))
        if cmd != "stat":
            locked = 1 if fields["mode"] & syscalls.SHM_LOCKED else 0
            text += ",locked=%d,cpid=%s,lpid=%s" % (locked, self.process_name(fields["cpid"], pids),
                                                    self.process_name(fields["lpid"], pids))
        if "id" in fields:
            same = [h for h, i in self.segment_ids.items() if i == fields["id"]]
            text += ",id=%s" % (same[0] if same else "?")
        return text + ")"

    def process_name(self, pid, pids):
        if pid == 0:
            return "none"
        if pid not in pids:
            return "?"
        return self.plan.threads_of[pids[pid]][0]

    def info_result(self, segment, value):
        """info(max>=S): the highest index in use is at least S's index; info: S is gone; with
        SHM_INFO's counts (shm_info_counts) they follow: info(max>=S,used_ids=1,...)."""
        parts = ["max>=%s" % segment] if value["covers"] else []
        if "counts" in value:
            parts += ["%s=%d" % pair for pair in zip(INFO_COUNTS, value["counts"])]
        return "info(%s)" % ",".join(parts) if parts else "info"

    def bound(self, step):
        """A mapping placed at an explicit place means that place from now on (R26: shmat
        with rnd rounds down to SHMLBA); a failed binding keeps its slot."""
        args = step.args
        if args.get("at") is not None and args["at"]["mapping"] == addresses.BRK:
            return                        # never used again (validated): no address to keep
        if args.get("at") is not None and (
                step.op == "shmat" or (step.op == "mmap" and args["fixed"] != "none")):
            address = self.places.place(args["at"])
            if step.op == "shmat" and args["rnd"]:
                address -= address % addresses.SHMLBA
            self.places.bind_at(step.bind, address)
