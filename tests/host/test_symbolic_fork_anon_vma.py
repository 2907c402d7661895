"""R30, R41 in the z3 encoding: a fork child's record that has an anon_vma gets one of its own
(``forkvma``, known by ``avid``: the page where its record began at the fork), which merges
only with pieces of that record; a MADV_WIPEONFORK record starts without one. The encoding
sees record boundaries through mremap (a grow over two records is EFAULT), so each program
ends with one; both encodings must agree on it, and on what the explicit model says (observed
on Linux 6.18: sharespec/cases/r30-fork-anon-vma-apart.case and
r30-wipeonfork-child-no-anon-vma.case)."""
from __future__ import annotations

import pytest

from sharespec.model.symbolic.core import SymbolicScope
from sharespec.model.symbolic.unrolling import Unrolling

from agreement_programs import assert_agrees

SCOPE = SymbolicScope(processes=3, threads=3, mappings=2, pages=3, segments=0, objects=0, steps=7)

SPLIT_AFTER_WRITING = """
T0: M0 = mmap(anon, private, rw, 8192)
T0: write(M0[1], 1)
T0: mprotect(M0[1], 4096, r)
T0: T1 = fork()
"""

# name -> (program, the last step's one result)
PROGRAMS = {
    "the child's pieces stay apart": (SPLIT_AFTER_WRITING + """
T1: mprotect(M0[1], 4096, rw)
T1: mremap(M0, 8192, 12288, grow)
""", "EFAULT"),
    "the parent's pieces merge": (SPLIT_AFTER_WRITING + """
T0: mprotect(M0[1], 4096, rw)
T0: mremap(M0, 8192, 12288, grow)
""", "ok"),
    "pieces never written merge in the child": ("""
T0: M0 = mmap(anon, private, rw, 8192)
T0: mprotect(M0[1], 4096, r)
T0: T1 = fork()
T1: mprotect(M0[1], 4096, rw)
T1: mremap(M0, 8192, 12288, grow)
""", "ok"),
    "a fork child's anon_vma refuses a record without one": ("""
T0: M0 = mmap(anon, private, rw, 8192)
T0: mprotect(M0[1], 4096, r)
T0: write(M0[0], 1)
T0: T1 = fork()
T1: mprotect(M0[1], 4096, rw)
T1: mremap(M0, 8192, 12288, grow)
""", "EFAULT"),
    "a grandchild keeps apart what the child wrote": ("""
T0: M0 = mmap(anon, private, rw, 8192)
T0: mprotect(M0[1], 4096, r)
T0: T1 = fork()
T1: write(M0[0], 1)
T1: T2 = fork()
T2: mprotect(M0[1], 4096, rw)
T2: mremap(M0, 8192, 12288, grow)
""", "EFAULT"),
    "a move carries the child's anon_vmas": (SPLIT_AFTER_WRITING + """
T1: M1 = mremap(M0, 8192, 8192, move)
T1: mprotect(M1[1], 4096, rw)
T1: mremap(M1, 8192, 12288, grow)
""", "EFAULT"),
    "a wipeonfork record starts without one": ("""
T0: M0 = mmap(anon, private, rw, 8192)
T0: madvise(M0, 8192, wipeonfork)
T0: write(M0[1], 1)
T0: mprotect(M0, 4096, r)
T0: T1 = fork()
T1: mprotect(M0[1], 4096, r)
T1: mremap(M0, 8192, 12288, grow)
""", "EFAULT"),
}


@pytest.fixture(scope="module")
def unrolling():
    return Unrolling(SCOPE, "linux", free_values=False)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_R30_fork_anon_vmas_agree(unrolling, name):
    text, last = PROGRAMS[name]
    assert_agrees(unrolling, text, {last})
