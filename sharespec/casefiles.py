"""Reading cases from files: the text form (.case), JSON (.json) and JSON lines (.jsonl).

Every case read is checked against the model: its allowed results, when written, must be
exactly what its profile allows, or the case is rejected as inconsistent.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from sharespec.model.case import Case, CaseError
from sharespec.model.case_json import case_from_json
from sharespec.model.case_text import case_from_text
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.semantics import NotApplicable

CASE_SUFFIXES = (".case", ".json", ".jsonl")
# What sharespec writes beside a case into a failures folder (generators/reproducer.py,
# sharespec/pictures.py): NAME.observation.json is an observation, not a case, and NAME.json
# is the same case as NAME.case, read once.
NOT_CASES = (".observation.json",)
# Caps on what is read (docs/case-format.md, "Limits"): a file is read in chunks up to its cap,
# never whole first, so /dev/zero or a 1 GB line costs at most this much memory.
MAX_FILE_BYTES = 64 * 2 ** 20      # one file: a JSON-lines corpus of some 30,000 cases
MAX_CASE_BYTES = 2 ** 20           # one case: a .case or .json file, or one JSON line
CHUNK = 2 ** 20


def read_bounded(path: "str | Path", limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; CaseError for anything else.

    A FIFO, a device or a socket would block or never end: it is refused before it is read,
    and opened without blocking (O_NONBLOCK: opening a FIFO otherwise waits for a writer)."""
    import os
    import stat

    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise CaseError(source, "", f"cannot read: {e.strerror or e}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise CaseError(source, "", "is a folder, not a case file")
        if not stat.S_ISREG(mode):
            raise CaseError(source, "", "not a regular file (a FIFO, a device or a socket): "
                                        "cases are read from files")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise CaseError(source, "", f"larger than {limit // 2 ** 20} MiB, the most sharespec "
                                        "reads from one file")
        return b"".join(chunks)
    except OSError as e:
        raise CaseError(source, "", f"cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)


def read_text(path: "str | Path", limit: int = MAX_FILE_BYTES) -> str:
    """A file's text (UTF-8), read as read_bounded reads it."""
    data = read_bounded(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CaseError(str(path), f"line {line}", f"not UTF-8 text (byte {e.start})") from None


def read_case_file(path: "str | Path") -> list:
    """The cases in one file, with their allowed results filled in and checked. A file that
    sharespec run --json wrote (results) gives the cases its records carry."""
    path = Path(path)
    source = str(path)
    jsonl = path.suffix == ".jsonl"
    text = read_text(path, MAX_FILE_BYTES if jsonl else MAX_CASE_BYTES)
    if jsonl or (path.suffix == ".json" and text.lstrip().startswith('{"environment"')):
        lines = text.split("\n")    # not splitlines(): JSON may hold a raw U+2028 in a string
        if lines and lines[0].lstrip().startswith('{"environment"'):
            return _results_cases(lines, source)
        cases = []
        for number, line in enumerate(lines, 1):
            if line.strip():
                if len(line) > MAX_CASE_BYTES:
                    raise CaseError(source, f"line {number}", f"longer than {MAX_CASE_BYTES // 2 ** 20}"
                                                             " MiB, the most one case may take")
                cases.append(with_expectations(_json_case(line, source, f"line {number}"), source))
        return cases
    if path.suffix == ".json":
        return [with_expectations(_json_case(text, source, ""), source)]
    return [with_expectations(case_from_text(text, source), source)]


def _results_cases(lines: list, source: str) -> list:
    """The cases of a results file (``sharespec run --json``): every case record carries its
    case as "program" (the JSON form); one written without them is refused, saying so."""
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or number == 1:
            continue
        record = json_value(line, source, f"line {number}")
        if not isinstance(record, dict):
            raise CaseError(source, f"line {number}", "a results record must be a JSON object")
        if "summary" in record and "case" not in record:
            continue
        if "program" not in record:
            raise CaseError(source, f"line {number}", "this results file names its cases but does "
                                                      "not hold them (written by an older sharespec): "
                                                      "run their sources again (its first record "
                                                      "names them)")
        try:
            case = case_from_json(record["program"], source)
        except CaseError as e:
            where = f"line {number}: program" + (f".{e.where}" if e.where else "")
            raise CaseError(source, where, e.problem) from None
        cases.append(with_expectations(case, source))
    if not cases:
        raise CaseError(source, "", "a results file with no case records")
    return cases


def json_value(text: str, source: str, where: str = "", what: str = "a case") -> object:
    """The JSON value of ``text`` from ``source`` (at ``where``, if it is part of a file);
    CaseError for text that is not JSON (placed at the line and column of the syntax error
    when ``where`` is empty), a number too long to convert, or nesting too deep for the
    decoder (``what`` the text should have been)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CaseError(source, where or f"line {e.lineno} column {e.colno}",
                        f"not JSON: {e.msg}") from None
    except ValueError as e:     # a number too long to convert, for one
        raise CaseError(source, where, f"not JSON: {e}") from None
    except RecursionError:      # the decoder recurses once per level of nesting
        raise CaseError(source, where, f"not {what}: JSON nested too deeply") from None


def _json_case(text: str, source: str, where: str) -> Case:
    obj = json_value(text, source, where)
    try:
        return case_from_json(obj, source)
    except CaseError as e:
        if where:
            raise CaseError(source, f"{where}: {e.where}" if e.where else where, e.problem) from None
        raise


def read_case_paths(paths) -> Iterator[Case]:
    """Cases from files and folders. A folder gives every case file in it and below, sorted,
    read back whatever sharespec wrote there: a corpus (its manifest lists the cases), a
    failures folder (NAME.case and NAME.json are one case; observations, pictures and
    reproducers are not cases), or cases collected by hand. A folder that cannot be listed
    is an error, never skipped."""
    for p in paths:
        p = Path(p)
        kind = path_kind(p)
        if kind == "folder":
            yield from _folder_cases(p)
        elif kind == "file":
            yield from read_case_file(p)
        else:
            raise CaseError(str(p), "", "no such file")


def path_kind(path: Path) -> str:
    """"folder", "file" (anything else that exists: read_bounded refuses what is not a regular
    file) or "missing"; CaseError when the name itself is impossible (too long, ...)."""
    import os
    import stat
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file" if os.path.islink(path) else "missing"
    except OSError as e:
        raise CaseError(str(path)[:300], "", f"cannot read: {e.strerror or e}") from None
    return "folder" if stat.S_ISDIR(mode) else "file"


def _folder_cases(folder: Path) -> Iterator[Case]:
    import os

    from sharespec.corpus import MANIFEST, read_corpus

    if path_kind(folder / MANIFEST) != "missing":
        yield from read_corpus(folder).cases
        return

    def refuse(error: OSError) -> None:
        raise CaseError(error.filename or str(folder), "",
                        f"cannot read this folder: {error.strerror or error}")

    files, corpora = [], []
    for top, dirs, names in os.walk(folder, onerror=refuse):
        dirs.sort()
        for d in list(dirs):
            if path_kind(Path(top) / d / MANIFEST) != "missing":   # a corpus: read as one
                corpora.append(Path(top) / d)
                dirs.remove(d)
        taken = set(names)
        for name in sorted(names):
            if not name.endswith(CASE_SUFFIXES) or name.endswith(NOT_CASES):
                continue
            if name.endswith(".json") and name[:-len(".json")] + ".case" in taken:
                continue    # NAME.json beside NAME.case: the same case, as a failure is written
            files.append(Path(top) / name)
    if not files and not corpora:
        raise CaseError(str(folder), "", "no case files (.case, .json, .jsonl) in this folder")
    for f in sorted(files):
        yield from read_case_file(f)
    for c in corpora:
        yield from read_corpus(c).cases


def cases_named(spec: str) -> list:
    """``show``, ``shrink``, ``explain``: a case file or folder, or the name of a built-in case."""
    path = Path(spec)
    if path_kind(path) != "missing":
        return list(read_case_paths([path]))
    from sharespec.suite import builtin_cases
    cases = [c for c in builtin_cases() if c.name == spec]
    if not cases:
        raise CaseError(spec, "", "no such file, and no built-in case of that name")
    return cases


def with_expectations(case: Case, source: str = "") -> Case:
    """The case with ``allowed`` computed by the model; CaseError if the written one differs."""
    source = source or case.name
    try:
        allowed = tuple(allowed_per_step(case.steps, case.profile))
    except NotApplicable as e:
        if case.allowed is not None:
            raise CaseError(source, "", f"not applicable under profile {case.profile}: {e}") from None
        return case
    except StateExplosion as e:
        raise CaseError(source, "", f"too nondeterministic to check: {e}") from None
    if case.allowed is not None and case.allowed != allowed:
        for index, (written, model) in enumerate(zip(case.allowed, allowed)):
            if written != model:
                raise CaseError(
                    source, f"step {index + 1}",
                    f"inconsistent expectation: the case says {' | '.join(sorted(map(str, written)))}"
                    f" but profile {case.profile} allows {' | '.join(sorted(map(str, model)))}")
    return replace(case, allowed=allowed)
