"""Cases in, observations out: the JSON of docs/case-format.md.

parse_case() checks a case dict and turns it into a Plan: the steps with every default filled
in, and what the case says statically (which process each thread belongs to, who forks whom,
which slot each mapping handle owns, which descriptor number each fd handle gets, which key
and object names it uses). Anything wrong raises CaseError with a message naming the problem.
"""
import json
import re

from . import addresses

FORMAT = "sharespec-case"
VERSION = 1
TOP_LEVEL = {"format", "version", "name", "profile", "rules", "origin", "description", "steps"}
STEP_FIELDS = {"thread", "op", "bind", "args", "allowed"}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
OBJECT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
PAGES_PER_SLOT = 256
PAGE = 4096

REQUIRED = object()
# shmctl's commands (docs/case-format.md): IPC_RMID, IPC_STAT (four fields, or with the lock
# bit, cpid and lpid), SHM_LOCK, SHM_UNLOCK, SHM_STAT(_ANY) of a segment's index, SHM_STAT of
# the identifier, IPC_INFO, SHM_INFO, an invalid command
SHMCTL_COMMANDS = ("rmid", "stat", "set", "stat_full", "lock", "unlock", "shm_stat", "shm_stat_any",
                   "shm_stat_id", "info", "shm_info", "invalid",
                   "shm_info_counts", "stat_any_count", "sysvipc",
                   "times", "shm_stat_times")   # shm_atime, shm_dtime, shm_ctime (shm_times.py)
# The IPC namespace's figures: a case with one runs in a fresh IPC namespace (ipc_namespace.py)
FIGURE_COMMANDS = ("shm_info_counts", "stat_any_count", "sysvipc")
PROTECTIONS = ("rw", "r", "none", "w", "x", "rx")   # docs/case-format.md
# MFD_HUGE_* / SHM_HUGE_* sizes by name (syscalls.HUGE_LOG2); "default" passes no size
HUGE_SIZES = ("default", "16kb", "64kb", "512kb", "1mb", "2mb", "8mb", "16mb", "32mb", "256mb",
              "512mb", "1gb", "2gb", "16gb")

# memfd seals in the kernel's bit order (F_SEAL_SEAL 1 ... F_SEAL_FUTURE_WRITE 16); a set of
# them is the names joined by "+" in that order, the empty set "none" (docs/case-format.md)
SEAL_NAMES = ("seal", "shrink", "grow", "write", "future_write")
SEAL_SETS = ("none",) + tuple(
    "+".join(name for bit, name in enumerate(SEAL_NAMES) if mask >> bit & 1)
    for mask in range(1, 1 << len(SEAL_NAMES)))

# op -> (kind of handle it binds or None, [(argument, type, default)])
OPERATIONS = {
    "fork": ("thread", []),
    "spawn": ("thread", []),
    "thread_exit": (None, []),
    "exit": (None, []),
    "exec": (None, []),
    "setuid": (None, [("uid", ("root", "other"), REQUIRED)]),
    "setgid": (None, [("gid", ("root", "other"), REQUIRED)]),
    "shmget": ("segment", [("key", "key", REQUIRED), ("size", "int", REQUIRED),
                           ("creat", "bool", False), ("excl", "bool", False),
                           ("mode", "mode", 0o600), ("hugetlb", "bool", False),
                           ("huge", HUGE_SIZES, "default")]),
    "shmat": ("mapping", [("segment", "segment", REQUIRED), ("at", "place?", None),
                          ("rdonly", "bool", False), ("rnd", "bool", False),
                          ("remap", "bool", False)]),
    "shmdt": (None, [("at", "place", REQUIRED)]),
    "shmctl": (None, [("segment", "segment", REQUIRED), ("cmd", SHMCTL_COMMANDS, REQUIRED),
                      ("mode", "mode", None), ("uid", ("root", "other"), None),
                      ("gid", ("root", "other"), None)]),
    "mmap": ("mapping", [("shared", "bool", False), ("prot", PROTECTIONS, REQUIRED),
                         ("length", "int", REQUIRED), ("fd", "fd?", None), ("offset", "int", 0),
                         ("at", "place?", None),
                         ("fixed", ("none", "replace", "noreplace"), "none"),
                         ("locked", "bool", False), ("populate", "bool", False),
                         ("validate", "bool", False), ("unknown", "bool", False),
                         ("growsdown", "bool", False), ("neither", "bool", False)]),
    "munmap": (None, [("at", "place", REQUIRED), ("length", "int", REQUIRED)]),
    "mprotect": (None, [("at", "place", REQUIRED), ("length", "int", REQUIRED),
                        ("prot", PROTECTIONS, REQUIRED)]),
    "madvise": (None, [("at", "place", REQUIRED), ("length", "int", REQUIRED),
                       ("advice", ("dontneed", "remove", "dontfork", "dofork", "wipeonfork",
                                   "keeponfork", "free", "normal", "random", "sequential",
                                   "willneed", "cold", "pageout", "dontdump", "dodump",
                                   "hugepage", "nohugepage", "mergeable", "unmergeable",
                                   "guard_install", "guard_remove", "invalid"), REQUIRED)]),
    "posix_madvise": (None, [("at", "place", REQUIRED), ("length", "int", REQUIRED),
                             ("advice", ("dontneed", "normal", "random", "sequential",
                                         "willneed"), "dontneed")]),
    "mremap": ("mapping", [("at", "place", REQUIRED), ("old_length", "int", REQUIRED),
                           ("new_length", "int", REQUIRED),
                           ("mode", ("grow", "move", "alias", "fixed"), REQUIRED),
                           ("to", "place?", None), ("maymove", "bool", False),
                           ("dontunmap", "bool", False)]),
    "open": ("fd", [("kind", ("file", "shm", "memfd"), REQUIRED), ("name", "name", ""),
                    ("creat", "bool", False), ("excl", "bool", False), ("rdonly", "bool", False),
                    ("mode", "mode", 0o600),
                    ("wronly", "bool", False), ("nosealing", "bool", False),
                    ("invalid", ("none", "null_name", "long_name", "flags"), "none"),
                    ("hugetlb", "bool", False), ("huge", HUGE_SIZES, "default")]),
    "close": (None, [("fd", "fd", REQUIRED)]),
    "ftruncate": (None, [("fd", "fd", REQUIRED), ("length", "int", REQUIRED)]),
    "pread": (None, [("fd", "fd", REQUIRED), ("offset", "int", 0)]),
    "pwrite": (None, [("fd", "fd", REQUIRED), ("offset", "int", 0), ("value", "byte", REQUIRED)]),
    "shm_unlink": (None, [("name", "name", REQUIRED)]),
    "seal": (None, [("fd", "fd", REQUIRED), ("seal", SEAL_SETS, "write")]),
    "seals": (None, [("fd", "fd", REQUIRED)]),
    "dup": ("fd", [("fd", "fd", REQUIRED)]),
    "reopen": ("fd", [("fd", "fd", REQUIRED), ("mode", ("rdwr", "rdonly", "wronly"), "rdwr"),
                      ("trunc", "bool", False)]),
    "fallocate": (None, [("fd", "fd", REQUIRED), ("offset", "int", REQUIRED),
                         ("length", "int", REQUIRED), ("punch", "bool", False)]),
    "fstat": (None, [("fd", "fd", REQUIRED)]),
    "read": (None, [("at", "place", REQUIRED)]),
    "write": (None, [("at", "place", REQUIRED), ("value", "byte", REQUIRED)]),
    "frames": (None, [("places", "frame-places", REQUIRED)]),     # impl/pagemap.py
    "maps": (None, [("mapping", "mapping", REQUIRED)]),           # /proc/self/maps
    "mlock": (None, [("at", "place", REQUIRED), ("length", "int", REQUIRED)]),
    "munlock": (None, [("at", "place", REQUIRED), ("length", "int", REQUIRED)]),
    "msync": (None, [("at", "place", REQUIRED), ("length", "int", REQUIRED),
                     ("flags", ("sync", "async", "invalidate", "sync+invalidate",
                                "async+invalidate", "none", "sync+async", "unknown"), "sync")]),
    "vmlck": (None, []),                                           # VmLck of /proc/self/status
    "brk": (None, [("at", "place", REQUIRED)]),                    # at @brk[k]: impl/worker.py
}


ARGUMENTS = {op: frozenset(arg for arg, _, _ in spec) for op, (_, spec) in OPERATIONS.items()}


class CaseError(ValueError):
    """The input is not a valid case; the message says why."""


class Step:
    def __init__(self, index, thread, op, bind, args):
        self.index = index
        self.thread = thread
        self.op = op
        self.bind = bind        # the handle the step binds, or None
        self.args = args


class Plan:
    """What the executor needs to run a case."""

    def __init__(self, name):
        self.name = name
        self.steps = []
        self.process_of = {"T0": 0}        # thread -> process number (0 = the first process)
        self.parent = {0: None}            # process -> the process that forked it
        self.threads_of = {0: ["T0"]}      # process -> its threads, in order of creation
        self.kinds = {"T0": "thread"}      # handle -> thread, segment, mapping or fd
        self.slots = {}                    # mapping handle -> slot number
        self.fd_numbers = {}               # fd handle -> index among fd handles
        self.keys = []                     # SysV key names, in order of first use
        self.shm_names = []                # POSIX shm object names
        self.file_names = []               # file names in the case's directory
        # whether it changes credentials or names permission bits (C07): it then needs to
        # start as root, with no supplementary groups and umask 0 (first_process.py)
        self.credentials = False
        self.dropped = set()               # processes that setuid'd to other (or inherited it)
        self.exec_as_other = False         # an exec by such a process (features: other_exec)
        # it observes the IPC namespace's figures: it runs in a fresh IPC namespace of its own
        # (features: ipc_namespace)
        self.private_ipc = False
        self.nil_page = False              # a place at @zero (needs vm.mmap_min_addr > 0)
        self.hugetlb = False               # it makes a huge-page object (features: hugepages_empty)

    def subtree(self, process):
        """The process and every process forked from it, directly or not."""
        found = [process]
        for child in sorted(self.parent):
            if self.parent[child] is not None and self.parent[child] in found:
                found.append(child)
        return found


def observation(name, status, results, detail=""):
    return {"format": "sharespec-observation", "version": 1, "case": name,
            "status": status, "results": list(results), "detail": detail}


ENCODER = json.JSONEncoder(separators=(", ", ": "))   # made once: json.dumps makes one a call


def dumps(obj):
    return ENCODER.encode(obj)


def parse_line(line):
    """A case dict from one JSON line; CaseError if it is not a JSON object."""
    try:
        case = json.loads(line)
    except ValueError as error:
        raise CaseError("not JSON: %s" % error) from None
    except RecursionError:      # the decoder recurses once per level of nesting
        raise CaseError("not a case: JSON nested too deeply") from None
    if not isinstance(case, dict):
        raise CaseError("a case is a JSON object, not %s" % type(case).__name__)
    return case


def plan_or_error(case):
    """The plan of a case, or the text of an observation's detail saying why there is none.
    A reader that fails on some input other than by CaseError is a bug here, but the input
    is still only an invalid case: it is said so, and the executor carries on."""
    try:
        return parse_case(case)
    except CaseError as error:
        return "invalid case: %s" % error
    except (RecursionError, MemoryError):
        return "invalid case: too deeply nested or too large"
    except Exception as error:
        return "invalid case (the implementation's reader failed on it: %s: %s)" % (
            type(error).__name__, error)


def parse_case(case):
    if not isinstance(case, dict):
        raise CaseError("a case is a JSON object, not %s" % type(case).__name__)
    unknown = sorted(set(case) - TOP_LEVEL)
    if unknown:
        raise CaseError("unknown top-level field(s): %s" % ", ".join(unknown))
    if case.get("format") != FORMAT:
        raise CaseError("format must be %r, not %r" % (FORMAT, case.get("format")))
    if case.get("version") != VERSION or isinstance(case.get("version"), bool):
        raise CaseError("version must be 1, not %r" % (case.get("version"),))
    name = case.get("name", "")
    if not isinstance(name, str):
        raise CaseError("name must be a string")
    steps = case.get("steps")
    if not isinstance(steps, list):
        raise CaseError("steps must be a list")
    plan = Plan(name)
    live = {"T0"}
    for index, raw in enumerate(steps):
        try:
            _add_step(plan, live, index, raw)
        except CaseError as error:
            raise CaseError("step %d: %s" % (index, error)) from None
    return plan


def _add_step(plan, live, index, raw):
    if not isinstance(raw, dict):
        raise CaseError("a step is an object")
    if not STEP_FIELDS.issuperset(raw):
        raise CaseError("unknown field(s): %s" % ", ".join(sorted(set(raw) - STEP_FIELDS)))
    op = raw.get("op")
    if not isinstance(op, str) or op not in OPERATIONS:
        raise CaseError("unknown op %r" % (op,))
    thread = raw.get("thread")
    if not isinstance(thread, str) or plan.kinds.get(thread) != "thread":
        raise CaseError("%r is not a thread handle bound earlier" % (thread,))
    if thread not in live:
        raise CaseError("thread %s no longer exists" % thread)
    binds, spec = OPERATIONS[op]
    bind = raw.get("bind")
    args_given = raw.get("args")
    mode = args_given.get("mode") if op == "mremap" and isinstance(args_given, dict) else None
    if mode in ("grow", "fixed"):
        binds = None           # grow and fixed bind nothing; move and alias bind a mapping
    if binds is None and bind is not None:
        raise CaseError("%s binds no handle" % ("mremap " + mode if mode else op))
    if binds is not None:
        if not isinstance(bind, str) or not IDENTIFIER.match(bind):
            raise CaseError("%s needs a handle to bind, got %r" % (op, bind))
        if bind in plan.kinds:
            raise CaseError("handle %s is already bound" % bind)
    raw_args = raw.get("args", {})
    if not isinstance(raw_args, dict):
        raise CaseError("args must be an object")
    known = ARGUMENTS[op]
    if not known.issuperset(raw_args):
        extra = sorted(set(raw_args) - known)
        raise CaseError("%s has no argument(s) %s" % (op, ", ".join(extra)))
    args = {}
    for arg, kind, default in spec:
        if arg not in raw_args or (raw_args[arg] is None and default is None):
            if default is REQUIRED:
                raise CaseError("%s needs argument %r" % (op, arg))
            args[arg] = default
        else:
            args[arg] = _check(plan, op, arg, kind, raw_args[arg])
    if op == "open" and args["kind"] != "memfd" and not args["name"]:
        raise CaseError("open of a %s needs a name" % args["kind"])
    if op in ("setuid", "setgid") or (op == "shmctl" and args["cmd"] == "set") or \
            args.get("mode", 0o600) not in (0o600, None):
        plan.credentials = True
    if op == "shmctl" and args["cmd"] in FIGURE_COMMANDS:
        plan.private_ipc = True
    _note_names(plan, op, args)

    process = plan.process_of[thread]
    if binds is not None:
        plan.kinds[bind] = binds
        if binds == "mapping":
            plan.slots[bind] = len(plan.slots)
        elif binds == "fd":
            plan.fd_numbers[bind] = len(plan.fd_numbers)
        elif op == "spawn":
            plan.process_of[bind] = process
            plan.threads_of[process].append(bind)
            live.add(bind)
        elif op == "fork":
            child = len(plan.parent)
            plan.parent[child] = process
            plan.process_of[bind] = child
            plan.threads_of[child] = [bind]
            live.add(bind)
            if process in plan.dropped:
                plan.dropped.add(child)
    if op in ("open", "shmget") and (args.get("hugetlb") or args.get("huge", "default") != "default"):
        plan.hugetlb = True
    if op == "setuid" and args["uid"] == "other":
        plan.dropped.add(process)
    elif op == "exec" and process in plan.dropped:
        plan.exec_as_other = True
    if op == "thread_exit":
        live.discard(thread)
    elif op == "exit":
        live.difference_update(plan.threads_of[process])
    elif op == "exec":
        live.difference_update(t for t in plan.threads_of[process] if t != thread)
    plan.steps.append(Step(index, thread, op, bind, args))


def _check(plan, op, arg, kind, value):
    where = "%s argument %r" % (op, arg)
    if kind == "bool":
        if not isinstance(value, bool):
            raise CaseError("%s must be true or false" % where)
        return value
    if kind == "mode":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0o777:
            raise CaseError("%s must be permission bits, 0..0o777" % where)
        return value
    if kind in ("int", "byte"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CaseError("%s must be a non-negative integer" % where)
        if kind == "byte" and value > 255:
            raise CaseError("%s must be 0..255" % where)
        if value >= 2 ** 63:
            raise CaseError("%s is too large" % where)
        return value
    if isinstance(kind, tuple):
        if value not in kind:
            raise CaseError("%s must be one of %s" % (where, ", ".join(kind)))
        return value
    if kind in ("segment", "fd", "fd?", "mapping"):
        wanted = kind.rstrip("?")
        if not isinstance(value, str) or plan.kinds.get(value) != wanted:
            raise CaseError("%s: %r is not a %s handle bound earlier" % (where, value, wanted))
        return value
    if kind in ("place", "place?"):
        return _check_place(plan, where, value)
    if kind == "frame-places":
        from . import pagemap
        return pagemap.check_places(plan, where, value, CaseError)
    if kind == "key":
        if not isinstance(value, str) or not (value == "private" or IDENTIFIER.match(value)):
            raise CaseError("%s must be \"private\" or a key name" % where)
        return value
    if kind == "name":
        # memfd_create ignores the name (the case format lets it be empty)
        if not isinstance(value, str) or len(value) > 100 or (value and not OBJECT_NAME.match(value)):
            raise CaseError("%s must be a plain object name" % where)
        return value
    raise AssertionError(kind)


def _check_place(plan, where, value):
    if not isinstance(value, dict) or set(value) - {"mapping", "page", "offset"}:
        raise CaseError("%s must be a place {mapping, page, offset}" % where)
    mapping = value.get("mapping")
    if mapping == addresses.BRK:
        pass                                # k pages above the break (impl/worker.py)
    elif mapping in addresses.ABSOLUTE:
        plan.nil_page = plan.nil_page or mapping == "@zero"
    elif not isinstance(mapping, str) or plan.kinds.get(mapping) != "mapping":
        raise CaseError("%s: %r is not a mapping handle bound earlier" % (where, mapping))
    page = value.get("page", 0)
    offset = value.get("offset", 0)
    for number in (page, offset):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise CaseError("%s: page and offset must be non-negative integers" % where)
    if page >= PAGES_PER_SLOT:
        raise CaseError("%s: page %d is not below %d" % (where, page, PAGES_PER_SLOT))
    if offset >= PAGE:
        raise CaseError("%s: offset %d is not below %d" % (where, offset, PAGE))
    return {"mapping": mapping, "page": page, "offset": offset}


def _note_names(plan, op, args):
    if op == "shmget" and args["key"] != "private" and args["key"] not in plan.keys:
        plan.keys.append(args["key"])
    if op == "open" and args["kind"] == "shm" and args["name"] not in plan.shm_names:
        plan.shm_names.append(args["name"])
    if op == "shm_unlink" and args["name"] not in plan.shm_names:
        plan.shm_names.append(args["name"])
    if op == "open" and args["kind"] == "file" and args["name"] not in plan.file_names:
        plan.file_names.append(args["name"])
