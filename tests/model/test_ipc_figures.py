"""The IPC namespace's figures in the model (model/residency.py): SHM_INFO's counts, the indexes
SHM_STAT_ANY answers, /proc/sysvipc/shm summed; a segment's resident pages; the result texts, their
validation, the namespace a case needs, the symbolic core's list, the action menu. Pinned on the
kernel by r20-ipc-figures-shm-info, r39-ipc-figures-resident-pages and
r17-ipc-figures-removed-attached (R01 R04 R17 R20 R36 R39)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from sharespec.model.actions import actions
from sharespec.model.case import CaseError
from sharespec.model.case_json import case_to_json
from sharespec.model.case_text import case_from_text
from sharespec.model.ops import FIGURE_COMMANDS, SHMCTL_COMMANDS, ShmCtl, needs_private_ipc
from sharespec.model.profiles import LINUX
from sharespec.model.results import Indexes, Info, SysvipcSums, parse_result
from sharespec.model.scope import DEFAULT, SMALL, Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial
from sharespec.model.symbolic.core import (SHMCTL_OUTSIDE, OutsideCore, SymbolicScope,
                                          program_to_args)

from test_model_rules import allowed, program

ROOT = Path(__file__).resolve().parents[2]


def counts(used, tot, rss, covers="S0") -> str:
    head = f"max>={covers}," if covers else ""
    return f"info({head}used_ids={used},shm_tot={tot},shm_rss={rss},shm_swp=0)"


# --- residency: which pages of a segment hold memory ---------------------------------------

def test_R01_a_load_allocates_a_page_as_a_store_does_and_shmat_allocates_none():
    got = allowed("""
        T0: S0 = shmget(private, 12288, creat)
        T0: A0 = shmat(S0)
        T0: shmctl(S0, shm_info_counts)
        T0: read(A0[2]+5)
        T0: shmctl(S0, shm_info_counts)
        T0: write(A0, 1)
        T0: shmctl(S0, shm_info_counts)
        T0: read(A0)
        T0: shmctl(S0, shm_info_counts)
    """)
    assert [g for g in got[2::2]] == [{counts(1, 3, 0)}, {counts(1, 3, 1)}, {counts(1, 3, 2)},
                                      {counts(1, 3, 2)}]


def test_R01_a_load_through_a_read_only_attach_and_by_a_fork_child_allocates():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0, rdonly)
        T0: T1 = fork()
        T1: read(A0[1])
        T1: exit()
        T0: shmctl(S0, sysvipc)
    """)
    assert got[-1] == {"sysvipc(count=1,size=8192,rss=4096,swap=0)"}


def test_R36_R39_dontneed_and_the_hints_keep_pages_remove_frees_them():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: write(A0, 1)
        T0: write(A0[1], 1)
        T0: madvise(A0, 8192, dontneed)
        T0: madvise(A0, 8192, pageout)
        T0: madvise(A0, 8192, willneed)
        T0: shmctl(S0, lock)
        T0: shmctl(S0, shm_info_counts)
        T0: madvise(A0[1], 4096, remove)
        T0: shmctl(S0, shm_info_counts)
    """)
    assert got[8] == {counts(1, 2, 2)} and got[10] == {counts(1, 2, 1)}


def test_R17_R20_a_removed_attached_segment_counts_until_its_last_detach():
    got = allowed("""
        T0: S0 = shmget(private, 4097, creat)
        T0: A0 = shmat(S0)
        T0: write(A0, 1)
        T0: shmctl(S0, rmid)
        T0: shmctl(S0, shm_info_counts)
        T0: shmctl(S0, stat_any_count)
        T0: shmdt(A0)
        T0: shmctl(S0, shm_info_counts)
        T0: shmctl(S0, stat_any_count)
        T0: shmctl(S0, sysvipc)
    """)
    assert got[4] == {counts(1, 2, 1)} and got[5] == {"indexes(1)"}
    assert got[7] == {counts(0, 0, 0, covers=None)} and got[8] == {"indexes(0)"}
    assert got[9] == {"sysvipc(count=0,size=0,rss=0,swap=0)"}


def test_R04_shm_tot_rounds_each_size_up_and_sysvipc_sums_sizes_as_asked():
    got = allowed("""
        T0: S0 = shmget(private, 1, creat)
        T0: S1 = shmget(private, 4097, creat)
        T0: shmctl(S1, shm_info_counts)
        T0: shmctl(S1, sysvipc)
    """)
    assert got[2] == {counts(2, 3, 0, covers="S1")}
    assert got[3] == {"sysvipc(count=2,size=4098,rss=0,swap=0)"}


def test_other_uids_see_the_same_figures():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: T1 = fork()
        T1: setuid(other)
        T1: shmctl(S0, shm_info_counts)
        T1: shmctl(S0, stat_any_count)
    """)
    assert got[3:] == [{counts(1, 1, 0)}, {"indexes(1)"}]


def test_the_figures_are_linux_only():
    from sharespec.model.profiles import get_profile
    posix = get_profile("posix")
    for cmd in FIGURE_COMMANDS:
        made, figure = program(f"T0: S0 = shmget(private, 4096, creat)\nT0: shmctl(S0, {cmd})")
        [(state, _)] = step(initial(), made, posix)
        with pytest.raises(NotApplicable):
            step(state, figure, posix)


# --- results, validation, the namespace --------------------------------------------------

@pytest.mark.parametrize("text", [
    "info(max>=S0,used_ids=2,shm_tot=3,shm_rss=1,shm_swp=0)",
    "info(used_ids=0,shm_tot=0,shm_rss=0,shm_swp=0)",
    "indexes(7)",
    "sysvipc(count=1,size=2048,rss=4096,swap=0)",
])
def test_figure_results_read_back_as_written(text):
    assert str(parse_result(text)) == text


def test_the_results_are_their_classes():
    assert parse_result("indexes(2)") == Indexes(2)
    assert parse_result("sysvipc(count=1,size=1,rss=0,swap=0)") == SysvipcSums((1, 1, 0, 0))
    assert parse_result("info(max>=S0)") == Info("S0")       # the old form is unchanged


@pytest.mark.parametrize("line, problem", [
    ("T0: shmctl(S0, stat) -> indexes(1)", "only shmctl stat_any_count returns indexes"),
    ("T0: shmctl(S0, sysvipc) -> indexes(1)", "only shmctl stat_any_count returns indexes"),
    ("T0: shmctl(S0, stat_any_count) -> sysvipc(count=1,size=1,rss=0,swap=0)",
     "only shmctl sysvipc returns sysvipc"),
    ("T0: shmctl(S0, shm_info_counts) -> info(max>=S0)", "with used_ids"),
    ("T0: shmctl(S0, shm_info) -> info(max>=S0,used_ids=1,shm_tot=1,shm_rss=0,shm_swp=0)",
     "without used_ids"),
    ("T0: shmctl(S0, shm_info_counts) -> info(max>=S3,used_ids=1,shm_tot=1,shm_rss=0,shm_swp=0)",
     "S3 is not a segment handle"),
])
def test_validation_names_the_problem(line, problem):
    text = "case t\nprofile linux\norigin test\n\nT0: S0 = shmget(private, 4096, creat) -> new\n" + line
    with pytest.raises(CaseError, match=problem):
        case_from_text(text + "\n", "<test>")


def test_a_case_needs_a_namespace_exactly_when_it_observes_a_figure():
    for cmd in SHMCTL_COMMANDS:
        ops = [st.op for st in program(f"T0: S0 = shmget(private, 4096, creat)\n"
                                       f"T0: shmctl(S0, {cmd})")]
        assert needs_private_ipc(ops) == (cmd in FIGURE_COMMANDS), cmd


def test_the_symbolic_core_lists_the_figures_as_outside():
    for cmd in FIGURE_COMMANDS:
        assert "residency" in SHMCTL_OUTSIDE[cmd]
        steps = program(f"T0: S0 = shmget(private, 4096, creat)\nT0: shmctl(S0, {cmd})")
        with pytest.raises(OutsideCore):
            program_to_args(steps, SymbolicScope())


def test_the_menu_offers_the_figures_under_linux_only():
    state = initial()
    [(state, _)] = step(state, program("T0: S0 = shmget(private, 4096, creat)")[0], LINUX)
    offered = {a.step.op.cmd for a in actions(state, DEFAULT) if isinstance(a.step.op, ShmCtl)}
    assert set(FIGURE_COMMANDS) <= offered
    posix = {a.step.op.cmd for a in actions(state, DEFAULT, linux=False)
             if isinstance(a.step.op, ShmCtl)}
    assert not set(FIGURE_COMMANDS) & posix
    assert not set(FIGURE_COMMANDS) & set(SMALL.shmctl_cmds)   # the exhaustive scope: unchanged


def test_the_exhaustive_enumeration_reaches_the_figures_given_a_scope_that_names_them():
    """SMALL leaves the figures out (above), but the enumeration draws from the same menu: a
    scope naming the figure commands reaches each of them, before and after an attach."""
    from sharespec.generators.exhaustive import explore
    scope = Scope(steps=3, processes=1, threads=1, families=("shmget", "shmat", "shmctl"),
                  keys=("private",), shm_sizes=("page",), shm_flags=("creat",),
                  modes=("owner",), attaches=("slot",), shmctl_cmds=FIGURE_COMMANDS)
    made = [p for p in explore(scope).selected_programs()]
    reached = {st.op.cmd for p in made for st in p if isinstance(st.op, ShmCtl)}
    assert reached == set(FIGURE_COMMANDS)
    after_attach = {st.op.cmd for p in made for i, st in enumerate(p)
                    if isinstance(st.op, ShmCtl) and any(q.op.OP == "shmat" for q in p[:i])}
    assert after_attach == set(FIGURE_COMMANDS)


@pytest.mark.parametrize("name", ["r20-ipc-figures-shm-info", "r39-ipc-figures-resident-pages",
                                  "r17-ipc-figures-removed-attached"])
def test_the_builtin_cases_read_and_their_json_meets_the_schema(name):
    text = (ROOT / "sharespec" / "cases" / f"{name}.case").read_text()
    case = case_from_text(text, name)          # CaseError if a written result is not the model's
    if importlib.util.find_spec("jsonschema"):
        import jsonschema
        schema = json.loads((ROOT / "docs" / "case.schema.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(case_to_json(case))
