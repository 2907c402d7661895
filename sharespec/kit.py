"""The conformance kit: hold an implementation to the specification from your own tests.

    from sharespec.kit import check_implementation
    def test_my_sandbox_shares_memory_like_linux():
        check_implementation("bwrap --dev-bind / / python3 -S -m impl", profile="linux")

``check_implementation`` runs a corpus (default: the built-in suite) against the
implementation and returns a ``KitReport`` when every case PASSed (or was NOT_APPLICABLE);
otherwise it raises ``ConformanceError`` (an AssertionError, so any test runner shows it as a
failure) whose message is the readable report: each FAIL with its first deviating step, the
allowed results, a shrunk counterexample in the text form, and the diagnosis (which named
variant of the specification the implementation behaves like); each ERROR (a protocol
violation) with what was received. INCONCLUSIVE cases fail the check too unless
``allow_inconclusive=True``: nothing was learnt from them.

The implementation is given as
- ``None``: the bundled real-OS implementation;
- a command line (a string): any program speaking docs/protocol.md; ``mutant:NAME`` names a
  mutant (sharespec/mutants);
- a factory (a callable, no arguments) for an in-process implementation: called once per case,
  it returns either a callable or an object with ``run_case``, which takes the case as a JSON
  dict (docs/case-format.md) and returns the observation as a dict (docs/protocol.md).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

Implementation = Union[None, str, Callable[[], object]]


@dataclass
class KitReport:
    """What ``check_implementation`` found; ``text()`` is the readable report."""
    results: list
    profile: str
    shrunk: dict = field(default_factory=dict)       # case name -> (shrunk case, its result)
    diagnosis: object = None

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    @property
    def failures(self) -> list:
        return [r for r in self.results if r.verdict == "FAIL"]

    @property
    def errors(self) -> list:
        return [r for r in self.results if r.verdict == "ERROR"]

    @property
    def inconclusive(self) -> list:
        return [r for r in self.results if r.verdict == "INCONCLUSIVE"]

    def ok(self, allow_inconclusive: bool = False) -> bool:
        return not self.failures and not self.errors and (allow_inconclusive or not self.inconclusive)

    def text(self) -> str:
        from sharespec.generators.reproducer import outcome_text
        from sharespec.model.case_text import case_to_text
        lines = [f"sharespec conformance under profile {self.profile}: "
                 f"{self.count('PASS')} passed, {self.count('FAIL')} failed, "
                 f"{self.count('INCONCLUSIVE')} inconclusive, {self.count('NOT_APPLICABLE')} "
                 f"not applicable, {self.count('ERROR')} errors ({len(self.results)} cases)"]
        for r in self.failures:
            lines += ["", f"FAIL {r.case.name}: {r.detail}"]
            if r.rules:
                lines.append(f"  rules: {', '.join(r.rules)}")
            if r.case.name in self.shrunk:
                small, small_result = self.shrunk[r.case.name]
                lines.append(f"  shrunk counterexample ({len(small.steps)} of "
                             f"{len(r.case.steps)} steps):")
                lines += ["    " + line for line in case_to_text(small).splitlines()]
                lines += ["    " + line for line in outcome_text(small, small_result).splitlines()]
        for r in self.errors:
            lines += ["", f"ERROR {r.case.name}: {r.detail}"]
        for r in self.inconclusive:
            lines += ["", f"INCONCLUSIVE {r.case.name}: {r.detail}"]
        if self.diagnosis is not None:
            lines += ["", self.diagnosis.sentence()]
        return "\n".join(lines)


class ConformanceError(AssertionError):
    """The implementation does not conform; ``report`` holds everything, ``str()`` reads well."""

    def __init__(self, report: KitReport):
        super().__init__(report.text())
        self.report = report


def load_corpus(corpus, profile: str) -> list:
    """None: the built-in suite; a path (file or folder of .case/.json/.jsonl); Case objects."""
    from sharespec.model.case import Case
    if corpus is None:
        from sharespec.suite import builtin_cases
        cases = builtin_cases()
    elif isinstance(corpus, (str, Path)):
        from sharespec.casefiles import read_case_paths
        cases = list(read_case_paths([corpus]))
    else:
        cases = list(corpus)
        if not all(isinstance(c, Case) for c in cases):
            raise TypeError("corpus: give None, a path, or Case objects")
    if profile != "linux":
        from dataclasses import replace

        from sharespec.casefiles import with_expectations
        cases = [with_expectations(replace(c, profile=profile, allowed=None)) for c in cases]
    return cases


def run_factory(factory: Callable[[], object], cases: Iterable, profile: str):
    """Run cases through an in-process implementation; yields runner CaseResults."""
    from sharespec.model.case_json import case_to_json
    from sharespec.runner import CaseResult, judge_observation
    for case in cases:
        start = time.monotonic()
        try:
            impl = factory()
            run = impl.run_case if hasattr(impl, "run_case") else impl
            obs = run(json.loads(json.dumps(case_to_json(case))))
        except Exception as e:     # the implementation's crash is a protocol error, not a FAIL
            yield CaseResult(case, "ERROR", f"protocol: the implementation raised {e!r}",
                             seconds=time.monotonic() - start)
            continue
        if not isinstance(obs, dict):
            yield CaseResult(case, "ERROR", f"protocol: an observation must be a dict, got {obs!r:.200}",
                             seconds=time.monotonic() - start)
            continue
        yield judge_observation(case, obs, profile, time.monotonic() - start)


def run_implementation(impl: Implementation, cases, profile: str = "linux",
                       timeout: float = 10.0, jobs: int = 1):
    """Runner CaseResults for ``cases`` from any form of implementation."""
    if callable(impl):
        return run_factory(impl, cases, profile)
    from sharespec.runner import resolve_impl, run_cases
    return run_cases(cases, profile=profile, impl=resolve_impl(impl, timeout), jobs=jobs,
                     timeout=timeout)


class CommandSession:
    """One implementation process kept running across many single-case runs (shrinking makes
    dozens): no start-up per candidate; a dead process is restarted. An ImplementationPool of
    width 1, so each case is judged exactly as ``sharespec run`` judges it (runner._one_case:
    the observation's case name, a refusal the environment made, what the case left)."""

    def __init__(self, impl: Optional[str], profile: str, timeout: float):
        from sharespec.implementation_pool import ImplementationPool
        from sharespec.runner import resolve_impl
        self.pool = ImplementationPool(resolve_impl(impl, timeout), profile, timeout)

    def run(self, case):
        (result,) = self.pool.run([case])
        return result

    def close(self) -> None:
        self.pool.close()


def shrink_result(impl: Implementation, result, profile: str, timeout: float = 10.0):
    """(shrunk case, its result) for one FAIL, shrunk against the same implementation; a
    candidate is kept when it fails the same way (generators/shrink.py ``SameFailure``)."""
    from sharespec.generators.shrink import SameFailure, failure_fingerprint, shrink
    if callable(impl):
        session = None

        def once(case):
            return next(iter(run_factory(impl, [case], profile)))
    else:
        session = CommandSession(impl, profile, timeout)
        once = session.run
    still_fails = SameFailure(failure_fingerprint(result), lambda cases: [once(c) for c in cases],
                              base=profile)
    try:
        small = shrink(result.case, still_fails)
        return small, once(small)
    finally:
        if session is not None:
            session.close()


def check_implementation(impl: Implementation = None, corpus=None, profile: str = "linux", *,
                         timeout: float = 10.0, jobs: int = 1, shrink: bool = True,
                         max_shrinks: int = 3, allow_inconclusive: bool = False,
                         diagnose: bool = True) -> KitReport:
    """Run ``corpus`` against ``impl``; return the report, or raise ConformanceError.

    ``shrink``: shrink the first ``max_shrinks`` failures to minimal counterexamples (each
    costs many runs of the implementation). ``diagnose``: name the variants of the
    specification the implementation's observations are consistent with."""
    from sharespec.model.profiles import get_profile
    get_profile(profile)                           # ValueError for an unknown profile, early
    cases = load_corpus(corpus, profile)
    if not cases:
        raise ValueError("check_implementation: the corpus holds no case")
    results = list(run_implementation(impl, cases, profile, timeout, jobs))
    report = KitReport(results, profile)
    if report.failures:
        if shrink:
            for r in report.failures[:max_shrinks]:
                report.shrunk[r.case.name] = shrink_result(impl, r, profile, timeout)
        if diagnose:
            from sharespec.diagnosis import diagnose as run_diagnosis
            report.diagnosis = run_diagnosis(results, base=profile)
    if not report.ok(allow_inconclusive):
        raise ConformanceError(report)
    return report
