"""Diagnosis: which named variants of the specification explain what an implementation did.

Each FAIL of ``sharespec run`` is diagnosed on its own (``diagnose_failure``): the variants
consistent with *that* case's observation, up to its failing step. (Adding up every observation of a run said
"consistent with none" as soon as two different bugs had been seen, for every case after.) The
run ends with a table, variant -> the failures it explains (``DiagnosisTable``); a failure no
variant explains gets one line saying which rules it breaks and what was observed
(``unexplained``). A deadline bounds each diagnosis: a variant not yet judged when it passes is
neither counted for nor against, and the diagnosis says it is incomplete.

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

import time
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
    # host settings stay last: linux:shm_rmid_forced -> linux+NAME:shm_rmid_forced
    name, colon, settings = base.partition(":")
    try:
        parsed = [parse_result(r) for r in observation.results]
        return judge(steps, parsed, f"{name}+{variant}{colon}{settings}").verdict != "FAIL"
    except (StateExplosion, NotApplicable):
        return True          # the model cannot tell: not evidence against the variant
    except ValueError:
        return False         # a result no profile can produce


def narrow_until(candidates: Sequence[VariantInfo], observations: Iterable[Observation],
                 base: str = "linux", deadline: Optional[float] = None) -> tuple:
    """(the candidates that allow every observation, whether every one was judged before
    ``deadline``, a time.monotonic() value; None: no deadline)."""
    left = list(candidates)
    for observation in observations:
        kept = []
        for v in left:
            if deadline is not None and time.monotonic() >= deadline:
                return kept, False
            if allows(v.name, observation, base):
                kept.append(v)
        left = kept
        if not left:
            break
    return left, True


def diagnose(observations: Iterable, base: str = "linux",
             candidates: Optional[Sequence[VariantInfo]] = None) -> Diagnosis:
    """Which named variants are consistent with everything observed (every observation
    together: one implementation, one bug).

    ``observations``: Observation objects or runner CaseResults. Failing observations are
    checked first, as they rule out most variants at once."""
    obs = [o if isinstance(o, Observation) else observation_of(o) for o in observations]
    obs = [o for o in obs if o is not None]
    obs.sort(key=lambda o: not o.failed)
    catalogue = variant_catalogue() if candidates is None else list(candidates)
    consistent, _ = narrow_until(catalogue, obs, base)
    return Diagnosis(tuple(consistent), len(catalogue), len(obs), base)


# --- one failure at a time ---------------------------------------------------------

def _step_text(step) -> str:
    from sharespec.model.case_text import _format_step
    return _format_step(step).strip()


def broken_rules(result) -> tuple:
    """The catalogue rules a FAIL breaks, as narrowly as the case tells: the rules of the
    failing step's operation that the case is about (its ``rules``); else the case's rules;
    else the operation's rules that the case's other steps bring into play too; else all of
    the operation's."""
    from sharespec.model.rules import rules_for_step
    steps = result.case.steps
    of_step = set(rules_for_step(steps[result.step]))
    about = set(result.case.rules)
    if of_step & about:
        return tuple(sorted(of_step & about))
    if about:
        return tuple(sorted(about))
    others = set().union(*(set(rules_for_step(s)) for i, s in enumerate(steps) if i != result.step))
    return tuple(sorted(of_step & others or of_step))


def unexplained(result) -> str:
    """One line for a FAIL no variant explains: the rules broken and what was observed."""
    step = result.case.steps[result.step]
    allowed = " | ".join(result.allowed) or "nothing"
    return (f"breaks {', '.join(broken_rules(result)) or 'the specification'} at step "
            f"{result.step + 1} ({_step_text(step)}): observed {result.observed}, allowed {allowed}")


@dataclass(frozen=True)
class FailureDiagnosis:
    """The diagnosis of one FAIL, from its own observation alone."""
    consistent: tuple            # VariantInfo of the variants that allow the observation
    considered: int
    complete: bool               # False: the deadline passed before every variant was judged
    unexplained: str = ""        # the one line, when no variant explains the failure

    @property
    def names(self) -> tuple:
        return tuple(v.name for v in self.consistent)

    def sentence(self) -> str:
        if not self.considered:
            return "diagnosis: no named variants of the specification are available"
        partial = "" if self.complete else " (diagnosis cut short by its time budget)"
        if len(self.consistent) == 1:
            (v,) = self.consistent
            return f"diagnosis: behaves like {v.name} ({v.rule}: {v.description}){partial}"
        if self.consistent:
            likes = ", ".join(f"{v.name} ({v.rule})" for v in self.consistent)
            return f"diagnosis: behaves like one of {likes}{partial}"
        return (f"diagnosis: no named variant of the specification explains it{partial}; "
                f"it {self.unexplained}")


def failure_observation(result) -> Optional[Observation]:
    """What a FAIL observed up to and including its failing step: what a variant must
    explain. (Its later results may show another bug: an implementation with two bugs would
    otherwise be explained by no variant at all.)"""
    if result.verdict != "FAIL" or result.step is None or len(result.results) <= result.step:
        return None
    return Observation(result.case, tuple(result.results[:result.step + 1]), True)


def diagnose_failure(result, base: str = "linux", deadline: Optional[float] = None,
                     candidates: Optional[Sequence[VariantInfo]] = None) -> Optional[FailureDiagnosis]:
    """The variants consistent with one FAIL's own observation, up to its failing step
    (``failure_observation``); None for anything else."""
    observation = failure_observation(result)
    if observation is None:
        return None
    catalogue = variant_catalogue() if candidates is None else list(candidates)
    left, complete = narrow_until(catalogue, [observation], base, deadline)
    return FailureDiagnosis(tuple(left), len(catalogue), complete,
                            "" if left else unexplained(result))


class DiagnosisTable:
    """Variant -> the failures it explains, over a run; and the failures none explains."""

    def __init__(self):
        self.by_variant: dict = {}       # name -> (VariantInfo, [failure names])
        self.unexplained: list = []      # (failure name, the one line)
        self.undiagnosed: list = []      # failure names (the budget was spent)

    def add(self, name: str, diagnosis: Optional[FailureDiagnosis]) -> None:
        if diagnosis is None:
            self.undiagnosed.append(name)
        elif diagnosis.consistent:
            for v in diagnosis.consistent:
                self.by_variant.setdefault(v.name, (v, []))[1].append(name)
        else:
            self.unexplained.append((name, diagnosis.unexplained))

    def __bool__(self) -> bool:
        return bool(self.by_variant or self.unexplained or self.undiagnosed)

    def lines(self, most: int = 4) -> list:
        """The table, widest variant first; each row names up to ``most`` failures."""
        def names(items: list) -> str:
            more = f", ... ({len(items)} in all)" if len(items) > most else ""
            return ", ".join(items[:most]) + more

        out = ["diagnosis by named variant (each failure judged on its own observation):"]
        rows = sorted(self.by_variant.values(), key=lambda row: (-len(row[1]), row[0].name))
        for info, failures in rows:
            out.append(f"  {info.name} ({info.rule}): {len(failures)} failure(s): {names(failures)}")
        if self.unexplained:
            out.append(f"  no named variant: {len(self.unexplained)} failure(s)")
            for name, line in self.unexplained[:most]:
                out.append(f"    {name}: {line}")
            if len(self.unexplained) > most:
                out.append(f"    ... and {len(self.unexplained) - most} more")
        if self.undiagnosed:
            out.append(f"  not diagnosed (time budget spent): {names(self.undiagnosed)}")
        return out
