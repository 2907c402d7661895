"""Shrinking failing cases (generators/shrink.py), the files a failure leaves
(generators/reproducer.py) and ``sharespec shrink``."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from sharespec.generators.reproducer import reproducer_source, write_failure
from sharespec.generators.shrink import argument_candidates, make_case, shrink
from sharespec.model.case import Case
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.oracle import _successors, judge
from sharespec.model.ops import Read
from sharespec.model.profiles import get_profile
from sharespec.model.results import Value
from sharespec.model.state import initial

from fake_impl import liar_impl

# 18 steps; the failure needs only: a shared mapping, a fork, a write, a read in the child.
LONG = case_from_text(textwrap.dedent("""\
    case long-failure
    profile linux
    origin test

    T0: S0 = shmget(private, 4096, creat)
    T0: F0 = open(memfd)
    T0: ftruncate(F0, 8192)
    T0: M0 = mmap(anon, private, rw, 8192)
    T0: write(M0[1]+5, 3)
    T0: M1 = mmap(anon, shared, rw, 8192)
    T0: A0 = shmat(S0)
    T0: T1 = spawn()
    T1: write(A0, 9)
    T0: read(A0)
    T0: T2 = fork()
    T0: write(M1[1]+7, 42)
    T2: read(M0[1]+5)
    T2: read(M1[1]+7)
    T0: shmctl(S0, stat)
    T1: munmap(M0, 4096)
    T0: read(M0[1]+5)
    T2: write(A0, 1)
    """))


def broken_observation(case: Case) -> list:
    """The model, except that every read outside T0's process is a 0 (a lying kernel)."""
    profile = get_profile(case.profile)
    states, observed = {initial()}, []
    for st in case.steps:
        by_result = _successors(states, st, profile)
        result = min(by_result, key=str)
        pid = next(iter(states)).thread_process(st.thread)
        if isinstance(st.op, Read) and pid not in (0, None) and isinstance(result, Value):
            result = Value(0)
        observed.append(result)
        states = by_result.get(result) or set().union(*by_result.values())
    return observed


def fails(case: Case) -> bool:
    return judge(case.steps, broken_observation(case), case.profile).verdict == "FAIL"


def test_a_long_failure_shrinks_to_a_few_steps():
    assert len(LONG.steps) >= 15 and fails(LONG)
    stats = {}
    small = shrink(LONG, fails, stats)
    assert fails(small)
    assert len(small.steps) <= 4, case_to_text(small)
    # the shrunk case is a consistent case: expectations are the model's
    assert small.allowed is not None and make_case(small, small.steps).allowed == small.allowed


def test_the_result_is_one_minimal():
    small = shrink(LONG, fails)
    for i in range(len(small.steps)):
        cand = make_case(small, small.steps[:i] + small.steps[i + 1:])
        assert cand is None or not fails(cand), f"step {i + 1} could go"
    for i in range(len(small.steps)):
        for program in argument_candidates(small.steps, i):
            cand = make_case(small, program)
            assert cand is None or len(cand.steps) != len(small.steps) or not fails(cand), \
                f"step {i + 1} could be simpler: {program[i]}"


def test_failure_files_and_a_reproducer_that_runs_without_sharespec(tmp_path):
    small = shrink(LONG, fails)

    class Result:   # what the runner reports, in the shape write_failure reads
        verdict, step = "FAIL", len(small.steps) - 1
        detail = "a lying implementation"
        results = tuple(map(str, broken_observation(small)))

    paths = write_failure(small, Result, tmp_path)
    assert case_from_text(paths["case"].read_text()).steps == small.steps
    assert json.loads(paths["json"].read_text())["name"] == small.name
    assert "deviation" in paths["outcome"].read_text()
    # The real kernel does not lie: the reproducer prints the results and exits 0.
    run = subprocess.run(["python3", "-S", str(paths["reproducer"])], capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"step {len(small.steps)}:" in run.stdout


def test_the_reproducer_reports_a_deviation(tmp_path):
    # A case whose written expectation is wrong on purpose: the kernel returns 7, not 8.
    case = case_from_text(textwrap.dedent("""\
        case wrong-expectation
        profile linux

        T0: M0 = mmap(anon, shared, rw, 4096)
        T0: T1 = fork()
        T1: write(M0, 7)
        T0: read(M0)
        """))
    case = make_case(case, case.steps)
    from dataclasses import replace
    wrong = replace(case, allowed=case.allowed[:3] + (frozenset({Value(8)}),))
    script = tmp_path / "r.py"
    script.write_text(reproducer_source(wrong))
    run = subprocess.run(["python3", "-S", str(script)], capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "step 4: observed 7, the linux profile allows 8" in run.stdout


def test_cli_shrink_with_a_lying_implementation(tmp_path):
    case = tmp_path / "long.case"
    case.write_text(textwrap.dedent("""\
        case cli-long
        profile linux

        T0: M0 = mmap(anon, shared, rw, 4096)
        T0: M1 = mmap(anon, private, rw, 4096)
        T0: write(M1, 2)
        T0: T1 = fork()
        T0: write(M0, 1)
        T1: read(M0)
        """))
    impl = liar_impl(tmp_path)        # the bundled implementation, lying about R10
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "sharespec", "shrink", str(case), "--impl", impl,
                          "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "shrunk 6 ->" in run.stdout
    (folder,) = out.iterdir()          # one failure, one folder
    written = sorted(p.name for p in folder.iterdir())
    assert {"repro.py", "replay.sh", "outcome.txt", "cli-long.case", "cli-long.json"} <= set(written)
    small = case_from_text(next(folder.glob("*.case")).read_text())
    assert len(small.steps) <= 4


# exit-keeps-attaches (sharespec/mutants) shrunk from r17-rmid-deferred-fork stopped here, at
# 7 steps: no single step goes, but the attach can be the child's own, and then the detach goes.
SEVEN = case_from_text(textwrap.dedent("""\
    case seven
    profile linux
    origin test

    T0: S0 = shmget(private, 4096, creat)
    T0: A0 = shmat(S0)
    T0: T1 = fork()
    T0: shmctl(S0, rmid)
    T0: shmdt(A0)
    T1: exit()
    T0: shmctl(S0, stat)
    """))


def exit_keeps_attaches_fails(case: Case) -> bool:
    """A kernel whose exit keeps the attaches counted (R28) fails a case that ends with an
    IPC_STAT the model answers EINVAL only because a child's exit dropped the last attach."""
    from sharespec.model.ops import Exit, ShmAt, ShmCtl
    if case.allowed is None or not isinstance(case.steps[-1].op, ShmCtl):
        return False
    if {str(r) for r in case.allowed[-1]} != {"EINVAL"}:
        return False
    attached = {st.thread for st, allowed in zip(case.steps, case.allowed)
                if isinstance(st.op, ShmAt) and {str(r) for r in allowed} == {"ok"}}
    return any(isinstance(st.op, Exit) and st.thread in attached for st in case.steps)


def test_a_step_moved_into_a_fork_child_lets_another_go():
    """R28, R09: the shrinker moves the parent's shmat into the child (after its fork) and
    drops the parent's shmdt: 6 steps, where removals and simplifications alone stop at 7."""
    from sharespec.generators.shrink import moved_candidates
    from sharespec.model.ops import ShmAt, ShmDt
    start = make_case(SEVEN, SEVEN.steps)
    programs = list(moved_candidates(start.steps))
    assert all(len(p) == len(start.steps) - 1 for p in programs)
    child_attach = [p for p in programs
                    if any(isinstance(st.op, ShmAt) and st.thread == "T1" for st in p)
                    and not any(isinstance(st.op, ShmDt) for st in p)]
    assert child_attach
    assert not exit_keeps_attaches_fails(start)   # T0 exits nothing: a wider predicate starts
    small = shrink(start, lambda c: c.steps == start.steps or exit_keeps_attaches_fails(c))
    assert len(small.steps) == 6, case_to_text(small)
    assert [st.thread for st in small.steps if isinstance(st.op, ShmAt)] == ["T1"]


# truncate-keeps-data (sharespec/mutants) shrunk from r03-ftruncate-zero-memfd stopped at 7
# steps: a 6-step program fails the same way, with a pwrite in place of the store through
# the mapping (R12: the same byte of the object), the mapping made after it.
SEVEN_TRUNCATE = case_from_text(textwrap.dedent("""\
    case seven-truncate
    profile linux
    origin test

    T0: F0 = open(memfd)
    T0: ftruncate(F0, 4096)
    T0: M0 = mmap(F0, shared, rw, 4096)
    T0: write(M0+100, 9)
    T0: ftruncate(F0, 0)
    T0: ftruncate(F0, 4096)
    T0: read(M0+100)
    """))


def truncate_keeps_data_fails(case: Case) -> bool:
    """A kernel that keeps the bytes ftruncate cut (R03) fails a read the model answers 0
    after a byte 9 was stored and the object then cut to nothing and grown again."""
    from sharespec.model.ops import Ftruncate, Pwrite, Write
    if case.allowed is None or case.steps[-1].op.OP != "read":
        return False
    if {str(r) for r in case.allowed[-1]} != {"0"}:
        return False
    ops = [st.op for st in case.steps]
    shared = {st.bind for st in case.steps if st.op.OP == "mmap" and st.op.fd and st.op.shared}
    stored = next((i for i, op in enumerate(ops) if op.__class__ in (Write, Pwrite)
                   and op.value == 9 and (isinstance(op, Pwrite) or op.at.mapping in shared)),
                  None)
    return stored is not None and any(isinstance(op, Ftruncate) and op.length == 0
                                      for op in ops[stored:])


def test_a_store_through_a_shared_mapping_becomes_a_pwrite():
    from sharespec.generators.shrink import pwrite_candidates
    from sharespec.model.ops import Pwrite
    start = make_case(SEVEN_TRUNCATE, SEVEN_TRUNCATE.steps)
    assert truncate_keeps_data_fails(start)
    programs = list(pwrite_candidates(start.steps))
    assert programs and all(len(p) == 6 for p in programs)
    assert all(any(isinstance(st.op, Pwrite) and st.op.offset == 100 for st in p)
               for p in programs)
    small = shrink(start, truncate_keeps_data_fails)
    assert len(small.steps) <= 6, case_to_text(small)
