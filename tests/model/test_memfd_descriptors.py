"""Open files in the model (model/descriptors.py): dup, reopen through /proc/self/fd with an
access mode, write-only opens, fallocate (extend, punch a hole: R39) and fstat; and the case
language of all of them (validation with clear errors, both forms round-trip). Pinned on the
kernel by r39-fallocate-punch-hole, c01-open-write-only, r47-memfd-seals-shared-by-descriptors
and LTP's memfd_create01, mmap06 and mmap07 cases."""
from __future__ import annotations

import pytest

from sharespec.model.case import CaseError
from sharespec.model.case_json import case_from_json, case_to_json
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.results import FileSize, SealSet, parse_result

from test_memfd_seals import one
from test_model_rules import last


def test_dup_keeps_the_access_mode_and_outlives_the_first_descriptor():
    got = one("""
        T0: F0 = open(file, data, creat, rdonly)
        T0: F1 = dup(F0)
        T0: pwrite(F1, 0, 1)
        T0: close(F0)
        T0: pread(F1, 0)
        T0: F2 = dup(F0)
    """)
    assert got[2:] == ["EBADF", "ok", "eof", "EBADF"]


def test_a_reopen_has_its_own_mode_and_needs_a_held_descriptor():
    got = one("""
        T0: F0 = open(memfd)
        T0: F1 = reopen(F0, wronly)
        T0: pwrite(F1, 0, 7)
        T0: pread(F1, 0)
        T0: F2 = reopen(F1, rdonly)
        T0: pread(F2, 0)
        T0: close(F0)
        T0: F3 = reopen(F0)
        T0: T1 = fork()
        T1: F4 = reopen(F2)
        T1: pwrite(F4, 1, 8)
        T0: pread(F2, 1)
    """)
    assert got[1:8] == ["ok", "ok", "EBADF", "ok", "7", "ok", "ENOENT"]
    assert got[-2:] == ["ok", "8"]


def test_C07_a_reopen_is_checked_as_an_open_after_setuid():
    """The link in /proc/self/fd opens the inode again (may_open): a root-only file is refused
    to other although its descriptor still works; a memfd (mode 0777) is not."""
    got = one("""
        T0: F0 = open(file, a, mode=0600, creat)
        T0: F1 = open(memfd)
        T0: setuid(other)
        T0: F2 = reopen(F0, rdonly)
        T0: pwrite(F0, 0, 5)
        T0: F3 = reopen(F1, wronly)
        T0: F4 = reopen(F0)
    """)
    assert got[3:] == ["EACCES", "ok", "ok", "EACCES"]


def test_C01_a_write_only_descriptor_cannot_be_mapped_or_read():
    got = one("""
        T0: F0 = open(file, data, creat, wronly)
        T0: pwrite(F0, 4095, 65)
        T0: M0 = mmap(F0, shared, r, 4096)
        T0: M1 = mmap(F0, private, rw, 4096)
        T0: pread(F0, 0)
        T0: fstat(F0)
    """)
    assert got[2:] == ["EACCES", "EACCES", "EBADF", "size(4096)"]


def test_fallocate_checks_the_descriptor_then_the_length_then_the_mode():
    """vfs_fallocate: EBADF for no descriptor, then EINVAL for length 0, then EBADF unless
    open for writing."""
    got = one("""
        T0: F0 = open(file, data, creat, rdonly)
        T0: F1 = dup(F0)
        T0: close(F1)
        T0: fallocate(F1, 0, 0)
        T0: fallocate(F0, 0, 0)
        T0: fallocate(F0, 0, 1)
    """)
    assert got[3:] == ["EBADF", "EINVAL", "EBADF"]


def test_fallocate_extends_the_size_and_keeps_the_contents():
    got = one("""
        T0: F0 = open(memfd)
        T0: pwrite(F0, 10, 3)
        T0: fallocate(F0, 4096, 4096)
        T0: fstat(F0)
        T0: fallocate(F0, 0, 100)
        T0: fstat(F0)
        T0: pread(F0, 10)
    """)
    assert got[3:] == ["size(8192)", "ok", "size(8192)", "3"]


def test_R39_a_punched_hole_zeroes_to_the_byte_keeps_the_size_and_private_copies():
    got = one("""
        T0: F0 = open(memfd)
        T0: ftruncate(F0, 12288)
        T0: M0 = mmap(F0, shared, rw, 12288)
        T0: write(M0+99, 1)
        T0: write(M0+100, 2)
        T0: write(M0[1], 3)
        T0: write(M0[2]+2000, 4)
        T0: M1 = mmap(F0, private, rw, 12288)
        T0: write(M1[1]+1, 5)
        T0: fallocate(F0, 100, 10000, punch)
        T0: read(M0+99)
        T0: read(M0+100)
        T0: read(M0[1])
        T0: read(M1[1])
        T0: read(M0[2]+2000)
        T0: fstat(F0)
    """)
    assert got[10:] == ["1", "0", "0", "3", "4", "size(12288)"]


def test_the_results_have_one_spelling():
    assert parse_result("seals(shrink+write)") == SealSet("shrink+write")
    assert parse_result("size( 4096 )") == FileSize(4096)
    with pytest.raises(ValueError, match="in the order"):
        parse_result("seals(write+shrink)")
    with pytest.raises(ValueError, match="not a result"):
        parse_result("size(-1)")


CASE = """\
case descriptors
profile linux
rules
origin test

T0: F0 = open(memfd, invalid=long_name, nosealing)   -> EINVAL
T0: F1 = open(file, data, creat, wronly)             -> ok
T0: F2 = dup(F1)                                     -> ok
T0: F3 = reopen(F2, rdonly)                          -> ok
T0: F4 = reopen(F3, trunc)                           -> ok
T0: seal(F4, grow+future_write)                      -> EPERM
T0: seals(F4)                                        -> seals(seal)
T0: fallocate(F2, 1, 4096, punch)                    -> ok
T0: fstat(F3)                                        -> size(0)
"""


def test_the_new_forms_round_trip_in_text_and_json():
    case = case_from_text(CASE, "<t>")
    assert case_to_text(case) == CASE
    assert case_from_json(case_to_json(case)) == case


@pytest.mark.parametrize("line, problem", [
    ("T0: F0 = open(file, data, rdonly, wronly)", "rdonly or wronly, not both"),
    ("T0: F0 = open(shm, obj, wronly)", "has no wronly"),
    ("T0: F0 = open(file, data, nosealing)", "memfd_create's arguments"),
    ("T0: F0 = open(memfd)\nT0: F1 = reopen(F0, rdonly, trunc)", "needs mode wronly or rdwr"),
    ("T0: F0 = open(memfd)\nT0: seal(F0, write+shrink)", r"in the order seal\+shrink\+grow"),
    ("T0: F0 = open(memfd)\nT0: fallocate(F0, 0, 2000000000)", "fallocate length"),
    ("T0: F0 = open(memfd) -> ok\nT0: seals(F0) -> size(0)", "only fstat returns a size"),
])
def test_bad_programs_are_refused_with_the_reason(line, problem):
    with pytest.raises(CaseError, match=problem):
        case_from_text("case x\nprofile linux\norigin t\n\n" + line + "\n", "<t>")


def test_a_dup_in_a_fork_child_resizes_the_same_object():
    assert last("""
        T0: F0 = open(memfd)
        T0: ftruncate(F0, 100)
        T0: T1 = fork()
        T1: F1 = dup(F0)
        T1: ftruncate(F1, 50)
        T0: fstat(F0)
    """) == {"size(50)"}
