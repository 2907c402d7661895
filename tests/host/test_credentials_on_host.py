"""Credentials and permission bits on this host (C07): the bundled implementation leaves nothing
behind when a case process gave up root (its segments, shm objects and files are removed by
the executor, which stays root), refuses such cases when it does not run as root, and the
standalone reproducer performs the c07 cases as the kernel does."""
from __future__ import annotations

import os

import pytest

from sharespec.model.case_json import case_to_json
from sharespec.model.case_text import case_from_text
from sharespec.runner import run_cases
from sharespec.suite import builtin_cases
from reproducer_runs import assert_reproducer_agrees

CASES = {c.name: c for c in builtin_cases()}
C07 = sorted(name for name in CASES if name.startswith("c07-"))
NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the cases start as root (C07)")

LEAVES_ALL = case_from_text("""\
case c07-other-leaves-everything
profile linux
origin test

T0: F0 = open(file, by_root, creat)
T0: setgid(other)
T0: setuid(other)
T0: S0 = shmget(private, 4096, creat, mode=0)
T0: S1 = shmget(k, 4096, creat, mode=0)
T0: A0 = shmat(S0)
T0: F1 = open(shm, obj, creat, mode=0)
T0: F2 = open(file, mine, creat, mode=0)
T0: T1 = fork()
""", "leaves.case")


def nobodys_segments() -> set:
    with open("/proc/sysvipc/shm") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return {int(r[1]) for r in rows if len(r) > 9 and int(r[9]) == NOBODY}


def nobodys_objects() -> set:
    return {name for name in os.listdir("/dev/shm")
            if os.lstat(os.path.join("/dev/shm", name)).st_uid == NOBODY}


def test_what_a_process_made_after_setuid_is_removed_after_the_case():
    segments, objects = nobodys_segments(), nobodys_objects()
    [result] = run_cases([LEAVES_ALL])
    assert result.verdict == "PASS", result.detail
    # the case made two segments and a shm object owned by nobody, and left them all
    assert nobodys_segments() <= segments
    assert nobodys_objects() <= objects


def test_the_c07_cases_pass():
    results = run_cases([CASES[name] for name in C07])
    assert {r.case.name: r.verdict for r in results} == dict.fromkeys(C07, "PASS")


def test_an_implementation_that_is_not_root_refuses_the_case(monkeypatch):
    from sharespec.impl import executor
    monkeypatch.setattr(executor.os, "geteuid", lambda: 1000)
    observation = executor.run_case(case_to_json(LEAVES_ALL))
    assert observation["status"] == "error"
    assert "start as root (C07)" in observation["detail"]


def test_an_exec_after_setuid_needs_a_python_other_may_run():
    from sharespec.impl import executor, features
    case = case_from_text("case x\nprofile linux\n\nT0: setuid(other)\nT0: exec()\n"
                          "T0: setuid(root)\n", "x.case")
    observation = executor.run_case(case_to_json(case))
    if features.has("other_exec"):
        assert observation["results"] == ["ok", "ok", "EPERM"]
    else:
        assert observation["status"] == "error"
        assert "not searchable by others" in observation["detail"] or \
               "by others" in observation["detail"]


@pytest.mark.parametrize("name", ["c07-shmat-permission-bits", "c07-ipc-set-owner",
                                  "c07-file-and-shm-modes", "c07-group-bits"])
def test_the_reproducer_agrees_with_the_kernel(name, tmp_path):
    assert_reproducer_agrees(CASES[name], tmp_path)
