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


def read_case_file(path: "str | Path") -> list:
    """The cases in one file, with their allowed results filled in and checked."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CaseError(source, "", f"cannot read: {e}") from None
    if path.suffix == ".jsonl":
        cases = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                cases.append(with_expectations(_json_case(line, source, f"line {number}"), source))
        return cases
    if path.suffix == ".json":
        return [with_expectations(_json_case(text, source, ""), source)]
    return [with_expectations(case_from_text(text, source), source)]


def _json_case(text: str, source: str, where: str) -> Case:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        place = f"{where}, " if where else ""
        raise CaseError(source, f"{place}line {e.lineno} column {e.colno}" if not where else where,
                        f"not JSON: {e.msg}") from None
    except ValueError as e:     # a number too long to convert, for one
        raise CaseError(source, where, f"not JSON: {e}") from None
    except RecursionError:      # the decoder recurses once per level of nesting
        raise CaseError(source, where, "not a case: JSON nested too deeply") from None
    try:
        return case_from_json(obj, source)
    except CaseError as e:
        if where:
            raise CaseError(source, f"{where}: {e.where}" if e.where else where, e.problem) from None
        raise


def read_case_paths(paths) -> Iterator[Case]:
    """Cases from files and folders (every case file in a folder, sorted)."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix in CASE_SUFFIXES)
            if not files:
                raise CaseError(str(p), "", "no case files (.case, .json, .jsonl) in this folder")
            for f in files:
                yield from read_case_file(f)
        elif p.exists():
            yield from read_case_file(p)
        else:
            raise CaseError(str(p), "", "no such file")


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
