"""The command line recycles a case's first process for the next case when the case ended well
(executor.CaseRun.recycled): what the case left in it is undone, or the process is killed as
before. These tests check that a recycled process is as good as new (a probing case gets the
results of a fresh run, after a case that left a mapping, an attach, a descriptor, an ended
thread and a live child behind), that recycling really happens (the same first process serves
the next case, so the probes are not vacuous), that a case it cannot be proved clean after is
not recycled, and that nothing is left behind."""
import os
import signal
import time

import pytest

from impl_cases import (CLEAN_THREAD, Cli, anon, case, children_of, descendants, process_state,
                        read, run_case, shmat, shmget, step, write)

# Leaves in its first process, if nobody cleans up: a SysV attach at slot 0 (the segment never
# removed), a shared mapping at slot 1, an open memfd descriptor, a thread that ended, and a
# child process (alive, with a mapping of its own).
LEAVER = [shmget("T0", "S0"), shmat("T0", "A0", "S0"), write("T0", "A0", 1),
          anon("T0", "M1", length=8192, shared=True), write("T0", "M1", 2),
          step("T0", "open", "F0", kind="memfd"), step("T0", "ftruncate", fd="F0", length=4096),
          step("T0", "spawn", "T1"), write("T1", "A0", 3), step("T1", "thread_exit"),
          step("T0", "fork", "T2"), anon("T2", "M2"), write("T2", "M2", 4),
          read("T0", "A0")]
LEAVER_RESULTS = ["new", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok",
                  "ok", "3"]

# Sees what LEAVER would have left: mapping slots 0 and 1 with MAP_FIXED_NOREPLACE fails
# (EEXIST) while anything is there; a fresh page reads 0; and the fd handle F0, opened only in
# the child, is EBADF in T0 unless descriptor FD_BASE is still open in the first process.
PROBE = [anon("T0", "M0"), anon("T0", "M1", length=8192), read("T0", "M0"),
         step("T0", "fork", "T1"), step("T1", "open", "F0", kind="memfd"),
         step("T0", "close", fd="F0")]
PROBE_RESULTS = ["ok", "ok", "0", "ok", "ok", "EBADF"]

CLEAN_FORK = [step(s["thread"], s["op"].replace("spawn", "fork").replace("thread_exit", "exit"),
                   s.get("bind"), **s["args"]) for s in CLEAN_THREAD]


@pytest.fixture
def cli(no_leaks):
    running = Cli()
    yield running
    running.close()


def test_a_recycled_first_process_is_as_good_as_new(cli):
    assert run_case(case(PROBE), 10)["results"] == PROBE_RESULTS      # a fresh process
    cli.run(CLEAN_THREAD)
    first = cli.first_process()
    observation = cli.run(LEAVER)
    assert observation["status"] == "done" and observation["results"] == LEAVER_RESULTS
    assert cli.first_process() == first        # LEAVER ran in it, and it was recycled
    observation = cli.run(PROBE)
    assert observation["status"] == "done" and observation["results"] == PROBE_RESULTS
    assert cli.first_process() == first        # the probe ran in it too


@pytest.mark.parametrize("steps", [CLEAN_THREAD, CLEAN_FORK], ids=["thread", "fork"])
def test_the_standard_cases_recycle_their_first_process(cli, steps):
    pids = []
    for _ in range(3):
        observation = cli.run(steps)
        assert observation["status"] == "done" and observation["results"][5] == "7"
        pids.append(cli.first_process())
    assert len(set(pids)) == 1
    assert not children_of(pids[0])


# Cases after which the first process cannot be proved clean: it is killed, a new one serves
# the next case.
DIRTY = {
    "T0 exits": [step("T0", "fork", "T1"), step("T0", "exit")],
    "SIGSEGV in T0": [anon("T0", "M0"), step("T0", "munmap", at="M0", length=4096),
                      read("T0", "M0")],
    "exec": [anon("T0", "M0"), step("T0", "exec")],
    "a range beyond the window": [anon("T0", "M0"),
                                  step("T0", "munmap", at="M0", length=2 ** 40)],
}


@pytest.mark.parametrize("name", sorted(DIRTY))
def test_a_case_that_cannot_be_proved_clean_is_not_recycled(cli, name):
    cli.run(CLEAN_THREAD)
    before = cli.first_process()
    observation = cli.run(DIRTY[name])
    assert observation["status"] == "done", observation
    assert cli.first_process() == before        # the recycled process ran it, and is killed
    assert process_state(before) in ("Z", "X", None)
    assert cli.run(PROBE)["results"] == PROBE_RESULTS
    assert cli.first_process() != before


# Cases that leave threads running in the first process, T0's among them or not.
THREADS_LEFT = {
    "T0 goes on": ([step("T0", "spawn", "T1"), step("T0", "spawn", "T2"), anon("T1", "M0"),
                    write("T2", "M0", 5), read("T0", "M0")], ["ok", "ok", "ok", "ok", "5"]),
    "T0 ended": ([step("T0", "spawn", "T1"), anon("T0", "M0"), step("T0", "thread_exit"),
                  write("T1", "M0", 6), read("T1", "M0")], ["ok", "ok", "ok", "ok", "6"]),
}


@pytest.mark.parametrize("name", sorted(THREADS_LEFT))
def test_threads_a_case_left_running_are_ended_before_recycling(cli, name):
    steps, results = THREADS_LEFT[name]
    cli.run(CLEAN_THREAD)
    first = cli.first_process()
    assert cli.run(steps)["results"] == results
    assert cli.first_process() == first
    with open("/proc/%d/status" % first) as status:
        assert "Threads:\t1\n" in status.read()
    assert cli.run(PROBE)["results"] == PROBE_RESULTS
    assert cli.first_process() == first
    # it counts its threads right: T0, its only thread, ending ends the process
    observation = cli.run([step("T0", "fork", "T1"), step("T0", "thread_exit"),
                           anon("T1", "M0")])
    assert observation["status"] == "done" and observation["results"] == ["ok", "ok", "ok"]


def test_a_recycled_process_killed_while_it_waits_is_replaced(cli):
    cli.run(CLEAN_FORK)
    waiting = cli.first_process()
    os.kill(waiting, signal.SIGKILL)
    # kill() returns before the process is dead; killed during the next case it would rightly
    # make that case an error (KilledFromOutside), so the case is sent once it is dead
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process_state(waiting) not in ("Z", "X", None):
        time.sleep(0.001)
    observation = cli.run(CLEAN_FORK)
    assert observation["status"] == "done" and observation["results"][5] == "7", observation["detail"]
    assert cli.first_process() != waiting


def test_the_ledger_is_empty_between_recycled_cases(tmp_path, no_leaks):
    ledger = str(tmp_path / "ledger")
    running = Cli(ledger)
    try:
        for steps in (CLEAN_FORK, LEAVER, CLEAN_THREAD):
            assert running.run(steps)["status"] == "done"
            running.first_process()
            assert os.path.getsize(ledger) == 0
    finally:
        running.close()
    assert descendants(running.proc.pid) == set()
