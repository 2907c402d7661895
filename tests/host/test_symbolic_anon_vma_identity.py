"""R30 in the z3 encoding: a record's first write gives it an anon_vma, its next neighbour's,
else its previous neighbour's when reusable (adjacent, flags equal but for the protection, not
a fork child's), else a new one (``avid``: the slot and the page where its record began);
records with different anon_vmas never merge (address_space.anon_vma_prepare, _can_merge).
The encoding sees record boundaries through mremap (a grow over two records is EFAULT), so
each program ends with one; both encodings must agree on it, and on what the explicit model
says (observed on Linux 6.18: sharespec/cases/r30-anon-vma-per-first-write.case)."""
from __future__ import annotations

import pytest

from sharespec.model.symbolic.core import SymbolicScope
from sharespec.model.symbolic.unrolling import Unrolling

from agreement_programs import assert_agrees

SCOPE = SymbolicScope(processes=2, threads=2, mappings=2, pages=4, segments=0, objects=0, steps=10)

# page 0 written, made read-only (it keeps VM_ACCOUNT), page 1 made writable: the two differ
# only in the protection
WRITTEN_BESIDE = """
T0: M0 = mmap(anon, private, r, 8192)
T0: mprotect(M0, 4096, rw)
T0: write(M0[0], 1)
T0: mprotect(M0, 4096, r)
T0: mprotect(M0[1], 4096, rw)
"""

# name -> (program, the last step's one result)
PROGRAMS = {
    "pieces written apart stay apart": ("""
T0: M0 = mmap(anon, private, rw, 12288)
T0: mprotect(M0[1], 4096, r)
T0: write(M0[0], 1)
T0: write(M0[2], 1)
T0: mprotect(M0[1], 4096, rw)
T0: mremap(M0, 12288, 16384, grow)
""", "EFAULT"),
    "a record written whole merges back": ("""
T0: M0 = mmap(anon, private, rw, 12288)
T0: write(M0[0], 1)
T0: mprotect(M0[1], 4096, r)
T0: mprotect(M0[1], 4096, rw)
T0: mremap(M0, 12288, 16384, grow)
""", "ok"),
    "a neighbour with other flags gives no anon_vma": ("""
T0: M0 = mmap(anon, private, rw, 8192)
T0: madvise(M0[1], 4096, dontfork)
T0: write(M0[0], 1)
T0: write(M0[1], 1)
T0: madvise(M0[1], 4096, dofork)
T0: mremap(M0, 8192, 12288, grow)
""", "EFAULT"),
    "a move carries the anon_vmas": ("""
T0: M0 = mmap(anon, private, rw, 8192)
T0: madvise(M0[1], 4096, dontfork)
T0: write(M0[0], 1)
T0: write(M0[1], 1)
T0: M1 = mremap(M0, 8192, 8192, move)
T0: madvise(M1[1], 4096, dofork)
T0: mremap(M1, 8192, 12288, grow)
""", "EFAULT"),
    "the previous record's anon_vma is reused": (WRITTEN_BESIDE + """
T0: write(M0[1], 1)
T0: mprotect(M0, 4096, rw)
T0: mremap(M0, 8192, 12288, grow)
""", "ok"),
    "the next record's anon_vma is reused": ("""
T0: M0 = mmap(anon, private, r, 8192)
T0: mprotect(M0[1], 4096, rw)
T0: write(M0[1], 1)
T0: mprotect(M0[1], 4096, r)
T0: mprotect(M0, 4096, rw)
T0: write(M0[0], 1)
T0: mprotect(M0[1], 4096, rw)
T0: mremap(M0, 8192, 12288, grow)
""", "ok"),
    "a fork child's record is not reused": (WRITTEN_BESIDE + """
T0: T1 = fork()
T1: write(M0[1], 1)
T1: mprotect(M0, 4096, rw)
T1: mremap(M0, 8192, 12288, grow)
""", "EFAULT"),
    # the second first write at page 1 makes a new anon_vma while the first one lives on in
    # page 2 (its record began at page 1 too): the two must not take one number
    "a new anon_vma never takes the number of one in use": ("""
T0: M0 = mmap(anon, private, rw, 12288)
T0: mprotect(M0, 4096, r)
T0: write(M0[1], 1)
T0: madvise(M0[2], 4096, dontfork)
T0: munmap(M0[1], 4096)
T0: mremap(M0, 4096, 8192, grow)
T0: mprotect(M0[1], 4096, rw)
T0: write(M0[1], 1)
T0: madvise(M0[2], 4096, dofork)
T0: mremap(M0[1], 8192, 12288, grow)
""", "EFAULT"),
}


@pytest.fixture(scope="module")
def unrolling():
    return Unrolling(SCOPE, "linux", free_values=False)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_R30_anon_vma_identities_agree(unrolling, name):
    text, last = PROGRAMS[name]
    assert_agrees(unrolling, text, {last})
