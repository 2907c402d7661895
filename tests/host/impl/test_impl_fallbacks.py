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

from impl_cases import (ROOT, Cli, adopted_zombies, anon, children_of, descendants, process_table,
                        read, write)
from sharespec.runner import run_cases
from sharespec.suite import builtin_cases

CASES = {c.name: c for c in builtin_cases()}
# Built-in cases whose processes outlive their parents, fork from threads, fork grandchildren:
# everything the subreaper and the parent-death signal are for.
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
def test_without_the_parent_death_signal_a_killed_executor_leaves_no_process(disabled, no_leaks,
                                                                           monkeypatch):
    """With PR_SET_PDEATHSIG a case's first process dies with the executor; without it, it
    ends at end-of-file on its command pipe. (The case waits at a step that never ends:
    tests/support/hanging_impl.py.)"""
    before = children_of(os.getpid(), zombies=True)
    monkeypatch.setenv("SHARESPEC_IMPL_DISABLE", disabled)
    cli = Cli(hang=2)
    monkeypatch.delenv("SHARESPEC_IMPL_DISABLE")
    import json
    from impl_cases import case
    cli.proc.stdin.write((json.dumps(case([anon("T0", "M0"), write("T0", "M0", 1),
                                           read("T0", "M0")])) + "\n").encode())
    cli.proc.stdin.flush()
    deadline = time.monotonic() + 10
    while not descendants(cli.proc.pid):
        assert time.monotonic() < deadline, "the case never started"
        time.sleep(0.01)
    case_processes = descendants(cli.proc.pid)
    cli.proc.send_signal(signal.SIGKILL)
    cli.proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            process_table().get(pid, ("Z",))[0] != "Z" for pid in case_processes):
        time.sleep(0.02)
    assert all(process_table().get(pid, ("Z",))[0] == "Z" for pid in case_processes)
    adopted_zombies(before)
    cli.proc.stdin.close()
    cli.proc.stdout.close()


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
    and the kill at the clean-up still work."""
    results = judged(FORKING + ["r32-access-after-munmap", "c04-exec-removes-mappings"], "pidfd")
    assert {r.verdict for r in results.values()} == {"PASS"}, {
        n: (r.verdict, r.detail) for n, r in results.items() if r.verdict != "PASS"}


def test_everything_disabled_at_once(no_leaks):
    before = children_of(os.getpid(), zombies=True)
    results = judged(FORKING, "subreaper,pdeathsig,pidfd,pagemap")
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
    assert set(lines) == {"subreaper", "pdeathsig", "pidfd", "pagemap", "other_exec",
                          "ipc_namespace", "hugepages_empty"}
    assert lines["pagemap"] == lines["pidfd"] == "missing: disabled by SHARESPEC_IMPL_DISABLE"
