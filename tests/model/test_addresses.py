"""Addresses and protections in the model (issue 16, item 5): mremap to a chosen place
(MREMAP_FIXED, with and without MAYMOVE), MREMAP_DONTUNMAP, and the protections w, x and rx
(C01, R30, R33, R44). Each is pinned on the kernel by the built-in cases r44-mremap-fixed-*,
r44-mremap-dontunmap-*, r33-write-only-and-exec, r30-protections-split-merge and
c01-protections-with-fds."""
from __future__ import annotations

import pytest

from sharespec.model.case import CaseError
from sharespec.model.profiles import LINUX
from sharespec.model.semantics import step
from sharespec.model.state import SLOT_PAGES, initial
from sharespec.model.symbolic.core import OutsideCore, SymbolicScope, program_to_args

from test_model_rules import allowed, program, stat


def final_states(text: str) -> list:
    """Every state the program may end in (Linux)."""
    states = [initial()]
    for st in program(text):
        states = [s for before in states for s, _ in step(before, st, LINUX)]
    return states


# --- protections (R33, C01) ------------------------------------------------------------------

def test_R33_write_only_reads_and_writes_on_linux_and_may_refuse_loads_under_posix():
    text = """
        T0: M0 = mmap(anon, private, w, 4096)
        T0: write(M0, 4)
        T0: read(M0)
    """
    assert allowed(text) == [{"ok"}, {"ok"}, {"4"}]
    assert allowed(text, "posix")[2] == {"4", "SIGSEGV"}


@pytest.mark.parametrize("prot", ["x", "rx"])
def test_R33_exec_refuses_stores(prot):
    assert allowed(f"""
        T0: M0 = mmap(anon, private, {prot}, 4096)
        T0: write(M0, 1)
    """)[-1] == {"SIGSEGV"}


def test_R33_exec_alone_may_be_execute_only_but_read_exec_reads():
    got = allowed("""
        T0: M0 = mmap(anon, shared, rw, 4096)
        T0: write(M0, 3)
        T0: mprotect(M0, 4096, rx)
        T0: read(M0)
        T0: mprotect(M0, 4096, x)
        T0: read(M0)
    """)
    assert got[3] == {"3"} and got[5] == {"3", "SIGSEGV"}


def test_R30_each_protection_is_a_record_of_its_own():
    for prot in ("w", "x", "rx"):
        got = allowed(f"""
            T0: M0 = mmap(anon, private, none, 8192)
            T0: mprotect(M0, 4096, {prot})
            T0: mremap(M0, 8192, 12288, grow)
            T0: mprotect(M0, 4096, none)
            T0: mremap(M0, 8192, 12288, grow)
        """)
        assert got[2] == {"EFAULT"} and got[4] == {"ok"}, prot


def test_C01_write_only_needs_a_descriptor_open_for_writing_when_shared():
    got = allowed("""
        T0: F0 = open(file, f, creat)
        T0: ftruncate(F0, 4096)
        T0: F1 = open(file, f, rdonly)
        T0: M0 = mmap(F1, shared, w, 4096)
        T0: M1 = mmap(F1, private, w, 4096)
        T0: M2 = mmap(F1, shared, r, 4096)
        T0: mprotect(M2, 4096, w)
    """)
    assert got[3:] == [{"EACCES"}, {"ok"}, {"ok"}, {"EACCES"}]


def test_C01_exec_of_a_file_may_meet_a_noexec_mount_but_not_a_memfd_or_anonymous_memory():
    got = allowed("""
        T0: F0 = open(file, f, creat)
        T0: ftruncate(F0, 4096)
        T0: M0 = mmap(F0, shared, x, 4096)
        T0: M1 = mmap(F0, private, rx, 4096)
        T0: M2 = mmap(F0, shared, r, 4096)
        T0: mprotect(M2, 4096, rx)
        T0: F1 = open(memfd)
        T0: ftruncate(F1, 4096)
        T0: M3 = mmap(F1, shared, x, 4096)
        T0: mprotect(M3, 4096, rx)
        T0: M4 = mmap(anon, shared, x, 4096)
        T0: mprotect(M4, 4096, rx)
    """)
    assert got[2] == got[3] == {"ok", "EPERM"} and got[5] == {"ok", "EACCES"}
    assert got[8] == got[9] == got[10] == got[11] == {"ok"}


# --- mremap to a chosen place (R44, C01) -----------------------------------------------------

TWO = """
    T0: M0 = mmap(anon, private, rw, 4096)
    T0: M1 = mmap(anon, private, rw, 8192)
    T0: write(M0, 1)
    T0: write(M1, 2)
    T0: write(M1[1], 3)
"""


@pytest.mark.parametrize("call", [
    "mremap(M0, 4096, 4096, fixed, to=M1)",                     # no MREMAP_MAYMOVE
    "mremap(M0, 4096, 4096, fixed, to=M1+1, maymove)",          # unaligned new address
    "mremap(M0, 8192, 4096, fixed, to=M0[1], maymove)",         # overlapping
    "mremap(M0[3], 4096, 8192, fixed, to=M0[2], maymove)",      # overlapping an unmapped range
    "mremap(M0, 4096, 8192, fixed, to=M1, maymove, dontunmap)",  # DONTUNMAP with two sizes
    "M2 = mremap(M0, 4096, 8192, move, dontunmap)",
    "mremap(M0, 4096, 4095, fixed, to=M1, maymove, dontunmap)",  # compared before rounding
])
def test_C01_mremap_new_address_checks_come_first_and_change_nothing(call):
    got = allowed(TWO + f"T0: {call}\nT0: read(M0)\nT0: read(M1)")
    assert got[-3:] == [{"EINVAL"}, {"1"}, {"2"}]


def test_R44_fixed_unmaps_only_the_new_range_and_the_old_range_faults():
    got = allowed(TWO + """
        T0: mremap(M0, 4096, 4096, fixed, to=M1, maymove)
        T0: read(M1)
        T0: read(M1[1])
        T0: read(M0)
    """)
    assert got[-4:] == [{"ok"}, {"1"}, {"3"}, {"SIGSEGV"}]


def test_R44_fixed_past_its_mapping_is_efault_and_keeps_the_target():
    got = allowed(TWO + """
        T0: mremap(M0, 8192, 12288, fixed, to=M1, maymove)
        T0: read(M1)
    """)
    assert got[-2:] == [{"EFAULT"}, {"2"}]


def test_R44_fixed_resize_unmaps_the_whole_new_range():
    got = allowed(TWO + """
        T0: M2 = mmap(anon, private, rw, 12288)
        T0: write(M2[1], 9)
        T0: mremap(M0, 4096, 8192, fixed, to=M2, maymove)
        T0: read(M2[1])
        T0: read(M2[2])
    """)
    assert got[-3:] == [{"ok"}, {"0"}, {"0"}]


def test_R44_a_same_size_fixed_move_over_a_hole_leaves_what_faces_the_hole():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: M1 = mmap(anon, private, rw, 12288)
        T0: write(M0, 1)
        T0: write(M0[2], 3)
        T0: write(M1[1], 8)
        T0: munmap(M0[1], 4096)
        T0: mremap(M0, 12288, 12288, fixed, to=M1, maymove)
        T0: read(M1)
        T0: read(M1[1])
        T0: read(M1[2])
    """)
    assert got[-4:] == [{"ok"}, {"1"}, {"8"}, {"3"}]


def test_R44_fixed_binds_nothing_and_takes_no_slot():
    (state,) = final_states(TWO + "T0: mremap(M0, 4096, 4096, fixed, to=M1[1], maymove)")
    assert state.next_slot_base() == 2 * SLOT_PAGES
    proc = state.processes[0]
    assert proc.vma_at(0) is None and proc.vma_at(SLOT_PAGES + 1) is not None


def test_R44_fixed_carries_page_table_entries_and_an_early_efault_carries_none():
    (moved,) = final_states(TWO + "T0: mremap(M0, 4096, 4096, fixed, to=M1[1], maymove)")
    assert SLOT_PAGES + 1 in moved.processes[0].present
    assert 0 not in moved.processes[0].present
    (refused,) = final_states(TWO + "T0: mremap(M0, 8192, 12288, fixed, to=M1, maymove)")
    assert 0 in refused.processes[0].present and SLOT_PAGES in refused.processes[0].present


# --- MREMAP_DONTUNMAP (R44, R30) -------------------------------------------------------------

def test_R44_dontunmap_keeps_the_private_source_mapped_and_zero():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: write(M0, 5)
        T0: M1 = mremap(M0, 4096, 4096, move, dontunmap)
        T0: read(M1)
        T0: read(M0)
    """)
    assert got[-3:] == [{"ok"}, {"5"}, {"0"}]


def test_R44_dontunmap_of_a_private_file_mapping_reads_the_file_again():
    got = allowed("""
        T0: F0 = open(memfd)
        T0: pwrite(F0, 0, 2)
        T0: M0 = mmap(F0, private, rw, 4096)
        T0: write(M0, 5)
        T0: M1 = mremap(M0, 4096, 4096, move, dontunmap)
        T0: read(M1)
        T0: read(M0)
    """)
    assert got[-2:] == [{"5"}, {"2"}]


def test_R44_R30_dontunmap_of_an_attach_makes_a_second_vma():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: A0 = shmat(S0)
        T0: write(A0, 8)
        T0: A1 = mremap(A0, 4096, 4096, move, dontunmap)
        T0: read(A0)
        T0: shmctl(S0, stat)
        T0: shmdt(A0)
        T0: shmctl(S0, stat)
    """)
    assert got[4] == {"8"} and got[5] == {stat(2)} and got[7] == {stat(1)}


def test_R44_dontunmap_source_loses_its_anon_vma():
    (state,) = final_states("""
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: write(M0, 5)
        T0: M1 = mremap(M0, 4096, 4096, move, dontunmap)
    """)
    proc = state.processes[0]
    assert not proc.vma_at(0).anon_vma and proc.vma_at(SLOT_PAGES).anon_vma
    assert 0 not in proc.present and SLOT_PAGES in proc.present


# --- the language ------------------------------------------------------------------------------

@pytest.mark.parametrize("line, problem", [
    ("T0: mremap(M0, 4096, 4096, fixed, maymove)", "mremap fixed needs the place it moves to"),
    ("T0: M2 = mremap(M0, 4096, 4096, move, to=M1)", "mremap move chooses no place"),
    ("T0: mremap(M0, 4096, 8192, grow, maymove)", "maymove is a flag of mode fixed"),
    ("T0: mremap(M0, 4096, 8192, grow, dontunmap)", "dontunmap is a flag of modes move and fixed"),
    ("T0: M2 = mremap(M0, 4096, 4096, fixed, to=M1, maymove)", "mode fixed lands at its place"),
    ("T0: mremap(M0, 4096, 8192, fixed, to=M1[255], maymove)", "the new range runs past the end"),
])
def test_the_validator_refuses_what_mode_fixed_cannot_mean(line, problem):
    with pytest.raises(CaseError, match=problem):
        program(TWO + line)


@pytest.mark.parametrize("line", [
    "T0: M2 = mmap(anon, private, w, 4096)",
    "T0: mprotect(M0, 4096, x)",
    "T0: mremap(M0, 4096, 4096, fixed, to=M1, maymove)",
    "T0: M2 = mremap(M0, 4096, 4096, move, dontunmap)",
])
def test_the_new_arguments_are_outside_the_symbolic_core(line):
    with pytest.raises(OutsideCore):
        program_to_args(program("T0: M0 = mmap(anon, private, rw, 4096)\n"
                                "T0: M1 = mmap(anon, private, rw, 4096)\n" + line),
                        SymbolicScope(steps=6))


# --- the maps observation (R30) ----------------------------------------------------------------

def test_R30_maps_reads_splits_and_merges_from_the_handle_to_its_slot_end():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: maps(M0)
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
        T0: M1 = mmap(anon, shared, x, 4096, at=M0[2], replace)
        T0: maps(M1)
        T0: maps(M0)
    """)
    assert got[2] == {"maps(0-1:rw-p,1-2:r--p,2-3:rw-p)"} and got[4] == {"maps(0-3:rw-p)"}
    assert got[6] == {"maps(0-1:--xs)"} and got[7] == {"maps(0-2:rw-p,2-3:--xs)"}


def test_R30_maps_shows_attach_fragments_that_never_merge_and_nothing_past_the_slot():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: mprotect(A0[1], 4096, r)
        T0: mprotect(A0[1], 4096, rw)
        T0: maps(A0)
        T0: S1 = shmget(private, 1052672, creat)
        T0: A1 = shmat(S1)
        T0: maps(A1)
    """)
    assert got[4] == {"maps(0-1:rw-s,1-2:rw-s)"}
    assert got[7] == {"maps(0-256:rw-s)"}   # 257 pages attached: cut at the slot's end


def test_maps_is_linux_only_and_changes_nothing():
    from sharespec.model.oracle import allowed_per_step
    steps = program("T0: M0 = mmap(anon, private, rw, 4096)\nT0: maps(M0)")
    (state,) = final_states("T0: M0 = mmap(anon, private, rw, 4096)")
    assert [s for s, _ in step(state, steps[1], LINUX)] == [state]
    with pytest.raises(Exception, match="Linux-only|not applicable|NotApplicable"):
        allowed_per_step(steps, "posix")


def test_a_maps_report_reads_back_and_refuses_disorder():
    from sharespec.model.results import MapsReport, parse_result
    assert parse_result("maps(0-2:rw-p,3-4:--xs)") == MapsReport(((0, 2, "rw-p"), (3, 4, "--xs")))
    assert str(parse_result("maps()")) == "maps()"
    for bad in ("maps(2-1:rw-p)", "maps(0-2:rw-p,1-3:r--p)", "maps(0-2:rwxq)", "maps(0-257:rw-p)"):
        with pytest.raises(ValueError):
            parse_result(bad)


def test_R44_R30_dontunmap_of_part_of_an_attach_splits_nothing():
    got = allowed("""
        T0: S0 = shmget(private, 8192, creat)
        T0: A0 = shmat(S0)
        T0: mremap(A0, 4096, 4096, fixed, to=A0[2], maymove, dontunmap)
        T0: shmctl(S0, stat)
        T0: maps(A0)
    """)
    assert got[3] == {stat(2, 8192)} and got[4] == {"maps(0-2:rw-s,2-3:rw-s)"}
