"""Structural checks of a case: everything wrong with it that needs no semantics.

A case that passes may still do things that fail (that is what cases are for: an unmapped
read, a double IPC_RMID, ...); what is rejected here is what no run could give a meaning to:
a handle used before it is bound or of the wrong kind, a step by a thread that has certainly
ended, a number out of range, an argument of the wrong type. Both readers (``case_json``,
``case_text``) call these checks, so a case is rejected the same way whichever form it came in.

Errors are located by a ``where(step_index, path)`` callback that each reader supplies ("line 12"
for the text form, "steps[3].args.at.page (line 14)" for JSON); ``path`` names the part of the
step at fault, e.g. ``("args", "at", "page")`` or ``("bind",)``.
"""
from __future__ import annotations

import json
import re
from dataclasses import MISSING, fields
from typing import Callable, NoReturn, Optional, Sequence

from . import absolute_addresses, brk
from .case import Case, CaseError
from .ops import (
    ALL_OPS, DEFAULT_MODE, FIXED_MODES, HUGE_SIZES, MADVICES, MEMFD_INVALID, MREMAP_MODES,
    MSYNC_FLAGS, OBJECT_KINDS, PAGE_SIZE, POSIX_MADVICES, PROTECTIONS, REOPEN_MODES, SEAL_NAMES,
    SEAL_SETS, SHMCTL_COMMANDS, USERS, Dup, Exec, Exit, Fallocate, Fork, Madvise, Mlock, Mmap,
    Mprotect, Mremap, Msync, Munlock, Munmap, Open, Place, PosixMadvise, Reopen, ShmAt, ShmCtl,
    ShmGet, Spawn, Step, ThreadExit,
)
from .frames_posix import FramesByValues
from .results import (Dead, Eof, Errno, Fault, FileSize, FrameReport, Indexes, Info, LockedPages,
                      MapsReport, Ok, SealSet, SegmentId, ShmTimes, Stat, SysvipcSums, Value)

# Which stat each shmctl command returns: the four fields, those with the lock bit and the
# creator and last attacher, and those with the identifier SHM_STAT returned too.
STAT_FORMS = {"stat": "stat", "stat_full": "stat_full", "shm_stat": "shm_stat",
              "shm_stat_any": "shm_stat", "shm_stat_id": "shm_stat"}
STAT_FIELDS = {"stat": "nattch, segsz, dest and key only",
               "stat_full": "nattch, segsz, dest, key, locked, cpid and lpid (no id)",
               "shm_stat": "nattch, segsz, dest, key, locked, cpid, lpid and id"}

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Header values (name, profile, rules, origin) are single words of the text form's header; not
# starting with ':' keeps "origin :x()" from reading as a step by a thread called "origin".
HEADER_WORD = re.compile(r"[^\s#:][^\s#]*\Z")
# A case's name is also the stem of the files written about it (NAME.case, NAME.repro.py, ...
# in the failures folder), so it is a safe file name on every system: letters, digits and
# "_ . + -", not starting with "." or "-" (no "..", no "/", no hidden or option-like file), at
# most 128 characters (docs/case-format.md, "Names").
CASE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}\Z", re.ASCII)

INITIAL_THREAD = "T0"
PAGES_PER_SLOT = 256          # a mapping handle's slot is 256 pages (docs: "Places and addresses")
MAX_BYTES = 2 ** 40           # sizes, lengths and file offsets beyond this are typos, not tests
# What the model can hold: every page a case maps (mmap, shmat of a segment, mremap) is a page
# of every process's address space that the model walks, about 80 bytes each in a state
# (sharespec show of a 1 GiB mapping: 20 MB; run: 85 MB) and some kilobytes in a picture
# (explain: 1.6 GB, 35 s at this cap). The sizes that make pages (mmap length, mremap's new
# length, the shmget size of each shmat), in whole pages, add up to at most this per case
# (1 GiB: enough to test a lowered RLIMIT_AS); objects grown by ftruncate or pwrite cost
# nothing per page and are not counted.
MAX_CASE_PAGES = 262144
MAX_ATTACH_COUNT = 2 ** 31 - 1
# The text form writes an anonymous mmap as mmap(anon, ...), so no handle may be called "anon".
RESERVED_HANDLES = frozenset({"anon"})

# What each argument of each operation is. An enumeration is the tuple of its values; the
# other kinds are:
#   flag     true or false                   bytes  a size, length or offset, 0..MAX_BYTES
#   byte     a byte value, 0..255            key    "private" or a symbolic key name
#   name     a symbolic object name          sharing  mmap's MAP_SHARED (true) / MAP_PRIVATE
#   segment, fd   a handle of that kind      place  a place (Place); "?" suffix: or None
#   mode     permission bits, 0..0o777       user   "root" or "other" (a uid or a gid, C07)
ARGUMENT_KINDS: dict[str, dict[str, object]] = {
    "fork": {}, "spawn": {}, "thread_exit": {}, "exit": {}, "exec": {},
    "setuid": {"uid": "user"}, "setgid": {"gid": "user"},
    "shmget": {"key": "key", "size": "bytes", "creat": "flag", "excl": "flag", "mode": "mode",
               "hugetlb": "flag", "huge": HUGE_SIZES},
    "shmat": {"segment": "segment", "at": "place?", "rdonly": "flag", "rnd": "flag",
              "remap": "flag"},
    "shmdt": {"at": "place"},
    "shmctl": {"segment": "segment", "cmd": SHMCTL_COMMANDS, "mode": "mode?", "uid": "user?",
               "gid": "user?"},
    "mmap": {"shared": "sharing", "prot": PROTECTIONS, "length": "bytes", "fd": "fd?",
             "offset": "bytes", "at": "place?", "fixed": FIXED_MODES, "locked": "flag",
             "populate": "flag", "validate": "flag", "unknown": "flag", "growsdown": "flag",
             "neither": "flag"},
    "munmap": {"at": "place", "length": "bytes"},
    "mprotect": {"at": "place", "length": "bytes", "prot": PROTECTIONS},
    "madvise": {"at": "place", "length": "bytes", "advice": MADVICES},
    "posix_madvise": {"at": "place", "length": "bytes", "advice": POSIX_MADVICES},
    "mremap": {"at": "place", "old_length": "bytes", "new_length": "bytes",
               "mode": MREMAP_MODES, "to": "place?", "maymove": "flag", "dontunmap": "flag"},
    "open": {"kind": OBJECT_KINDS, "name": "name", "creat": "flag", "excl": "flag",
             "rdonly": "flag", "mode": "mode", "wronly": "flag", "nosealing": "flag",
             "invalid": MEMFD_INVALID, "hugetlb": "flag", "huge": HUGE_SIZES},
    "close": {"fd": "fd"},
    "ftruncate": {"fd": "fd", "length": "bytes"},
    "pread": {"fd": "fd", "offset": "bytes"},
    "pwrite": {"fd": "fd", "offset": "bytes", "value": "byte"},
    "shm_unlink": {"name": "name"},
    "seal": {"fd": "fd", "seal": SEAL_SETS},
    "seals": {"fd": "fd"},
    "dup": {"fd": "fd"},
    "reopen": {"fd": "fd", "mode": REOPEN_MODES, "trunc": "flag"},
    "fallocate": {"fd": "fd", "offset": "bytes", "length": "bytes", "punch": "flag"},
    "fstat": {"fd": "fd"},
    "read": {"at": "place"},
    "write": {"at": "place", "value": "byte"},
    "frames": {"places": "frame-places"},
    "maps": {"mapping": "mapping"},
    "mlock": {"at": "place", "length": "bytes"},
    "munlock": {"at": "place", "length": "bytes"},
    "msync": {"at": "place", "length": "bytes", "flags": MSYNC_FLAGS},
    "vmlck": {},
    "brk": {"at": "place"},
}

# Per operation: the arguments without a default, which a reader requires.
REQUIRED_ARGUMENTS: dict[str, tuple[str, ...]] = {
    cls.OP: tuple(f.name for f in fields(cls) if f.default is MISSING) for cls in ALL_OPS
}

Where = Callable[[int, tuple], str]


def json_path(index: int, path: tuple = ()) -> str:
    """The default location of a step's part: ``steps[3].args.at.page``."""
    text = f"steps[{index}]"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def one_of(kind: tuple) -> str:
    """An enumeration's values as a message names them (a set of seals by its rule)."""
    if kind == SEAL_SETS:
        return ("none or seal names joined by + in the order " + "+".join(SEAL_NAMES)
                + " (e.g. shrink+write)")
    return "one of " + ", ".join(kind)


def _a(kind: str) -> str:
    """The kind with its article: "a segment", "an fd"."""
    return f"an {kind}" if kind == "fd" else f"a {kind}"


def describe(value: object) -> str:
    """A value as a message shows it: as JSON when it is JSON, else as Python."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def file_stem(name: str) -> str:
    """A file name stem for a case called ``name``: the name itself when it is a valid case
    name (CASE_NAME), else an escaped form that is one, so that whatever a Case object holds,
    NAME.case and the rest are written inside the folder meant for them."""
    if isinstance(name, str) and CASE_NAME.match(name):
        return name
    import hashlib
    text = str(name)
    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", text, flags=re.ASCII).lstrip(".+-")[:100]
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{safe or 'case'}-{digest}"


def is_text(value: str) -> bool:
    """Whether ``value`` is writable text: JSON's "\\ud800" decodes to a lone surrogate, which
    no UTF-8 file or terminal can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- the header ------------------------------------------------------------------

def header_problem(field: str, value: object) -> Optional[str]:
    """What is wrong with a header field's value, or None.

    The restrictions exist so that every case has a text form: header values are single words,
    and the description is one line with no space at its ends (it is written as ``#`` lines,
    wrapped at spaces, that the reader joins with single spaces).
    """
    if field == "rules":
        if not isinstance(value, (tuple, list)):
            return f"rules must be a list of rule ids, not {describe(value)}"
        for rule in value:
            problem = header_problem("rule", rule)
            if problem:
                return problem
        return None
    if not isinstance(value, str):
        return f"{field} must be a string, not {describe(value)}"
    if not is_text(value):
        return (f"{field} holds a lone surrogate, which is not a character (it cannot be "
                f"written as UTF-8): {describe(value)[:140]}")
    if field == "name":
        if not CASE_NAME.match(value):
            return ("a case name is 1 to 128 letters, digits, '_', '.', '+' or '-', not starting "
                    f"with '.', '+' or '-' (it names the files written about it), not {describe(value)[:140]}")
        return None
    if field == "profile" and HEADER_WORD.match(value):
        from .profiles import get_profile
        try:
            get_profile(value)
        except (ValueError, KeyError) as e:
            return str(e.args[0] if e.args else e)
        return None
    if field == "description":
        if value != value.strip():
            return "the description must not begin or end with white space"
        if any(c in value for c in "\n\r\v\f"):   # U+2028 and the like are characters here
            return "the description must be one line"
        return None
    if not HEADER_WORD.match(value):
        return (f"{field} must be one word without '#' (not starting with ':'), "
                f"not {describe(value)[:140]}")
    return None


def validate_case(case: Case, source: str = "<case>", where: Where = json_path,
                  where_header: Callable[[str], str] = str) -> None:
    """Check a whole case: header, program, and the shape of ``allowed``."""
    for field in ("name", "profile", "rules", "origin", "description"):
        problem = header_problem(field, getattr(case, field))
        if problem:
            raise CaseError(source, where_header(field), problem)
    if not isinstance(case.steps, tuple) or not case.steps:
        raise CaseError(source, where_header("steps"), "a case has at least one step")
    if case.allowed is not None and len(case.allowed) != len(case.steps):
        raise CaseError(source, where_header("steps"),
                        f"{len(case.allowed)} sets of allowed results for {len(case.steps)} steps")
    validate_program(case.steps, source, allowed=case.allowed, where=where)


# --- the program -----------------------------------------------------------------

def validate_program(steps: Sequence[Step], source: str = "<program>", *,
                     allowed: Optional[Sequence[frozenset]] = None,
                     where: Where = json_path) -> None:
    """Raise CaseError at the first structural problem of ``steps`` (and of ``allowed``,
    one set of results per step, when given)."""
    if allowed is not None and len(allowed) != len(steps):
        raise CaseError(source, "",
                        f"{len(allowed)} sets of allowed results for {len(steps)} steps")
    checker = _ProgramChecker(source, where)
    for index, step in enumerate(steps):
        checker.check_step(index, step, None if allowed is None else allowed[index])


class _ProgramChecker:
    """Walks a program once, tracking what each handle is and which threads are still alive."""

    def __init__(self, source: str, where: Where):
        self.source = source
        self.where = where
        self.kind_of: dict[str, str] = {INITIAL_THREAD: "thread"}
        self.bound_at: dict[str, Optional[int]] = {INITIAL_THREAD: None}
        # A process is the set of its threads; processes are numbered in creation order.
        self.process_of: dict[str, int] = {INITIAL_THREAD: 0}
        self.threads_of: dict[int, set[str]] = {0: {INITIAL_THREAD}}
        # thread -> how it ended and at which step (formatted only if a message needs it)
        self.ended: dict[str, tuple[str, int]] = {}
        self.segment_pages: dict[str, int] = {}   # segment handle -> pages shmat maps
        self.mapped_pages = 0                     # counted against MAX_CASE_PAGES
        self.absolute_handles: dict[str, str] = {}  # mapping handle -> @zero, @high, ... class
        self.hugetlb_fds: set[str] = set()        # fd handles of hugetlb memfds (check_hugetlb)

    def fail(self, index: int, path: tuple, problem: str) -> NoReturn:
        raise CaseError(self.source, self.where(index, path), problem)

    def check_step(self, index: int, step: object, results: Optional[frozenset]) -> None:
        if not isinstance(step, Step):
            self.fail(index, (), f"a step must be a Step, not {describe(step)}")
        op = step.op
        if type(op) not in ALL_OPS:
            self.fail(index, ("op",), f"not an operation: {describe(op)}")
        self.check_thread(index, step.thread)
        for name, kind in ARGUMENT_KINDS[op.OP].items():
            self.check_argument(index, ("args", name), op.OP, kind, getattr(op, name))
        self.check_consistency(index, op)
        brk.check_step(lambda path, problem: self.fail(index, path, problem),
                       self.absolute_handles, step)
        absolute_addresses.check_step(lambda path, problem: self.fail(index, path, problem),
                                      self.absolute_handles, step)
        self.check_within_slot(index, op)
        self.count_pages(index, step)
        if results is not None:
            self.check_results(index, op, results)
        self.check_bind(index, step)
        self.check_hugetlb(index, step)
        self.apply_lifetimes(index, step)

    # -- threads and handles

    def check_thread(self, index: int, thread: object) -> None:
        self.use(index, ("thread",), thread, "thread")
        if thread in self.ended:
            how, at = self.ended[thread]
            self.fail(index, ("thread",), f"{thread} performs a step after it ended "
                                          f"({how} at {self.where(at, ())})")

    def use(self, index: int, path: tuple, handle: object, kind: str) -> None:
        """``handle`` must be an identifier already bound to a handle of ``kind``."""
        if not isinstance(handle, str) or not IDENTIFIER.match(handle):
            self.fail(index, path, f"{_a(kind)} handle must be an identifier, "
                                   f"not {describe(handle)}")
        if handle not in self.kind_of:
            self.fail(index, path, f"{handle} is used before it is bound")
        if self.kind_of[handle] != kind:
            self.fail(index, path, f"{handle} is {_a(self.kind_of[handle])} handle"
                                   f"{self.bound_by(handle)}, but {_a(kind)} is needed here")

    def bound_by(self, handle: str) -> str:
        at = self.bound_at[handle]
        return " (the initial thread)" if at is None else f" (bound at {self.where(at, ())})"

    def check_bind(self, index: int, step: Step) -> None:
        op, bind = step.op, step.bind
        binds = op.BINDS
        if isinstance(op, Mremap) and op.mode in ("grow", "fixed"):
            binds = None  # grows in place, or lands at a place the case already names
        if binds is None:
            if bind is not None:
                why = ("" if not isinstance(op, Mremap) else
                       " (mode grow keeps the mapping's handle)" if op.mode == "grow" else
                       " (mode fixed lands at its place to=..., which names it)")
                self.fail(index, ("bind",),
                          f"{op.OP} binds no handle{why}, but binds {describe(bind)}")
            return
        if bind is None:
            self.fail(index, ("bind",),
                      f"{op.OP} binds {_a(binds)} handle: write 'HANDLE = {op.OP}(...)'")
        if not isinstance(bind, str) or not IDENTIFIER.match(bind):
            self.fail(index, ("bind",), f"a handle must be an identifier, not {describe(bind)}")
        if bind in RESERVED_HANDLES:
            self.fail(index, ("bind",), f"{bind!r} cannot be a handle (the text form's "
                                        "anonymous mmap)")
        if bind in self.kind_of:
            self.fail(index, ("bind",), f"{bind} is bound twice{self.bound_by(bind)}")
        self.kind_of[bind] = binds
        self.bound_at[bind] = index

    def apply_lifetimes(self, index: int, step: Step) -> None:
        """Who is certainly alive after the step (docs: fork, spawn, thread_exit, exit, exec)."""
        actor = step.thread
        process = self.process_of[actor]
        match step.op:
            case Fork():
                new = len(self.threads_of)
                self.threads_of[new] = {step.bind}
                self.process_of[step.bind] = new
            case Spawn():
                self.threads_of[process].add(step.bind)
                self.process_of[step.bind] = process
            case ThreadExit():
                self.ended[actor] = ("thread_exit", index)
            case Exit():
                for thread in self.threads_of[process]:
                    self.ended.setdefault(thread, (f"exit by {actor}", index))
            case Exec():
                for thread in self.threads_of[process] - {actor}:
                    self.ended.setdefault(thread, (f"exec by {actor}", index))

    def count_pages(self, index: int, step: Step) -> None:
        """The model's cap: the pages the case maps, in all, are at most MAX_CASE_PAGES."""
        op = step.op
        pages = 0
        match op:
            case ShmGet():
                self.segment_pages[step.bind] = -(-op.size // PAGE_SIZE)
                return
            case ShmAt():
                pages = self.segment_pages.get(op.segment, 0)
                path = ("args", "segment")
            case Mmap():
                pages, path = -(-op.length // PAGE_SIZE), ("args", "length")
            case Mremap():
                pages, path = -(-op.new_length // PAGE_SIZE), ("args", "new_length")
            case Fallocate(punch=False):
                # fallocate allocates real memory for its range (a memfd has no size limit)
                pages, path = -(-op.length // PAGE_SIZE), ("args", "length")
        self.mapped_pages += pages
        if self.mapped_pages > MAX_CASE_PAGES:
            self.fail(index, path, f"the case maps {self.mapped_pages} pages by this step, more "
                                   f"than the model holds: at most {MAX_CASE_PAGES} pages "
                                   f"({MAX_CASE_PAGES * PAGE_SIZE // 2 ** 20} MiB) in all, counting "
                                   "every mmap length, mremap new length, shmat of a segment and "
                                   "fallocate length")

    # -- arguments

    def check_argument(self, index: int, path: tuple, op: str, kind: object, value: object) -> None:
        if isinstance(kind, tuple):
            if not isinstance(value, str) or value not in kind:
                self.fail(index, path, f"{op} {path[-1]} must be {one_of(kind)}, "
                                       f"not {describe(value)}")
            return
        assert isinstance(kind, str)
        if kind.endswith("?"):
            if value is None:
                return
            kind = kind[:-1]
        match kind:
            case "flag" | "sharing":
                if type(value) is not bool:
                    self.fail(index, path,
                              f"{path[-1]} must be true or false, not {describe(value)}")
            case "bytes":
                self.check_number(index, path, value, MAX_BYTES)
            case "byte":
                self.check_number(index, path, value, 255)
            case "mode":
                self.check_number(index, path, value, 0o777)
            case "user":
                if not isinstance(value, str) or value not in USERS:
                    self.fail(index, path, f"{path[-1]} must be one of {', '.join(USERS)}, "
                                           f"not {describe(value)}")
            case "key":
                if not (isinstance(value, str)
                        and (value == "private" or IDENTIFIER.match(value))):
                    self.fail(index, path, "a key is \"private\" or a key name (an identifier), "
                                           f"not {describe(value)}")
            case "name":
                if not isinstance(value, str) or not (value == "" or IDENTIFIER.match(value)):
                    self.fail(index, path,
                              f"an object name must be an identifier, not {describe(value)}")
            case "segment" | "fd" | "mapping":
                self.use(index, path, value, kind)
            case "place":
                self.check_place(index, path, value)
            case "frame-places":
                self.check_frame_places(index, path, value)
            case _:
                raise AssertionError(f"unknown argument kind {kind!r}")

    def check_number(self, index: int, path: tuple, value: object, largest: int) -> None:
        if type(value) is not int:  # bool is an int in Python, not in a case
            self.fail(index, path, f"{path[-1]} must be an integer, not {describe(value)}")
        if not 0 <= value <= largest:
            self.fail(index, path, f"{path[-1]} must be in 0..{largest}, not {value}")

    def check_place(self, index: int, path: tuple, place: object) -> None:
        if not isinstance(place, Place):
            self.fail(index, path, f"{path[-1]} must be a place, not {describe(place)}")
        if absolute_addresses.is_absolute_name(place.mapping):
            absolute_addresses.check_place(lambda where, problem: self.fail(index, where, problem),
                                           path, place)
        else:
            self.use(index, path + ("mapping",), place.mapping, "mapping")
        for part, largest, why in (("page", PAGES_PER_SLOT - 1, "a slot has 256 pages"),
                                   ("offset", PAGE_SIZE - 1, "the offset is within the page")):
            value = getattr(place, part)
            if type(value) is not int:
                self.fail(index, path + (part,), f"a place's {part} must be an integer, "
                                                 f"not {describe(value)}")
            if not 0 <= value <= largest:
                self.fail(index, path + (part,), f"a place's {part} must be in 0..{largest} "
                                                 f"({why}), not {value}")

    def check_frame_places(self, index: int, path: tuple, places: object) -> None:
        """A frames step: 1..26 places (lettered A..Z in its result), each a thread handle
        (whose process's page table is read; it may have ended), a mapping handle, a page."""
        from .ops import FramePlace
        if not isinstance(places, tuple) or not 1 <= len(places) <= 26:
            self.fail(index, path, f"places must be 1 to 26 frame places, not {describe(places)}")
        for i, place in enumerate(places):
            where = path + (i,)
            if not isinstance(place, FramePlace):
                self.fail(index, where, f"a frame place is (thread, mapping, page), not "
                                        f"{describe(place)}")
            self.use(index, where + ("thread",), place.thread, "thread")
            self.use(index, where + ("mapping",), place.mapping, "mapping")
            if type(place.page) is not int or not 0 <= place.page < PAGES_PER_SLOT:
                self.fail(index, where + ("page",), f"a frame place's page must be in "
                                                    f"0..{PAGES_PER_SLOT - 1}, not {place.page!r}")

    def check_consistency(self, index: int, op: object) -> None:
        """Argument combinations that contradict the operation's own definition."""
        match op:
            case Mmap(at=None, fixed="replace" | "noreplace"):
                self.fail(index, ("args", "at"), f"mmap fixed={op.fixed} needs a place: at=...")
            case Mmap(fixed="none") if op.at is not None:
                self.fail(index, ("args", "fixed"),
                          "mmap with a place needs fixed=replace or fixed=noreplace "
                          "(without MAP_FIXED the mapping goes to its handle's slot)")
            case Mremap(mode="alias") if op.old_length != 0:
                self.fail(index, ("args", "old_length"),
                          f"mremap alias is the call with old size 0, not {op.old_length}")
            case Mremap(mode="fixed", to=None):
                self.fail(index, ("args", "to"), "mremap fixed needs the place it moves to: to=...")
            case Mremap(mode="grow" | "move" | "alias") if op.to is not None:
                self.fail(index, ("args", "to"), f"mremap {op.mode} chooses no place (to= is for "
                                                 "mode fixed; move and alias go to the bound "
                                                 "handle's slot)")
            case Mremap(mode="grow" | "move" | "alias") if op.maymove:
                self.fail(index, ("args", "maymove"), f"maymove is a flag of mode fixed (mode "
                                                      f"{op.mode} sets MREMAP_MAYMOVE itself or "
                                                      "never)")
            case Mremap(mode="grow") if op.dontunmap:
                self.fail(index, ("args", "dontunmap"), "dontunmap is a flag of modes move and "
                                                        "fixed (a grow in place moves nothing)")
            case Open(kind="file" | "shm", name=""):
                self.fail(index, ("args", "name"), f"open of a {op.kind} needs a name")
            case Open(kind="memfd") if op.mode != DEFAULT_MODE:
                self.fail(index, ("args", "mode"), "open of a memfd takes no mode "
                                                   "(memfd_create has none)")
            case ShmCtl() if op.cmd != "set":
                given = [arg for arg in ("mode", "uid", "gid") if getattr(op, arg) is not None]
                if given:
                    self.fail(index, ("args", given[0]),
                              f"only shmctl set takes {given[0]} (IPC_SET), not {op.cmd}")
            case Open(rdonly=True, wronly=True):
                self.fail(index, ("args", "wronly"), "open is rdonly or wronly, not both")
            case Open(kind="shm" | "memfd", wronly=True):
                self.fail(index, ("args", "wronly"), f"open of a {op.kind} has no wronly "
                                                     "(shm_open and memfd_create take O_RDONLY or "
                                                     "O_RDWR; reopen an fd write-only instead)")
            case Open(kind="file" | "shm") if op.hugetlb or op.huge != "default":
                self.fail(index, ("args", "hugetlb" if op.hugetlb else "huge"),
                          "hugetlb and huge are memfd_create's and shmget's arguments (a file or "
                          "POSIX shm object lives on tmpfs, not hugetlbfs)")
            case Open(kind="file" | "shm") if op.nosealing or op.invalid != "none":
                self.fail(index, ("args", "nosealing" if op.nosealing else "invalid"),
                          "nosealing and invalid are memfd_create's arguments (open(memfd, ...))")
            case Mmap(growsdown=True) if op.shared or op.fd is not None:
                # model/growsdown.py: MAP_GROWSDOWN of shared anonymous memory is EINVAL
                # (do_mmap, observed on 6.18); of a file it is not modelled
                self.fail(index, ("args", "growsdown"), "growsdown is stated of private anonymous "
                                                        "memory only: mmap(anon, private, ...)")
            case Mmap(neither=True) if op.shared:
                self.fail(index, ("args", "neither"), "neither is flags with neither MAP_SHARED "
                                                      "nor MAP_PRIVATE: not with shared "
                                                      "(mmap(anon, neither, rw, 4096))")
            case Mmap(neither=True) if op.growsdown:
                self.fail(index, ("args", "growsdown"), "growsdown is stated of private anonymous "
                                                        "memory only: mmap(anon, private, ...)")
            case Mmap(neither=True) if op.at is not None and \
                    absolute_addresses.is_absolute_name(op.at.mapping):
                # model/absolute_addresses.py orders the address checks before every outcome
                # but EBADF and the length's EINVAL; neither's EINVAL comes after them (do_mmap)
                self.fail(index, ("args", "at"), "neither at an absolute place (@zero, @high, "
                                                 "@kernel, @brk) is not stated: map at a slot")
            case Mmap(validate=True, shared=False):
                self.fail(index, ("args", "validate"), "validate is MAP_SHARED_VALIDATE, a kind "
                                                       "of shared mapping: mmap(..., shared, ...)")
            case Reopen(mode="rdonly", trunc=True):
                self.fail(index, ("args", "trunc"), "reopen with trunc needs mode wronly or rdwr "
                                                    "(O_TRUNC with O_RDONLY is unspecified)")

    def check_hugetlb(self, index: int, step: Step) -> None:
        """An mmap of a hugetlb memfd is rounded up to whole huge pages (2 MiB or more,
        ksys_mmap_pgoff), past its slot: MAP_FIXED would first unmap whatever lies there, in
        slots the case does not name. So fixed=replace of such a descriptor is refused
        (model/hugepages.py); dup and reopen of one are hugetlb descriptors too."""
        op = step.op
        if isinstance(op, Open) and op.hugetlb:
            self.hugetlb_fds.add(step.bind)
        elif isinstance(op, (Dup, Reopen)) and op.fd in self.hugetlb_fds:
            self.hugetlb_fds.add(step.bind)
        elif isinstance(op, Mmap) and op.fixed == "replace" and op.fd in self.hugetlb_fds:
            self.fail(index, ("args", "fixed"),
                      f"mmap fixed=replace of the hugetlb memfd {op.fd}: the kernel rounds the "
                      "length up to a whole huge page (2 MiB or more), past the slot, and "
                      "MAP_FIXED would unmap what lies there; use fixed=noreplace")

    def check_within_slot(self, index: int, op: object) -> None:
        """A range must stay inside its place's slot: an implementation may put the slots
        wherever it likes (docs/case-format.md), so what lies past a slot's last page is not
        the next slot, and a range running into it means nothing portable."""
        def fits(path: tuple, page: int, length: int, what: str) -> None:
            pages = -(-length // PAGE_SIZE)
            if page + pages > PAGES_PER_SLOT:
                self.fail(index, path, f"{what} runs past the end of its slot: page {page} + "
                                       f"{pages} pages > {PAGES_PER_SLOT} (slots need not be "
                                       f"adjacent, so a range may not cross into the next one)")
        match op:
            case Munmap() | Mprotect() | Madvise() | PosixMadvise() | Msync():
                fits(("args", "length"), op.at.page, op.length, f"the {op.OP} range")
            case Mlock() | Munlock():   # the start is rounded down: the offset counts
                fits(("args", "length"), op.at.page, op.at.offset + op.length,
                     f"the {op.OP} range")
            case Mmap():
                fits(("args", "length"), op.at.page if op.at is not None else 0, op.length,
                     "the mapping")
            case Mremap():
                fits(("args", "old_length"), op.at.page, op.old_length, "the old range")
                dest = {"grow": op.at.page, "fixed": op.to.page if op.to else 0}.get(op.mode, 0)
                fits(("args", "new_length"), dest, op.new_length, "the new range")

    # -- results

    def check_results(self, index: int, op: object, results: object) -> None:
        if not isinstance(results, frozenset) or not results:
            self.fail(index, ("allowed",), "a step allows a non-empty set of results, "
                                           f"not {describe(results)}")
        for result in results:
            problem = self.result_problem(op, result)
            if problem:
                self.fail(index, ("allowed",), problem)

    def result_problem(self, op: object, result: object) -> Optional[str]:
        match result:
            case Ok() | Errno() | Fault() | Dead():
                return None
            case Value():
                if op.OP not in ("read", "pread"):
                    return f"only read and pread return a byte, not {op.OP} ({result})"
                if type(result.byte) is not int or not 0 <= result.byte <= 255:
                    return f"a byte is in 0..255, not {describe(result.byte)}"
            case Eof():
                if op.OP != "pread":
                    return f"only pread reads past the end of an object, not {op.OP} ({result})"
            case SegmentId():
                if op.OP != "shmget":
                    return f"only shmget returns a segment identifier, not {op.OP} ({result})"
                same = result.same_as
                if same is not None and self.kind_of.get(same) != "segment":
                    return f"{result}: {same} is not a segment handle bound by an earlier step"
            case Stat():
                if not (isinstance(op, ShmCtl) and op.cmd in STAT_FORMS):
                    return f"only shmctl {'/'.join(STAT_FORMS)} returns a stat, not {op.OP} ({result})"
                form = ("stat" if result.locked is None else
                        "stat_full" if result.id is None else "shm_stat")
                if form != STAT_FORMS[op.cmd]:
                    return (f"shmctl {op.cmd} returns a stat with "
                            f"{STAT_FIELDS[STAT_FORMS[op.cmd]]}, not {result}")
                for name in (result.cpid, result.lpid):
                    if name not in (None, "none") and self.kind_of.get(name) != "thread":
                        return f"{result}: {name} is not a thread handle bound by an earlier step"
                if result.id not in (None, "?") and self.kind_of.get(result.id) != "segment":
                    return f"{result}: {result.id} is not a segment handle bound by an earlier step"
                if not 0 <= result.nattch <= MAX_ATTACH_COUNT or not 0 <= result.segsz <= MAX_BYTES:
                    return f"{result}: the attach count or the size is out of range"
            case Info():
                if not (isinstance(op, ShmCtl) and op.cmd in ("info", "shm_info", "shm_info_counts")):
                    return (f"only shmctl info/shm_info returns info (and shm_info_counts, with "
                            f"its counts), not {op.OP} ({result})")
                if (result.counts is not None) != (op.cmd == "shm_info_counts"):
                    return (f"shmctl {op.cmd} returns info "
                            f"{'with' if op.cmd == 'shm_info_counts' else 'without'} "
                            f"used_ids, shm_tot, shm_rss and shm_swp, not {result}")
                if result.covers != "none" and self.kind_of.get(result.covers) != "segment":
                    return f"{result}: {result.covers} is not a segment handle bound by an earlier step"
            case Indexes() | SysvipcSums():   # the IPC namespace's figures (model/residency.py)
                cmd = "stat_any_count" if isinstance(result, Indexes) else "sysvipc"
                if not (isinstance(op, ShmCtl) and op.cmd == cmd):
                    return f"only shmctl {cmd} returns {str(result).split('(')[0]}(...), not {op.OP} ({result})"
            case ShmTimes():                  # model/shm_times.py
                if not (isinstance(op, ShmCtl) and op.cmd in ("times", "shm_stat_times")):
                    return f"only shmctl times returns times(...), not {op.OP} ({result})"
            case SealSet():
                if op.OP != "seals":
                    return f"only seals returns seals, not {op.OP} ({result})"
                if result.seals not in SEAL_SETS:
                    return f"{result}: not a set of seals"
            case FileSize():
                if op.OP != "fstat":
                    return f"only fstat returns a size, not {op.OP} ({result})"
                if type(result.size) is not int or not 0 <= result.size <= 2 * MAX_BYTES:
                    return f"{result}: the size is out of range"
            case FrameReport():
                if op.OP != "frames":
                    return f"only frames reports frames, not {op.OP} ({result})"
                if len(result.flags) != len(op.places):
                    return f"{result}: {len(result.flags)} places reported, the step names {len(op.places)}"
            case LockedPages():
                if op.OP != "vmlck":
                    return f"only vmlck reports locked pages, not {op.OP} ({result})"
                if type(result.pages) is not int or not 0 <= result.pages <= 10 ** 9:
                    return f"{result}: the page count is out of range"
            case MapsReport():
                if op.OP != "maps":
                    return f"only maps reports mappings, not {op.OP} ({result})"
            case FramesByValues():   # what posix allows at a frames step (model/frames_posix.py)
                if op.OP != "frames":
                    return f"only frames allows frames reports, not {op.OP} ({result})"
                if len(result.held) != len(op.places):
                    return f"{result}: {len(result.held)} places, the step names {len(op.places)}"
            case _:
                return f"not a result: {describe(result)}"
        return None
