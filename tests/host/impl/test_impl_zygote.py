"""The zygote (impl/zygote.py): the command line's executor forks nothing but it, the zygote
forks the first processes, a killed zygote is replaced without a leak, and a first process
whose pipes do not fit in one message still gets them all at the right numbers."""
import os
import signal
import time

from impl_cases import (CLEAN_THREAD, Cli, case, children_of, descendants, process_state, read,
                        run_case, shmat, shmget, step, write)

EXITS = [step("T0", "fork", "T1"), step("T1", "exit"), step("T0", "exit")]


def the_zygote(cli):
    """The executor's only child, once its first processes are forked."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = children_of(cli.proc.pid, zombies=True)
        if len(kids) == 1 and children_of(next(iter(kids)), zombies=True):
            return next(iter(kids))
        time.sleep(0.01)
    raise AssertionError("no zygote with first processes under the executor")


def test_the_executor_forks_only_the_zygote(no_leaks):
    cli = Cli()
    try:
        for steps in (EXITS, CLEAN_THREAD, EXITS):
            observation = cli.run(steps)
            assert observation["status"] == "done", observation
        zygote = the_zygote(cli)
        assert children_of(cli.proc.pid, zombies=True) == {zygote}
        # the spares and the recycled first process: each leads its own process group
        for first in children_of(zygote, zombies=True):
            assert os.getpgid(first) == first
    finally:
        cli.close()
    assert descendants(cli.proc.pid) == set()


def test_a_killed_zygote_is_replaced_and_nothing_is_left(no_leaks):
    cli = Cli()
    try:
        assert cli.run(CLEAN_THREAD)["status"] == "done"
        zygote = the_zygote(cli)
        firsts = children_of(zygote, zombies=True)
        os.kill(zygote, signal.SIGKILL)
        # its first processes die with it (PR_SET_PDEATHSIG), the recycled one among them;
        # kill() is asynchronous, and one killed during the next case would rightly make that
        # case an error (killed from outside), so the cases are sent once all are dead
        deadline = time.monotonic() + 10
        while any(process_state(p) not in ("Z", "X", None) for p in firsts | {zygote}):
            assert time.monotonic() < deadline, "the zygote's first processes do not die"
            time.sleep(0.001)
        for _ in range(3):
            observation = cli.run(CLEAN_THREAD)
            assert observation["status"] == "done", observation
            assert observation["results"][5] == "7"
        assert the_zygote(cli) != zygote
        assert all(process_state(p) is None for p in firsts)      # and reaped
    finally:
        cli.close()
    assert descendants(cli.proc.pid) == set()


def test_a_first_process_with_more_pipes_than_one_message_carries(no_leaks):
    # 131 processes in a chain of forks: a command pipe and a result pipe each, more case ends
    # than SCM_RIGHTS takes in one message (zygote.MAX_FDS)
    steps = [shmget("T0", "S0"), shmat("T0", "A0", "S0"), write("T0", "A0", 9)]
    for index in range(1, 131):
        steps.append(step("T%d" % (index - 1), "fork", "T%d" % index))
    steps.append(read("T130", "A0"))
    observation = run_case(case(steps), 60)
    assert observation["status"] == "done", observation
    assert observation["results"][-1] == "9"
