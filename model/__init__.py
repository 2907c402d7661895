"""sharespec.model: the specification of memory sharing, as a pure transition system.

    from sharespec.model import initial, step, LINUX, Step, Fork, Write, Place
    outcomes = step(initial(), Step("T0", Fork(), "T1"), LINUX)   # [(state, Ok())]

- ``ops``: the operations (a closed set of frozen dataclasses) and ``Step``; ``actions``: every
  step the language allows from a state, one per argument class, bounded by a ``Scope``;
- ``state``: immutable states; ``semantics.step``: the allowed (state, result) pairs;
- ``profiles``: ``LINUX``, ``POSIX``; ``oracle``: allowed sets and verdicts for programs;
- ``graph`` (networkx) and ``properties``: the sharing graph and the named properties;
- ``case``, ``case_json``, ``case_text``, ``validate``: the case format.
"""
from .ops import *  # noqa: F401,F403  (the operation vocabulary is the public API)
from .ops import ALL_OPS, OP_BY_NAME, Place, Step
from .oracle import Judgement, allowed_per_step, judge
from .profiles import LINUX, POSIX, PROFILES, Profile, get_profile
from .results import parse_result
from .actions import Action, actions, classify
from .scope import Scope
from .semantics import NotApplicable, step
from .state import State, initial
