"""The default suite: the hand-written cases, one or more per observable catalogue rule, plus
cases the model generates: random walks over the explicit semantics (from ``--seed``) and the
z3 coverage corpus (the shortest program for every reachable coverage goal, up to a bound)."""
from __future__ import annotations

from importlib import resources
from typing import Iterator

from sharespec.model.case import Case

GENERATED_PER_RUN = 40
Z3_BOUND = 4   # 586 goals reached in about 25 s here (objects included)


def builtin_case_files() -> list:
    folder = resources.files("sharespec") / "cases"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".case")), key=lambda f: f.name)


def builtin_cases() -> list:
    """Every hand-written case, with its allowed results checked against the model."""
    from sharespec.casefiles import with_expectations
    from sharespec.model.case_text import case_from_text
    cases = []
    for f in builtin_case_files():
        source = f"sharespec/cases/{f.name}"
        cases.append(with_expectations(case_from_text(f.read_text(encoding="utf-8"), source), source))
    return cases


def generated_cases(seed: int, count: int = GENERATED_PER_RUN, profile: str = "linux") -> Iterator[Case]:
    from sharespec.generators.random_programs import random_cases
    return random_cases(seed, count, profile=profile)


def z3_cases(bound: int = Z3_BOUND, profile: str = "linux") -> list:
    """The z3 coverage corpus, with the explicit oracle's expectations."""
    if bound <= 0:
        return []
    from sharespec.generators.z3_coverage import z3_corpus
    return list(z3_corpus(bound, profile=profile))


def default_suite(seed: int = 0, profile: str = "linux", generated: int = GENERATED_PER_RUN,
                  z3_bound: int = Z3_BOUND) -> list:
    return builtin_cases() + list(generated_cases(seed, generated, profile)) + z3_cases(z3_bound, profile)
