"""The JSON form of a case (docs/case-format.md, "The JSON form"; schema: docs/case.schema.json).

Writers write every argument, defaults included, with keys in one fixed order, so a case has
exactly one JSON text. Readers accept arguments left out when they have a default and reject
everything else the format does not say: unknown fields, wrong types (``true`` is not ``1``),
numbers out of range, unknown operations, ill-bound handles. Errors name a JSON path such as
``steps[3].args.at.page`` and, when the input text is at hand, its line.
"""
from __future__ import annotations

import json
import re
from typing import Optional

from .case import FORMAT, VERSION, Case, CaseError, in_written_order
from .ops import OP_BY_NAME, FramePlace, Place, Step
from .results import parse_result
from .validate import (
    ARGUMENT_KINDS, REQUIRED_ARGUMENTS, describe, header_problem, validate_program,
)

# The fields of the top level and of a step, in the order writers write them.
_CASE_FIELDS = ("format", "version", "name", "profile", "rules", "origin", "description", "steps")
_REQUIRED_CASE_FIELDS = ("format", "version", "name", "profile", "steps")
_CASE_DEFAULTS = {"rules": [], "origin": "handwritten", "description": ""}
_STEP_FIELDS = ("thread", "op", "bind", "args", "allowed")
_PLACE_FIELDS = ("mapping", "page", "offset")


# --- writing ---------------------------------------------------------------------

def case_to_json(case: Case) -> dict:
    """The JSON object of a case, every argument written out."""
    steps = []
    for index, step in enumerate(case.steps):
        encoded: dict = {"thread": step.thread, "op": step.op.OP}
        if step.bind is not None:
            encoded["bind"] = step.bind
        encoded["args"] = {name: _encode_value(getattr(step.op, name))
                           for name in ARGUMENT_KINDS[step.op.OP]}
        if case.allowed is not None:
            encoded["allowed"] = [str(result) for result in in_written_order(case.allowed[index])]
        steps.append(encoded)
    return {"format": FORMAT, "version": VERSION, "name": case.name, "profile": case.profile,
            "rules": list(case.rules), "origin": case.origin, "description": case.description,
            "steps": steps}


def _encode_value(value: object) -> object:
    if isinstance(value, Place):
        return {"mapping": value.mapping, "page": value.page, "offset": value.offset}
    if isinstance(value, tuple) and value and isinstance(value[0], FramePlace):
        return [{"thread": p.thread, "mapping": p.mapping, "page": p.page} for p in value]
    return value


def dumps_case(case: Case) -> str:
    """The case as one line of JSON (for JSON-lines streams), keys in the writers' order."""
    return json.dumps(case_to_json(case))


# --- reading ---------------------------------------------------------------------

def loads_case(text: str, source: str = "<string>") -> Case:
    """Read a case from JSON text (one line, or pretty-printed: errors then give the line)."""
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise CaseError(source, f"line {error.lineno} column {error.colno}",
                        f"not JSON: {error.msg}") from None
    except _DuplicateKey as error:
        raise CaseError(source, "",
                        f"the key {error.args[0]!r} appears twice in one object") from None
    except ValueError as error:
        raise CaseError(source, "", f"not JSON: {error}") from None
    except RecursionError:      # the decoder recurses once per level of nesting
        raise CaseError(source, "", "not a case: JSON nested too deeply") from None
    return _JsonReader(source, text).read_case(obj)


def case_from_json(obj: object, source: str = "<string>") -> Case:
    """Read a case from its decoded JSON object."""
    return _JsonReader(source, None).read_case(obj)


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a case can hold")


class _JsonReader:
    """Turns a decoded JSON object into a Case; knows where to point when it cannot."""

    def __init__(self, source: str, text: Optional[str]):
        self.source = source
        self.text = text

    def where(self, path: tuple) -> str:
        location = ""
        for part in path:
            location += f"[{part}]" if isinstance(part, int) else ("." if location else "") + part
        line = _line_of(self.text, path) if self.text is not None else None
        if line is not None and "\n" in self.text.strip():
            location += f" (line {line})"
        return location

    def fail(self, path: tuple, problem: str) -> CaseError:
        return CaseError(self.source, self.where(path), problem)

    def read_case(self, obj: object) -> Case:
        if not isinstance(obj, dict):
            raise self.fail((), f"a case is a JSON object, not {describe(obj)[:40]}")
        self.no_unknown_fields((), obj, _CASE_FIELDS, "field")
        for field in _REQUIRED_CASE_FIELDS:
            if field not in obj:
                raise self.fail((), f"missing field {field!r}")
        if obj["format"] != FORMAT:
            raise self.fail(("format",),
                            f"format must be {FORMAT!r}, not {describe(obj['format'])}")
        if type(obj["version"]) is not int or obj["version"] != VERSION:
            raise self.fail(("version",), f"this reader knows version {VERSION} only, "
                                          f"not {describe(obj['version'])}")
        header = {field: obj.get(field, _CASE_DEFAULTS.get(field))
                  for field in ("name", "profile", "rules", "origin", "description")}
        for field, value in header.items():
            problem = header_problem(field, value)
            if problem:
                raise self.fail((field,), problem)
        raw_steps = obj["steps"]
        if not isinstance(raw_steps, list) or not raw_steps:
            raise self.fail(("steps",),
                            f"steps must be a non-empty list, not {describe(raw_steps)[:40]}")
        steps = []
        allowed = []
        for index, raw in enumerate(raw_steps):
            step, results = self.read_step(index, raw)
            steps.append(step)
            allowed.append(results)
        missing = [index for index, results in enumerate(allowed) if results is None]
        if missing and len(missing) < len(allowed):
            raise self.fail(("steps", missing[0]), "allowed is given for some steps but not "
                                                   "this one: give it for every step or none")
        allowed_or_none = None if missing else tuple(allowed)
        steps = tuple(steps)
        validate_program(steps, self.source, allowed=allowed_or_none,
                         where=lambda index, path: self.where(("steps", index) + path))
        return Case(name=header["name"], profile=header["profile"], rules=tuple(header["rules"]),
                    origin=header["origin"], description=header["description"], steps=steps,
                    allowed=allowed_or_none)

    def no_unknown_fields(self, path: tuple, obj: dict, known: tuple, what: str) -> None:
        for key in obj:
            if key not in known:
                raise self.fail(path + (key,),
                                f"unknown {what} {key!r} (known: {', '.join(known)})")

    def read_step(self, index: int, raw: object) -> tuple[Step, Optional[frozenset]]:
        path = ("steps", index)
        if not isinstance(raw, dict):
            raise self.fail(path, f"a step is a JSON object, not {describe(raw)[:40]}")
        self.no_unknown_fields(path, raw, _STEP_FIELDS, "step field")
        for field in ("thread", "op"):
            if field not in raw:
                raise self.fail(path, f"missing step field {field!r}")
        name = raw["op"]
        if not isinstance(name, str) or name not in OP_BY_NAME:
            raise self.fail(path + ("op",), f"unknown operation {describe(name)} "
                                            f"(known: {', '.join(OP_BY_NAME)})")
        args = raw.get("args", {})
        if not isinstance(args, dict):
            raise self.fail(path + ("args",),
                            f"args must be a JSON object, not {describe(args)[:40]}")
        op = self.read_op(path + ("args",), name, args)
        bind = raw.get("bind")
        if "bind" in raw and not isinstance(bind, str):
            raise self.fail(path + ("bind",), f"bind must be a handle name, not {describe(bind)}")
        results = None
        if "allowed" in raw:
            results = self.read_results(path + ("allowed",), raw["allowed"])
        # Thread and handle names are checked, with everything else about them, by validate.
        return Step(thread=raw["thread"], op=op, bind=bind), results

    def read_op(self, path: tuple, name: str, args: dict) -> object:
        kinds = ARGUMENT_KINDS[name]
        self.no_unknown_fields(path, args, tuple(kinds), f"argument of {name}")
        for required in REQUIRED_ARGUMENTS[name]:
            if required not in args:
                raise self.fail(path, f"{name} needs the argument {required!r}")
        values = {}
        for arg, value in args.items():
            if kinds[arg] in ("place", "place?") and value is not None:
                value = self.read_place(path + (arg,), value)
            if kinds[arg] == "frame-places":
                value = self.read_frame_places(path + (arg,), value)
            values[arg] = value
        return OP_BY_NAME[name](**values)

    def read_frame_places(self, path: tuple, raw: object) -> tuple:
        """[{"thread": T, "mapping": M, "page": n}, ...] -> FramePlaces (validate checks them)."""
        if not isinstance(raw, list):
            raise self.fail(path, f"places is a list of frame places, not {describe(raw)[:40]}")
        places = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise self.fail(path + (i,), "a frame place is an object {\"thread\": ..., "
                                             f"\"mapping\": ..., \"page\": ...}}, not {describe(item)[:40]}")
            self.no_unknown_fields(path + (i,), item, ("thread", "mapping", "page"), "frame place field")
            for needed in ("thread", "mapping"):
                if needed not in item:
                    raise self.fail(path + (i,), f"a frame place needs its {needed}")
            places.append(FramePlace(item["thread"], item["mapping"], item.get("page", 0)))
        return tuple(places)

    def read_place(self, path: tuple, raw: object) -> Place:
        if not isinstance(raw, dict):
            raise self.fail(path, "a place is an object {\"mapping\": ..., \"page\": ..., "
                                  f"\"offset\": ...}}, not {describe(raw)[:40]}")
        self.no_unknown_fields(path, raw, _PLACE_FIELDS, "place field")
        if "mapping" not in raw:
            raise self.fail(path, "a place needs its mapping")
        return Place(raw["mapping"], raw.get("page", 0), raw.get("offset", 0))

    def read_results(self, path: tuple, raw: object) -> frozenset:
        if not isinstance(raw, list) or not raw:
            raise self.fail(path, "allowed must be a non-empty list of results, "
                                  f"not {describe(raw)[:40]}")
        results = set()
        for position, text in enumerate(raw):
            try:
                result = parse_result(text)
            except ValueError as error:
                raise self.fail(path + (position,), str(error)) from None
            if str(result) != text:
                raise self.fail(path + (position,), f"write the result {text!r} as {str(result)!r}")
            if result in results:
                raise self.fail(path + (position,), f"the result {text!r} is listed twice")
            results.add(result)
        return frozenset(results)


# --- finding the line of a JSON path ---------------------------------------------

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _line_of(text: str, path: tuple) -> Optional[int]:
    """The line where the value at ``path`` begins in ``text``, or None if it cannot be found.

    Only called when reporting an error, so it re-scans the text rather than have the
    decoder keep positions for every value.
    """
    try:
        pos = _SPACE.match(text, 0).end()
        for part in path:
            pos = _find_member(text, pos, part)
            if pos is None:
                return None
        return text.count("\n", 0, pos) + 1
    except (ValueError, IndexError):
        return None


def _find_member(text: str, pos: int, part: object) -> Optional[int]:
    """The position of member ``part`` (a key or an index) of the container starting at ``pos``."""
    opening, closing = ("{", "}") if isinstance(part, str) else ("[", "]")
    if text[pos] != opening:
        return None
    pos = _SPACE.match(text, pos + 1).end()
    index = 0
    while text[pos] != closing:
        if isinstance(part, str):
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _SPACE.match(text, pos).end() + 1  # past the ':'
            pos = _SPACE.match(text, pos).end()
            if key == part:
                return pos
        elif index == part:
            return pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _SPACE.match(text, pos).end()
        if text[pos] == ",":
            pos = _SPACE.match(text, pos + 1).end()
        index += 1
    return None
