"""The zygote (impl/zygote.py): the command line's executor forks nothing but it, the zygote
forks the first processes, a killed zygote is replaced without a leak, and a first process
whose pipes do not fit in one message still gets them all at the right numbers."""
import json
import os
import signal
import subprocess
import sys
import time

from impl_cases import ROOT, case, descendants, run_case, shmat, shmget, step, write, read

THREAD_CASE = [shmget("T0", "S0"), shmat("T0", "A0", "S0"), step("T0", "spawn", "T1"),
               write("T1", "A0", 7), step("T1", "thread_exit"), read("T0", "A0"),
               step("T0", "shmdt", at="A0"), step("T0", "shmctl", segment="S0", cmd="rmid")]
EXITS = [step("T0", "fork", "T1"), step("T1", "exit"), step("T0", "exit")]


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def state(pid):
    """The state letter of /proc/PID/stat (Z: dead, not yet reaped), None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def children(pid):
    return {p for p in descendants(pid) if parent_of_or_none(p) == pid}


def parent_of_or_none(pid):
    try:
        return parent_of(pid)
    except (OSError, IndexError, ValueError):
        return None


class Cli:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-S", "-m", "impl", "--timeout", "10"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=dict(os.environ, PYTHONPATH=ROOT))

    def run(self, steps):
        self.proc.stdin.write((json.dumps(case(steps)) + "\n").encode())
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


def the_zygote(cli):
    """The executor's only child, once its first processes are forked."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = children(cli.proc.pid)
        if len(kids) == 1 and children(next(iter(kids))):
            return next(iter(kids))
        time.sleep(0.01)
    raise AssertionError("no zygote with first processes under the executor")


def test_the_executor_forks_only_the_zygote(no_leaks):
    cli = Cli()
    try:
        for steps in (EXITS, THREAD_CASE, EXITS):
            observation = cli.run(steps)
            assert observation["status"] == "done", observation
        zygote = the_zygote(cli)
        assert children(cli.proc.pid) == {zygote}
        # the spares and the recycled first process: each leads its own process group
        for first in children(zygote):
            assert os.getpgid(first) == first
    finally:
        cli.close()
    assert descendants(cli.proc.pid) == set()


def test_a_killed_zygote_is_replaced_and_nothing_is_left(no_leaks):
    cli = Cli()
    try:
        assert cli.run(THREAD_CASE)["status"] == "done"
        zygote = the_zygote(cli)
        firsts = children(zygote)
        os.kill(zygote, signal.SIGKILL)
        # its first processes die with it (PR_SET_PDEATHSIG), the recycled one among them;
        # kill() is asynchronous, and one killed during the next case would rightly make that
        # case an error (killed from outside), so the cases are sent once all are dead
        deadline = time.monotonic() + 10
        while any(state(p) not in ("Z", "X", None) for p in firsts | {zygote}):
            assert time.monotonic() < deadline, "the zygote's first processes do not die"
            time.sleep(0.001)
        for _ in range(3):
            observation = cli.run(THREAD_CASE)
            assert observation["status"] == "done", observation
            assert observation["results"][5] == "7"
        assert the_zygote(cli) != zygote
        assert all(state(p) is None for p in firsts)      # and reaped
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
