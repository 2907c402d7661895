"""mmap with neither MAP_SHARED nor MAP_PRIVATE (model/map_type.py; issue 16 item 6): EINVAL
for every object under both profiles, after EBADF, the length and place checks and
MAP_FIXED_NOREPLACE's EEXIST, before the descriptor's access mode and seals; nothing changes.
No catalogue rule names it: C01 (mmap's errors) is the nearest and the one cited. Pinned on the
kernel by the built-in cases c01-mmap-neither-shared-nor-private and (under posix)
c01-posix-mmap-neither."""
from __future__ import annotations

import pytest

from sharespec.model.case import CaseError
from sharespec.model.case_json import case_from_json, case_to_json
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.semantics import NotApplicable

from test_model_rules import allowed

HEADER = "case neither\nprofile linux\norigin test\n\n"


def test_C01_neither_is_EINVAL_for_anonymous_memory_under_both_profiles():
    for profile in ("linux", "posix"):
        assert allowed("T0: M0 = mmap(anon, neither, rw, 4096)", profile) == [{"EINVAL"}]
        assert allowed("T0: M0 = mmap(anon, neither, r, 8192)", profile) == [{"EINVAL"}]


@pytest.mark.parametrize("kind", ["file", "shm"])
def test_C01_neither_is_EINVAL_for_a_file_or_shm_object_under_both_profiles(kind):
    for profile in ("linux", "posix"):
        got = allowed(f"""
            T0: F0 = open({kind}, obj, creat)
            T0: ftruncate(F0, 4096)
            T0: M0 = mmap(F0, neither, rw, 4096)
        """, profile)
        assert got[-1] == {"EINVAL"}


def test_C01_neither_is_EINVAL_for_a_memfd_even_write_sealed_and_not_applicable_under_posix():
    text = """
        T0: F0 = open(memfd)
        T0: ftruncate(F0, 4096)
        T0: seal(F0, write)
        T0: M0 = mmap(F0, neither, rw, 4096)
        T0: M1 = mmap(F0, shared, rw, 4096)
    """
    assert allowed(text)[-2:] == [{"EINVAL"}, {"EPERM"}]   # the seal is checked in the switch
    with pytest.raises(NotApplicable):
        allowed(text, "posix")


def test_C01_the_descriptor_must_be_held_first_EBADF_and_posix_may_report_EINVAL_instead():
    text = """
        T0: F0 = open(file, obj, creat)
        T0: ftruncate(F0, 4096)
        T0: close(F0)
        T0: M0 = mmap(F0, neither, r, 4096)
    """
    assert allowed(text)[-1] == {"EBADF"}
    assert allowed(text, "posix")[-1] == {"EBADF", "EINVAL"}


def test_C01_the_access_mode_is_never_looked_at_but_posix_may_report_EACCES_of_write_only():
    read_only = allowed("""
        T0: F0 = open(file, obj, creat)
        T0: ftruncate(F0, 4096)
        T0: F1 = open(file, obj, rdonly)
        T0: M0 = mmap(F1, neither, rw, 4096)
    """)
    assert read_only[-1] == {"EINVAL"}
    write_only = """
        T0: F0 = open(file, obj, creat)
        T0: ftruncate(F0, 4096)
        T0: F1 = open(file, obj, wronly)
        T0: M0 = mmap(F1, neither, r, 4096)
    """
    assert allowed(write_only)[-1] == {"EINVAL"}
    assert allowed(write_only, "posix")[-1] == {"EINVAL", "EACCES"}


def test_C01_length_offset_and_place_come_first_all_EINVAL():
    assert allowed("T0: M0 = mmap(anon, neither, rw, 0)") == [{"EINVAL"}]
    assert allowed("""
        T0: F0 = open(file, obj, creat)
        T0: close(F0)
        T0: M0 = mmap(F0, neither, r, 4096, offset=100)
    """)[-1] == {"EINVAL"}   # sys_mmap's offset check comes before the fget


def test_C01_noreplace_over_a_mapping_is_EEXIST_before_the_type_check():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: M1 = mmap(anon, neither, rw, 4096, at=M0[1], noreplace)
        T0: M2 = mmap(anon, neither, rw, 4096, at=M0[1], replace)
    """)
    assert got[1:] == [{"EEXIST"}, {"EINVAL"}]


def test_C01_a_refused_fixed_mmap_leaves_what_was_mapped_there():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: write(M0[1], 7)
        T0: M1 = mmap(anon, neither, rw, 4096, at=M0[1], replace)
        T0: read(M0[1])
        T0: maps(M0)
    """)
    assert got[2:] == [{"EINVAL"}, {"7"}, {"maps(0-2:rw-p)"}]


def test_C01_a_locked_neither_mmap_after_setuid_may_also_meet_RLIMIT_MEMLOCK_first():
    got = allowed("""
        T0: setuid(other)
        T0: M0 = mmap(anon, neither, rw, 4096, locked)
    """)
    assert got[-1] == {"EINVAL", "EPERM", "EAGAIN"}


def test_neither_round_trips_through_text_and_json():
    case = case_from_text(HEADER + "T0: M0 = mmap(anon, neither, rw, 4096) -> EINVAL\n")
    op = case.steps[0].op
    assert (op.shared, op.neither) == (False, True)
    assert "mmap(anon, neither, rw, 4096)" in case_to_text(case)
    data = case_to_json(case)
    assert data["steps"][0]["args"]["shared"] is False
    assert data["steps"][0]["args"]["neither"] is True
    assert case_from_json(data) == case
    assert case_from_text(HEADER + "T0: M0 = mmap(anon, private, rw, 4096, neither=true)\n") \
        .steps[0].op == op


@pytest.mark.parametrize("line, problem", [
    ("T0: M0 = mmap(anon, shared, rw, 4096, neither=true)", "not with shared"),
    ("T0: M0 = mmap(anon, neither, rw, 4096, growsdown)", "growsdown"),
    ("T0: M0 = mmap(anon, neither, rw, 4096, at=@zero, replace)", "absolute place"),
    ("T0: M0 = mmap(anon, neither, rw, 4096, neither=true)", "given twice"),
    ("T0: M0 = mmap(anon, nether, rw, 4096)", "shared or private or neither"),
])
def test_bad_neither_is_refused_with_the_line_and_the_problem(line, problem):
    with pytest.raises(CaseError) as error:
        case_from_text(HEADER + line + "\n", "bad.case")
    assert "bad.case: line 5" in str(error.value) and problem in str(error.value)


def test_bad_neither_in_json_is_refused_with_its_path():
    case = case_from_text(HEADER + "T0: M0 = mmap(anon, neither, rw, 4096)\n")
    data = case_to_json(case)
    data["steps"][0]["args"]["shared"] = True
    with pytest.raises(CaseError, match=r"steps\[0\]\.args\.neither"):
        case_from_json(data)
    data["steps"][0]["args"].update(shared=False, neither=1)
    with pytest.raises(CaseError, match="neither must be true or false"):
        case_from_json(data)


def test_C01_neither_is_in_the_symbolic_core_as_its_own_argument():
    """Encoded, not as a private mmap (its agreement: tests/host/
    test_symbolic_agreement_map_type.py)."""
    from sharespec.model.symbolic.core import SymbolicScope, program_to_args
    from sharespec.model.symbolic.decode import steps_from_args
    from test_model_rules import program
    steps = program("T0: F0 = open(file, obj, creat)\nT0: M0 = mmap(F0, neither, rw, 4096)")
    args = program_to_args(steps, SymbolicScope())
    assert args[1].neither and not args[1].shared and args[1].fdmap
    assert steps_from_args(args, SymbolicScope())[1].op.neither


def test_C01_the_action_menu_offers_neither_of_anonymous_memory_and_of_a_closed_descriptor():
    from sharespec.model.actions import actions
    from sharespec.model.profiles import LINUX
    from sharespec.model.scope import DEFAULT
    from sharespec.model.semantics import step
    from test_model_rules import program
    state = None
    for st in program("T0: F0 = open(file, obj, creat)\nT0: close(F0)"):
        from sharespec.model.state import initial
        state = step(state or initial(), st, LINUX)[0][0]
    labels = {a.label for a in actions(state, DEFAULT, fds_bound=1) if a.family == "mmap_neither"}
    assert labels == {"mmap_neither object=anon fixed=none",
                      "mmap_neither object=closed fixed=none"}
