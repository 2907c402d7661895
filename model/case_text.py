"""The text form of a case (docs/case-format.md, "The text form"): the one people read and write.

    # A SysV attach is inherited across fork and stays shared both ways.
    case r09-sysv-inherited-by-fork
    profile linux
    rules R09 R28
    origin handwritten

    T0: S0 = shmget(private, 4096, creat)   -> new
    T0: A0 = shmat(S0)                      -> ok

The writer leaves out arguments at their default and aligns the ``->`` column; the reader
accepts any argument as ``name=value`` too. ``case_from_text(case_to_text(c)) == c`` for every
valid case, and writing what was read gives the same text again.
"""
from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from typing import Optional

from .case import Case, CaseError, in_written_order
from .ops import OP_BY_NAME, FramePlace, Place, Step
from .results import Result, parse_result
from .validate import (ARGUMENT_KINDS, REQUIRED_ARGUMENTS, header_problem, one_of,
                       validate_program)


@dataclass(frozen=True)
class _Layout:
    """How an operation's arguments are written.

    ``positional``: in this order, always written. ``optional_positional``: after them, left out
    at the default. ``named``: ``name=value``, left out at the default. ``bare``: flags written as
    their name when true, and enumerations whose non-default value is written as a bare word.
    """
    positional: tuple[str, ...] = ()
    optional_positional: tuple[str, ...] = ()
    named: tuple[str, ...] = ()
    bare: tuple[str, ...] = ()


_LAYOUTS: dict[str, _Layout] = {
    "fork": _Layout(), "spawn": _Layout(), "thread_exit": _Layout(), "exit": _Layout(),
    "exec": _Layout(), "setuid": _Layout(("uid",)), "setgid": _Layout(("gid",)),
    "shmget": _Layout(("key", "size"), named=("mode", "huge"), bare=("creat", "excl", "hugetlb")),
    "shmat": _Layout(("segment",), named=("at",), bare=("rdonly", "rnd", "remap")),
    "shmdt": _Layout(("at",)),
    "shmctl": _Layout(("segment", "cmd"), named=("mode", "uid", "gid")),
    "mmap": _Layout(("fd", "shared", "prot", "length"), named=("offset", "at"),
                    bare=("fixed", "locked", "populate", "validate", "unknown", "growsdown")),
    "munmap": _Layout(("at", "length")),
    "mprotect": _Layout(("at", "length", "prot")),
    "madvise": _Layout(("at", "length", "advice")),
    "posix_madvise": _Layout(("at", "length", "advice")),
    "mremap": _Layout(("at", "old_length", "new_length", "mode"), named=("to",),
                      bare=("maymove", "dontunmap")),
    "open": _Layout(("kind",), optional_positional=("name",), named=("mode", "invalid", "huge"),
                    bare=("creat", "excl", "rdonly", "wronly", "nosealing", "hugetlb")),
    "close": _Layout(("fd",)),
    "ftruncate": _Layout(("fd", "length")),
    "pread": _Layout(("fd", "offset")),
    "pwrite": _Layout(("fd", "offset", "value")),
    "shm_unlink": _Layout(("name",)),
    "seal": _Layout(("fd", "seal")),
    "seals": _Layout(("fd",)),
    "dup": _Layout(("fd",)),
    "reopen": _Layout(("fd",), bare=("mode", "trunc")),
    "fallocate": _Layout(("fd", "offset", "length"), bare=("punch",)),
    "fstat": _Layout(("fd",)),
    "read": _Layout(("at",)),
    "write": _Layout(("at", "value")),
    "frames": _Layout(("places",)),    # frames(T0:M0, T1:M0[1]): thread:place, any number
    "maps": _Layout(("mapping",)),
    "mlock": _Layout(("at", "length")),
    "munlock": _Layout(("at", "length")),
    "msync": _Layout(("at", "length"), optional_positional=("flags",)),
    "vmlck": _Layout(),
    "brk": _Layout(("at",)),
}

_DEFAULTS: dict[str, dict[str, object]] = {
    cls.OP: {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    for cls in OP_BY_NAME.values()
}


def _bare_words(op: str) -> dict[str, tuple[str, object]]:
    """The bare words an operation's argument list may hold: word -> (argument, value)."""
    words: dict[str, tuple[str, object]] = {}
    for arg in _LAYOUTS[op].bare:
        kind = ARGUMENT_KINDS[op][arg]
        if kind == "flag":
            words[arg] = (arg, True)
        else:
            for value in kind:
                words[value] = (arg, value)
    return words


_BARE_WORDS = {op: _bare_words(op) for op in _LAYOUTS}

_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+\Z|[0-9]+\Z")
_MODE = re.compile(r"0[0-7]{0,3}\Z")     # permission bits: octal, with its leading 0 (0640)
_PLACE = re.compile(r"(?P<mapping>[^\s\[\]+]+)\s*(?:\[\s*(?P<page>[^\]]*?)\s*\])?\s*"
                    r"(?:\+\s*(?P<offset>\S+))?\Z")
_STEP = re.compile(r"(?P<thread>[^\s:]+)\s*:\s*(?:(?P<bind>[^\s=(]+)\s*=\s*)?(?P<op>[^\s(]+)\s*"
                   r"\((?P<args>[^()]*)\)\s*(?:->(?P<results>.*))?\Z")
_HEADER_KEYS = ("case", "profile", "rules", "origin")
# mmap's sharing slot holds shared, private or this: flags with neither MAP_SHARED nor
# MAP_PRIVATE, read as shared=False, neither=True (model/ops.py Mmap)
NEITHER = "neither"
_LONGEST_NUMBER = 40      # characters: far beyond any range of the format (2**40 has 13 digits)
_DESCRIPTION_WIDTH = 96
_ARROW_GAP = 3


# --- writing ---------------------------------------------------------------------

def case_to_text(case: Case) -> str:
    """The text form of a case, ending with a newline."""
    lines = [f"# {chunk}" for chunk in _wrap(case.description)]
    lines += [f"case {case.name}", f"profile {case.profile}",
              " ".join(("rules",) + tuple(case.rules)), f"origin {case.origin}", ""]
    calls = [_format_step(step) for step in case.steps]
    if case.allowed is None:
        lines += calls
    else:
        width = max(len(call) for call in calls) + _ARROW_GAP
        for call, results in zip(calls, case.allowed):
            written = " | ".join(str(result) for result in in_written_order(results))
            lines.append(f"{call.ljust(width)}-> {written}")
    return "\n".join(lines) + "\n"


def _wrap(description: str) -> list[str]:
    """The description cut at single spaces into lines the reader joins back with one space."""
    if not description:
        return []
    words = re.split(r"(?<=\S) (?=\S)", description)
    chunks = [words[0]]
    for word in words[1:]:
        if len(chunks[-1]) + 1 + len(word) <= _DESCRIPTION_WIDTH:
            chunks[-1] += " " + word
        else:
            chunks.append(word)
    return chunks


def _format_step(step: Step) -> str:
    bind = f"{step.bind} = " if step.bind is not None else ""
    return f"{step.thread}: {bind}{step.op.OP}({', '.join(_format_args(step.op))})"


def _format_args(op: object) -> list[str]:
    name = op.OP
    layout, kinds, defaults = _LAYOUTS[name], ARGUMENT_KINDS[name], _DEFAULTS[name]
    parts = [_format_value(kinds[arg], getattr(op, arg)) for arg in layout.positional]
    if getattr(op, "neither", False):   # mmap's sharing slot: neither MAP_SHARED nor MAP_PRIVATE
        parts[layout.positional.index("shared")] = NEITHER
    for arg in layout.optional_positional:
        value = getattr(op, arg)
        if value != defaults[arg]:
            text = _format_value(kinds[arg], value)
            # A value spelt like a flag would read as the flag: name it.
            parts.append(f"{arg}={text}" if text in _BARE_WORDS[name] else text)
    for arg in layout.named:
        value = getattr(op, arg)
        if value != defaults[arg]:
            parts.append(f"{arg}={_format_value(kinds[arg], value)}")
    for arg in layout.bare:
        value = getattr(op, arg)
        if kinds[arg] == "flag":
            if value:
                parts.append(arg)
        elif value != defaults[arg]:
            parts.append(value)
    return parts


def _format_value(kind: object, value: object) -> str:
    match kind, value:
        case "fd?", None:
            return "anon"
        case "sharing", _:
            return "shared" if value else "private"
        case "flag", _:
            return "true" if value else "false"
        case ("mode" | "mode?"), int():
            return f"0{value:o}" if value else "0"
        case ("place" | "place?"), Place():
            return _format_place(value)
        case "frame-places", _:
            return ", ".join(f"{p.thread}:{p.mapping}" + (f"[{p.page}]" if p.page else "")
                             for p in value)
    return str(value)


def _format_place(place: Place) -> str:
    text = place.mapping
    if place.page:
        text += f"[{place.page}]"
    if place.offset:
        text += f"+{place.offset}"
    return text


# --- reading ---------------------------------------------------------------------

def case_from_text(text: str, source: str = "<string>") -> Case:
    """Read a case from its text form."""
    return _TextReader(source).read(text)


class _TextReader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, line: Optional[int], problem: str) -> CaseError:
        return CaseError(self.source, f"line {line}" if line else "", problem)

    def read(self, text: str) -> Case:
        description: list[str] = []
        header: dict[str, tuple[int, list[str]]] = {}
        steps: list[Step] = []
        allowed: list[Optional[frozenset[Result]]] = []
        step_lines: list[int] = []
        # Lines end at "\n" (and "\r\n") only: str.splitlines() would also cut at U+2028 and
        # the other Unicode line breaks, which a file's line numbers do not count.
        for number, raw in enumerate(text.split("\n"), start=1):
            raw = raw.removesuffix("\r")
            if "case" not in header and raw.lstrip().startswith("#"):
                chunk = raw.lstrip()[1:].strip()
                if chunk:
                    description.append(chunk)
                continue
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if "case" not in header:
                if words[0] != "case":
                    raise self.fail(number, "a case begins with 'case NAME' (after the '#' lines "
                                            f"of its description), not {line[:200]!r}")
            step_match = _STEP.match(line)
            if step_match is None and words[0] in _HEADER_KEYS:
                self.read_header_line(number, words, header, after_steps=bool(steps))
                continue
            if step_match is None:
                raise self.fail(number, "not a step (expected THREAD: [HANDLE =] OP(ARGS) "
                                        f"[-> RESULT | ...]): {line[:200]!r}")
            if "profile" not in header:
                raise self.fail(number, "the header needs a 'profile' line before the steps")
            step, results = self.read_step(number, step_match)
            steps.append(step)
            allowed.append(results)
            step_lines.append(number)
        if "case" not in header:
            raise self.fail(None, "no 'case NAME' line: this is not a case")
        if "profile" not in header:
            raise self.fail(header["case"][0], "the header needs a 'profile' line")
        if not steps:
            raise self.fail(header["case"][0], "a case has at least one step")
        missing = [index for index, results in enumerate(allowed) if results is None]
        if missing and len(missing) < len(allowed):
            raise self.fail(step_lines[missing[0]], "no '-> RESULT': give the allowed results "
                                                    "for every step or for none")
        steps_tuple = tuple(steps)
        validate_program(steps_tuple, self.source,
                         allowed=None if missing else allowed,
                         where=lambda index, path: f"line {step_lines[index]}")
        return Case(name=header["case"][1][0], profile=header["profile"][1][0],
                    rules=tuple(header.get("rules", (0, []))[1]),
                    origin=header.get("origin", (0, ["handwritten"]))[1][0],
                    description=" ".join(description), steps=steps_tuple,
                    allowed=None if missing else tuple(allowed))

    def read_header_line(self, number: int, words: list[str], header: dict,
                         after_steps: bool) -> None:
        key, values = words[0], words[1:]
        if after_steps:
            raise self.fail(number, f"the header line {key!r} comes after the steps")
        if key in header:
            raise self.fail(number, f"a second {key!r} line (the first is line {header[key][0]})")
        if key != "rules" and len(values) != 1:
            raise self.fail(number, f"{key!r} takes one word, not {len(values)}")
        field = "name" if key == "case" else key
        problem = header_problem(field, values if key == "rules" else values[0])
        if problem:
            raise self.fail(number, problem)
        header[key] = (number, values)

    def read_step(self, number: int, match: re.Match) -> tuple[Step, Optional[frozenset]]:
        name = match["op"]
        if name not in OP_BY_NAME:
            raise self.fail(number, f"unknown operation {name!r} (known: {', '.join(OP_BY_NAME)})")
        op = OP_BY_NAME[name](**self.read_args(number, name, match["args"]))
        results = None
        if match["results"] is not None:
            results = self.read_results(number, match["results"])
        return Step(thread=match["thread"], op=op, bind=match["bind"]), results

    def read_args(self, number: int, op: str, text: str) -> dict[str, object]:
        layout, kinds, bare_words = _LAYOUTS[op], ARGUMENT_KINDS[op], _BARE_WORDS[op]
        items = [item.strip() for item in text.split(",")] if text.strip() else []
        if op == "frames":
            return {"places": tuple(self.read_frame_place(number, item) for item in items)}
        values: dict[str, object] = {}

        def give(arg: str, value: object) -> None:
            if arg in values:
                raise self.fail(number, f"{op}: the argument {arg!r} is given twice")
            values[arg] = value

        for item in items:
            if not item:
                raise self.fail(number, f"{op}: an empty argument (a stray ',')")
            if "=" in item:
                arg, _, value = item.partition("=")
                arg = arg.strip()
                if arg not in kinds:
                    raise self.fail(number, f"{op} has no argument {arg!r} "
                                            f"(its arguments: {', '.join(kinds) or 'none'})")
                give(arg, self.read_value(number, op, arg, kinds[arg], value.strip()))
                continue
            pending = [arg for arg in layout.positional if arg not in values]
            if pending:
                give(pending[0], self.read_value(number, op, pending[0], kinds[pending[0]], item))
            elif item in bare_words:
                give(*bare_words[item])
            elif pending_optional := [a for a in layout.optional_positional if a not in values]:
                arg = pending_optional[0]
                give(arg, self.read_value(number, op, arg, kinds[arg], item))
            else:
                raise self.fail(number, f"{op}: unexpected argument {item!r}")
        for arg in REQUIRED_ARGUMENTS[op]:
            if arg not in values:
                raise self.fail(number, f"{op}: missing argument {arg!r}")
        if values.get("shared") == NEITHER:   # mmap(anon, neither, ...): MAP_TYPE 0
            values["shared"] = False
            give("neither", True)
        return values

    def read_value(self, number: int, op: str, arg: str, kind: object, text: str) -> object:
        if isinstance(kind, tuple):
            if text not in kind:
                raise self.fail(number, f"{op} {arg} must be {one_of(kind)}, not {text[:200]!r}")
            return text
        match kind:
            case "flag" | "sharing":
                words = {"true": True, "false": False}
                if kind == "sharing":
                    words.update(shared=True, private=False, neither=NEITHER)
                if text not in words:
                    raise self.fail(number,
                                    f"{op} {arg} must be {' or '.join(words)}, not {text[:200]!r}")
                return words[text]
            case "bytes" | "byte":
                return self.read_number(number, f"{op} {arg}", text)
            case "fd?" if text == "anon":
                return None
            case "mode" | "mode?":
                if not _MODE.match(text):
                    raise self.fail(number, f"{op} {arg} is permission bits in octal with a "
                                            f"leading 0 (0600, 0640), not {text[:60]!r}")
                return int(text, 8)
            case "place" | "place?":
                return self.read_place(number, f"{op} {arg}", text)
        return text  # a handle or a name: validate checks it with the rest of the program

    def read_number(self, number: int, what: str, text: str) -> int:
        if not _NUMBER.match(text):
            raise self.fail(number, f"{what} must be a number (decimal, or hexadecimal with 0x), "
                                    f"not {text[:60]!r}")
        if len(text) > _LONGEST_NUMBER:   # int() of thousands of digits is slow, then refused
            raise self.fail(number, f"{what}: a number of {len(text)} digits is out of every "
                                    f"range a case allows")
        return int(text, 0) if text[:2].lower() == "0x" else int(text)

    def read_frame_place(self, number: int, text: str) -> FramePlace:
        """``THREAD:MAPPING`` or ``THREAD:MAPPING[page]`` (a frame place has no offset)."""
        thread, colon, rest = text.partition(":")
        match = _PLACE.match(rest.strip())
        if not colon or not thread.strip() or match is None or match["offset"] is not None:
            raise self.fail(number, f"frames: a place is THREAD:MAPPING or THREAD:MAPPING[page], "
                                    f"not {text[:200]!r}")
        page = 0 if match["page"] is None else self.read_number(number, "frames page", match["page"])
        return FramePlace(thread.strip(), match["mapping"], page)

    def read_place(self, number: int, what: str, text: str) -> Place:
        match = _PLACE.match(text)
        if match is None:
            raise self.fail(number, f"{what} must be a place (M, M[page], M+offset or "
                                    f"M[page]+offset), not {text[:200]!r}")
        page = offset = 0
        if match["page"] is not None:
            page = self.read_number(number, f"{what} page", match["page"])
        if match["offset"] is not None:
            offset = self.read_number(number, f"{what} offset", match["offset"])
        return Place(match["mapping"], page, offset)

    def read_results(self, number: int, text: str) -> frozenset[Result]:
        results: set[Result] = set()
        for item in text.split("|"):
            if not item.strip():
                raise self.fail(number, "an empty result after '->' or '|'")
            try:
                result = parse_result(item)
            except ValueError as error:
                raise self.fail(number, str(error)) from None
            if result in results:
                raise self.fail(number, f"the result {str(result)!r} is listed twice")
            results.add(result)
        return frozenset(results)
