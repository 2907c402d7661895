"""A program built one step at a time over the model's action menu, with the states it may
have reached: what the random walk (random_programs.py) and the Hypothesis strategies
(strategies.py) share.

Each generator chooses the next step its own way (a seeded random choice, a shrinkable
``StepChoice``); the walk says who may act and what the menu offers them (model/actions.py),
and follows the step into every state the profile allows. A thread that has certainly ended
(dead in every state the program may have reached, as validate.py counts it) acts no more;
one that is dead only in some states may, and gets "dead" there.
"""
from __future__ import annotations

from typing import Optional

from sharespec.model.actions import actions
from sharespec.model.ops import Exec, Exit, Open, Step, ThreadExit
from sharespec.model.profiles import get_profile
from sharespec.model.scope import Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial


class Walk:
    """The steps so far, the states they may lead to (in a fixed order, so that a walk is
    reproducible), the threads that have certainly ended and the descriptors bound."""

    def __init__(self, scope: Scope, profile="linux"):
        self.scope = scope
        self.profile = get_profile(profile)
        self.states = [initial()]
        self.steps: list = []
        self.ended: set = set()
        self.fds_bound = 0

    def live_threads(self) -> list:
        """The threads that may act next: alive in some state, not certainly ended."""
        return [t for t in self.states[0].threads if t not in self.ended and
                any(s.threads.get(t) is not None and s.threads[t].alive for s in self.states)]

    def menu(self, actor: str) -> list:
        """The actions of ``actor`` from a state where it is alive (model/actions.py)."""
        here = next(s for s in self.states
                    if s.threads.get(actor) is not None and s.threads[actor].alive)
        return actions(here, self.scope, fds_bound=self.fds_bound, actors=[actor],
                       linux=self.profile.linux_interfaces)

    def successors(self, st: Step) -> Optional[list]:
        """Every state ``st`` may lead to from the states so far (None: the profile does not
        cover it)."""
        try:
            return list(dict.fromkeys(s2 for s in self.states for s2, _ in step(s, st, self.profile)))
        except NotApplicable:
            return None

    @staticmethod
    def ends_everything(states: list) -> bool:
        """True if no thread is alive in any of ``states``: nothing more can happen, and nothing
        the program did can be observed after it."""
        return not any(t.alive for s in states for t in s.threads.values())

    def take(self, st: Step, states: list) -> None:
        """Add ``st``, which leads to ``states``."""
        self.states = states
        self.fds_bound += isinstance(st.op, Open)
        if isinstance(st.op, (ThreadExit, Exit, Exec)):
            self.ended.update(t for t in self.states[0].threads
                              if all(t not in s.threads or not s.threads[t].alive
                                     for s in self.states))
        self.steps.append(st)
