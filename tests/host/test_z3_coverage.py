"""z3 coverage-directed generation: the shortest program per goal, unreachable goals proved so,
cases that validate, agree with the explicit oracle, and PASS against this host's kernel;
backing objects (files, memfds, POSIX shm) in a scope of their own."""
from __future__ import annotations

import pytest

from sharespec.generators.z3_coverage import case_for, z3_corpus, z3_coverage
from sharespec.model.symbolic.core import SymbolicScope
from sharespec.model.symbolic.coverage import (DESCRIPTOR_KINDS, DESCRIPTOR_OPS, OBJECT_MEMORY, Goal,
                                               all_goals, shortest_programs)
from sharespec.model.validate import validate_case
from sharespec.runner import run_cases

SCOPE = SymbolicScope(processes=3, threads=3, mappings=2, pages=1, segments=1, objects=0)
BOUND = 4
OBJECTS = SymbolicScope(processes=2, threads=2, mappings=2, pages=1, segments=0, objects=2)


@pytest.fixture(scope="module")
def coverage():
    return list(z3_coverage(BOUND, SCOPE))


@pytest.fixture(scope="module")
def corpus(coverage):
    """What z3_corpus yields (the same goals, made into cases once)."""
    return [case_for(r) for r in coverage if r.status == "reached"]


def test_goals_are_reached_or_proved_unreachable(coverage):
    statuses = {r.status for r in coverage}
    assert statuses <= {"reached", "unreachable"}  # no unknown at this size
    by_goal = {r.goal: r for r in coverage}
    # a read-only attach is never written successfully: proved unreachable, not just unseen
    assert by_goal[Goal("write", "SysV read-only", "same thread", "ok")].status == "unreachable"
    reached = sum(r.status == "reached" for r in coverage)
    assert reached > 80


def test_programs_are_shortest(coverage):
    by_goal = {r.goal: r for r in coverage}
    cow = by_goal[Goal("read", "private anonymous", "fork child", "value")]
    assert cow.length == 4  # mmap, write, fork, read: nothing shorter reaches it
    assert by_goal[Goal("fork", outcome="ok")].length == 1
    assert by_goal[Goal("shmget", outcome="ENOENT")].length == 1
    # two segment handles are needed for EEXIST; the scope has one
    assert by_goal[Goal("shmget", outcome="EEXIST")].status == "unreachable"


def test_the_corpus_validates_and_is_named_by_goal(corpus):
    assert corpus and len({c.name for c in corpus}) == len(corpus)
    for case in corpus:
        validate_case(case)
        assert case.origin == "z3" and case.profile == "linux"
        assert all(len(a) == 1 for a in case.allowed)  # the core is deterministic under linux


def test_the_corpus_passes_against_this_kernel(corpus):
    verdicts = {}
    for result in run_cases(corpus, profile="linux", jobs=2):
        verdicts[result.case.name] = (result.verdict, result.detail)
    assert len(verdicts) == len(corpus)
    bad = {n: v for n, v in verdicts.items() if v[0] != "PASS"}
    assert not bad, bad


def test_a_posix_corpus_has_no_linux_only_calls():
    goals = [Goal("madvise", "private anonymous", "dontneed", "ok"), Goal("fork", outcome="ok")]
    results = list(shortest_programs(SCOPE.with_steps(3), "posix", 3, goals=goals))
    assert [r.status for r in results] == ["unreachable", "reached"]


def test_z3_corpus_yields_the_reached_goals_as_cases(corpus):
    import importlib
    assert importlib.import_module("sharespec.generators.z3_coverage").z3_corpus is z3_corpus
    small = list(z3_corpus(2, SymbolicScope(processes=2, threads=2, mappings=1, pages=1, segments=1)))
    # the bound counts the program's own steps, not the frames observations added to it
    goals = [c for c in small if not c.name.startswith(("z3-observed-", "z3-widened-"))]
    assert goals and all(c.origin == "z3" and sum(s.op.OP != "frames" for s in c.steps) <= 2
                         for c in goals)
    # then the same programs with their effects observed, and widened (coverage_observations)
    later = small[len(goals):]
    assert later and all(c.origin == "z3" and c.name.startswith(("z3-observed-", "z3-widened-"))
                         for c in later)


def test_mremap_goals_are_reached_and_pass_against_this_kernel():
    """Two pages per slot: mremap grows a shared mapping past its object (SIGBUS, R43), moves
    (R44) and aliases (R42); the shortest programs pass on the real kernel."""
    scope = SymbolicScope(processes=2, threads=2, mappings=2, pages=2, segments=1)
    goals = [Goal("read", "shared anonymous", "after mremap", "SIGBUS"),
             Goal("write", "SysV", "after mremap", "SIGBUS"),
             Goal("read", "private anonymous", "after mremap", "value"),
             Goal("mremap", "shared anonymous", "alias", "ok"),
             Goal("mremap", "private anonymous", "alias", "EINVAL"),
             Goal("mremap", "shared anonymous", "grow", "ENOMEM"),
             Goal("read", "private anonymous", "fork child", "SIGBUS")]
    results = list(shortest_programs(scope.with_steps(4), "linux", 4, goals=goals))
    by_goal = {r.goal: r for r in results}
    assert by_goal[goals[0]].length == 3  # mmap, mremap grow, read the tail
    assert by_goal[goals[-1]].status == "unreachable"  # private memory has no end to pass
    assert all(r.status == "reached" for r in results[:-1]), [(r.goal, r.status) for r in results]
    cases = [case_for(r) for r in results if r.status == "reached"]
    assert any("mremap" in str(s.op) or s.op.OP == "mremap" for c in cases for s in c.steps)
    verdicts = [(r.case.name, r.verdict, r.detail) for r in run_cases(cases, profile="linux", jobs=2)]
    assert len(verdicts) == len(cases) and all(v == "PASS" for _, v, _ in verdicts), verdicts


def _about_objects(goal: Goal) -> bool:
    return (goal.kind in OBJECT_MEMORY or goal.kind in DESCRIPTOR_KINDS or goal.op in DESCRIPTOR_OPS
            or goal.op == "shm_unlink" or goal.outcome == "EBADF")


@pytest.fixture(scope="module")
def object_coverage():
    goals = [g for g in all_goals(OBJECTS) if _about_objects(g)]
    return {r.goal: r for r in shortest_programs(OBJECTS.with_steps(BOUND), "linux", BOUND, goals=goals)}


def test_object_goals_are_reached_shortest_or_proved_unreachable(object_coverage):
    """File, memfd and POSIX shm goals: every kind has reached goals; the shortest programs
    have the lengths nothing shorter reaches; what cannot happen is proved so by induction."""
    by = object_coverage
    assert {r.status for r in by.values()} <= {"reached", "unreachable"}
    for kind in OBJECT_MEMORY:
        assert any(r.status == "reached" for g, r in by.items() if g.kind == kind and g.op == "read"), kind
    # open(creat), mmap, read of the empty file's page: SIGBUS (R06)
    assert by[Goal("read", "file", "same thread", "SIGBUS")].length == 3
    # open(creat), pwrite, mmap, read: the descriptor's byte through the mapping (R12)
    assert by[Goal("read", "POSIX shm", "written by pwrite", "value")].length == 4
    # open, pwrite, mmap private, read: a private page follows its object until written (R13)
    assert by[Goal("read", "memfd private", "written by pwrite", "value")].length == 4
    # open(memfd), seal, pwrite: EPERM (R47); and a shared writable mapping blocks the seal
    assert by[Goal("pwrite", "memfd", outcome="EPERM")].length == 3
    assert by[Goal("seal", outcome="EBUSY")].length == 3
    assert by[Goal("open", "POSIX shm", "through the name", "ok")].length == 2
    # a private object mapping may always be made writable, and is never punched (R39)
    assert by[Goal("mprotect", "file private", outcome="EACCES")].how == "induction"
    assert by[Goal("madvise", "memfd private", "remove", "ok")].how == "induction"
    assert sum(r.status == "reached" for r in by.values()) > 300


def test_object_cases_pass_against_this_kernel(object_coverage):
    cases = [case_for(r) for r in object_coverage.values() if r.status == "reached"]
    verdicts = [(r.case.name, r.verdict, r.detail) for r in run_cases(cases, profile="linux", jobs=2)]
    assert len(verdicts) == len(cases)
    bad = [v for v in verdicts if v[1] != "PASS"]
    assert not bad, bad
