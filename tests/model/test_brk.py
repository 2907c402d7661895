"""The program break (model/brk.py): brk(@brk[k]) and shmat at pages counted from the break
(R26, R27; LTP shmt09). Pinned on the kernel by the built-in case r27-brk-shmat-near-the-break
and the LTP case shmt09-brk-shmat."""
from __future__ import annotations

import json

import pytest

from sharespec.model.case import CaseError
from sharespec.model.semantics import NotApplicable

from test_model_rules import allowed, program

SEGMENT = "T0: S0 = shmget(private, 4096, creat)\n"


def test_raising_and_lowering_the_break_succeed():
    assert allowed("T0: brk(@brk[2])\nT0: brk(@brk[5])\nT0: brk(@brk[1])\nT0: brk(@brk)") == \
        [{"ok"}] * 4


def test_shmat_below_the_raised_break_meets_its_mapping_R27():
    got = allowed(SEGMENT + """
        T0: brk(@brk[2])
        T0: A0 = shmat(S0, at=@brk[1])
        T0: A1 = shmat(S0, at=@brk[2])
    """)
    assert got[2:] == [{"EINVAL"}, {"ok"}]


def test_lowering_the_break_frees_its_pages_for_shmat_R26():
    got = allowed(SEGMENT + """
        T0: brk(@brk[3])
        T0: brk(@brk[1])
        T0: A0 = shmat(S0, at=@brk[1]+1)
        T0: A1 = shmat(S0, at=@brk[1]+1, rnd)
    """)
    assert got[3:] == [{"EINVAL"}, {"ok"}]       # unaligned without rnd (R26), then rounded down


def test_the_break_keeps_a_page_below_the_next_mapping():
    # mm/mmap.c brk: newbrk + PAGE_SIZE > vm_start_gap(next) refuses the growth
    got = allowed(SEGMENT + """
        T0: A0 = shmat(S0, at=@brk[3])
        T0: brk(@brk[4])
        T0: brk(@brk[3])
        T0: brk(@brk[2])
    """)
    assert got[2:] == [{"ENOMEM"}, {"ENOMEM"}, {"ok"}]


def test_a_failed_raise_leaves_the_break_where_it_was():
    got = allowed(SEGMENT + """
        T0: A0 = shmat(S0, at=@brk[1])
        T0: brk(@brk[4])
        T0: A1 = shmat(S0, at=@brk)
    """)
    assert got[2:] == [{"ENOMEM"}, {"ok"}]      # the break is still at @brk: page 0 is free


def test_a_fork_child_has_its_parent_s_break_and_exec_a_fresh_one():
    got = allowed(SEGMENT + """
        T0: brk(@brk[2])
        T0: T1 = fork()
        T1: A0 = shmat(S0, at=@brk[1])
        T0: exec()
        T0: A1 = shmat(S0, at=@brk[1])
    """)
    assert got[3:] == [{"EINVAL"}, {"ok"}, {"ok"}]


def test_the_break_is_linux_only():
    with pytest.raises(NotApplicable):
        allowed("T0: brk(@brk[1])", "posix")


@pytest.mark.parametrize("text, problem", [
    ("T0: M0 = mmap(anon, private, rw, 4096)\nT0: brk(M0)", "brk takes a place of the break"),
    ("T0: brk(@brk[1]+5)", "whole pages"),
    ("T0: brk(@brk[65])", "up to 64"),
    ("T0: munmap(@brk, 4096)", "munmap cannot take @brk"),
    ("T0: M0 = mmap(anon, private, rw, 4096, at=@brk, replace)", "mmap cannot take @brk"),
    (SEGMENT + "T0: A0 = shmat(S0, at=@brk[1], remap)", "cannot remap"),
    (SEGMENT + "T0: A0 = shmat(S0, at=@brk[1])\nT0: shmdt(A0)", "bound at @brk"),
    (SEGMENT + "T0: A0 = shmat(S0, at=@brk[1])\nT0: read(A0)", "bound at @brk"),
])
def test_misplaced_break_places_are_refused(text, problem):
    with pytest.raises(CaseError, match=problem):
        program(text)


def test_a_break_place_round_trips_through_text_and_json():
    from sharespec.model.case_json import case_from_json, case_to_json
    from sharespec.model.case_text import case_from_text, case_to_text
    text = ("case c\nprofile linux\norigin test\n\n" + SEGMENT +
            "T0: brk(@brk[2])\nT0: A0 = shmat(S0, at=@brk[1]+1, rnd)\n")
    case = case_from_text(text, "<t>")
    assert "brk(@brk[2])" in case_to_text(case)
    raw = case_to_json(case)
    assert '"mapping": "@brk"' in json.dumps(raw)
    assert case_from_json(raw, "<t>").steps == case.steps


def test_the_action_menu_reaches_every_brk_class():
    # model/actions.py: every generator draws from this menu (random walk, Hypothesis, exhaustive)
    from sharespec.model.actions import actions
    from sharespec.model.oracle import outcomes
    from sharespec.model.profiles import LINUX
    from sharespec.model.scope import Scope
    from sharespec.model.state import initial
    state, labels = initial(), set()
    for st in program(SEGMENT + "T0: brk(@brk[2])"):
        state = outcomes(state, st, LINUX)[0][0]
        labels |= {a.label for a in actions(state, Scope(families=("brk",)))}
    assert {"brk call=brk move=raise", "brk call=brk move=lower", "brk call=shmat at=below",
            "brk call=shmat at=at", "brk call=shmat at=unaligned"} <= labels
