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


def _builder_after(*choices: StepChoice) -> ProgramBuilder:
    builder = ProgramBuilder()
    for choice in choices:
        builder.interpret(choice)
    return builder


def test_half_the_calls_on_memory_are_aimed_at_the_newest_page_written():
    """An even ``rest`` focuses a call on memory on the written page (where a wrong advice,
    mprotect or mremap shows), an odd one leaves every action open."""
    from sharespec.generators.strategies import _covers
    mmap, write = KIND_TABLE.index("mmap"), KIND_TABLE.index("write")
    aimed, elsewhere = 0, 0
    for family in ("madvise", "mprotect", "munmap", "mremap"):
        for digits in range(24):
            for rest in (2 * digits, 2 * digits + 1):
                builder = _builder_after(StepChoice(mmap), StepChoice(mmap), StepChoice(write))
                place = builder.written[0]
                arg = pack(first_class=digits % 4, second_class=digits // 4 % 3,
                           third_class=digits, rest=rest)
                st_ = builder.interpret(StepChoice(KIND_TABLE.index(family), 0, arg))
                if st_ is None:
                    continue
                if rest % 2 == 0:
                    assert _covers(st_.op, place), (family, st_)
                    aimed += 1
                else:
                    elsewhere += not _covers(st_.op, place)
    assert aimed > 40 and elsewhere > 0, (aimed, elsewhere)


def test_half_the_writes_go_where_a_store_succeeds_and_only_those_are_remembered():
    """With one read-write and one read-only mapping, a focused write stores; an unfocused one
    may fault, and a faulting write is not a place the reads and the focus look at."""
    mmap, write = KIND_TABLE.index("mmap"), KIND_TABLE.index("write")
    read_only = next(pack(first_class=k, second_class=j) for k in range(8) for j in range(8)
                     if _builder_after(StepChoice(mmap)).interpret(
                         StepChoice(mmap, 0, pack(first_class=k, second_class=j))).op.prot == "r")
    faulted = 0
    for digits in range(40):
        for rest in (2 * digits, 2 * digits + 1):
            builder = _builder_after(StepChoice(mmap), StepChoice(mmap, 0, read_only))
            st_ = builder.interpret(StepChoice(write, 0, pack(first_class=digits % 2,
                                                               third_class=digits, rest=rest)))
            if st_ is None:      # a faulting store ends the program before its last step
                assert rest % 2 == 1
                faulted += 1
                continue
            stores = builder.walk.stores("T0", st_.op.at)
            assert stores or rest % 2 == 1, st_
            assert (st_.op.at in builder.written) == stores
            faulted += not stores
    assert faulted > 0
