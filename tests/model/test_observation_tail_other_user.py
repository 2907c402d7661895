"""The observation tail's other user (generators/observation_tail.py, 2.): a fork child that
setuid(other) attaches every segment read-only, which asks read permission only (C07), and
detaches what it attached. The mutant shmat-rdonly-asks-write survived every random run
without it: a generated program seldom attaches as a user that may only read."""
from __future__ import annotations

from sharespec.generators.observation_tail import observation_tail
from sharespec.model.oracle import allowed_per_step
from sharespec.model.ops import SetUid, ShmAt, ShmDt

from test_model_rules import program


def test_the_other_user_attaches_each_segment_read_only_and_detaches_C07():
    body = program("T0: S0 = shmget(K1, 4096, creat, mode=0644)\n"
                   "T0: S1 = shmget(private, 4096, creat)")
    tail = observation_tail(body, "linux")
    allowed = allowed_per_step(body + tail, "linux")[len(body):]
    start = next(i for i, st in enumerate(tail) if isinstance(st.op, SetUid))
    probes = [(st.op, {str(r) for r in got}) for st, got in zip(tail[start:], allowed[start:])
              if isinstance(st.op, (ShmAt, ShmDt))]
    assert [(type(op).__name__, got) for op, got in probes] == [
        ("ShmAt", {"ok"}), ("ShmDt", {"ok"}),      # 0644: other may read
        ("ShmAt", {"EACCES"})]                     # 0600: no attach, nothing to detach
    assert all(op.rdonly for op, _ in probes if isinstance(op, ShmAt))


def test_the_read_only_attaches_push_no_other_observation_out(monkeypatch):
    """They have room of their own: counted against the limit, they cost the fork probe's
    reads (random, seed 1: 93 steps lost in 300 cases)."""
    from collections import Counter

    import sharespec.generators.observation_tail as tail_module
    from sharespec.generators.random_programs import random_cases

    def kinds(tail):
        return Counter((st.thread, st.op.OP) for st in tail
                       if not isinstance(st.op, (ShmAt, ShmDt)))

    programs = [case.steps for case in random_cases(1, 12, observe=False)]
    with_probe = [kinds(observation_tail(p, "linux")) for p in programs]
    monkeypatch.setattr(tail_module, "_attach_read_only", lambda *args: None)
    without = [kinds(observation_tail(p, "linux")) for p in programs]
    assert with_probe == without
