"""shmctl beyond IPC_RMID and IPC_STAT in the model (model/shmctl_commands.py): SHM_LOCK and
SHM_UNLOCK (C09), the stat's lock bit, cpid and lpid, SHM_STAT and SHM_STAT_ANY by a segment's
index, IPC_INFO/SHM_INFO, an invalid command; the result's text and its validation. Pinned on the
kernel by c09-shm-lock-keeps-contents, shmctl-cpid-lpid, shmctl-shm-stat-index and
shmctl-info-invalid."""
from __future__ import annotations

import pytest

from sharespec.model.actions import actions
from sharespec.model.case import CaseError
from sharespec.model.case_text import case_from_text
from sharespec.model.ops import SHMCTL_COMMANDS, ShmCtl
from sharespec.model.results import Info, Stat, parse_result
from sharespec.model.scope import DEFAULT, SMALL
from sharespec.model.profiles import LINUX
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial
from sharespec.model.symbolic.core import (SHMCTL_OUTSIDE, OutsideCore, SymbolicScope,
                                          program_to_args)

from test_model_rules import allowed, program, stat


def full(nattch, cpid, lpid, segsz=4096, dest=0, key="private", locked=0, id=None) -> str:
    text = (f"stat(nattch={nattch},segsz={segsz},dest={dest},key={key},locked={locked},"
            f"cpid={cpid},lpid={lpid}")
    return text + (f",id={id})" if id else ")")


# --- SHM_LOCK / SHM_UNLOCK (C09) ------------------------------------------------------------

def test_C09_lock_sets_the_bit_unlock_clears_it_both_idempotent_contents_kept():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: A0 = shmat(S0)
        T0: write(A0+9, 3)
        T0: shmctl(S0, lock)
        T0: shmctl(S0, lock)
        T0: shmctl(S0, stat_full)
        T0: read(A0+9)
        T0: shmctl(S0, unlock)
        T0: shmctl(S0, unlock)
        T0: shmctl(S0, stat_full)
        T0: read(A0+9)
    """)
    assert got[3] == got[4] == got[7] == got[8] == {"ok"}
    assert got[5] == {full(1, "T0", "T0", locked=1)}
    assert got[9] == {full(1, "T0", "T0", locked=0)}
    assert got[6] == got[10] == {"3"}


def test_C09_R17_R20_a_removed_attached_segment_locks_a_destroyed_one_is_EINVAL():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: A0 = shmat(S0)
        T0: shmctl(S0, rmid)
        T0: shmctl(S0, lock)
        T0: shmctl(S0, stat_full)
        T0: shmdt(A0)
        T0: shmctl(S0, unlock)
    """)
    assert got[3] == {"ok"}
    assert got[4] == {full(1, "T0", "T0", dest=1, locked=1)}
    assert got[6] == {"EINVAL"}


# --- cpid and lpid ---------------------------------------------------------------------------

def test_cpid_is_the_creating_process_named_by_its_first_thread():
    got = allowed("""
        T0: T1 = fork()
        T1: T2 = spawn()
        T2: S0 = shmget(private, 4096, creat)
        T0: shmctl(S0, stat_full)
    """)
    assert got[3] == {full(0, "T1", "none")}


def test_lpid_follows_attach_fork_detach_split_and_exit():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: T1 = fork()
        T1: A0 = shmat(S0)
        T0: shmctl(S0, stat_full)
        T1: T2 = fork()
        T0: shmctl(S0, stat_full)
        T2: shmdt(A0)
        T0: shmctl(S0, stat_full)
        T1: mprotect(A0[1], 4096, r)
        T0: shmctl(S0, stat_full)
        T2: exit()
        T0: shmctl(S0, stat_full)
        T1: exit()
        T0: shmctl(S0, stat_full)
    """)
    assert got[3] == {full(1, "T0", "T1", segsz=8192)}      # shmat
    assert got[5] == {full(2, "T0", "T1", segsz=8192)}      # fork's copy, in the parent T1
    assert got[7] == {full(1, "T0", "T2", segsz=8192)}      # shmdt
    assert got[9] == {full(2, "T0", "T1", segsz=8192)}      # a split opens a record
    assert got[11] == {full(2, "T0", "T1", segsz=8192)}     # T2 held no attach: nothing closed
    assert got[13] == {full(0, "T0", "T1", segsz=8192)}     # exit closes T1's records


def test_lpid_is_not_set_by_steps_that_make_or_remove_no_record():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: T1 = fork()
        T1: mprotect(A0, 8192, r)
        T1: madvise(A0, 8192, willneed)
        T1: read(A0)
        T1: shmctl(S0, lock)
        T0: shmctl(S0, stat_full)
        T1: mremap(A0, 8192, 12288, grow)
        T0: shmctl(S0, stat_full)
    """)
    # the whole attach's protection, a hint, a load, a lock: no record made or gone
    assert got[7] == {full(2, "T0", "T0", segsz=8192, locked=1)}
    # growing a record in place opens none (vma_expand); the slot after A0 is free
    assert got[9] == {full(2, "T0", "T0", segsz=8192, locked=1)}


def test_the_four_field_stat_is_unchanged():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: shmctl(S0, lock)
        T0: shmctl(S0, stat)
    """)
    assert got[2] == {stat(0)}


# --- SHM_STAT, SHM_STAT_ANY, the id as an index -----------------------------------------------

@pytest.mark.parametrize("cmd", ["shm_stat", "shm_stat_any", "shm_stat_id"])
def test_shm_stat_names_the_identifier_it_returns_by_the_first_handle(cmd):
    got = allowed(f"""
        T0: S0 = shmget(K1, 4096, creat)
        T0: S1 = shmget(K1, 4096)
        T0: shmctl(S1, {cmd})
        T0: shmctl(S1, rmid)
        T0: shmctl(S0, {cmd})
    """)
    assert got[2] == {full(0, "T0", "none", key="K1", id="S0")}
    assert got[4] == {"EINVAL"}


def test_shm_stat_of_a_failed_shmget_is_EINVAL():
    got = allowed("""
        T0: S0 = shmget(K1, 4096)
        T0: shmctl(S0, shm_stat)
        T0: shmctl(S0, stat_full)
    """)
    assert got[1] == got[2] == {"EINVAL"}


# --- IPC_INFO, SHM_INFO, an invalid command ---------------------------------------------------

@pytest.mark.parametrize("cmd", ["info", "shm_info"])
def test_info_covers_a_live_segment_only(cmd):
    got = allowed(f"""
        T0: S0 = shmget(private, 4096, creat)
        T0: shmctl(S0, {cmd})
        T0: A0 = shmat(S0)
        T0: shmctl(S0, rmid)
        T0: shmctl(S0, {cmd})
        T0: shmdt(A0)
        T0: shmctl(S0, {cmd})
    """)
    assert got[1] == got[4] == {"info(max>=S0)"}
    assert got[6] == {"info"}


def test_an_invalid_command_is_EINVAL_whatever_the_segment_also_under_posix():
    text = """
        T0: S0 = shmget(private, 4096, creat)
        T0: shmctl(S0, invalid)
        T0: shmctl(S0, rmid)
        T0: shmctl(S0, invalid)
    """
    for profile in ("linux", "posix"):
        got = allowed(text, profile)
        assert got[1] == got[3] == {"EINVAL"}, profile


# (IPC_SET is POSIX's too: C07, tests/model/test_credentials.py)
@pytest.mark.parametrize("cmd", sorted(set(SHMCTL_COMMANDS) - {"rmid", "stat", "invalid", "set"}))
def test_the_linux_commands_are_not_applicable_under_posix(cmd):
    with pytest.raises(NotApplicable):
        allowed(f"T0: S0 = shmget(private, 4096, creat)\nT0: shmctl(S0, {cmd})", "posix")


# --- results, validation, the menu, the symbolic core ------------------------------------------

@pytest.mark.parametrize("text", [
    "stat(nattch=1,segsz=4096,dest=0,key=private)",
    "stat(nattch=1,segsz=4096,dest=1,key=K1,locked=1,cpid=T0,lpid=none)",
    "stat(nattch=1,segsz=4096,dest=0,key=K1,locked=0,cpid=T0,lpid=T1,id=S0)",
    "stat(nattch=1,segsz=4096,dest=0,key=K1,locked=0,cpid=T0,lpid=T1,id=?)",
    "info", "info(max>=S0)"])
def test_results_round_trip(text):
    assert str(parse_result(text)) == text


def test_the_four_field_stat_parses_as_before():
    assert parse_result(stat(2)) == Stat(2, 4096, False, "private")
    assert parse_result("info") == Info("none")


def _case(step: str, result: str) -> str:
    return ("case c\nprofile linux\norigin test\n\n"
            "T0: S0 = shmget(private, 4096, creat) -> new\n"
            f"T0: {step} -> {result}\n")


@pytest.mark.parametrize("step, result, problem", [
    ("shmctl(S0, stat)", full(0, "T0", "none"), "nattch, segsz, dest and key only"),
    ("shmctl(S0, stat_full)", stat(0), "locked, cpid and lpid"),
    ("shmctl(S0, shm_stat)", full(0, "T0", "none"), "and id"),
    ("shmctl(S0, stat_full)", full(0, "T7", "none"), "T7 is not a thread handle"),
    ("shmctl(S0, shm_stat)", full(0, "T0", "none", id="S9"), "S9 is not a segment handle"),
    ("shmctl(S0, stat)", "info", "only shmctl info/shm_info returns info"),
    ("shmctl(S0, info)", "info(max>=S3)", "S3 is not a segment handle"),
    ("shmctl(S0, frob)", "EINVAL", "frob"),
])
def test_validation_names_the_problem(step, result, problem):
    with pytest.raises(CaseError, match=problem.replace("(", r"\(")):
        case_from_text(_case(step, result), "<test>")


def test_every_command_is_in_the_default_menu_and_the_exhaustive_scope_keeps_two():
    assert set(DEFAULT.shmctl_cmds) == set(SHMCTL_COMMANDS)
    assert SMALL.shmctl_cmds == ("stat", "rmid")
    state = initial()
    for st in program("T0: S0 = shmget(private, 4096, creat)"):
        state = step(state, st, LINUX)[0][0]

    def offered(linux):
        return {a.step.op.cmd for a in actions(state, DEFAULT, linux=linux, families=["shmctl"])
                if isinstance(a.step.op, ShmCtl)}
    assert offered(True) == set(SHMCTL_COMMANDS)
    assert offered(False) == {"stat", "rmid", "invalid", "set"}   # IPC_SET: POSIX too (C07)


@pytest.mark.parametrize("cmd", sorted(SHMCTL_OUTSIDE))
def test_the_new_commands_are_outside_the_symbolic_core_with_a_reason(cmd):
    steps = program(f"T0: S0 = shmget(private, 4096, creat)\nT0: shmctl(S0, {cmd})")
    with pytest.raises(OutsideCore, match=f"shmctl {cmd}: "):
        program_to_args(steps, SymbolicScope())
