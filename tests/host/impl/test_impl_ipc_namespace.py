"""A case that observes the IPC namespace's figures runs in a fresh IPC namespace of its own
(impl/ipc_namespace.py): its figures are exact, it is INCONCLUSIVE where the namespace is
missing, and the executor, which stays in the host's namespace, never acts on its segment ids
(which name other segments there) nor records its keys for the runner's sweep."""
import ctypes
import os

import pytest

from impl_cases import case, read, rmid, shmat, shmget, step, write
from impl import executor, features, segments
from impl.ledger import Ledger
from sharespec.runner import run_cases
from sharespec.suite import builtin_cases

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_RMID = 0o1000, 0
FIGURES = ["r20-ipc-figures-shm-info", "r39-ipc-figures-resident-pages",
           "r17-ipc-figures-removed-attached"]

pytestmark = pytest.mark.skipif(not features.has("ipc_namespace"),
                                reason="this host gives no fresh IPC namespace")


class RecordingLedger(Ledger):
    def __init__(self):
        super().__init__()
        self.lines = []

    def note(self, line):
        self.lines.append(line)


def figures(thread, segment, cmd):
    return step(thread, "shmctl", segment=segment, cmd=cmd)


def test_the_figure_cases_pass_and_leave_nothing(no_leaks):
    cases = [c for c in builtin_cases() if c.name in FIGURES]
    assert {r.case.name: r.verdict for r in run_cases(cases)} == dict.fromkeys(FIGURES, "PASS")


def test_a_case_sees_only_its_own_segments_and_its_keys_are_not_in_the_ledger(no_leaks):
    """The case leaves a keyed segment attached and never removed: it goes with the namespace.
    Host segments exist meanwhile (this test's own, at least), yet the case counts one."""
    mine = libc.shmget(0, 4096, IPC_CREAT | 0o600)          # a host segment, outside the case
    assert mine >= 0
    try:
        ledger = RecordingLedger()
        steps = [shmget("T0", "S0", key="k1"), shmat("T0", "A0", "S0"),
                 read("T0", "A0"), figures("T0", "S0", "shm_info_counts"),
                 figures("T0", "S0", "stat_any_count"), figures("T0", "S0", "sysvipc")]
        observation = executor.run_case(case(steps), 10.0, ledger)
        assert observation["status"] == "done", observation
        assert observation["results"][3:] == [
            "info(max>=S0,used_ids=1,shm_tot=1,shm_rss=1,shm_swp=0)", "indexes(1)",
            "sysvipc(count=1,size=4096,rss=4096,swap=0)"]
        assert not [line for line in ledger.lines if line.startswith("keys")
                    or "\nkeys" in line], ledger.lines
    finally:
        libc.shmctl(mine, IPC_RMID, None)


def test_clean_up_never_removes_by_the_ids_a_private_case_saw():
    """A host segment with this process as creator and no key is what clean-up removes for an
    ordinary case whose shmget returned its id; for a case in its own namespace the same id
    names another segment, and nothing is removed."""
    ident = libc.shmget(0, 4096, IPC_CREAT | 0o600)
    assert ident >= 0
    try:
        made = segments.CaseSegments({}, private=True)
        made.sending(os.getpid(), 1)
        made.answered(os.getpid(), ident)
        assert segments.remove_segments({os.getpid()}, made) == []
        assert libc.shmctl(ident, 2, ctypes.create_string_buffer(256)) >= 0    # IPC_STAT: kept
        ordinary = segments.CaseSegments({})
        ordinary.sending(os.getpid(), 1)
        ordinary.answered(os.getpid(), ident)
        assert segments.remove_segments({os.getpid()}, ordinary) == []
        assert libc.shmctl(ident, 2, ctypes.create_string_buffer(256)) == -1   # removed
    finally:
        libc.shmctl(ident, IPC_RMID, None)


def test_without_the_namespace_a_figure_case_is_an_error_naming_it(monkeypatch):
    monkeypatch.setitem(features.MISSING, "ipc_namespace", "disabled by a test")
    steps = [shmget("T0", "S0"), figures("T0", "S0", "shm_info_counts")]
    observation = executor.run_case(case(steps), 10.0)
    assert observation["status"] == "error" and observation["results"] == []
    assert "IPC namespace" in observation["detail"] and "disabled by a test" in observation["detail"]
    ordinary = executor.run_case(case([shmget("T0", "S0"), rmid("T0", "S0")]), 10.0)
    assert ordinary["status"] == "done"          # a case without figures runs as before


def test_a_write_in_one_process_and_a_read_in_another_count_once(no_leaks):
    steps = [shmget("T0", "S0", size=8192), shmat("T0", "A0", "S0"),
             step("T0", "fork", "T1"), write("T1", "A0", 5), read("T0", "A0"),
             figures("T0", "S0", "shm_info_counts")]
    observation = executor.run_case(case(steps), 10.0)
    assert observation["results"][-1] == "info(max>=S0,used_ids=1,shm_tot=2,shm_rss=1,shm_swp=0)"


def test_ipc_set_keeps_what_it_leaves_out_from_the_case_namespace_segment(no_leaks):
    """IPC_SET sets uid, gid and mode together, so the implementation reads the ones a step
    leaves out first. It must read them in the case's own namespace: the executor, in the
    host's, read the host's segment of the same id (or none, and set mode 0), and the other
    user then got EACCES where the group bit 040 lets it read (C07; found by random corpus
    seed 31, case 166)."""
    from sharespec.model.case_text import case_from_text
    text = """case ipc-set-in-a-namespace
profile linux
origin test

T0: S0 = shmget(private, 1, mode=040)   -> new
T0: shmctl(S0, shm_info_counts)         -> info(max>=S0,used_ids=1,shm_tot=1,shm_rss=0,shm_swp=0)
T0: shmctl(S0, set, uid=root)           -> ok
T0: T1 = fork()                         -> ok
T1: setuid(other)                       -> ok
T1: shmctl(S0, stat_full)               -> stat(nattch=0,segsz=1,dest=0,key=private,locked=0,cpid=T0,lpid=none)
"""
    [result] = run_cases([case_from_text(text, "<test>")])
    assert result.verdict == "PASS", result
