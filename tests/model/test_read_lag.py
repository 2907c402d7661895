"""R12 under posix: read(2) may lag a store through a MAP_SHARED mapping (model/read_lag.py).

POSIX leaves it to msync to say when the file sees such a store; the case language has no
msync, so a pread may show the byte from before the store until the file is in sync again: a
pread that shows the new byte, a pwrite, a truncation past it. Linux has one page cache and
reads the new byte at once.
"""
from __future__ import annotations

from sharespec.model.oracle import judge
from sharespec.model.results import parse_result

from test_model_rules import allowed, program

STORE = """
T0: F0 = open(file, f, creat)
T0: ftruncate(F0, 1)
T0: M0 = mmap(F0, shared, rw, 4096)
T0: write(M0, 89)
T0: pread(F0, 0)
"""


def outcome(text: str, observed: list, profile: str = "posix") -> str:
    steps = program(text)
    return judge(steps, [parse_result(r) for r in observed], profile).verdict


def test_R12_linux_read_sees_a_mapped_store_at_once():
    assert allowed(STORE)[-1] == {"89"}


def test_R12_posix_read_may_show_the_byte_from_before_the_store():
    assert allowed(STORE, "posix")[-1] == {"0", "89"}


def test_R12_posix_a_store_of_the_byte_the_file_shows_changes_nothing_it_may_read():
    same = STORE.replace("write(M0, 89)", "write(M0, 0)")
    assert allowed(same, "posix")[-1] == {"0"}


def test_R12_posix_once_a_read_shows_the_new_byte_the_older_one_is_gone():
    twice = STORE + "T0: pread(F0, 0)\n"
    first = ["ok", "ok", "ok", "ok"]
    assert outcome(twice, first + ["89", "89"]) == "PASS"
    assert outcome(twice, first + ["0", "89"]) == "PASS"     # it reached the file in between
    assert outcome(twice, first + ["89", "0"]) == "FAIL"


def test_R12_posix_the_file_may_show_any_byte_since_it_was_last_in_sync():
    stores = STORE.replace("T0: pread(F0, 0)\n", "T0: write(M0, 90)\nT0: write(M0, 91)\n"
                                                 "T0: pread(F0, 0)\n")
    assert allowed(stores, "posix")[-1] == {"0", "89", "90", "91"}


def test_R12_posix_pwrite_and_truncation_bring_the_file_in_sync():
    pwritten = STORE.replace("T0: pread(F0, 0)\n", "T0: pwrite(F0, 0, 7)\nT0: pread(F0, 0)\n")
    assert allowed(pwritten, "posix")[-1] == {"7"}
    regrown = STORE.replace("T0: pread(F0, 0)\n", "T0: ftruncate(F0, 0)\nT0: ftruncate(F0, 1)\n"
                                                  "T0: pread(F0, 0)\n")
    assert allowed(regrown, "posix")[-1] == {"0"}


def test_R12_posix_a_store_past_the_end_of_the_file_is_R07s_not_a_lag():
    slack = STORE.replace("write(M0, 89)", "write(M0+200, 89)").replace(
        "T0: pread(F0, 0)\n", "T0: pread(F0, 200)\n")
    assert allowed(slack, "posix")[-1] == {"eof"}


def test_R12_posix_mappings_never_lag_each_other():
    other = STORE.replace("T0: pread(F0, 0)\n", "T0: M1 = mmap(F0, shared, r, 4096)\n"
                                                "T0: read(M1)\n")
    assert allowed(other, "posix")[-1] == {"89"}
