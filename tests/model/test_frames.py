"""Frame observations in the model (model/frames.py): the result format, the predictions for
each catalogue rule where frame identity says what values cannot, and the judging of reports
whose partition was hidden."""
from __future__ import annotations

import pytest

from sharespec.model.case_text import case_from_text
from sharespec.model.frames import matches, parse_report
from sharespec.model.oracle import allowed_per_step, judge
from sharespec.model.results import FrameReport, parse_result
from cow_program import COW, COW_LINUX


def predicted(program: str, profile: str = "linux") -> list:
    case = case_from_text("case t\nprofile linux\n\n" + program, "t.case")
    return [sorted(map(str, a)) for a in allowed_per_step(case.steps, profile)], case


def test_report_text_round_trips_and_normalises():
    for text in ("frames(A,C/B/D;A=pe,B=p,C=pz,D=-)", "frames(?;A=pe,B=pf)", "frames(A;A=-)"):
        assert str(parse_result(text)) == text
    assert str(parse_result("frames(B/A;A=p,B=p)")) == "frames(A/B;A=p,B=p)"
    for bad in ("frames(A/B;A=p)", "frames(A,B;A=-,B=p)", "frames(A;A=q)", "frames(A/A;A=p)",
                "frames(A;B=p)"):
        with pytest.raises(ValueError):
            parse_result(bad)


def test_hidden_partition_matches_on_flags_without_zero():
    assert matches(parse_report("frames(A,B;A=pz,B=pz)"), parse_report("frames(?;A=p,B=p)"))
    assert not matches(parse_report("frames(A/B;A=pe,B=p)"), parse_report("frames(?;A=p,B=p)"))




def test_r11_cow_shares_a_frame_until_the_first_write():
    allowed, _ = predicted(COW)
    assert allowed[3] == ["frames(A,B;A=p,B=p)"]      # one frame, mapped twice
    assert allowed[5] == ["frames(A/B;A=pe,B=pe)"]    # the writer got a copy


def test_a_different_partition_fails_and_a_hidden_one_is_unjudged():
    _, case = predicted(COW)
    assert judge(case.steps, [parse_result(r) for r in COW_LINUX], "linux").verdict == "PASS"
    wrong = COW_LINUX[:3] + ["frames(A/B;A=p,B=p)"] + COW_LINUX[4:]
    verdict = judge(case.steps, [parse_result(r) for r in wrong], "linux")
    assert verdict.verdict == "FAIL" and verdict.step == 3
    hidden = COW_LINUX[:3] + ["frames(?;A=p,B=p)", "ok", "frames(?;A=pe,B=pe)"]
    verdict = judge(case.steps, [parse_result(r) for r in hidden], "linux")
    assert verdict.verdict == "PASS" and verdict.unjudged == (3, 5)
    bad_flags = COW_LINUX[:3] + ["frames(?;A=pe,B=p)"] + COW_LINUX[4:]
    assert judge(case.steps, [parse_result(r) for r in bad_flags], "linux").verdict == "FAIL"


@pytest.mark.parametrize("program, step, expected", [
    # R02: untouched private anonymous memory is not present; a read maps the zero page.
    ("T0: M0 = mmap(anon, private, rw, 4096)\nT0: M1 = mmap(anon, private, rw, 4096)\n"
     "T0: read(M0)\nT0: read(M1)\nT0: frames(T0:M0, T0:M1)\n", 4, "frames(A,B;A=pz,B=pz)"),
    # R10: shared entries are not copied at fork; the child's touch reaches the same frame.
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: write(M0, 1)\nT0: T1 = fork()\n"
     "T0: frames(T0:M0, T1:M0)\nT1: read(M0)\nT0: frames(T0:M0, T1:M0)\n", 5,
     "frames(A,B;A=pf,B=pf)"),
    # R11 without an anon_vma: entries of a record never written are not copied.
    ("T0: M0 = mmap(anon, private, rw, 4096)\nT0: read(M0)\nT0: T1 = fork()\n"
     "T0: frames(T0:M0, T1:M0)\n", 3, "frames(A/B;A=pz,B=-)"),
    # R35: DONTNEED zaps; R41: wipeonfork children start empty.
    ("T0: M0 = mmap(anon, private, rw, 4096)\nT0: write(M0, 1)\n"
     "T0: madvise(M0, 4096, dontneed)\nT0: frames(T0:M0)\n", 3, "frames(A;A=-)"),
    ("T0: M0 = mmap(anon, private, rw, 4096)\nT0: write(M0, 1)\n"
     "T0: madvise(M0, 4096, wipeonfork)\nT0: T1 = fork()\nT0: frames(T0:M0, T1:M0)\n", 4,
     "frames(A/B;A=pe,B=-)"),
    # R44: a move carries the entries; C05: a MADV_FREE page may have been reclaimed.
    ("T0: M0 = mmap(anon, private, rw, 4096)\nT0: write(M0, 1)\n"
     "T0: M1 = mremap(M0, 4096, 4096, move)\nT0: frames(T0:M0, T0:M1)\n", 3,
     "frames(A/B;A=-,B=pe)"),
    # R44: a move that an attach stops with EFAULT part-way carries what it moved.
    ("T0: M0 = mmap(anon, private, rw, 8192)\nT0: munmap(M0[1], 4096)\n"
     "T0: S0 = shmget(private, 4096, creat)\nT0: A0 = shmat(S0, at=M0[1])\nT0: write(M0, 5)\n"
     "T0: M1 = mremap(M0, 8192, 8192, move)\nT0: frames(T0:M0, T0:M1)\n", 6,
     "frames(A/B;A=-,B=pe)"),
    # R39: MADV_REMOVE zaps every entry of the punched page, in every mapping.
    ("T0: F0 = open(memfd)\nT0: ftruncate(F0, 4096)\nT0: M0 = mmap(F0, shared, rw, 4096)\n"
     "T0: M1 = mmap(F0, private, rw, 4096)\nT0: read(M0)\nT0: read(M1)\n"
     "T0: madvise(M0, 4096, remove)\nT0: frames(T0:M0, T0:M1)\n", 7, "frames(A/B;A=-,B=-)"),
])
def test_predictions(program, step, expected):
    allowed, _ = predicted(program)
    assert allowed[step] == [expected]


def test_madv_free_page_may_or_may_not_be_present():
    allowed, _ = predicted("T0: M0 = mmap(anon, private, rw, 4096)\nT0: write(M0, 1)\n"
                           "T0: madvise(M0, 4096, free)\nT0: frames(T0:M0)\n")
    assert allowed[3] == ["frames(A;A=-)", "frames(A;A=pe)"]


def test_an_ended_thread_reads_nothing_also_under_posix():
    allowed, case = predicted("T0: M0 = mmap(anon, private, rw, 4096)\nT0: write(M0, 1)\n"
                              "T0: T1 = fork()\nT1: exit()\nT0: frames(T0:M0, T1:M0)\n")
    assert allowed[4] == ["frames(A/B;A=pe,B=-)"]
    # posix judges frames by the values (tests/host/test_frames_posix.py)
    assert judge(case.steps, [parse_result(r[0]) for r in allowed], "posix").verdict == "PASS"
    assert isinstance(parse_result(allowed[4][0]), FrameReport)
