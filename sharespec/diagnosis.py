"""Diagnosis: which named variants of the specification explain what an implementation did.

A variant (model/variants.py) is linux with one deliberate change to one rule ("MADV_WIPEONFORK
is ignored"). An implementation that FAILs under linux may still be *consistent* with a variant:
every result it reported, over every case it ran, is one the variant allows. Then the
implementation "behaves like wipeonfork-ignored", which says far more than "step 6 read 5".
When no variant is consistent, the diagnosis says so (the bug is not one of the named ones, or
it is several at once).

Consistency is judged by the same oracle as verdicts (``judge`` under ``linux+NAME``): a
variant is ruled out by the first observation it does not allow. Observations that taught
nothing (ERROR, NOT_APPLICABLE, an INCONCLUSIVE without results) are not used; a timeout's
prefix is. A variant whose model explodes on a case is not ruled out by that case.

The interface used from model/variants.py is small: ``variants()`` -> objects with ``name``,
``rule``, ``description``; profiles are named ``linux+NAME`` and accepted by ``judge``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from sharespec.model.oracle import StateExplosion, judge
from sharespec.model.results import parse_result
from sharespec.model.semantics import NotApplicable


@dataclass(frozen=True)
class VariantInfo:
    name: str
    rule: str
    description: str


@dataclass(frozen=True)
class Observation:
    """What an implementation reported for one case: the case and its results (strings)."""
    case: object
    results: tuple
    failed: bool = False


@dataclass(frozen=True)
class Diagnosis:
    consistent: tuple          # VariantInfo of every variant consistent with all observations
    considered: int            # how many variants were considered
    observations: int          # how many observations were used
    base: str = "linux"

    @property
    def names(self) -> tuple:
        return tuple(v.name for v in self.consistent)

    def sentence(self) -> str:
        if not self.considered:
            return "diagnosis: no named variants of the specification are available"
        if not self.consistent:
            return (f"diagnosis: consistent with none of the {self.considered} named variants "
                    f"of {self.base} ({self.observations} observations)")
        likes = "; ".join(f"{v.name} ({v.rule}: {v.description})" for v in self.consistent)
        return f"diagnosis: behaves like {likes} ({self.observations} observations)"


def variant_catalogue() -> list:
    """The named variants, or [] when the model has none (model/variants.py absent)."""
    try:
        from sharespec.model import variants as module
    except ImportError:
        return []
    return [VariantInfo(v.name, getattr(v, "rule", ""), getattr(v, "description", ""))
            for v in module.variants()]


def observation_of(result) -> Optional[Observation]:
    """The Observation in a runner CaseResult, or None when it taught nothing."""
    if result.verdict not in ("PASS", "FAIL", "INCONCLUSIVE") or not result.results:
        return None
    return Observation(result.case, tuple(result.results), result.verdict == "FAIL")


def allows(variant: str, observation: Observation, base: str = "linux") -> bool:
    """Whether profile ``base+variant`` allows every result of ``observation``."""
    steps = observation.case.steps[:len(observation.results)]
    try:
        parsed = [parse_result(r) for r in observation.results]
        return judge(steps, parsed, f"{base}+{variant}").verdict != "FAIL"
    except (StateExplosion, NotApplicable):
        return True          # the model cannot tell: not evidence against the variant
    except ValueError:
        return False         # a result no profile can produce


def narrow(candidates: Sequence[VariantInfo], observations: Iterable[Observation],
           base: str = "linux") -> list:
    """The candidates that allow every observation."""
    left = list(candidates)
    for observation in observations:
        if not left:
            break
        left = [v for v in left if allows(v.name, observation, base)]
    return left


def diagnose(observations: Iterable, base: str = "linux",
             candidates: Optional[Sequence[VariantInfo]] = None) -> Diagnosis:
    """Which named variants are consistent with everything observed.

    ``observations``: Observation objects or runner CaseResults. Failing observations are
    checked first, as they rule out most variants at once."""
    obs = [o if isinstance(o, Observation) else observation_of(o) for o in observations]
    obs = [o for o in obs if o is not None]
    obs.sort(key=lambda o: not o.failed)
    catalogue = variant_catalogue() if candidates is None else list(candidates)
    return Diagnosis(tuple(narrow(catalogue, obs, base)), len(catalogue), len(obs), base)


class RunDiagnosis:
    """The diagnosis of a run, kept up to date as results stream past.

    Until the first FAIL nothing is judged (a passing implementation needs no diagnosis); at
    the first FAIL every variant is checked against that failure and then everything observed
    so far; afterwards each new observation only narrows the few candidates left."""

    def __init__(self, base: str = "linux"):
        self.base = base
        self.seen: list = []
        self.candidates: Optional[list] = None
        self.considered = 0

    def add(self, result) -> None:
        observation = observation_of(result)
        if observation is None:
            return
        self.seen.append(observation)
        if self.candidates is None and observation.failed:
            catalogue = variant_catalogue()
            self.considered = len(catalogue)
            self.candidates = narrow(catalogue, [observation] + self.seen[:-1], self.base)
        elif self.candidates:
            self.candidates = narrow(self.candidates, [observation], self.base)

    def current(self) -> Optional[Diagnosis]:
        """None while nothing has failed."""
        if self.candidates is None:
            return None
        return Diagnosis(tuple(self.candidates), self.considered, len(self.seen), self.base)
