"""The observation tail's removal (generators/observation_tail.py, 5.): IPC_RMID of each segment
the first process has attached, then what a removal shows (R17, R18, R19). A generated program
seldom removes a segment it has attached, so without it the mutants that get IPC_RMID wrong
survived every generator but the default suite."""
from __future__ import annotations

from sharespec.generators.observation_tail import observation_tail
from sharespec.model.oracle import allowed_per_step
from sharespec.model.ops import ShmAt, ShmCtl, ShmGet

from test_model_rules import program


def _tail_after(text: str, profile="linux") -> list:
    body = program(text)
    tail = observation_tail(body, profile)
    allowed = allowed_per_step(body + tail, profile)[len(body):]
    return [(st, {str(r) for r in a}) for st, a in zip(tail, allowed)]


def _removal(tail: list) -> list:
    start = next(i for i, (st, _) in enumerate(tail)
                 if isinstance(st.op, ShmCtl) and st.op.cmd == "rmid")
    return [(str(st.op.OP), got) for st, got in tail[start:start + 5]]


def test_an_attached_keyed_segment_is_removed_and_then_observed_R17_R18_R19():
    tail = _tail_after("T0: S0 = shmget(K1, 4096, creat)\nT0: M0 = shmat(S0)\n"
                       "T0: write(M0, 7)")
    removal = _removal(tail)
    assert [op for op, _ in removal] == ["shmctl", "shmctl", "read", "shmat", "shmget"]
    assert removal[0][1] == {"ok"}
    (stat,) = removal[1][1]
    assert "dest=1" in stat and "key=private" in stat       # R17: still found, SHM_DEST
    assert removal[2][1] == {"3"}                            # the fork probe's write, kept
    assert removal[3][1] == {"ok"}                           # R19: Linux attaches it again
    assert removal[4][1] == {"ENOENT"}                       # R18: the key finds nothing
    shmats = [st for st, _ in tail if isinstance(st.op, ShmAt)]
    shmgets = [st for st, _ in tail if isinstance(st.op, ShmGet)]
    # fresh handles: M1 is the other user's read-only attach (2.), M2 the removal's
    assert [st.bind for st in shmats] == ["M1", "M2"] and shmgets[-1].bind == "S1"


def test_a_private_segment_gets_no_shmget_and_the_faulting_observations_still_come_last():
    tail = _tail_after("T0: S0 = shmget(private, 4096, creat)\nT0: M0 = shmat(S0)\n"
                       "T0: mprotect(M0, 4096, r)")
    assert [op for op, _ in _removal(tail)][:4] == ["shmctl", "shmctl", "read", "shmat"]
    assert not any(isinstance(st.op, ShmGet) for st, _ in tail)
    last, got = tail[-1]
    assert last.op.OP == "write" and got == {"SIGSEGV"}     # the protection probe, after it


def test_no_removal_without_an_attach_or_of_a_segment_already_removed():
    unattached = _tail_after("T0: S0 = shmget(private, 4096, creat)")
    removed = _tail_after("T0: S0 = shmget(private, 4096, creat)\nT0: M0 = shmat(S0)\n"
                          "T0: shmctl(S0, rmid)")
    for tail in (unattached, removed):
        assert not any(isinstance(st.op, ShmCtl) and st.op.cmd == "rmid" for st, _ in tail)
