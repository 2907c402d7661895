"""R30, R41: a fork child's records hold anon_vmas of their own (anon_vma_fork, dup_mmap), and
a fork child's anon_vma merges only with pieces of its own record (is_mergeable_anon_vma,
vma_is_fork_child). Each behaviour below was observed on Linux 6.18; the built-in cases
r30-fork-anon-vma-apart and r30-wipeonfork-child-no-anon-vma pin them on the kernel."""
from __future__ import annotations

from sharespec.model.address_space import fork_anon_vmas, merged
from sharespec.model.state import Vma, initial

from test_model_rules import allowed, last

SPLIT_AFTER_WRITING = """
    T0: M0 = mmap(anon, private, rw, 12288)
    T0: write(M0[1], 1)
    T0: mprotect(M0[1], 4096, r)
    T0: T1 = fork()
"""


def test_R30_pieces_the_parent_wrote_and_split_stay_apart_in_the_child():
    assert last(SPLIT_AFTER_WRITING + """
        T1: mprotect(M0[1], 4096, rw)
        T1: maps(M0)
    """) == {"maps(0-1:rw-p,1-2:rw-p,2-3:rw-p)"}


def test_R30_the_parents_pieces_still_merge_after_the_fork():
    assert last(SPLIT_AFTER_WRITING + """
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
    """) == {"maps(0-3:rw-p)"}


def test_R30_pieces_never_written_merge_in_the_child():
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: T1 = fork()
        T1: mprotect(M0[1], 4096, rw)
        T1: maps(M0)
    """) == {"maps(0-3:rw-p)"}


def test_R30_a_fork_childs_anon_vma_refuses_a_record_without_one():
    # only the first piece was written: in the parent the pieces merge (case 2 of
    # is_mergeable_anon_vma), in the child the written one stays apart
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: write(M0[0], 1)
        T0: T1 = fork()
        T1: mprotect(M0[1], 4096, rw)
        T1: maps(M0)
        T0: mprotect(M0[1], 4096, rw)
        T0: maps(M0)
    """)
    assert got[5] == {"maps(0-1:rw-p,1-3:rw-p)"}
    assert got[7] == {"maps(0-3:rw-p)"}


def test_R30_a_new_mapping_beside_a_fork_childs_anon_vma_stays_apart():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: write(M0[0], 1)
        T0: T1 = fork()
        T1: M1 = mmap(anon, private, rw, 4096, at=M0[1], replace)
        T1: maps(M0)
        T0: M2 = mmap(anon, private, rw, 4096, at=M0[1], replace)
        T0: maps(M0)
    """)
    assert got[4] == {"maps(0-1:rw-p,1-2:rw-p,2-3:rw-p)"}
    assert got[6] == {"maps(0-3:rw-p)"}


def test_R30_pieces_of_one_child_record_merge_again():
    # one record at the fork: its pieces share the child's anon_vma (munmap, then a grow back)
    assert last("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: write(M0[0], 1)
        T0: T1 = fork()
        T1: munmap(M0[1], 4096)
        T1: mremap(M0, 4096, 8192, grow)
        T1: maps(M0)
    """) == {"maps(0-3:rw-p)"}


def test_R30_a_piece_moved_back_beside_other_records_of_the_fork_stays_apart():
    assert last(SPLIT_AFTER_WRITING + """
        T1: M1 = mremap(M0[1], 4096, 4096, move)
        T1: mprotect(M1, 4096, rw)
        T1: mremap(M1, 4096, 4096, fixed, to=M0[1], maymove)
        T1: maps(M0)
    """) == {"maps(0-1:rw-p,1-2:rw-p,2-3:rw-p)"}


def test_R30_a_grandchild_keeps_apart_what_the_child_wrote_after_the_fork():
    got = allowed("""
        T0: M0 = mmap(anon, private, rw, 12288)
        T0: mprotect(M0[1], 4096, r)
        T0: T1 = fork()
        T1: write(M0[0], 1)
        T1: T2 = fork()
        T2: mprotect(M0[1], 4096, rw)
        T2: maps(M0)
        T1: mprotect(M0[1], 4096, rw)
        T1: maps(M0)
    """)
    assert got[6] == {"maps(0-1:rw-p,1-3:rw-p)"}
    assert got[8] == {"maps(0-3:rw-p)"}     # written after its own fork: a singular chain


def test_R30_records_over_one_grow_are_efault_in_the_child_only():
    got = allowed(SPLIT_AFTER_WRITING + """
        T1: mprotect(M0[1], 4096, rw)
        T1: mremap(M0, 12288, 16384, grow)
        T0: mprotect(M0[1], 4096, rw)
        T0: mremap(M0, 12288, 16384, grow)
    """)
    assert got[5] == {"EFAULT"} and got[7] == {"ok"}


def test_R41_a_wipeonfork_record_starts_without_an_anon_vma_in_the_child():
    # without an anon_vma, mprotect uncharges the piece it makes read-only, which then merges
    got = allowed("""
        T0: M0 = mmap(anon, private, r, 12288)
        T0: madvise(M0, 12288, wipeonfork)
        T0: mprotect(M0[1], 4096, rw)
        T0: write(M0[1], 1)
        T0: T1 = fork()
        T1: mprotect(M0[1], 4096, r)
        T1: maps(M0)
        T0: mprotect(M0[1], 4096, r)
        T0: maps(M0)
    """)
    assert got[6] == {"maps(0-3:r--p)"}
    assert got[8] == {"maps(0-1:r--p,1-2:r--p,2-3:r--p)"}


def _record(start: int, origin: int, **flags) -> Vma:
    return Vma(start=start, end=start + 1, prot="rw", shared=False, obj=None, pgoff=start,
               may_write=True, origin=origin, accounted=True, **flags)


def test_R30_fork_anon_vmas_gives_each_record_with_an_anon_vma_its_own_origin():
    state, o = initial().next_origin()           # the parent's mapping call
    parent = (_record(0, o, anon_vma=True), _record(1, o, anon_vma=True), _record(2, o),
              _record(3, o, anon_vma=True, wipeonfork=True))
    state, child = fork_anon_vmas(state, parent)
    assert [v.fork_anon_vma for v in child] == [True, True, False, False]
    assert len({o, child[0].origin, child[1].origin}) == 3
    assert child[2].origin == o and not child[3].anon_vma      # dup_mmap: a clean slate
    assert len(merged(child)) == 4 and len(merged(parent)) == 2


def test_R30_mremap_dontunmap_of_a_whole_child_record_drops_its_fork_anon_vma():
    # dontunmap_complete unlinks the anon_vmas of an old record moved whole: it is no longer a
    # fork child's, and merges as memory never written does (mprotect r drops its VM_ACCOUNT)
    assert last("""
        T0: M0 = mmap(anon, private, rw, 8192)
        T0: write(M0[0], 1)
        T0: T1 = fork()
        T1: M1 = mremap(M0, 8192, 8192, move, dontunmap)
        T1: mprotect(M0, 8192, r)
        T1: M2 = mmap(anon, private, r, 4096, at=M0[2], replace)
        T1: maps(M0)
    """) == {"maps(0-3:r--p)"}
