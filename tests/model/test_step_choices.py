"""How the Hypothesis strategies read a step choice (generators/strategies.py): the kind and
the class digits are drawn uniformly, so that Hypothesis's preference for small integers does
not pile the programs onto the first families and classes, and 0 still means the simplest."""
from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sharespec.generators.strategies import (KIND_TABLE, ProgramBuilder, StepChoice, _pick, pack,
                                             step_choices)
from sharespec.model.actions import by_family


def _builder_with_data() -> ProgramBuilder:
    builder = ProgramBuilder()
    for family in ("mmap", "mmap", "write"):
        builder.interpret(StepChoice(KIND_TABLE.index(family)))
    return builder


_DRAWN: list = []


@settings(max_examples=400, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(st.lists(step_choices(), min_size=5, max_size=10))
def _draw_choices(choices):
    _DRAWN.extend(choices)


def test_the_kind_and_the_class_digits_are_drawn_uniformly():
    """The first tenth of the kinds and of a digit's values gets about a tenth of the draws, not
    what Hypothesis gives a wide integer (small most of the time: 44% in the first tenth of
    ``st.integers(0, 4095)``, measured over 2000 lists)."""
    _DRAWN.clear()
    _draw_choices()
    kinds = sum(c.kind < len(KIND_TABLE) // 10 for c in _DRAWN) / len(_DRAWN)
    digits = sum(c.third_class < 26 for c in _DRAWN) / len(_DRAWN)
    assert kinds < 0.2 and digits < 0.2, (kinds, digits)


def test_the_class_digits_pick_classes_uniformly_and_zero_is_the_first():
    builder = _builder_with_data()
    madvise = by_family(builder.walk.menu("T0"))["madvise"]
    advices = list(dict.fromkeys(a.classes[2] for a in madvise))
    assert len(advices) > 10
    picked = Counter(_pick(madvise, StepChoice(0, 0, pack(third_class=d))).classes[2]
                     for d in range(len(advices)))
    assert set(picked) == set(advices) and set(picked.values()) == {1}
    assert _pick(madvise, StepChoice(0, 0, 0)).classes == madvise[0].classes


def test_again_repeats_the_last_steps_family_with_a_class_of_its_own():
    from sharespec.generators.strategies import AGAIN, interpret
    again = KIND_TABLE.index(AGAIN)
    shmctl = KIND_TABLE.index("shmctl")          # (a segment is made first: the fallback)
    program = interpret([StepChoice(KIND_TABLE.index("shmget")), StepChoice(shmctl),
                         StepChoice(again, 0, pack(first_class=1))])
    assert [st.op.OP for st in program] == ["shmget", "shmctl", "shmctl"]
    assert program[1].op != program[2].op


def test_again_first_is_skipped_and_keeps_its_share_of_a_narrow_table():
    from sharespec.generators.strategies import AGAIN, AGAIN_SHARE, interpret, kind_table
    assert interpret([StepChoice(KIND_TABLE.index(AGAIN))]) == ()
    for table in (KIND_TABLE, kind_table(("mmap", "write", "read"))):
        assert table[-1] == AGAIN and abs(table.count(AGAIN) / len(table) - AGAIN_SHARE) < 0.05
