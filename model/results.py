"""The results of a step: what an implementation can observe, and the oracle allows.

Every result has one canonical string, the same in the JSON and the text form of a case
(docs/case-format.md, "Results"). The model works with the dataclasses; the string is the
wire form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional, Union

from .ops import PAGE_SIZE, SEAL_NAMES, SEAL_SETS
from .state import Contents

SIGNALS = ("SIGSEGV", "SIGBUS")


@dataclass(frozen=True, order=True)
class Ok:
    def __str__(self) -> str:
        return "ok"


@dataclass(frozen=True, order=True)
class Value:
    """The byte a read or pread returned."""
    byte: int

    def __str__(self) -> str:
        return str(self.byte)


@dataclass(frozen=True, order=True)
class Errno:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, order=True)
class Fault:
    """A signal raised by the step; it kills the acting thread's process."""
    signal: str

    def __str__(self) -> str:
        return self.signal


@dataclass(frozen=True, order=True)
class SegmentId:
    """What shmget returned: a fresh identifier (``same_as`` None) or an earlier handle's."""
    same_as: Optional[str] = None

    def __str__(self) -> str:
        return "new" if self.same_as is None else f"={self.same_as}"


@dataclass(frozen=True)
class Stat:
    """shmctl(IPC_STAT): attach count, requested size, SHM_DEST, key name or "private".

    The fields after ``key`` are optional (None: not reported), so that the four-field form
    stays what ``shmctl(S, stat)`` returns; ``stat_full``, ``shm_stat`` and ``shm_stat_any``
    (model/shmctl_commands.py) also report SHM_LOCKED (``locked``), the creator and the last
    process to attach or detach as the first thread handle of each process (``cpid``,
    ``lpid``: "none" before any attach), and SHM_STAT's return value as the segment handle
    whose identifier it is (``id``: "?" when it is no handle's)."""
    nattch: int
    segsz: int
    dest: bool
    key: str
    locked: Optional[bool] = None
    cpid: Optional[str] = None
    lpid: Optional[str] = None
    id: Optional[str] = None

    def __str__(self) -> str:
        text = f"stat(nattch={self.nattch},segsz={self.segsz},dest={int(self.dest)},key={self.key}"
        if self.locked is not None:
            text += f",locked={int(self.locked)},cpid={self.cpid},lpid={self.lpid}"
        if self.id is not None:
            text += f",id={self.id}"
        return text + ")"

    def __lt__(self, other: "Stat") -> bool:
        return str(self) < str(other)


@dataclass(frozen=True, order=True)
class Info:
    """shmctl(IPC_INFO) or shmctl(SHM_INFO): the call succeeded, and the highest index in use
    it returned is at least the index of ``covers`` (a live segment handle), or "none" when the
    case names no live segment to compare with. The rest is system-wide (limits, counts of
    every segment of the host) and other processes change it: not reported (shmctl_commands.py),
    but for ``shm_info_counts``, which runs in a fresh IPC namespace (model/residency.py):
    ``counts`` is then SHM_INFO's (used_ids, shm_tot, shm_rss, shm_swp), pages for the last
    three: ``info(max>=S0,used_ids=1,shm_tot=1,shm_rss=0,shm_swp=0)``."""
    covers: str
    counts: Optional[tuple] = None

    def __str__(self) -> str:
        parts = [] if self.covers == "none" else [f"max>={self.covers}"]
        if self.counts is not None:
            parts += [f"{name}={n}" for name, n in zip(INFO_COUNTS, self.counts)]
        return "info(" + ",".join(parts) + ")" if parts else "info"


INFO_COUNTS = ("used_ids", "shm_tot", "shm_rss", "shm_swp")
SYSVIPC_SUMS = ("count", "size", "rss", "swap")


@dataclass(frozen=True, order=True)
class Indexes:
    """How many of the indexes 0..SHM_INFO's highest SHM_STAT_ANY answered (``indexes(2)``;
    model/residency.py, in a fresh IPC namespace)."""
    count: int

    def __str__(self) -> str:
        return f"indexes({self.count})"


@dataclass(frozen=True, order=True)
class SysvipcSums:
    """/proc/sysvipc/shm summed over its rows: (rows, size, rss, swap), bytes
    (``sysvipc(count=1,size=2048,rss=4096,swap=0)``; model/residency.py, in a fresh IPC
    namespace)."""
    sums: tuple

    def __str__(self) -> str:
        return "sysvipc(" + ",".join(f"{n}={v}" for n, v in zip(SYSVIPC_SUMS, self.sums)) + ")"


@dataclass(frozen=True, order=True)
class SealSet:
    """fcntl(F_GET_SEALS): the seals, one of ops.SEAL_SETS (``seals(shrink+write)``,
    ``seals(none)``)."""
    seals: str

    def __str__(self) -> str:
        return f"seals({self.seals})"


@dataclass(frozen=True, order=True)
class FileSize:
    """fstat(): st_size in bytes (``size(4096)``)."""
    size: int

    def __str__(self) -> str:
        return f"size({self.size})"


@dataclass(frozen=True, order=True)
class LockedPages:
    """The process's locked memory in pages (``vmlck(2)``; Linux: VmLck, model/locking.py)."""
    pages: int

    def __str__(self) -> str:
        return f"vmlck({self.pages})"


@dataclass(frozen=True, order=True)
class Eof:
    """pread at or past the end of the object: no byte."""

    def __str__(self) -> str:
        return "eof"


@dataclass(frozen=True, order=True)
class Dead:
    """The step was not performed: its thread's process was killed at an earlier step."""

    def __str__(self) -> str:
        return "dead"


@dataclass(frozen=True, order=True)
class FrameReport:
    """What a ``frames`` step saw (model/frames.py): ``classes`` partitions the place indices
    into sets that reach one frame (None: the frame numbers were hidden, so the partition is
    unknown); ``flags`` per place: "-" not present, else "p" then "e" exclusive, "f" file or
    shared anonymous page, "z" the zero page. ``frames(A/B,C/D;A=pe,B=pf,C=pf,D=-)``."""
    classes: Optional[tuple]
    flags: tuple

    def __str__(self) -> str:
        return report_text(self)


@dataclass(frozen=True, order=True)
class MapsReport:
    """What a ``maps`` step saw (model/maps.py): the records, in address order, as (first page,
    end page, perms) with pages counted from the named handle's first page and perms as
    /proc/PID/maps writes them (``rw-p``, ``r-xs``). ``maps(0-2:rw-p,3-4:r--s)``; ``maps()``
    when nothing is mapped there."""
    records: tuple

    def __str__(self) -> str:
        return "maps(" + ",".join(f"{a}-{b}:{perms}" for a, b, perms in self.records) + ")"


@dataclass(frozen=True, order=True)
class ShmTimes:
    """shmctl(S, times) (model/shm_times.py): shm_atime, shm_dtime and shm_ctime, each "0"
    (the kernel's value is 0), "set" (within the window from the start of the segment's
    creating step to the end of the observation, whole seconds) or "out" (outside it):
    ``times(atime=set,dtime=0,ctime=set)``."""
    atime: str
    dtime: str
    ctime: str

    def __str__(self) -> str:
        return f"times(atime={self.atime},dtime={self.dtime},ctime={self.ctime})"


TIME_VALUES = ("0", "set", "out")

Result = Union[Ok, Value, Eof, Errno, Fault, SegmentId, Stat, Info, Dead, FrameReport,
               MapsReport, SealSet, FileSize, Indexes, SysvipcSums, LockedPages, ShmTimes]

OK = Ok()
DEAD = Dead()
EOF = Eof()

_ERRNO = re.compile(r"E[A-Z0-9]+\Z")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_STAT = re.compile(rf"stat\(nattch=(\d+),segsz=(\d+),dest=([01]),key=({_NAME})"
                   rf"(?:,locked=([01]),cpid=({_NAME}),lpid=({_NAME}))?(?:,id=({_NAME}|\?))?\)\Z")
_INFO = re.compile(rf"info(?:\(max>=({_NAME})\))?\Z")
_FIGURE = r"([0-9]{1,14})"
_INFO_COUNTS = re.compile(rf"info\((?:max>=({_NAME}),)?"
                          + ",".join(f"{n}={_FIGURE}" for n in INFO_COUNTS) + r"\)\Z")
_INDEXES = re.compile(rf"indexes\({_FIGURE}\)\Z")
_SYSVIPC = re.compile(r"sysvipc\(" + ",".join(f"{n}={_FIGURE}" for n in SYSVIPC_SUMS) + r"\)\Z")
_SAME = re.compile(r"=([A-Za-z_][A-Za-z0-9_]*)\Z")
_SEALS = re.compile(r"seals\(([a-z_+]+)\)\Z")
_SIZE = re.compile(r"size\(([0-9]{1,14})\)\Z")
_VMLCK = re.compile(r"vmlck\(([0-9]{1,9})\)\Z")
_TIMES = re.compile(r"times\(atime=(\w+),dtime=(\w+),ctime=(\w+)\)\Z")


def parse_result(text: str) -> Result:
    """The result a canonical string names; ValueError if it names none."""
    if not isinstance(text, str):
        raise ValueError(f"a result must be a string, not {type(text).__name__}")
    text = text.strip()
    if text == "ok":
        return OK
    if text == "dead":
        return DEAD
    if text == "eof":
        return EOF
    if text == "new":
        return SegmentId()
    if text in SIGNALS:
        return Fault(text)
    if text.isdigit():
        byte = int(text)
        if byte > 255:
            raise ValueError(f"a byte read is 0..255, not {byte}")
        return Value(byte)
    if _ERRNO.match(text):
        return Errno(text)
    m = _SAME.match(text)
    if m:
        return SegmentId(m.group(1))
    m = _STAT.match(text.replace(" ", ""))
    if m:
        locked = None if m.group(5) is None else m.group(5) == "1"
        return Stat(int(m.group(1)), int(m.group(2)), m.group(3) == "1", m.group(4), locked,
                    m.group(6), m.group(7), m.group(8))
    m = _INFO.match(text.replace(" ", ""))
    if m:
        return Info(m.group(1) or "none")
    m = _INFO_COUNTS.match(text.replace(" ", ""))
    if m:
        return Info(m.group(1) or "none", tuple(int(g) for g in m.groups()[1:]))
    m = _INDEXES.match(text.replace(" ", ""))
    if m:
        return Indexes(int(m.group(1)))
    m = _SYSVIPC.match(text.replace(" ", ""))
    if m:
        return SysvipcSums(tuple(int(g) for g in m.groups()))
    if text.startswith("frames("):
        return parse_report(text)
    if text.startswith("maps("):
        return parse_maps(text)
    m = _SEALS.match(text.replace(" ", ""))
    if m:
        if m.group(1) not in SEAL_SETS:
            raise ValueError(f"seals(...) holds none or seal names joined by + in the order "
                             f"{'+'.join(SEAL_NAMES)}, not {m.group(1)!r}")
        return SealSet(m.group(1))
    m = _SIZE.match(text.replace(" ", ""))
    if m:
        return FileSize(int(m.group(1)))
    m = _VMLCK.match(text.replace(" ", ""))
    if m:
        return LockedPages(int(m.group(1)))
    m = _TIMES.match(text.replace(" ", ""))
    if m:
        if any(v not in TIME_VALUES for v in m.groups()):
            raise ValueError(f"times(...): each time is 0, set or out, not {text!r}")
        return ShmTimes(*m.groups())
    raise ValueError(f"not a result: {text!r} (expected ok, a byte, an errno name, SIGSEGV, SIGBUS, "
                     "eof, new, =HANDLE, stat(...), info(...), indexes(N), sysvipc(...), seals(...), "
                     "size(N), vmlck(N), times(...), frames(...), maps(...) or dead)")


_MAPS_RECORD = re.compile(r"(\d{1,3})-(\d{1,3}):([r-][w-][x-][ps])\Z")


def parse_maps(text: str) -> MapsReport:
    """The MapsReport a ``maps(...)`` string names; ValueError otherwise. Records must be in
    order, non-empty and apart (a record ends where the next may start), within 0..256."""
    if not text.endswith(")"):
        raise ValueError(f"not a maps result: {text!r} (expected maps(0-2:rw-p,3-4:r--s))")
    inner = text[len("maps("):-1].replace(" ", "")
    records, end = [], 0
    for item in inner.split(",") if inner else []:
        m = _MAPS_RECORD.match(item)
        if not m:
            raise ValueError(f"maps: a record is FIRST-END:PERMS (0-2:rw-p), not {item!r}")
        first, last = int(m.group(1)), int(m.group(2))
        if not end <= first < last <= 256:
            raise ValueError(f"maps: records are non-empty, in order and within 0..256, not {item!r}")
        records.append((first, last, m.group(3)))
        end = last
    return MapsReport(tuple(records))


def is_fault(result: Result) -> bool:
    return isinstance(result, Fault)


# --- frames steps: a report's text, and the set of reports posix allows ---------------------
# The set (FramesByValues) is an allowed result, never an observation; why it admits what it
# admits is docs/frames.md.

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"   # the places of a frames step, in order
MAX_PLACES = len(LETTERS)
VALUES_PREFIX = "frames(values:"
_FLAGS = re.compile(r"(-|pe?f?z?)\Z")
_REPORT = re.compile(r"frames\(([^;]*);([^)]*)\)\Z")
_BYTE = re.compile(r"([1-9][0-9]{0,2})@([0-9]{1,4})\Z")


def report_text(report: FrameReport) -> str:
    letters = LETTERS[:len(report.flags)]
    flags = ",".join(f"{letters[i]}={f}" for i, f in enumerate(report.flags))
    if report.classes is None:
        return f"frames(?;{flags})"
    classes = "/".join(",".join(letters[i] for i in c) for c in report.classes)
    return f"frames({classes};{flags})"


def parse_report(text: str):
    """The FrameReport a ``frames(...)`` string names (normalised), or the FramesByValues a
    ``frames(values:...)`` string names (posix: model/frames_posix.py); ValueError otherwise."""
    if text.replace(" ", "").startswith(VALUES_PREFIX):
        return parse_values(text)
    m = _REPORT.match(text.replace(" ", ""))
    if m is None:
        raise ValueError(f"not a frames result: {text!r} (expected frames(A/B,C;A=p,B=pe,C=pe))")
    flag_items = m.group(2).split(",")
    flags = []
    for i, item in enumerate(flag_items):
        letter, _, value = item.partition("=")
        if i >= MAX_PLACES or letter != LETTERS[i]:
            raise ValueError(f"frames: flags must name the places A, B, C... in order, not {item!r}")
        if not _FLAGS.match(value):
            raise ValueError(f"frames: {letter}'s flags must be - or p followed by any of e, f, z "
                             f"in that order, not {value!r}")
        flags.append(value)
    if m.group(1) == "?":
        return FrameReport(None, tuple(flags))
    index = {LETTERS[i]: i for i in range(len(flags))}
    classes, seen = [], set()
    for part in m.group(1).split("/"):
        members = []
        for letter in part.split(","):
            if letter not in index or letter in seen:
                raise ValueError(f"frames: {letter!r} is not a place, or is in two classes")
            seen.add(letter)
            members.append(index[letter])
        classes.append(tuple(sorted(members)))
    if len(seen) != len(flags):
        raise ValueError("frames: every place must be in exactly one class")
    for c in classes:
        if len(c) > 1 and any(flags[i] == "-" for i in c):
            raise ValueError("frames: a place that is not present shares no frame")
    return FrameReport(tuple(sorted(classes)), tuple(flags))


@dataclass(frozen=True)
class Held:
    """What one place holds in one state: its nonzero bytes ((offset, byte), ... sorted), the
    offset from which every byte may also read 0 (R07 under posix: the slack past EOF; None:
    no such bytes), and the earlier place (index) that is the same page, seen through another
    thread of its process (None: none)."""
    nonzero: Contents = ()
    zero_from: Optional[int] = None
    same_page_as: Optional[int] = None

    def values_at(self, offset: int) -> set:
        value = dict(self.nonzero).get(offset, 0)
        if self.zero_from is not None and offset >= self.zero_from:
            return {value, 0}
        return {value}

    def may_be_zeros(self) -> bool:
        return all(0 in self.values_at(offset) for offset, _ in self.nonzero)

    def text(self) -> str:
        if not self.nonzero:
            return "zeros"
        bytes_ = "+".join(f"{value}@{offset}" for offset, value in self.nonzero)
        return bytes_ + (f"~{self.zero_from}" if self.zero_from is not None else "")

    def words(self) -> str:
        if not self.nonzero:
            return "only zeros"
        said = ", ".join(f"byte {offset} = {value}" for offset, value in self.nonzero)
        if self.zero_from is not None:
            said += f" (from byte {self.zero_from} on, 0 is also allowed: R07)"
        return said


def _held(nonzero: Contents, zero_from: Optional[int]) -> Held:
    """Canonical: slack only where a nonzero byte lies in it."""
    if zero_from is not None and not any(offset >= zero_from for offset, _ in nonzero):
        zero_from = None
    return Held(tuple(nonzero), zero_from)


@dataclass(frozen=True)
class FramesByValues:
    """The frames reports one state allows under posix: every report whose classes join only
    places holding the same bytes, with the places that have no memory "-", "z" only where
    zeros are held, one set of flags per class, and no "e" on a frame shown at two pages
    (docs/frames.md gives the reasons). ``held`` has one entry per place: a Held, or None where
    the place has no memory. Its text, ``frames(values:A=1@0,B=A,C=zeros,D=none)``, lists what
    each place holds: nonzero bytes as value@offset joined by "+" (then "~N": from byte N on a
    byte may also read 0), "zeros", "none" (no memory), or an earlier letter (the same page
    as that place, through another thread)."""
    held: tuple

    def __str__(self) -> str:
        items = []
        for i, h in enumerate(self.held):
            if h is None:
                items.append(f"{LETTERS[i]}=none")
            elif h.same_page_as is not None:
                items.append(f"{LETTERS[i]}={LETTERS[h.same_page_as]}")
            else:
                items.append(f"{LETTERS[i]}={h.text()}")
        return VALUES_PREFIX + ",".join(items) + ")"

    def admits(self, report: FrameReport) -> bool:
        return not self.problems(report)

    def problems(self, report: FrameReport, places=()) -> list:
        """Why the report is not one of these, in words naming the places and their values
        ([] if it is one)."""
        return [text for _, text in self._violations(report, places)]

    def wrong_places(self, report: FrameReport) -> set:
        """The places (indices) the report's problems are about."""
        return {i for members, _ in self._violations(report) for i in members}

    def _violations(self, report: FrameReport, places=()) -> list:
        """(the places, why) for every rule the report breaks (docs/frames.md)."""
        if len(report.flags) != len(self.held):
            return [(range(len(report.flags)),
                     f"{len(report.flags)} places reported, the step names {len(self.held)}")]

        def name(i: int) -> str:
            if i < len(places):
                p = places[i]
                return f"{LETTERS[i]} ({p.thread}:{p.mapping}[{p.page}])"
            return LETTERS[i]

        out = []
        for i, (h, flags) in enumerate(zip(self.held, report.flags)):
            if h is None and flags != "-":
                out.append(((i,), f"{name(i)} has no memory there (its thread ended, nothing is "
                                  f"mapped, or the page is past its object's end) but is reported "
                                  f"present ({flags})"))
            elif h is not None and "z" in flags and not h.may_be_zeros():
                out.append(((i,), f"{name(i)} is reported as the zero page ({flags}) but holds "
                                  f"{h.words()}"))
        for members in report.classes or ():
            helds = [self.held[i] for i in members]
            if len(members) < 2 or any(h is None for h in helds):
                continue                                 # a place with no memory: above
            joined = " and ".join(name(i) for i in members)
            if not _one_content(helds):
                said = "; ".join(f"{LETTERS[i]} holds {self.held[i].words()}" for i in members)
                out.append((members, f"{joined} are reported as one frame, but a frame holds one "
                                     f"content: {said}"))
            if len({report.flags[i] for i in members}) > 1:
                out.append((members, f"{joined} are reported as one frame with different flags "
                                     f"({', '.join(report.flags[i] for i in members)}): flags "
                                     f"describe the frame"))
            elif "e" in report.flags[members[0]] and len(self._pages(members)) > 1:
                out.append((members, f"{joined} are reported as one frame at "
                                     f"{len(self._pages(members))} pages, yet exclusive (e: "
                                     f"mapped exactly once)"))
        return out

    def _pages(self, members) -> set:
        """The distinct pages among the places (threads of one process see one page)."""
        return {i if self.held[i].same_page_as is None else self.held[i].same_page_as
                for i in members}

    def hidden_part_matters(self, report: FrameReport) -> bool:
        """For a report whose frame numbers were hidden (no partition, no "z"): whether some
        partition or zero-page flag it might hide would change the verdict. It would with two
        present places (joined, with "z" on one only, they break a rule; apart they do not), or
        with one present place that cannot hold zeros (it might be "z"); never otherwise."""
        present = [i for i, flags in enumerate(report.flags) if flags != "-"]
        if len(present) >= 2:
            return True
        return any(self.held[i] is not None and not self.held[i].may_be_zeros() for i in present)


def _one_content(helds) -> bool:
    """Whether some page content is allowed for every place (each byte in every place's set)."""
    offsets = {offset for h in helds for offset, _ in h.nonzero}
    for offset in offsets:
        common = set(helds[0].values_at(offset))
        for h in helds[1:]:
            common &= h.values_at(offset)
        if not common:
            return False
    return True


def parse_values(text: str) -> FramesByValues:
    """The FramesByValues a ``frames(values:...)`` string names; ValueError otherwise."""
    body = text.replace(" ", "")
    if not body.startswith(VALUES_PREFIX) or not body.endswith(")"):
        raise ValueError(f"not a frames(values:...) result: {text!r}")
    items = body[len(VALUES_PREFIX):-1].split(",")
    held: list = []
    for i, item in enumerate(items):
        letter, _, value = item.partition("=")
        if i >= MAX_PLACES or letter != LETTERS[i]:
            raise ValueError(f"frames(values:...): the places are A, B, C... in order, not {item!r}")
        if value == "none":
            held.append(None)
        elif value == "zeros":
            held.append(Held())
        elif len(value) == 1 and value in LETTERS[:i]:
            same = LETTERS.index(value)
            if held[same] is None or held[same].same_page_as is not None:
                raise ValueError(f"frames(values:...): {letter}={value}: {value} must be a page "
                                 f"named by its contents")
            held.append(replace(held[same], same_page_as=same))
        else:
            held.append(_parse_bytes(letter, value))
    return FramesByValues(tuple(held))


def _parse_bytes(letter: str, value: str) -> Held:
    bytes_, tilde, slack = value.partition("~")
    nonzero = []
    for item in bytes_.split("+"):
        m = _BYTE.match(item)
        if m is None or int(m.group(1)) > 255 or int(m.group(2)) >= PAGE_SIZE:
            raise ValueError(f"frames(values:...): {letter} holds none, zeros, an earlier letter or "
                             f"bytes VALUE@OFFSET joined by + (1..255 @ 0..4095), not {value!r}")
        nonzero.append((int(m.group(2)), int(m.group(1))))
    if [o for o, _ in nonzero] != sorted({o for o, _ in nonzero}):
        raise ValueError(f"frames(values:...): {letter}'s bytes must be in increasing offsets, "
                         f"each once: {value!r}")
    zero_from = None
    if tilde:
        if not slack.isdigit() or int(slack) >= PAGE_SIZE:
            raise ValueError(f"frames(values:...): {letter}: ~ takes an offset 0..4095, not {slack!r}")
        zero_from = int(slack)
    held = _held(tuple(nonzero), zero_from)
    if held.zero_from != zero_from:
        raise ValueError(f"frames(values:...): {letter}: ~{slack} covers no nonzero byte; leave it out")
    return held
