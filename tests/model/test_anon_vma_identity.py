"""R30, R49: a private record's anon_vma is made at its first write fault or MADV_GUARD_INSTALL
(anon_vma_prepare -> __anon_vma_prepare, mm/rmap.c): find_mergeable_anon_vma (mm/vma.c) reuses
the next record's, else the previous record's, when reusable_anon_vma allows (anon_vma_compatible
and a singular anon_vma_chain: not a fork child's), else a new one is allocated; records holding
two different anon_vmas never merge (is_mergeable_anon_vma). Each behaviour was observed on Linux
6.18; the built-in case r30-anon-vma-per-first-write pins them on the kernel."""
from __future__ import annotations

from dataclasses import replace

from sharespec.model.address_space import anon_vma_prepare, merged
from sharespec.model.state import Vma, initial

from test_model_rules import allowed, last


def test_R30_pieces_written_apart_hold_different_anon_vmas_and_stay_apart():
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: write(M0[0], 1)
        T0: write(M0[2], 1)
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-2:rw-p,2-3:rw-p)"}


def test_R30_a_record_written_whole_before_its_split_merges_back():
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: write(M0[0], 1)
        T0: write(M0[2], 1)
        T0: mprotect(M0[1], 4096, r)
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-3:rw-p)"}


def test_R30_a_first_write_reuses_the_previous_records_anon_vma():
    # page 0 written then made read-only (it keeps VM_ACCOUNT: it has an anon_vma); pages 1-2
    # differ from it only in VM_WRITE, an access bit anon_vma_compatible ignores
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 8192, r)
        T0: write(M0[0], 1)
        T0: mprotect(M0[0], 4096, r)
        T0: mprotect(M0[1], 8192, rw)
        T0: write(M0[1], 1)
        T0: mprotect(M0[0], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-3:rw-p)"}


def test_R30_a_first_write_reuses_the_next_records_anon_vma_first():
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: write(M0[0], 1)
        T0: write(M0[2], 1)
        T0: mprotect(M0[0], 4096, r)
        T0: mprotect(M0[2], 4096, r)
        T0: mprotect(M0[1], 4096, rw)
        T0: write(M0[1], 1)
        T0: mprotect(M0[0], 4096, rw)
        T0: mprotect(M0[2], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-1:rw-p,1-3:rw-p)"}


def test_R30_no_reuse_from_a_neighbour_with_other_flags():
    # VM_DONTCOPY is not an access bit: the neighbour is not anon_vma_compatible
    assert last("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: madvise(M0, 4096, dontfork)
        T0: write(M0[0], 1)
        T0: write(M0[1], 1)
        T0: madvise(M0, 4096, dofork)
        T0: maps(M0)
    """) == {"maps(0-1:rw-p,1-2:rw-p)"}


def test_R30_no_reuse_from_a_fork_childs_record():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: mprotect(M0[1], 4096, r)
        T0: write(M0[0], 1)
        T0: mprotect(M0[0], 4096, r)
        T0: mprotect(M0[1], 4096, rw)
        T0: T1 = fork()
        T1: write(M0[1], 2)
        T1: mprotect(M0[0], 4096, rw)
        T1: maps(M0)
        T0: write(M0[1], 2)
        T0: mprotect(M0[0], 4096, rw)
        T0: maps(M0)
    """)
    assert got[8] == {"maps(0-1:rw-p,1-2:rw-p)"}     # the child's neighbour: not singular
    assert got[11] == {"maps(0-2:rw-p)"}


def test_R49_guard_install_makes_an_anon_vma_of_its_own():
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: madvise(M0, 4096, guard_install)
        T0: write(M0[2], 1)
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-2:rw-p,2-3:rw-p)"}


def test_R49_guard_install_reuses_the_next_records_anon_vma():
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0, 8192, r)
        T0: write(M0[2], 1)
        T0: mprotect(M0[2], 4096, r)
        T0: mprotect(M0, 8192, rw)
        T0: madvise(M0[1], 4096, guard_install)
        T0: mprotect(M0[2], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-3:rw-p)"}


def test_R49_shared_pieces_guarded_apart_still_merge():
    assert last("""
        T0: M0 = mmap(anon, shared, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: madvise(M0, 4096, guard_install)
        T0: madvise(M0[2], 4096, guard_install)
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-3:rw-s)"}


def test_R30_mremap_carries_a_pieces_anon_vma_away_and_back():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: write(M0[0], 1)
        T0: write(M0[2], 1)
        T0: M1 = mremap(M0[2], 4096, 4096, move)
        T0: mremap(M1, 4096, 4096, fixed, to=M0[2], maymove)
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
        T0: M2 = mmap(anon, private, rw, 12288)
        T0: write(M2[0], 1)
        T0: M3 = mremap(M2[2], 4096, 4096, move)
        T0: mremap(M3, 4096, 4096, fixed, to=M2[2], maymove)
        T0: maps(M2)
    """)
    assert got[7] == {"maps(0-2:rw-p,2-3:rw-p)"}
    assert got[12] == {"maps(0-3:rw-p)"}            # one anon_vma, moved away and back


def _record(start: int, origin: int, prot: str = "rw", **flags) -> Vma:
    return Vma(start=start, end=start + 1, prot=prot, shared=False, obj=None, pgoff=start,
               may_write=True, origin=origin, accounted=True, **flags)


def test_R30_anon_vma_prepare_names_a_new_anon_vma_or_the_neighbours():
    state, o = initial().next_origin()               # one mapping call, split by protection
    apart = (_record(0, o), _record(1, o, "r"), _record(2, o))
    state, vmas = anon_vma_prepare(state, apart, apart[0])
    state, vmas = anon_vma_prepare(state, vmas, vmas[2])
    assert vmas[0].anon_vma and vmas[2].anon_vma
    assert len({o, vmas[0].origin, vmas[2].origin}) == 3              # two new anon_vmas
    same_prot = (vmas[0], replace(vmas[1], prot="rw"), vmas[2])
    assert [(v.start, v.end) for v in merged(same_prot)] == [(0, 2), (2, 3)]
    # the middle record's neighbours both have one: the next record's first
    state, vmas = anon_vma_prepare(state, vmas, vmas[1])
    assert vmas[1].anon_vma and vmas[1].origin == vmas[2].origin
    # a fork child's anon_vma is not reusable: a new one, not a fork child's
    forked = (_record(0, o), _record(1, o, "r", anon_vma=True, fork_anon_vma=True))
    state, vmas = anon_vma_prepare(state, forked, forked[0])
    assert vmas[0].anon_vma and vmas[0].origin != o and not vmas[0].fork_anon_vma
