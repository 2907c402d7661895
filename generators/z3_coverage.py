"""Coverage-directed generation with z3: one case per reachable coverage goal, the shortest
program that reaches it (model/symbolic/coverage.py), with the results the explicit oracle
allows at each step.

    from sharespec.generators.z3_coverage import z3_corpus
    for case in z3_corpus(6):          # cases of origin "z3"
        ...

Every program is checked against the explicit semantics on the way out: the results the
encoding predicted must be allowed by ``oracle.allowed_per_step``, or generation stops with
``EncodingDisagreement`` (a bug in one of the two, never a silently wrong case).

The cases also observe the page tables (``frames`` steps, frame_observations.py): the z3
encoding does not model frames, so those expectations come from the explicit oracle alone.

Generation takes 20-60 s: ``progress`` (a ``CoverageProgress``) reports every phase on stderr
(z3_progress.py). Interrupts: z3 catches SIGINT during a check by default (its ``ctrl_c``
parameter), cancels the check and answers ``unknown``, so that a Ctrl-C was swallowed and
silently cost goals; generation turns that off, so that Python's own handler runs as soon as
the current check returns (a fraction of a second).
"""
from __future__ import annotations

from typing import Iterator, Optional

import z3

from sharespec.model.case import Case
from sharespec.model.oracle import allowed_per_step
from sharespec.model.profiles import get_profile
from sharespec.model.symbolic.core import SymbolicScope
from sharespec.model.symbolic.coverage import INDUCTION_AFTER, GoalResult, shortest_programs
from sharespec.model.symbolic.unrolling import Unrolling

from .frame_observations import with_frame_observations
from .z3_progress import CoverageProgress

DEFAULT_SCOPE = SymbolicScope(processes=3, threads=3, mappings=2, pages=2, segments=2, objects=2)


class EncodingDisagreement(Exception):
    """The encoding's program gives a result the explicit semantics does not allow."""


class _CountingSolver:
    """The unrolling's solver, counting its answers for the progress report."""

    def __init__(self, solver, progress: CoverageProgress):
        self._solver, self._progress = solver, progress

    def check(self, *assumptions):
        verdict = self._solver.check(*assumptions)
        self._progress.answered(verdict == z3.sat)
        return verdict

    def __getattr__(self, name):
        return getattr(self._solver, name)


class _ReportingUnrolling(Unrolling):
    """An unrolling that says when the search goes one step deeper (shortest_programs extends
    it step by step, after the induction over the goals left open) and counts solver calls."""

    def __init__(self, scope: SymbolicScope, profile, progress: CoverageProgress, **kwargs):
        self._progress = None
        progress.phase(f"encoding {scope.steps} steps")
        super().__init__(scope, profile, **kwargs)
        self._progress = progress
        self.solver = _CountingSolver(self.solver, progress)

    def extend_to(self, steps: int) -> None:
        if self._progress is not None and steps > self.built:
            self._progress.phase(f"shortest programs of {steps} step{'s' * (steps > 1)}",
                                 step=steps)
            if steps == INDUCTION_AFTER:   # after this step's search, shortest_programs tries
                self._progress.stalled_hint = ("the goals still open tried by induction, or "
                                               "one long z3 question")
        super().extend_to(steps)


def z3_coverage(bound: int, scope: Optional[SymbolicScope] = None, profile="linux",
                timeout_ms: int = 30000,
                progress: Optional[CoverageProgress] = None) -> Iterator[GoalResult]:
    """Every coverage goal with its status: reached (shortest program), unreachable within
    ``bound`` steps (proved), or unknown."""
    z3.set_param("ctrl_c", False)    # a Ctrl-C is Python's to handle (see the module's doc)
    scope = (scope or DEFAULT_SCOPE).with_steps(bound)
    unrolling = None
    if progress is not None:
        progress.start(bound)
        unrolling = _ReportingUnrolling(scope, profile, progress, timeout_ms=timeout_ms, lazy=True)
    yield from shortest_programs(scope, get_profile(profile), bound, timeout_ms=timeout_ms,
                                 unrolling=unrolling)


def case_for(result: GoalResult, profile="linux") -> Case:
    """The case of a reached goal, its allowed results from the explicit oracle."""
    profile = get_profile(profile)
    allowed = tuple(allowed_per_step(result.steps, profile))
    for index, (observed, allowed_here) in enumerate(zip(result.results, allowed)):
        if observed not in allowed_here:
            raise EncodingDisagreement(
                f"{result.goal.name}: step {index + 1} gives {observed} in the z3 encoding, "
                f"the explicit semantics allows {' | '.join(sorted(map(str, allowed_here)))}")
    goal = result.goal
    return Case(name=goal.name, profile=profile.name, rules=goal.rules(), origin="z3",
                description=f"The shortest program (found by z3) for: {goal.describe()}.",
                steps=tuple(result.steps), allowed=allowed)


def z3_corpus(bound: int, scope: Optional[SymbolicScope] = None, profile="linux",
              timeout_ms: int = 30000, frames: bool = True,
              progress: Optional[CoverageProgress] = None, observe: bool = True) -> Iterator[Case]:
    """One case (origin "z3") per coverage goal reachable within ``bound`` steps.

    ``frames``: with frames steps observing the pages the program touched (after forks, after
    the first write after a fork, at the end; frame_observations.py; under posix they check what the values imply). The z3
    encoding does not model page tables: z3 chooses the program, its value results are checked
    against the explicit semantics (case_for), and the explicit oracle alone supplies what the
    frames steps expect. ``bound`` counts the program's own steps, not the observations.

    ``observe``: after the cases of the goals, each program again with the effect of its last
    step observed, and the programs that widen them to the argument classes the encoding
    cannot express (sharespec/coverage_observations.py: ``observed_program``,
    ``widened_programs``), origin "z3" too."""
    try:
        results = list(z3_coverage(bound, scope, profile, timeout_ms, progress))
        reached = [r for r in results if r.status == "reached"]
        if progress is not None:
            progress.phase(f"expected results of {len(reached)} programs (explicit oracle)",
                           of=len(reached))
        for done, result in enumerate(reached, 1):
            case = case_for(result, profile)
            yield with_frame_observations(case) if frames else case
            if progress is not None:
                progress.advance(done)
        made = len(reached)
        if observe:
            if progress is not None:
                progress.phase(f"effects observed and arguments widened of {len(reached)} "
                               "programs")
            for case in observed_cases([r.steps for r in reached], profile):
                made += 1
                yield case
        if progress is not None:
            progress.finish(f"{made} cases from {len(results)} goals")
    finally:
        if progress is not None:
            progress.close()


def observed_cases(programs: list, profile="linux") -> Iterator[Case]:
    """The z3 programs with their effects observed, then the widened ones, observed too."""
    from sharespec.coverage_observations import observed_program, widened_programs
    from sharespec.generators.canonical import fingerprinted_case
    from sharespec.model.oracle import StateExplosion
    profile = get_profile(profile)
    programs = [tuple(p) for p in programs]
    widened = widened_programs(programs, profile)
    for program, what in [(p, "observed") for p in programs] + [(p, "widened") for p in widened]:
        steps = observed_program(program, profile)
        if what == "observed" and steps == program:
            continue      # nothing to observe: the goal's own case says it all
        try:
            allowed = tuple(allowed_per_step(steps, profile))
        except StateExplosion:
            continue
        yield fingerprinted_case(f"z3-{what}", steps, profile.name, "z3",
                                 f"A z3 program ({what}: coverage_observations.py), its last "
                                 "step's effect observed.", allowed)
