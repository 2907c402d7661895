"""MAP_GROWSDOWN in the model (model/growsdown.py, rule R50; issue 16, LTP mmap18.c): a load or
store just below a growsdown record grows it, unless an accessible record ends within the
stack guard gap below the page; what lies below the slot is the implementation's (both
allowed); growth that could cross slots is not predicted. Pinned on the kernel by the built-in
cases r50-growsdown-grows and r50-growsdown-guard-gap and LTP's mmap18 cases."""
from __future__ import annotations

import pytest

from sharespec.model.case import CaseError
from sharespec.model.case_text import case_from_text
from sharespec.model.semantics import NotApplicable
from sharespec.model.symbolic.core import (GROWSDOWN_OUTSIDE, OutsideCore, SymbolicScope,
                                           program_to_args)

from test_model_rules import allowed, program

# the slot of M0 reserved PROT_NONE below page 128, growsdown M1 at its last page
RESERVED = """
T0: M0 = mmap(anon, private, none, 1048576)
T0: munmap(M0[128], 520192)
T0: M1 = mmap(anon, private, rw, 4096, at=M0[255], replace, growsdown)
"""
# growsdown M1 alone at the last page of M0's slot: nothing below it in the slot
ALONE = """
T0: M0 = mmap(anon, private, none, 1048576)
T0: munmap(M0, 1044480)
T0: M1 = mmap(anon, private, rw, 4096, at=M0[255], replace, growsdown)
"""


def test_R50_an_access_below_grows_the_record_down_to_the_page():
    got = allowed(RESERVED + """
        T0: write(M0[254], 7)
        T0: read(M0[254])
        T0: read(M0[200])
        T0: maps(M0)
        T0: read(M0[127])
    """)
    assert got[3:] == [{"ok"}, {"7"}, {"0"}, {"maps(0-128:---p,200-256:rw-p)"}, {"SIGSEGV"}]


def test_R50_a_plain_record_does_not_grow():
    got = allowed("""
        T0: M0 = mmap(anon, private, none, 1048576)
        T0: munmap(M0[128], 520192)
        T0: M1 = mmap(anon, private, rw, 4096, at=M0[255], replace)
        T0: write(M0[254], 7)
    """)
    assert got[-1] == {"SIGSEGV"}


@pytest.mark.parametrize("prot, grows", [("rw", False), ("r", False), ("w", False),
                                         ("x", False), ("none", True)])
def test_R50_an_accessible_record_within_the_guard_gap_stops_the_growth(prot, grows):
    got = allowed(RESERVED + f"""
        T0: M2 = mmap(anon, private, {prot}, 4096, at=M0[200], replace)
        T0: write(M0[254], 7)
    """)
    assert got[-1] == ({"ok"} if grows else {"SIGSEGV"})


def test_R50_a_growsdown_record_below_does_not_stop_the_growth():
    got = allowed(RESERVED + """
        T0: M2 = mmap(anon, private, rw, 4096, at=M0[200], replace, growsdown)
        T0: write(M0[254], 7)
        T0: maps(M0)
    """)
    assert got[-2:] == [{"ok"}, {"maps(0-128:---p,200-201:rw-p,254-256:rw-p)"}]


def test_R50_below_the_slot_is_the_implementations_so_both_are_allowed():
    got = allowed(ALONE + """
        T0: write(M0[254], 7)
    """)
    assert got[-1] == {"ok", "SIGSEGV"}


def test_R50_a_fork_child_inherits_the_growsdown_record():
    got = allowed(RESERVED + """
        T0: T1 = fork()
        T1: write(M0[254], 7)
        T0: maps(M0)
        T0: read(M0[254])
    """)
    # the child's record grew, the parent's did not (until its own access, which reads 0:
    # the child's store went to the child's private page)
    assert got[-3:] == [{"ok"}, {"maps(0-128:---p,255-256:rw-p)"}, {"0"}]


def test_R50_growth_across_slots_is_not_predicted():
    """A growsdown record at the first page of a slot could lie just above any other slot."""
    with pytest.raises(NotApplicable):
        allowed("""
            T0: M0 = mmap(anon, private, rw, 4096, growsdown)
            T0: M1 = mmap(anon, private, rw, 4096)
            T0: write(M1[255], 7)
        """)
    # ... but an access above it in its own slot is no growth of it
    assert allowed("""
        T0: M0 = mmap(anon, private, rw, 4096, growsdown)
        T0: write(M0[5], 7)
    """)[-1] == {"SIGSEGV"}


def test_R50_growth_across_slots_is_not_predicted_for_the_lowest_record_of_a_slot_either():
    """Nor one higher in its slot with nothing below it there: the slot's lowest record is the
    next one above any page below the slot. (A random case, seed 1 at 16 steps: the growsdown
    record at page 2 of a slot whose pages 0 and 1 were unmapped grew down to a write in the
    slot below on this host, where the model said SIGSEGV.)"""
    with pytest.raises(NotApplicable):
        allowed("""
            T0: M0 = mmap(anon, private, rw, 4096)
            T0: M1 = mmap(anon, private, rw, 4096)
            T0: munmap(M1, 4096)
            T0: M2 = mmap(anon, private, rw, 4096, at=M1[2], replace, growsdown)
            T0: write(M0[1], 2)
        """)
    # a plain record below it in its slot is the lowest, and stops nothing in another slot
    assert allowed("""
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: M1 = mmap(anon, private, rw, 4096)
        T0: M2 = mmap(anon, private, rw, 4096, at=M1[2], replace, growsdown)
        T0: write(M0[1], 2)
    """)[-1] == {"SIGSEGV"}


def test_R50_map_growsdown_is_linux_only():
    with pytest.raises(NotApplicable):
        allowed("T0: M0 = mmap(anon, private, rw, 4096, growsdown)", "posix")


@pytest.mark.parametrize("args", ["anon, shared, rw, 4096, growsdown",
                                  "F0, private, rw, 4096, growsdown"])
def test_R50_growsdown_is_stated_of_private_anonymous_memory_only(args):
    text = ("case t\nprofile linux\norigin test\n\nT0: F0 = open(memfd)\n"
            f"T0: M0 = mmap({args})\n")
    with pytest.raises(CaseError, match="growsdown"):
        case_from_text(text, "t.case")


def test_R50_growsdown_is_outside_the_symbolic_core():
    with pytest.raises(OutsideCore, match="MAP_GROWSDOWN"):
        program_to_args(program("T0: M0 = mmap(anon, private, rw, 4096, growsdown)"),
                        SymbolicScope())
    program_to_args(program("T0: M0 = mmap(anon, private, rw, 4096)"), SymbolicScope())
    assert "R50" in GROWSDOWN_OUTSIDE


@pytest.mark.parametrize("prot, outcome", [("rw", {"SIGSEGV"}), ("none", {"ok"})])
def test_R50_the_action_menu_reaches_growth_and_the_guard_gap(prot, outcome):
    """The growsdown family maps a growsdown page one page above a mapping; the write family's
    "middle" page of a one-page mapping is then just below it (generators reach both answers)."""
    from sharespec.model.actions import actions, by_family
    from sharespec.model.state import initial
    from sharespec.model.profiles import LINUX
    from sharespec.model.scope import DEFAULT
    from sharespec.model.semantics import step

    state = step(initial(), program(f"T0: M0 = mmap(anon, private, {prot}, 4096)")[0], LINUX)[0][0]
    grows = by_family(actions(state, DEFAULT))["growsdown"]
    assert [(a.step.op.at.mapping, a.step.op.at.page) for a in grows] == [("M0", 2)] and grows[0].step.op.growsdown
    state = step(state, grows[0].step, LINUX)[0][0]
    writes = [a for a in by_family(actions(state, DEFAULT))["write"]
              if a.step.op.at.mapping == "M0" and a.step.op.at.page == 1]
    assert writes
    assert {str(r) for a in writes for _, r in step(state, a.step, LINUX)} == outcome
    assert "growsdown" not in by_family(actions(state, DEFAULT, linux=False))
