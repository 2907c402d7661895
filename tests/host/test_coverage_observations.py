"""Observed witnesses (sharespec/coverage_observations.py): the effect of a coverage cell's
step made visible by probes the model judges, whatever the step's result was."""
from __future__ import annotations

from sharespec.coverage import case_cells
from sharespec.coverage_observations import observed_program, widened_programs
from sharespec.model.case import Case
from sharespec.model.case_text import case_from_text
from sharespec.generators.observation_tail import mapped_probe
from sharespec.model.ops import Fork, Mprotect, Place, Read, Write
from sharespec.model.oracle import allowed_per_step


def program(text: str) -> tuple:
    return case_from_text("case c\nprofile linux\norigin test\n\n" + text, "<t>").steps


def observed(text: str):
    steps = observed_program(program(text))
    return steps, allowed_per_step(steps, "linux")


def forked_probe(steps, allowed, kind, mapping, page) -> set:
    """The results allowed to a probe of M[page] made by a thread a fork created."""
    children = {st.bind for st in steps if isinstance(st.op, Fork)}
    return {str(r) for st, a in zip(steps, allowed)
            if st.thread in children and isinstance(st.op, kind)
            and (st.op.at.mapping, st.op.at.page) == (mapping, page) for r in a}


def test_an_unaligned_munmap_is_probed_on_its_partial_page():
    """R05: munmap(M0, 4097) unmaps two pages: the second is probed with an mprotect that must
    fail with ENOMEM (no fault, so in the acting thread itself)."""
    steps, allowed = observed("T0: M0 = mmap(anon, private, rw, 8192)\nT0: munmap(M0, 4097)\n")
    probe = mapped_probe("T0", Place("M0", 1))
    assert probe in steps and {str(r) for r in allowed[steps.index(probe)]} == {"ENOMEM"}


def test_an_unaligned_mprotect_is_probed_with_a_write():
    """R33: mprotect(M0, 4097, r) protects two pages: a write to the second faults."""
    steps, allowed = observed("T0: M0 = mmap(anon, private, rw, 8192)\nT0: mprotect(M0, 4097, r)\n")
    assert forked_probe(steps, allowed, Write, "M0", 1) == {"SIGSEGV"}


def test_dontfork_kept_by_mprotect_is_probed_in_a_fork_child():
    """R40: the range mprotect changed keeps MADV_DONTFORK: a fork child has no page there
    (its mapped_probe fails with ENOMEM)."""
    steps, allowed = observed("T0: M0 = mmap(anon, private, rw, 4096)\n"
                              "T0: madvise(M0, 4096, dontfork)\nT0: mprotect(M0, 4096, r)\n")
    assert "ENOMEM" in forked_probe(steps, allowed, Mprotect, "M0", 0)


def test_the_fill_makes_dontneed_visible():
    """R35: a fill before MADV_DONTNEED, then a read of the page it dropped: 0, not the fill."""
    steps, allowed = observed("T0: M0 = mmap(anon, private, rw, 8192)\n"
                              "T0: madvise(M0, 4097, dontneed)\n")
    index = next(i for i, st in enumerate(steps) if st.op.OP == "madvise")
    assert any(isinstance(st.op, Write) and st.op.at.page == 1 for st in steps[:index])
    after = [a for st, a in zip(steps[index:], allowed[index:])
             if isinstance(st.op, Read) and st.thread == "T0" and st.op.at.page == 1]
    assert after and {str(r) for r in after[0]} == {"0"}


def test_exec_is_probed_through_the_descriptors_it_closed():
    """R29: after exec, a pread of a descriptor opened before it is EBADF."""
    steps, allowed = observed("T0: F0 = open(memfd)\nT0: exec()\n")
    preads = [a for st, a in zip(steps, allowed) if st.op.OP == "pread"]
    assert preads and all({str(r) for r in a} == {"EBADF"} for a in preads)


def test_the_observed_program_still_hits_its_cell():
    plain = program("T0: M0 = mmap(anon, private, rw, 8192)\nT0: munmap(M0, 4097)\n")
    steps = observed_program(plain)
    case = Case("c", "linux", (), "test", "", steps, tuple(allowed_per_step(steps, "linux")))
    bare = Case("c", "linux", (), "test", "", plain, tuple(allowed_per_step(plain, "linux")))
    assert case_cells(bare) <= case_cells(case)


def test_widening_reaches_the_classes_a_generator_lacks():
    """A program of whole-page lengths only (as the z3 encoding's) is widened by the action
    menu to an unaligned munmap from the state before its last step."""
    start = program("T0: M0 = mmap(anon, private, rw, 8192)\nT0: munmap(M0, 8192)\n")
    wide = widened_programs([start])
    assert wide and all(p[:-1] in (start[:-1], start) for p in wide)
    assert any(p[:-1] == start[:-1] and p[-1].op.OP == "munmap" and p[-1].op.length % 4096
               for p in wide)
    # and the calls that end or copy a process, after the whole program (R28, R29); not an
    # exit, which no other process would outlive to observe
    after = {p[-1].op.OP for p in wide if p[:-1] == start}
    assert after >= {"exec", "fork"} and "exit" not in after


def test_a_shrinking_ftruncate_is_observed_by_growing_back():
    """R03, R08: the bytes a shrink cut read as zeros once the object grows again (a lazy
    implementation that keeps them aside shows them again)."""
    steps, allowed = observed("T0: F0 = open(memfd)\nT0: ftruncate(F0, 8192)\n"
                              "T0: ftruncate(F0, 4096)\n")
    index = max(i for i, st in enumerate(steps) if st.op.OP == "ftruncate")
    assert steps[index].op.length == 8192       # grown back after the probes
    assert any(st.op.OP == "pwrite" and st.op.offset == 4096 for st in steps[:index])
    after = [a for st, a in zip(steps[index:], allowed[index:])
             if st.op.OP == "pread" and st.op.offset == 4096]
    assert after and {str(r) for r in after[0]} == {"0"}


def test_widening_tries_shmctl_and_a_key_after_a_removed_private_segment():
    """R17, R18: a program that removes an attached IPC_PRIVATE segment is widened with the
    key K1 (IPC_RMID frees a key, IPC_STAT then shows IPC_PRIVATE), and calls after it meet
    the removed segment: shmget of the key and IPC_STAT (made with K1), shmat."""
    start = program("T0: S0 = shmget(private, 4096, creat)\nT0: M0 = shmat(S0)\n"
                    "T0: shmctl(S0, rmid)\n")
    wide = widened_programs([start])
    keyed = [p for p in wide if p[0].op.key == "K1" and len(p) == 4]
    assert keyed and {p[-1].op.OP for p in keyed} <= {"shmget", "shmctl"}
    assert any(p[-1].op.OP == "shmget" and p[-1].op.key == "K1" for p in keyed)
    after = {p[-1].op.OP for p in wide if p[:3] == start}
    assert "shmat" in after
