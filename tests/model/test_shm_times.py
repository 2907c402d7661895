"""A segment's times in the model (model/shm_times.py, ``shmctl(S, times)``, R28's shmctl
stat), the result's text and validation, the symbolic core leaving it outside, the menu
offering it, and the implementation's window (impl/shm_times.py: it measures, whole seconds).
Pinned on the kernel by the built-in case shmctl-times."""
from __future__ import annotations

import pytest

from sharespec.cli import main
from sharespec.model.actions import actions
from sharespec.model.case import CaseError
from sharespec.model.case_text import case_from_text
from sharespec.model.ops import ShmCtl
from sharespec.model.profiles import LINUX, POSIX
from sharespec.model.results import ShmTimes, parse_result
from sharespec.model.scope import DEFAULT
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial
from sharespec.model.symbolic.core import SHMCTL_OUTSIDE

from test_model_rules import allowed, program

ZERO = "times(atime=0,dtime=0,ctime=set)"
ATTACHED = "times(atime=set,dtime=0,ctime=set)"
BOTH = "times(atime=set,dtime=set,ctime=set)"


def test_R28_creation_sets_ctime_only_shmat_atime_shmdt_dtime():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: shmctl(S0, shm_stat_times)
        T0: shmctl(S0, lock)
        T0: shmctl(S0, times)
        T0: A0 = shmat(S0)
        T0: shmctl(S0, times)
        T0: shmdt(A0)
        T0: shmctl(S0, times)
    """)
    assert got[1] == got[3] == {ZERO}        # SHM_LOCK sets no time
    assert got[5] == {ATTACHED}
    assert got[7] == {BOTH}


def test_R28_fork_opens_a_record_and_exit_closes_one():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: T1 = fork()
        T1: A1 = shmat(S0)
        T0: shmctl(S0, times)
        T1: exit()
        T0: shmctl(S0, times)
    """)
    assert got[3] == {ATTACHED} and got[5] == {BOTH}


def test_R28_a_split_may_or_may_not_close_a_record_but_never_unsets():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: mprotect(A0, 4096, r)
        T0: shmctl(S0, times)
    """)
    assert got[3] == {ATTACHED, BOTH}        # vma split: Linux 6.18 shows ATTACHED


def test_R20_times_of_a_destroyed_segment_is_EINVAL_and_out_is_never_allowed():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: shmctl(S0, rmid)
        T0: shmctl(S0, times)
    """)
    assert got[2] == {"EINVAL"}


def test_times_is_linux_only():
    state = initial()
    steps = program("T0: S0 = shmget(private, 4096, creat)\nT0: shmctl(S0, times)")
    state = step(state, steps[0], POSIX)[0][0]
    with pytest.raises(NotApplicable):
        step(state, steps[1], POSIX)


def test_the_result_text_round_trips_and_bad_words_are_refused():
    assert parse_result("times(atime=set, dtime=0, ctime=out)") == ShmTimes("set", "0", "out")
    assert str(ShmTimes("0", "0", "set")) == ZERO
    with pytest.raises(ValueError, match="0, set or out"):
        parse_result("times(atime=12,dtime=0,ctime=set)")


@pytest.mark.parametrize("line, problem", [
    ("T0: shmctl(S0, stat) -> " + ZERO, "only shmctl times returns times"),
    ("T0: shmctl(S0, times) -> stat(nattch=0,segsz=4096,dest=0,key=private)", "only shmctl"),
    ("T0: shmctl(S0, times) -> times(atime=now,dtime=0,ctime=set)", "0, set or out"),
])
def test_validation_names_the_problem(line, problem):
    text = ("case c\nprofile linux\norigin test\n\n"
            "T0: S0 = shmget(private, 4096, creat) -> new\n" + line + "\n")
    with pytest.raises(CaseError, match=problem):
        case_from_text(text, "<test>")


def test_a_bad_result_exits_2_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.case"
    bad.write_text("case c\nprofile linux\norigin test\n\n"
                   "T0: S0 = shmget(private, 4096, creat) -> new\n"
                   "T0: shmctl(S0, times) -> times(atime=0,dtime=0)\n")
    assert main(["show", str(bad)]) == 2
    assert "bad.case" in capsys.readouterr().err


def test_outside_the_symbolic_core_with_its_reason_and_in_the_linux_menu():
    assert "shm_times" in SHMCTL_OUTSIDE["times"]
    assert SHMCTL_OUTSIDE["shm_stat_times"] == SHMCTL_OUTSIDE["times"]
    state = initial()
    state = step(state, program("T0: S0 = shmget(private, 4096, creat)")[0], LINUX)[0][0]

    def offered(linux):
        return {a.step.op.cmd for a in actions(state, DEFAULT, linux=linux, families=["shmctl"])
                if isinstance(a.step.op, ShmCtl)}
    assert {"times", "shm_stat_times"} <= offered(True)
    assert not {"times", "shm_stat_times"} & offered(False)


def test_the_implementation_measures_a_whole_second_window():
    from impl.shm_times import times_result, window
    assert window(100.7, 102.2) == (99, 103)      # a tick of coarse clock behind, rounded out
    fields = {"atime": 0, "dtime": 98, "ctime": 99}
    assert times_result(fields, 100.7, 102.2) == "times(atime=0,dtime=out,ctime=set)"
    assert times_result(dict(fields, ctime=104), 100.7, 102.2).endswith("ctime=out)")


def test_the_observation_tail_never_asks_the_times_so_the_witnesses_ask_themselves():
    """The times are wall-clock seconds: the tail (generators/observation_tail.py) leaves
    them out of every generated case, so that no case hangs on the host's clock unless it
    asks (a flakiness risk on emulators and loaded hosts). Each witness of the three times
    mutants ends with its own shmctl(S0, times) instead."""
    from pathlib import Path
    from sharespec.generators.observation_tail import observation_tail
    tail = observation_tail(program("T0: S0 = shmget(private, 4096, creat)\n"
                                    "T0: A0 = shmat(S0)\nT0: shmdt(A0)"))
    asked = {st.op.cmd for st in tail if isinstance(st.op, ShmCtl)}
    assert "stat_full" in asked and not asked & {"times", "shm_stat_times"}
    witnesses = Path(__file__).resolve().parents[1] / "host" / "mutant_cases"
    for name in ("ctime-not-set-at-creation", "atime-not-set-at-shmat", "dtime-set-at-shmat"):
        path = witnesses / f"{name}.case"
        last = case_from_text(path.read_text(), str(path)).steps[-1]
        assert last.op == ShmCtl("S0", "times"), name


@pytest.mark.parametrize("cmd", ["times", "shm_stat_times"])
def test_the_exhaustive_enumeration_reaches_the_times_given_a_scope_that_names_them(cmd):
    """SMALL leaves the times out, but the enumeration draws from the same menu. One command
    at a time: both give the same result of the same state, and the enumeration keeps one
    program per state and result (exhaustive.explore)."""
    from sharespec.generators.exhaustive import explore
    from sharespec.model.scope import Scope
    scope = Scope(steps=3, processes=1, threads=1, families=("shmget", "shmat", "shmctl"),
                  keys=("private",), shm_sizes=("page",), shm_flags=("creat",),
                  modes=("owner",), attaches=("slot",), shmctl_cmds=(cmd,))
    made = explore(scope).selected_programs()
    assert {st.op.cmd for p in made for st in p if isinstance(st.op, ShmCtl)} == {cmd}
