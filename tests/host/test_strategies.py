"""The Hypothesis strategies (generators/strategies.py) and the stateful machine
(generators/stateful.py): valid programs, good shrinking, and a machine that passes the real
implementation and catches a lying one."""
import random
import sys
import textwrap

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import run_state_machine_as_test

from sharespec.generators import ImplementationMachine, cases, machine_for, programs
from sharespec.generators.strategies import KINDS, interpret
from sharespec.model.ops import Fork, Read, ShmAt, LINUX_ONLY_OPS
from sharespec.model.oracle import allowed_per_step
from sharespec.model.results import Value
from sharespec.model.scope import Scope
from sharespec.model.validate import validate_program

BOUNDS = dict(mapping="mappings", segment="segments", fd="objects")


def _handles_used(op):
    """(kind, handle) for every handle an operation's arguments name."""
    for name, value in op.arguments().items():
        if name == "segment":
            yield "segment", value
        elif name == "fd" and value is not None:
            yield "fd", value
        elif name == "at" and value is not None and not value.mapping.startswith("@"):
            yield "mapping", value.mapping      # (@zero, @high, @kernel name no handle)


@settings(max_examples=150, deadline=None, database=None)
@given(programs(Scope(steps=10)))
def test_programs_are_valid_and_bind_before_use(program):
    validate_program(program)
    scope = Scope(steps=10)
    assert 1 <= len(program) <= scope.steps
    bound = {"T0": "thread"}
    for st in program:
        assert bound.get(st.thread) == "thread"
        for kind, handle in _handles_used(st.op):
            assert bound.get(handle) == kind, (st, bound)
        if st.bind is not None:
            assert st.bind not in bound
            bound[st.bind] = st.op.BINDS
    for kind, bound_name in BOUNDS.items():
        extra = scope.aliases if kind == "fd" else 0   # dup and reopen bind descriptors too
        assert sum(1 for k in bound.values() if k == kind) <= getattr(scope, bound_name) + extra
    assert sum(1 for k in bound.values() if k == "thread") <= scope.threads


@settings(max_examples=60, deadline=None, database=None)
@given(cases(Scope(steps=6), profile="posix"))
def test_posix_cases_use_no_linux_only_call_and_carry_allowed_results(case):
    assert not any(st.op.OP in LINUX_ONLY_OPS for st in case.steps)
    assert not any(getattr(st.op, "kind", None) == "memfd" for st in case.steps)
    assert case.allowed == tuple(allowed_per_step(case.steps, "posix"))
    assert all(case.allowed)


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown kinds"):
        programs(kinds=("mmap", "teleport"))
    assert "exec" in KINDS and interpret([]) == ()


def test_shrinks_to_a_short_program():
    """Hypothesis finds a fork, a shmat and a read of 7 and shrinks it to the bare
    minimum (shmget, shmat, write, read, fork: 5 steps)."""

    def fork_shmat_read_7(program):
        ops = [type(st.op) for st in program]
        if Fork not in ops or ShmAt not in ops or Read not in ops:
            return False
        allowed = allowed_per_step(program, "linux")
        return any(isinstance(st.op, Read) and Value(7) in a for st, a in zip(program, allowed))

    # Only the families the condition needs: each other family dilutes the search, and every
    # change to the menu moves the seeded search (with mmap and exit in the vocabulary too,
    # 2000 examples of seed 0 missed once the "again" kind came in). With these five, seeds
    # 0 to 3 each found one and shrank it to 5 steps.
    vocabulary = ("write", "read", "fork", "shmget", "shmat")
    found = find(programs(Scope(values=(1, 7)), kinds=vocabulary), fork_shmat_read_7,
                 settings=settings(max_examples=2000, database=None), random=random.Random(0))
    assert fork_shmat_read_7(found)
    assert len(found) <= 6, found


# --- the state machine -------------------------------------------------------------------

def test_machine_passes_the_bundled_implementation():
    test_case = machine_for(max_examples=10, scope=Scope(steps=6), database=None)
    machine = test_case.machine
    try:
        # derandomize: the same ten programs every run (a random run may meet a divergence
        # the machine exists to find, which would make this test flaky).
        run_state_machine_as_test(machine, settings=settings(test_case.settings, derandomize=True))
    finally:
        machine.close()
    assert machine.cases_checked >= 10  # the implementation really ran the programs


LIAR = textwrap.dedent("""
    # Speaks the protocol through the real implementation, but every read of a nonzero
    # byte reports 0.
    import json, subprocess, sys
    child = subprocess.Popen([sys.executable, "-m", "sharespec.impl"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in sys.stdin:
        if not line.strip():
            continue
        child.stdin.write(line)
        child.stdin.flush()
        obs = json.loads(child.stdout.readline())
        ops = [s["op"] for s in json.loads(line)["steps"]]
        obs["results"] = ["0" if op == "read" and r.isdigit() else r
                          for op, r in zip(ops, obs["results"])]
        print(json.dumps(obs), flush=True)
""")


# Every argument narrowed to a class under which a write is read back: with every class drawn
# uniformly (strategies._pick), a mapping is rw one time in six, and 200 examples of the full
# scope missed the liar about one run in seven (CI, stop 22). Narrowed, 60 of 60 runs caught it.
LIAR_SCOPE = Scope(steps=6, values=(7,), map_prots=("rw",), offsets=(0,), place_pages=("start",),
                   map_lengths=("page",), keys=("private",), shm_flags=("creat",),
                   attaches=("slot",), shm_sizes=("page",))


def test_machine_catches_a_lying_implementation(tmp_path):
    script = tmp_path / "liar.py"
    script.write_text(LIAR)
    database = DirectoryBasedExampleDatabase(str(tmp_path / "examples"))
    test_case = machine_for(f"{sys.executable} {script}", max_examples=200,
                            scope=LIAR_SCOPE, database=database,
                            kinds=("mmap", "write", "read", "fork", "shmget", "shmat"))
    machine = test_case.machine
    try:
        with pytest.raises(AssertionError, match="observed 0, allowed 7"):
            run_state_machine_as_test(machine, settings=test_case.settings)
        assert any(p.is_file() for p in (tmp_path / "examples").rglob("*")), \
            "the failure was not saved in the example database"
        # The next run replays the saved failure (and only that: no generation phase).
        replay = settings(test_case.settings, phases=[Phase.reuse])
        with pytest.raises(AssertionError, match="observed 0, allowed 7"):
            run_state_machine_as_test(machine, settings=replay)
    finally:
        machine.close()


def test_machine_database_keys_differ_between_configurations():
    one = machine_for(profile="linux").machine
    two = machine_for(profile="posix").machine
    assert one._hypothesis_internal_add_digest != two._hypothesis_internal_add_digest
    assert issubclass(one, ImplementationMachine)


def test_docstring_examples():
    import doctest

    import sharespec.generators.stateful
    import sharespec.generators.strategies
    for module in (sharespec.generators.strategies, sharespec.generators.stateful):
        assert doctest.testmod(module).failed == 0, module.__name__
