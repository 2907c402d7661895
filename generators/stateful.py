"""A Hypothesis state machine that runs the model and a real implementation side by side.

``ImplementationMachine`` grows one program step by step (the same step choices, the same
interpretation as ``strategies.programs``) and after each step checks that the
implementation's result for it is one the profile allows, given the results the
implementation gave for the steps before it. The first step outside the allowed set fails the
run, and Hypothesis shrinks the program to a short one that still fails.

An implementation runs whole cases, not single steps (docs/case-format.md, "Observations"), so
after each new step the machine sends the whole program so far as a case through one
long-lived ``ImplementationProcess`` and judges the observation with
``runner.judge_observation`` (which replays it through ``oracle.judge``: each step against
the states consistent with the earlier observed results). Cost: a run of n steps executes
n cases of 1..n steps, n(n+1)/2 steps in all, and each case pays the implementation's fixed
cost (for the bundled one, a fresh case process: a few milliseconds). With
``check_every_step=False`` the machine instead runs the program once, at teardown: one case per
run, and the verdict still names the first diverging step, but Hypothesis sees the failure
only after the last step (so it shrinks from the whole run).

Verdicts: FAIL and ERROR (a broken protocol) fail the run; INCONCLUSIVE (a timeout, the
environment refusing a resource) and NOT_APPLICABLE reject it (Hypothesis counts it as
invalid, never as a pass; many of them trip its ``filter_too_much`` health check).

Use it from a test suite::

    from sharespec.generators.stateful import machine_for
    from sharespec.model.scope import Scope

    TestBundled = machine_for()                                   # python -m sharespec.impl
    TestMine = machine_for("./my-impl --json", profile="posix", scope=Scope(steps=10),
                           max_examples=50)

Each is a ``unittest.TestCase`` class (pytest collects it); its ``settings`` have no deadline
(fork and mmap are slow and their time varies). Reproducing a run:

- failures are saved in Hypothesis's example database (``.hypothesis/`` under the current
  directory, git-ignored) under a key made from the machine's configuration (implementation
  command, profile, scope, mode), and replayed first by the next run of the same class;
- ``pytest --hypothesis-seed=1234`` fixes the seed of every Hypothesis test in the run;
- ``seed(1234)(TestMine.machine)`` (``from hypothesis import seed``) fixes one machine's seed;
- on failure Hypothesis prints the steps (``state.step(choice=StepChoice(...))``) and the
  machine's notes give the program in the text form and each step's observed result.
"""
from __future__ import annotations

import atexit
import json
from collections import OrderedDict
from typing import Optional

from hypothesis import HealthCheck, Phase, note, reject, settings
from hypothesis.stateful import RuleBasedStateMachine, rule

from sharespec.model.case import Case
from sharespec.model.profiles import get_profile
from sharespec.model.scope import DEFAULT, Scope
from sharespec.runner import ImplementationProcess, case_line, judge_observation

from .strategies import ProgramBuilder, StepChoice, step_choices


# Observations remembered per machine class (reuse_observations).
MAX_REMEMBERED = 20000


class DivergenceFound(AssertionError):
    """The implementation gave a result the profile does not allow (or broke the protocol)."""


class ImplementationMachine(RuleBasedStateMachine):
    """Drives the model and an implementation side by side; see the module docstring.

    Configure a subclass through its class attributes (``machine_for`` does this):
    ``impl_command`` (a command line; None: the bundled implementation), ``profile``,
    ``scope``, ``kinds`` (as in ``programs``), ``case_timeout`` (seconds per case) and
    ``check_every_step``.
    """

    impl_command: Optional[str] = None
    profile: str = "linux"
    scope: Scope = DEFAULT
    kinds: Optional[tuple] = None
    case_timeout: float = 10.0
    check_every_step: bool = True
    reuse_observations: bool = True
    _impl: Optional[ImplementationProcess] = None  # one per class, shared by its runs
    _seen: Optional[OrderedDict] = None            # program (case line) -> observation
    cases_checked: int = 0                         # per class: prefixes judged so far

    def __init__(self):
        super().__init__()
        self.builder = ProgramBuilder(self.scope, self.profile, kinds=self.kinds)
        self.observed: tuple = ()
        self.cases_sent = 0

    # -- the implementation, started once per class

    @classmethod
    def implementation(cls) -> ImplementationProcess:
        if cls.__dict__.get("_impl") is None:
            cls._impl = ImplementationProcess(cls.impl_command, cls.case_timeout)
            atexit.register(cls.close)
        return cls._impl

    @classmethod
    def close(cls) -> None:
        impl = cls.__dict__.get("_impl")
        if impl is not None:
            impl.stop()
            cls._impl = None

    # -- the rule

    @rule(choice=step_choices())
    def step(self, choice: StepChoice) -> None:
        """Interpret one more step choice; check the implementation's result for it.

        A choice that does not apply, or comes once the program is full, does nothing (the
        kind index is taken modulo the machine's own ``kinds`` table)."""
        added = self.builder.interpret(choice)
        if added is None or not self.check_every_step:
            return
        self.check_program()

    def teardown(self) -> None:
        if not self.check_every_step and self.builder.steps:
            self.check_program()

    # -- running the program so far and judging it

    def check_program(self) -> None:
        steps = tuple(self.builder.steps)
        self.cases_sent += 1
        type(self).cases_checked += 1
        case = Case(name=f"stateful-{self.cases_sent}", profile=self.profile, rules=(),
                    origin="hypothesis", description="a prefix run by ImplementationMachine",
                    steps=steps)
        line = case_line(case)
        obs, problem = self.run_case(line, case.name)
        if obs is None:
            raise DivergenceFound(f"protocol: {problem}\n{self.describe(steps, ())}")
        result = judge_observation(case, obs, self.profile, 0.0)
        self.observed = result.results
        note(f"after step {len(steps)}: {result.verdict} {result.detail}".rstrip())
        if result.verdict in ("FAIL", "ERROR"):
            raise DivergenceFound(f"{result.verdict}: {result.detail}\n"
                                  f"{self.describe(steps, result.results)}")
        if result.verdict in ("INCONCLUSIVE", "NOT_APPLICABLE"):
            reject()

    def run_case(self, line: str, name: str):
        """(observation, problem), from the implementation or, for a program it already ran
        in this process (shrinking reruns the same prefixes over and over), from memory."""
        cls = type(self)
        key = line.replace(f'"name":{json.dumps(name)}', "", 1)
        if cls.reuse_observations:
            if cls.__dict__.get("_seen") is None:
                cls._seen = OrderedDict()
            if key in cls._seen:
                cls._seen.move_to_end(key)
                return dict(cls._seen[key], case=name), ""
        obs, problem = self.implementation().exchange(line)
        if obs is not None and cls.reuse_observations:
            cls._seen[key] = obs
            if len(cls._seen) > MAX_REMEMBERED:
                cls._seen.popitem(last=False)
        return obs, problem

    @staticmethod
    def describe(steps, results) -> str:
        """The program with the observed results, one step a line, in the text form."""
        from sharespec.model.case_text import case_to_text
        text = case_to_text(Case(name="divergence", profile="linux", rules=(), origin="hypothesis",
                                 description="", steps=tuple(steps)))
        lines = [ln for ln in text.splitlines() if ":" in ln and not ln.startswith("#")]
        out = []
        for index, line in enumerate(lines[-len(steps):] if steps else []):
            got = results[index] if index < len(results) else "(not reported)"
            out.append(f"  {line.strip():50} observed {got}")
        return "\n".join(out)


def machine_for(impl_command: Optional[str] = None, profile: str = "linux",
                scope: Scope = Scope(steps=8), *, kinds: Optional[tuple] = None,
                max_examples: int = 25, check_every_step: bool = True,
                reuse_observations: bool = True,
                case_timeout: float = 10.0, database=settings.default.database):
    """A ``unittest.TestCase`` class that runs ``ImplementationMachine`` against one
    implementation; its ``machine`` attribute is the machine class.

    A run draws up to ``2 * scope.steps`` step choices (``stateful_step_count``); the
    program stops growing at ``scope.steps`` steps.

    >>> TestBundled = machine_for(max_examples=5, scope=Scope(steps=4))
    >>> TestBundled.settings.deadline is None, TestBundled.settings.stateful_step_count
    (True, 8)
    """
    profile = str(get_profile(profile))
    config = dict(impl=impl_command, profile=profile, scope=repr(scope), kinds=kinds,
                  every_step=check_every_step)
    name = "ImplementationMachine_" + profile
    machine = type(name, (ImplementationMachine,), {
        "impl_command": impl_command, "profile": profile, "scope": scope, "kinds": kinds,
        "case_timeout": case_timeout, "check_every_step": check_every_step, "_impl": None,
        "reuse_observations": reuse_observations, "_seen": None, "cases_checked": 0,
        # Hypothesis keys its example database by the machine's digest; this part makes the
        # key differ between configurations, so a failure replays only where it happened.
        "_hypothesis_internal_add_digest": json.dumps(config, sort_keys=True).encode(),
        "__module__": __name__,
    })
    test_case = machine.TestCase
    test_case.settings = settings(
        max_examples=max_examples, stateful_step_count=2 * max(1, scope.steps), deadline=None,
        database=database, suppress_health_check=[HealthCheck.too_slow],
        # The explain phase reruns the shrunk failure hundreds of times to say which steps
        # matter; against a real implementation that costs far more than the shrinking.
        phases=[phase for phase in Phase if phase is not Phase.explain],
    )
    test_case.machine = machine
    test_case.tearDownClass = classmethod(lambda cls: machine.close())
    return test_case
