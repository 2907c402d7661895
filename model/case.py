"""A case: a program, the profile it is judged under, and the results allowed at each step.

This is the in-memory form of docs/case-format.md. The two wire forms live beside it:
``case_json`` (for machines) and ``case_text`` (for people); both check what they read with
``validate`` and raise ``CaseError`` for anything a case may not say.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .ops import Step
from .results import Dead, Eof, Errno, Fault, Ok, Result, SegmentId, Stat, Value

FORMAT = "sharespec-case"
VERSION = 1


@dataclass(frozen=True)
class Case:
    """One case of the case format.

    ``allowed`` is None when the results are not known (a case written by hand, before
    sharespec computes them); otherwise it has one non-empty set per step.
    """

    name: str
    profile: str
    rules: tuple[str, ...]
    origin: str
    description: str
    steps: tuple[Step, ...]
    allowed: Optional[tuple[frozenset[Result], ...]] = None


class CaseError(Exception):
    """A case that cannot be read: where it is wrong, and why.

    ``source`` is a file name (or "<string>"), ``where`` a position in it ("line 12" for the
    text form, a JSON path such as "steps[3].args.at.page (line 14)" for JSON; empty when the
    problem is the whole input), ``problem`` what is wrong, in words.
    """

    def __init__(self, source: str, where: str, problem: str):
        self.source = source
        self.where = where
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.where:
            return f"{self.source}: {self.where}: {self.problem}"
        return f"{self.source}: {self.problem}"


# Writers list a step's allowed results in this order, so that a case has one written form:
# success first, then the values and identifiers a call can return, then failures.
_RESULT_RANK = {Ok: 0, Value: 1, Eof: 2, SegmentId: 3, Stat: 4, Errno: 5, Fault: 6, Dead: 7}


def _result_order(result: Result) -> tuple[int, int, str]:
    rank = _RESULT_RANK.get(type(result), len(_RESULT_RANK))  # a newer kind of result: last
    match result:
        case Value():
            return (rank, result.byte, "")   # numerically: 2 before 10
        case SegmentId(same_as=None):
            return (rank, 0, "")             # "new" before "=S0"
    return (rank, 1, str(result))


def in_written_order(results: Iterable[Result]) -> list[Result]:
    """A step's allowed results in the order both writers use."""
    return sorted(results, key=_result_order)
