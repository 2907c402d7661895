"""The memfd seals in the model (R47, model/descriptors.py): F_ADD_SEALS and F_GET_SEALS, the
seals SHRINK, GROW, SEAL and FUTURE_WRITE and what each refuses, memfd_create without
MFD_ALLOW_SEALING and with arguments it refuses. Each is pinned on the kernel by the built-in
cases r47-memfd-* and c01-memfd-create-arguments, and LTP's memfd_create01/02 cases."""
from __future__ import annotations

import pytest

from sharespec.model.oracle import allowed_per_step
from sharespec.model.semantics import NotApplicable

from test_model_rules import allowed, last, program

SIZED = """
T0: F0 = open(memfd)
T0: ftruncate(F0, 8192)
"""


def one(text: str) -> list:
    """The single result each step allows (the programs here are deterministic)."""
    results = allowed(text)
    assert all(len(r) == 1 for r in results), results
    return [next(iter(r)) for r in results]


def test_R47_seals_are_added_reported_and_closed_by_seal():
    got = one(SIZED + """
        T0: seals(F0)
        T0: seal(F0, shrink+write)
        T0: seal(F0, shrink+write)
        T0: seals(F0)
        T0: seal(F0, seal+grow)
        T0: seals(F0)
        T0: seal(F0, grow)
        T0: seal(F0, none)
    """)
    assert got[2:] == ["seals(none)", "ok", "ok", "seals(shrink+write)", "ok",
                       "seals(seal+shrink+grow+write)", "EPERM", "EPERM"]


def test_R47_a_read_only_descriptor_cannot_seal_but_sees_the_seals():
    got = one(SIZED + """
        T0: seal(F0, write)
        T0: F1 = reopen(F0, rdonly)
        T0: seal(F1, shrink)
        T0: seals(F1)
    """)
    assert got[-2:] == ["EPERM", "seals(write)"]


def test_R47_without_allow_sealing_and_on_files_the_seal_seal_is_there_from_the_start():
    got = one("""
        T0: F0 = open(memfd, nosealing)
        T0: seals(F0)
        T0: seal(F0, none)
        T0: F1 = open(file, data, creat)
        T0: seals(F1)
        T0: seal(F1, write)
        T0: F2 = open(shm, obj, creat)
        T0: seals(F2)
    """)
    assert got == ["ok", "seals(seal)", "EPERM", "ok", "seals(seal)", "EPERM", "ok", "seals(seal)"]


def test_R47_shrink_refuses_a_smaller_size_only():
    got = one(SIZED + """
        T0: seal(F0, shrink)
        T0: ftruncate(F0, 4096)
        T0: F1 = reopen(F0, trunc)
        T0: ftruncate(F0, 8192)
        T0: ftruncate(F0, 12288)
        T0: fallocate(F0, 0, 16384)
        T0: pwrite(F0, 20000, 1)
        T0: fstat(F0)
    """)
    assert got[3:] == ["EPERM", "EPERM", "ok", "ok", "ok", "ok", "size(20001)"]


def test_R47_grow_refuses_a_larger_size_by_any_call():
    got = one(SIZED + """
        T0: seal(F0, grow)
        T0: ftruncate(F0, 8193)
        T0: fallocate(F0, 8000, 200)
        T0: pwrite(F0, 8192, 1)
        T0: pwrite(F0, 8191, 1)
        T0: fallocate(F0, 0, 8192)
        T0: ftruncate(F0, 100)
        T0: F1 = reopen(F0, trunc)
        T0: fstat(F0)
    """)
    assert got[3:] == ["EPERM", "EPERM", "EPERM", "ok", "ok", "ok", "ok", "size(0)"]


def test_R47_write_seal_leaves_resizing_and_allocation_alone():
    got = one(SIZED + """
        T0: seal(F0, write)
        T0: ftruncate(F0, 4096)
        T0: fallocate(F0, 0, 16384)
        T0: fallocate(F0, 0, 4096, punch)
        T0: fstat(F0)
    """)
    assert got[3:] == ["ok", "ok", "EPERM", "size(16384)"]


def test_R47_future_write_needs_no_unmapping_and_refuses_new_writers():
    got = one(SIZED + """
        T0: M0 = mmap(F0, shared, rw, 8192)
        T0: seal(F0, write)
        T0: seal(F0, future_write)
        T0: write(M0, 9)
        T0: pread(F0, 0)
        T0: pwrite(F0, 0, 1)
        T0: M1 = mmap(F0, shared, rw, 4096)
        T0: M2 = mmap(F0, shared, r, 4096)
        T0: mprotect(M2, 4096, rw)
        T0: fallocate(F0, 0, 4096, punch)
        T0: M3 = mmap(F0, private, rw, 4096)
        T0: seals(F0)
    """)
    assert got[3:] == ["EBUSY", "ok", "ok", "9", "EPERM", "EPERM", "ok", "EACCES", "EPERM", "ok",
                       "seals(future_write)"]


def test_C01_memfd_create_refuses_a_null_name_a_long_name_and_unknown_flags():
    got = one("""
        T0: F0 = open(memfd, invalid=null_name)
        T0: F1 = open(memfd, invalid=long_name)
        T0: F2 = open(memfd, invalid=flags)
        T0: fstat(F0)
    """)
    assert got == ["EFAULT", "EINVAL", "EINVAL", "EBADF"]


@pytest.mark.parametrize("text", ["T0: seals(F0)", "T0: seal(F0, shrink)",
                                  "T0: F1 = reopen(F0)", "T0: fallocate(F0, 0, 4096)"])
def test_R47_seals_reopen_and_fallocate_are_linux_only(text):
    steps = program("T0: F0 = open(file, data, creat)\n" + text)
    with pytest.raises(NotApplicable):
        allowed_per_step(steps, "posix")


def test_dup_and_fstat_are_posix_too():
    assert last("""
        T0: F0 = open(file, data, creat)
        T0: pwrite(F0, 99, 1)
        T0: F1 = dup(F0)
        T0: fstat(F1)
    """, "posix") == {"size(100)"}


def test_R47_R39_madvise_remove_through_a_mapping_older_than_future_write_is_refused():
    """MADV_REMOVE punches with vfs_fallocate, which F_SEAL_FUTURE_WRITE refuses (EPERM);
    the mapping itself still writes."""
    got = one(SIZED + """
        T0: M0 = mmap(F0, shared, rw, 8192)
        T0: write(M0, 9)
        T0: seal(F0, future_write)
        T0: madvise(M0, 4096, remove)
        T0: read(M0)
    """)
    assert got[-2:] == ["EPERM", "9"]


def test_R47_the_sealing_property_allows_every_resize_and_still_catches_a_change():
    """properties.sealing_step: ftruncate, fallocate's allocation and a reopen with O_TRUNC
    resize a write-sealed memfd (LTP memfd_create01.c: shrinkable and growable); any other
    step that changes it breaks the property."""
    from dataclasses import replace
    from sharespec.model.properties import check_step
    from sharespec.model.semantics import step
    from sharespec.model.state import initial
    from sharespec.model.profiles import LINUX
    steps = program(SIZED + """
        T0: pwrite(F0, 0, 5)
        T0: seal(F0, write)
        T0: fallocate(F0, 0, 16384)
        T0: F1 = reopen(F0, trunc)
        T0: pwrite(F0, 0, 6)
    """)
    state = initial()
    for st in steps:
        outcomes = step(state, st, LINUX)
        assert check_step(state, st, outcomes) == {}, st
        state = outcomes[0][0]
    grown = [(replace(state, objects=tuple(replace(o, size=o.size + 1) for o in state.objects)),
              outcomes[0][1])]
    assert "sealing" in check_step(state, steps[-1], grown)
