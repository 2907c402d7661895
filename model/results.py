"""The results of a step: what an implementation can observe, and the oracle allows.

Every result has one canonical string, the same in the JSON and the text form of a case
(docs/case-format.md, "Results"). The model works with the dataclasses; the string is the
wire form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Union

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


@dataclass(frozen=True, order=True)
class Stat:
    """shmctl(IPC_STAT): attach count, requested size, SHM_DEST, key name or "private"."""
    nattch: int
    segsz: int
    dest: bool
    key: str

    def __str__(self) -> str:
        return f"stat(nattch={self.nattch},segsz={self.segsz},dest={int(self.dest)},key={self.key})"


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
        from .frames import report_text
        return report_text(self)


Result = Union[Ok, Value, Eof, Errno, Fault, SegmentId, Stat, Dead, FrameReport]

OK = Ok()
DEAD = Dead()
EOF = Eof()

_ERRNO = re.compile(r"E[A-Z0-9]+\Z")
_STAT = re.compile(r"stat\(nattch=(\d+),segsz=(\d+),dest=([01]),key=([A-Za-z_][A-Za-z0-9_]*)\)\Z")
_SAME = re.compile(r"=([A-Za-z_][A-Za-z0-9_]*)\Z")


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
        return Stat(int(m.group(1)), int(m.group(2)), m.group(3) == "1", m.group(4))
    if text.startswith("frames("):
        from .frames import parse_report
        return parse_report(text)
    raise ValueError(f"not a result: {text!r} (expected ok, a byte, an errno name, SIGSEGV, SIGBUS, "
                     "eof, new, =HANDLE, stat(...), frames(...) or dead)")


def is_fault(result: Result) -> bool:
    return isinstance(result, Fault)
