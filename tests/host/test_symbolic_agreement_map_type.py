"""The symbolic core's mmap with neither MAP_SHARED nor MAP_PRIVATE (model/symbolic/operations/
memory.py, model/map_type.py; C01) agrees with the explicit semantics, under linux and posix:
EINVAL of anonymous memory and of every object kind held, even read-only or write-sealed;
EBADF first for a descriptor not held (under posix, EINVAL too: the order of detection is
undefined); nothing mapped, so later steps on the handle and on other mappings agree too."""
from __future__ import annotations

import pytest

from sharespec.model.case_text import case_from_text
from sharespec.model.symbolic.agreement import check_program
from sharespec.model.symbolic.core import SymbolicScope, program_to_args
from sharespec.model.symbolic.unrolling import Unrolling



def program(text: str) -> tuple:
    return case_from_text("case p\nprofile linux\norigin test\n\n" + text.strip() + "\n",
                          "<test>").steps

SCOPE = SymbolicScope(processes=2, threads=2, mappings=2, pages=2, segments=0, objects=2,
                      steps=6)

PROGRAMS = {
    "anonymous": "T0: M0 = mmap(anon, neither, rw, 4096)\nT0: read(M0)",
    "anonymous then fork": """
        T0: M0 = mmap(anon, private, rw, 4096)
        T0: write(M0, 1)
        T0: M1 = mmap(anon, neither, r, 8192)
        T0: T1 = fork()
        T1: read(M0)""",
    "file": """
        T0: F0 = open(file, obj, creat)
        T0: ftruncate(F0, 4096)
        T0: M0 = mmap(F0, neither, rw, 4096)
        T0: write(M0, 1)
        T0: pread(F0, 0)""",
    "read-only file": """
        T0: F0 = open(file, obj, creat)
        T0: F1 = open(file, obj, rdonly)
        T0: M0 = mmap(F1, neither, rw, 4096)""",
    "shm": """
        T0: F0 = open(shm, obj, creat)
        T0: M0 = mmap(F0, neither, none, 4096)""",
    "closed descriptor": """
        T0: F0 = open(file, obj, creat)
        T0: close(F0)
        T0: M0 = mmap(F0, neither, r, 4096)
        T0: M1 = mmap(anon, shared, rw, 4096)""",
}
LINUX_ONLY = {
    "sealed memfd": """
        T0: F0 = open(memfd)
        T0: ftruncate(F0, 4096)
        T0: seal(F0, write)
        T0: M0 = mmap(F0, neither, rw, 4096)
        T0: M1 = mmap(F0, shared, rw, 4096)""",
}


@pytest.fixture(scope="module", params=["linux", "posix"])
def unrolling(request):
    return Unrolling(SCOPE, request.param, free_values=False)


def test_C01_neither_is_in_the_core():
    args = program_to_args(program(PROGRAMS["anonymous"]), SCOPE)
    assert args[0].neither and not args[0].shared


@pytest.mark.parametrize("name", sorted(PROGRAMS) + sorted(LINUX_ONLY))
def test_C01_neither_agrees(unrolling, name):
    if name in LINUX_ONLY and unrolling.profile.name != "linux":
        pytest.skip("memfd is Linux-only")
    agreement = check_program(unrolling, program({**PROGRAMS, **LINUX_ONLY}[name]))
    assert agreement.explicit
    assert agreement.agrees, agreement.explain()


def test_C01_posix_allows_EINVAL_before_EBADF_in_both_encodings(unrolling):
    agreement = check_program(unrolling, program(PROGRAMS["closed descriptor"]))
    last = {str(seq[2]) for seq in agreement.symbolic}
    assert last == ({"EBADF", "EINVAL"} if unrolling.profile.name == "posix" else {"EBADF"})
