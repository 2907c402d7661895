"""The implementation's contract beyond the rules: invalid input, timeouts, the command line
(both launch styles), SIGINT/SIGTERM, and that nothing of a case survives it (segments,
/dev/shm names and files, processes), whatever the case did."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from impl_cases import (ROOT, anon, case, descendants, read, run_case, segments, shmat, shmget,
                        step, write)

from hanging_impl import hang_at

HANGING_IMPL = os.path.join(ROOT, "tests", "support", "hanging_impl.py")

# A case that leaves behind everything it can, if nobody cleans up: a keyed and a private
# segment (attached in two processes, never removed), a POSIX shm object, a file, a memfd
# mapping, threads, and a child process.
BUSY = [shmget("T0", "S0", key="k"), shmget("T0", "S1"), shmat("T0", "A0", "S0"),
        step("T0", "open", "F0", kind="shm", name="obj", creat=True),
        step("T0", "ftruncate", fd="F0", length=4096),
        step("T0", "open", "F1", kind="file", name="file", creat=True),
        step("T0", "open", "F2", kind="memfd"), step("T0", "ftruncate", fd="F2", length=4096),
        step("T0", "mmap", "M0", shared=True, prot="rw", length=8192, fd="F2"),
        step("T0", "spawn", "T1"), step("T0", "fork", "T2"), shmget("T2", "S2"),
        shmat("T2", "A1", "S1"), write("T2", "A1", 1)]


def test_passing_case_leaves_nothing(no_leaks):
    observation = run_case(case(BUSY + [read("T0", "M0")]), 10)
    assert observation["status"] == "done", observation
    assert observation["results"][-2:] == ["ok", "0"]


def test_faulting_case_leaves_nothing(no_leaks):
    observation = run_case(case(BUSY + [read("T2", ("A1", 1)), read("T1", ("M0", 1))]), 10)
    assert observation["results"][-2:] == ["SIGSEGV", "SIGBUS"]


def test_hung_step_times_out_within_the_limit_and_leaves_nothing(no_leaks, monkeypatch):
    hang_at(monkeypatch, len(BUSY))
    started = time.monotonic()
    observation = run_case(case(BUSY + [read("T2", "A1"), read("T0", "M0")]), 0.5)
    elapsed = time.monotonic() - started
    assert observation["status"] == "timeout"
    assert observation["results"] == run_results_of_busy()
    # cut by the timeout, not hung: the upper bound is generous, as the machine may be busy
    assert 0.5 <= elapsed < 10


def run_results_of_busy():
    return ["new", "new", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "new", "ok", "ok"]


def test_short_timeout_on_a_long_case(no_leaks):
    steps = [anon("T0", "M0", shared=True)]
    for index in range(1, 60):
        steps.append(step("T%d" % (index - 1), "fork", "T%d" % index))
    observation = run_case(case(steps), 0.05)
    # a timeout, with the results of the steps done before it (how many depends on the load:
    # none at all on a busy machine), never a wall-clock figure
    assert observation["status"] == "timeout"
    assert len(observation["results"]) < len(steps)


def test_a_step_after_exit_of_the_thread_is_an_invalid_case(no_leaks):
    observation = run_case(case([step("T0", "fork", "T1"), step("T1", "exit"),
                                 read("T1", "M0")]), 10)
    assert observation["status"] == "error" and "step 2" in observation["detail"]


@pytest.mark.parametrize("bad, words", [
    ({"version": 2}, "version"),
    ({"extra": 1}, "unknown top-level"),
    ({"format": "other"}, "format"),
    ({"steps": [{"thread": "T0", "op": "frob", "args": {}}]}, "unknown op"),
    ({"steps": [read("T0", "M9")]}, "not a mapping handle"),
    ({"steps": [step("T0", "mmap", "M0", shared=True, length=4096)]}, "needs argument 'prot'"),
    ({"steps": [anon("T0", "M0"), write("T0", "M0", 300)]}, "0..255"),
    ({"steps": [step("T1", "exit")]}, "not a thread handle"),
])
def test_invalid_cases_are_errors_with_a_reason(bad, words, no_leaks):
    document = case([])
    document.update(bad)
    observation = run_case(document, 10)
    assert observation["status"] == "error" and words in observation["detail"], observation
    assert observation["results"] == []


# --- the command line --------------------------------------------------------------------------

@pytest.fixture(params=["lean", "installed"])
def launch(request, tmp_path_factory):
    """How the command line is started: (argv, environment, cwd). Lean: PYTHONPATH=ROOT
    python -S -m impl. Installed: python -m sharespec.impl from a neutral directory; when
    sharespec.impl is not installed, from a throwaway package "sharespec" whose "impl" is a
    link to this tree's impl/."""
    neutral = tmp_path_factory.mktemp("cwd")
    if request.param == "lean":
        return [sys.executable, "-S", "-m", "impl"], dict(os.environ, PYTHONPATH=ROOT), neutral
    installed = subprocess.run([sys.executable, "-c", "import sharespec.impl"], cwd=neutral,
                               capture_output=True).returncode == 0
    if installed:
        return [sys.executable, "-m", "sharespec.impl"], None, neutral
    (neutral / "sharespec").mkdir()
    (neutral / "sharespec" / "__init__.py").write_text("")
    (neutral / "sharespec" / "impl").symlink_to(os.path.join(ROOT, "impl"))
    return [sys.executable, "-m", "sharespec.impl"], None, neutral


def test_cli_reads_cases_and_writes_observations_in_order(launch, no_leaks):
    command, environment, cwd = launch
    cases = [case([shmget("T0", "S0"), shmat("T0", "A0", "S0"), step("T0", "fork", "T1"),
                   write("T1", "A0", 7), read("T0", "A0")], name="r09"),
             "this is not json",
             case([read("T0", "M0")], name="bad"),
             case([anon("T0", "M0"), step("T0", "exec"), read("T0", "M0")], name="r29")]
    text = "\n".join(c if isinstance(c, str) else json.dumps(c) for c in cases) + "\n"
    done = subprocess.run(command + ["--timeout", "5"], input=text.encode(), env=environment,
                          cwd=cwd, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    observations = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [o["status"] for o in observations] == ["done", "error", "error", "done"]
    assert observations[0] == {"format": "sharespec-observation", "version": 1, "case": "r09",
                               "status": "done", "results": ["new", "ok", "ok", "ok", "7"],
                               "detail": ""}
    assert "not JSON" in observations[1]["detail"]
    assert observations[3]["results"] == ["ok", "ok", "SIGSEGV"]


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_interrupted_mid_case_cleans_up_and_writes_nothing_half_done(number, status, no_leaks):
    first = case([anon("T0", "M0")], name="first")
    hung = case(BUSY + [read("T0", "M0")], name="hung")
    environment = dict(os.environ, PYTHONPATH=ROOT)
    cli = subprocess.Popen([sys.executable, "-S", HANGING_IMPL, str(len(BUSY)), "--timeout", "20"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=environment)
    cli.stdin.write((json.dumps(first) + "\n" + json.dumps(hung) + "\n").encode())
    cli.stdin.flush()
    line = cli.stdout.readline()
    assert json.loads(line)["case"] == "first"
    deadline = time.monotonic() + 10
    while len([pid for _, pid in segments() if pid in descendants(cli.pid)]) < 3:
        assert time.monotonic() < deadline, "the hung case never got going"
        time.sleep(0.01)
    cli.send_signal(number)
    out, err = cli.communicate(timeout=10)
    assert cli.returncode == status, err
    assert out == b""



def test_the_pid_log_names_the_executor_and_every_case_process(tmp_path, no_leaks):
    """SHARESPEC_IMPL_PID_LOG (impl/ledger.py): the executor appends its own pid, marked as
    the executor's, and the pid of each case process (here: the first process and its child)."""
    log = tmp_path / "pids"
    forking = case([shmget("T0", "S0"), step("T0", "fork", "T1"), shmget("T1", "S1"),
                    step("T0", "shmctl", segment="S0", cmd="stat")])
    environment = dict(os.environ, PYTHONPATH=ROOT, SHARESPEC_IMPL_PID_LOG=str(log))
    done = subprocess.run([sys.executable, "-S", "-m", "impl"], input=json.dumps(forking).encode(),
                          env=environment, capture_output=True, timeout=60)
    assert json.loads(done.stdout)["status"] == "done", done.stderr
    lines = [line.split() for line in log.read_text().splitlines()]
    executors = [int(fields[0]) for fields in lines if fields[2:] == ["executor"]]
    case_pids = [int(fields[0]) for fields in lines if len(fields) == 2]
    assert len(executors) == 1 and len(case_pids) == 2, lines
    assert executors[0] not in case_pids and len(set(case_pids)) == 2
