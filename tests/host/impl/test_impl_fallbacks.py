"""The bundled implementation without the host features it uses beyond plain POSIX and Linux
calls (impl/features.py): each one disabled with SHARESPEC_IMPL_DISABLE, real built-in cases
still PASS through the runner, nothing is left behind, and a case that truly needs the missing
feature is INCONCLUSIVE naming it."""
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from impl_cases import (CLEAN_THREAD, ROOT, Cli, adopted_zombies, anon, children_of, descendants,
                        process_table, read, step, write)
from sharespec.runner import run_cases
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}
# Built-in cases whose processes outlive their parents, fork from threads, fork grandchildren:
# everything the subreaper, the parent-death signal and recycling after a fork are for.
FORKING = ["r09-sysv-grandchild", "r28-nattch-fork-exit", "r10-shared-anon-fork",
           "r34-fork-from-thread-child-alone", "r11-private-anon-cow", "r16-child-unmaps",
           "r40-dontfork", "r41-wipeonfork", "r46-shm-unlink-shared-child"]
FRAMES = ["r11-frames-cow", "r14-frames-aliases"]


def impl_command(disabled):
    return "env SHARESPEC_IMPL_DISABLE=%s PYTHONPATH=%s %s -S -m impl" % (
        disabled, shlex.quote(ROOT), shlex.quote(sys.executable))


def judged(names, disabled):
    """The runner's verdicts on built-in cases, with these features disabled."""
    cases = [CASES[n] for n in names]
    return {r.case.name: r for r in run_cases(cases, impl=impl_command(disabled))}


def test_without_a_subreaper_forking_cases_pass_and_their_processes_end(no_leaks):
    """Without PR_SET_CHILD_SUBREAPER the case processes go to init (here: this test) when
    their parents end: every one of them is dead by then (none alive is left), and every case
    still passes."""
    before = children_of(os.getpid(), zombies=True)
    results = judged(FORKING, "subreaper")
    assert {n: r.verdict for n, r in results.items()} == {n: "PASS" for n in FORKING}
    assert children_of(os.getpid()) - before == set(), "a live process came back"
    # The orphans come back to this process (the tests' subreaper), and the runner, which ends
    # what is left of an implementation's session when it stops (sharespec/process_tree.py),
    # reaps those that are its children: whether any came back is not seen from here any more.
    # That the switch really took the subreaper away is checked by the test of reap_case
    # without it, below, and by test_features_lists_each_feature_and_what_the_switch_disabled.
    adopted_zombies(before)


def test_with_the_subreaper_no_orphan_comes_back(no_leaks):
    """The control of the test above: with the feature, the implementation keeps its own."""
    before = children_of(os.getpid(), zombies=True)
    results = judged(FORKING[:3], "")
    assert {r.verdict for r in results.values()} == {"PASS"}
    assert not adopted_zombies(before)


def test_without_the_parent_death_signal_forking_cases_pass(no_leaks):
    results = judged(FORKING, "pdeathsig")
    assert {n: r.verdict for n, r in results.items()} == {n: "PASS" for n in FORKING}


@pytest.mark.parametrize("disabled", ["pdeathsig", "pdeathsig,subreaper"])
def test_without_the_parent_death_signal_a_killed_executor_leaves_no_process(disabled, no_leaks):
    """With PR_SET_PDEATHSIG the zygote and the spare first processes die with the executor;
    without it they end at end-of-file on their socket and command pipes."""
    before = children_of(os.getpid(), zombies=True)
    env = dict(os.environ, PYTHONPATH=ROOT, SHARESPEC_IMPL_DISABLE=disabled)
    proc = subprocess.Popen([sys.executable, "-S", "-m", "impl"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    import json
    from impl_cases import case
    proc.stdin.write((json.dumps(case([anon("T0", "M0"), write("T0", "M0", 1),
                                       read("T0", "M0")])) + "\n").encode())
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["status"] == "done"
    spares = descendants(proc.pid)
    assert spares, "no zygote or spare first process to end"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            process_table().get(pid, ("Z",))[0] != "Z" for pid in spares):
        time.sleep(0.02)
    assert all(process_table().get(pid, ("Z",))[0] == "Z" for pid in spares)
    adopted_zombies(before)
    proc.stdin.close()
    proc.stdout.close()


def test_without_pidfd_getfd_a_first_process_that_forked_is_not_recycled(no_leaks):
    """Recycling a first process whose case forked takes new pipes with pidfd_getfd: without
    it, that first process is killed and the next case gets another; a case that did not fork
    still recycles its own."""
    forked = [anon("T0", "M0", shared=True), step("T0", "fork", "T1"), write("T1", "M0", 7),
              read("T0", "M0")]
    os.environ["SHARESPEC_IMPL_DISABLE"] = "pidfd_getfd"
    try:
        cli = Cli()
    finally:
        del os.environ["SHARESPEC_IMPL_DISABLE"]
    try:
        assert cli.run(CLEAN_THREAD)["results"][-3] == "7"
        first = cli.first_process()
        assert cli.run(CLEAN_THREAD)["status"] == "done"
        assert cli.first_process() == first, "a case without fork was not recycled"
        assert cli.run(forked)["results"] == ["ok", "ok", "ok", "7"]
        assert cli.first_process() == first
        assert cli.run(CLEAN_THREAD)["status"] == "done"
        assert cli.first_process() != first, "recycled without pidfd_getfd"
    finally:
        cli.close()
    results = judged(FORKING, "pidfd_getfd")
    assert {n: r.verdict for n, r in results.items()} == {n: "PASS" for n in FORKING}


def test_without_pagemap_only_the_frames_cases_are_inconclusive_and_say_why(no_leaks):
    results = judged(FRAMES + FORKING[:3], "pagemap")
    for name in FRAMES:
        assert results[name].verdict == "INCONCLUSIVE"
        assert "/proc/PID/pagemap" in results[name].detail
        assert "disabled by SHARESPEC_IMPL_DISABLE" in results[name].detail
    assert {results[n].verdict for n in FORKING[:3]} == {"PASS"}


def test_without_pidfds_forking_and_faulting_cases_pass(no_leaks):
    """Without pidfd_open and pidfd_send_signal the executor watches the case's processes by
    pid and start time (impl/processes.py): the ends of processes (exit, SIGSEGV), the
    kill at the clean-up, and recycling all still work; a killed executor leaves nothing."""
    results = judged(FORKING + ["r32-access-after-munmap", "c04-exec-removes-mappings"], "pidfd")
    assert {r.verdict for r in results.values()} == {"PASS"}, {
        n: (r.verdict, r.detail) for n, r in results.items() if r.verdict != "PASS"}


def test_without_pidfds_a_first_process_killed_while_it_waits_is_seen(no_leaks):
    """The recycled first process, killed from outside while it waits for the next case, is
    seen dead (by polling /proc instead of a pidfd) and replaced: the next case runs."""
    os.environ["SHARESPEC_IMPL_DISABLE"] = "pidfd"
    try:
        cli = Cli()
    finally:
        del os.environ["SHARESPEC_IMPL_DISABLE"]
    try:
        assert cli.run(CLEAN_THREAD)["status"] == "done"
        first = cli.first_process()
        os.kill(first, signal.SIGKILL)
        while process_table().get(first, ("Z",))[0] != "Z":
            time.sleep(0.001)
        observation = cli.run(CLEAN_THREAD)
        assert observation["status"] == "done", observation
        assert observation["results"][5] == "7"
        assert cli.first_process() != first
    finally:
        cli.close()


def test_without_scm_rights_there_is_no_zygote_and_cases_pass(no_leaks):
    """Without SCM_RIGHTS no descriptor reaches a zygote: the executor forks its first
    processes itself, so each of its children leads its own process group (the zygote would
    be in the executor's); cases pass, first processes are recycled and replaced."""
    os.environ["SHARESPEC_IMPL_DISABLE"] = "scm_rights"
    try:
        cli = Cli()
    finally:
        del os.environ["SHARESPEC_IMPL_DISABLE"]
    try:
        forked = [anon("T0", "M0", shared=True), step("T0", "fork", "T1"), write("T1", "M0", 7),
                  read("T0", "M0")]
        for steps in (CLEAN_THREAD, forked, CLEAN_THREAD, forked):
            assert cli.run(steps)["status"] == "done"
        first = cli.first_process()
        children = children_of(cli.proc.pid)
        assert first in children
        assert children and all(os.getpgid(pid) == pid for pid in children), children
    finally:
        cli.close()
    results = judged(FORKING, "scm_rights")
    assert {n: r.verdict for n, r in results.items()} == {n: "PASS" for n in FORKING}


def test_everything_disabled_at_once(no_leaks):
    before = children_of(os.getpid(), zombies=True)
    results = judged(FORKING, "subreaper,pdeathsig,pidfd,pidfd_getfd,scm_rights,pagemap")
    assert {n: r.verdict for n, r in results.items()} == {n: "PASS" for n in FORKING}
    adopted_zombies(before)


def test_an_unknown_feature_name_is_a_usage_error():
    env = dict(os.environ, PYTHONPATH=ROOT, SHARESPEC_IMPL_DISABLE="subreper")
    done = subprocess.run([sys.executable, "-S", "-m", "impl"], input=b"", env=env,
                          capture_output=True)
    assert done.returncode == 2
    assert b"unknown feature 'subreper'" in done.stderr and b"subreaper" in done.stderr


REAP_WITHOUT_SUBREAPER = r"""
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from impl import features, hygiene
features.probe()              # (SHARESPEC_IMPL_DISABLE=subreaper: this is no subreaper)
assert not features.has("subreaper")
ready, said = os.pipe()
child = os.fork()
if child == 0:
    os.setpgid(0, 0)
    if os.fork() == 0:
        os.write(said, b"x")          # the grandchild is there, in the child's group
        time.sleep(60)
        os._exit(0)
    time.sleep(60)
    os._exit(0)
os.read(ready, 1)
hygiene.kill_case(child, [])
hygiene.reap_case(child)      # the grandchild is not this process's to reap: it went to init
print("returned")
"""


def test_without_a_subreaper_reap_case_reaps_its_own_and_leaves_the_orphans_to_init(no_leaks):
    """hygiene.reap_case waits until the case's process group is empty, which only a subreaper
    can make happen itself; without one it reaps its own children and returns, the orphans
    being init's (here: this test's, the subreaper above, which reaps them after)."""
    before = children_of(os.getpid(), zombies=True)
    env = dict(os.environ, SHARESPEC_IMPL_DISABLE="subreaper")
    done = subprocess.run([sys.executable, "-S", "-c", REAP_WITHOUT_SUBREAPER, ROOT],
                          capture_output=True, timeout=60, env=env)
    assert done.stdout == b"returned\n", done.stderr
    deadline = time.monotonic() + 60     # a guard against a hang, not a measure
    while not adopted_zombies(before):
        assert time.monotonic() < deadline, "the orphan never came back here"
        time.sleep(0.01)          # the grandchild, killed, comes back here


def test_features_lists_each_feature_and_what_the_switch_disabled():
    env = dict(os.environ, PYTHONPATH=ROOT, SHARESPEC_IMPL_DISABLE="pagemap, pidfd")
    done = subprocess.run([sys.executable, "-S", "-m", "impl", "--features"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(None, 1) for line in done.stdout.splitlines())
    assert set(lines) == {"subreaper", "pdeathsig", "pidfd", "pidfd_getfd", "scm_rights",
                          "pagemap"}
    assert lines["pagemap"] == lines["pidfd"] == "missing: disabled by SHARESPEC_IMPL_DISABLE"
    assert lines["pidfd_getfd"] == "missing: it needs a pidfd"
    assert lines["scm_rights"] == "available"
