"""The oracle: what a profile allows for a whole program, and the verdict on an observation.

The semantics is nondeterministic (C05, and every behaviour POSIX leaves open), so the oracle
works on *sets* of states: after each step it keeps exactly the states consistent with what
was observed, and a run fails at the first step whose observation no kept state allows.

One allowed result is a set itself: under posix a frames step allows every report consistent
with the values (frames_posix.FramesByValues), too many to list, so that step's allowed result is
the predicate, and an observation agrees with it when the predicate admits it (``outcomes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .frames import consistent_states, judged_in_part, why_not_allowed
from .frames_posix import by_values
from .ops import Frames, Step
from .profiles import Profile, get_profile
from .results import Result
from .rules import rules_for_step
from .semantics import NotApplicable, step
from .state import State, initial

# A guard against programs whose nondeterminism explodes (POSIX snapshots compound).
MAX_STATES = 20000


class StateExplosion(Exception):
    """More states than MAX_STATES at one step: the bound, not the program, is at fault."""


@dataclass(frozen=True)
class Judgement:
    """PASS, FAIL or NOT_APPLICABLE for one observed run (INCONCLUSIVE is the runner's)."""
    verdict: str                      # "PASS" | "FAIL" | "NOT_APPLICABLE"
    step: Optional[int] = None        # index of the first diverging step (FAIL)
    allowed: frozenset = frozenset()  # what the profile allowed there (FAIL)
    observed: Optional[Result] = None  # what was observed there (FAIL)
    rules: tuple = ()                 # catalogue ids involved at that step (FAIL)
    reason: str = ""                  # NOT_APPLICABLE: why; FAIL: a sentence
    # Steps judged on part of what they claim to observe: frames reports whose partition was
    # hidden (no CAP_SYS_ADMIN) where it could matter (frames.judged_in_part). The runner makes
    # a PASS with such steps INCONCLUSIVE.
    unjudged: tuple = ()


def outcomes(state: State, st: Step, profile: Profile) -> list:
    """The (next state, allowed result) pairs of one step: ``semantics.step``, except a frames
    step under a profile that predicts no frames (posix), whose one allowed result is the set
    of reports consistent with the state's values, the state unchanged (model/frames_posix.py)."""
    if isinstance(st.op, Frames) and not profile.linux_interfaces:
        thread = state.threads.get(st.thread)
        if thread is not None and thread.alive:      # a dead thread's step: DEAD, as always
            return [(state, by_values(state, st.op, profile))]
    return step(state, st, profile)


def _successors(states, st: Step, profile: Profile) -> dict:
    """result -> set of next states, over every state in ``states``."""
    by_result: dict = {}
    for s in states:
        for nxt, res in outcomes(s, st, profile):
            by_result.setdefault(res, set()).add(nxt)
    total = sum(len(v) for v in by_result.values())
    if total > MAX_STATES:
        raise StateExplosion(f"{total} states after step {st}")
    return by_result


def allowed_per_step(steps: Sequence[Step], profile, start: Optional[State] = None) -> list:
    """For each step, the frozenset of results allowed over every way the earlier steps may go.

    Raises NotApplicable if the profile does not cover the program (posix and a Linux-only call).
    A posix frames step allows one FramesByValues per distinct content of the places.
    """
    profile = get_profile(profile)
    states = {start or initial()}
    allowed = []
    for st in steps:
        by_result = _successors(states, st, profile)
        allowed.append(frozenset(by_result))
        states = set().union(*by_result.values())
    return allowed


def final_states(steps: Sequence[Step], observed: Sequence[Result], profile) -> set:
    """The states consistent with a fully observed run (empty if it diverged)."""
    profile = get_profile(profile)
    states = {initial()}
    for st, obs in zip(steps, observed):
        states = consistent_states(_successors(states, st, profile), obs) or set()
    return states


def judge(steps: Sequence[Step], observed: Sequence[Result], profile,
          case_rules: Sequence[str] = ()) -> Judgement:
    """Replay the observed results through the semantics, keeping only the states consistent
    with what was observed: FAIL at the first step whose observation no such state allows."""
    profile = get_profile(profile)
    if len(observed) != len(steps):
        raise ValueError(f"{len(observed)} results for {len(steps)} steps")
    states = {initial()}
    unjudged = []
    try:
        for index, (st, obs) in enumerate(zip(steps, observed)):
            by_result = _successors(states, st, profile)
            agreeing = consistent_states(by_result, obs)
            if agreeing is None:
                rules = tuple(sorted(set(rules_for_step(st)) | set(case_rules)))
                why = why_not_allowed(by_result, obs, getattr(st.op, "places", ()))
                return Judgement("FAIL", step=index, allowed=frozenset(by_result), observed=obs,
                                 rules=rules,
                                 reason=f"step {index + 1}: observed {obs}, allowed "
                                        f"{' | '.join(sorted(map(str, by_result)))}"
                                        + (f": {why}" if why else ""))
            states = agreeing
            if judged_in_part(by_result, obs):
                unjudged.append(index)
    except NotApplicable as e:
        return Judgement("NOT_APPLICABLE", reason=str(e))
    return Judgement("PASS", unjudged=tuple(unjudged))
