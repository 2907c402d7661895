"""Killed runners leave nothing behind (issue 13, "Interrupts and kills").

- A worker of -j N killed with SIGKILL: the runner reports its case as ERROR, starts another
  worker, and the worker's implementation dies with it (PR_SET_PDEATHSIG), cleaning up its
  case; the main process sweeps its ledger folder (ledgers.sweep_implementations).
- The main process of -j 2 killed with SIGKILL: every process it started dies with it
  (workers, implementations, cases), and the next run sweeps its ledger folder.
- Every process of a run killed at once (nobody can clean up): the next run removes what the
  case had made, by the ledger, and says so.
- Ledger folders whose owner still runs, or cannot be proved dead, are never swept.

Each waits on an event (a segment of the hanging case exists, the processes are gone), never
on a time: the hanging case cannot end before its 60 s timeout, so the kills always land in
the middle of it."""
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sharespec import ledgers, process_tree
from sharespec.model.case_text import case_from_text as parse_case_text
from sharespec.runner import run_cases

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_chaos as T  # noqa: E402
from hanging_impl import run_bundled_hanging  # noqa: E402

MARK_SIZE = 7 * 4096      # the hanging case's segment, told from every other by its size

# Step 3 (the fourth) never ends (tests/support/hanging_impl.py); the shorter cases never
# reach a step 3.
HANGING_CASE = f"""\
case hangs-holding-a-segment
profile linux
rules R09
origin handwritten

T0: S0 = shmget(private, {MARK_SIZE}, creat)
T0: A0 = shmat(S0)
T0: write(A0, 1)
T0: read(A0)
"""
SHORT_CASE = """\
case short-{n}
profile linux
rules R09
origin handwritten

T0: S0 = shmget(private, 4096, creat)
T0: A0 = shmat(S0)
T0: write(A0, {n})
"""


def hanging_and_short(count=6):
    return [parse_case_text(HANGING_CASE)] + [parse_case_text(SHORT_CASE.format(n=n))
                                             for n in range(1, count + 1)]


def write_cases(folder, count=6):
    paths = [folder / "hang.case"]
    paths[0].write_text(HANGING_CASE)
    for n in range(1, count + 1):
        paths.append(folder / f"short-{n}.case")
        paths[-1].write_text(SHORT_CASE.format(n=n))
    return paths


def marked_segments():
    """{shmid: cpid} of the segments of the hanging case's size."""
    with open("/proc/sysvipc/shm") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return {int(r[1]): int(r[4]) for r in rows if int(r[3]) == MARK_SIZE}


def children(pid):
    """{child pid: command line} of process pid."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found[int(entry)] = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
    return found


def ledger_of(worker):
    """(executor pid, ledger file) of the bundled implementation the worker runs, or None."""
    for pid, argv in children(worker).items():
        if b"--ledger" in argv:
            return pid, argv[argv.index(b"--ledger") + 1].decode()
    return None


def first_process_in(ledger):
    """The first process of the case the ledger names, or None."""
    try:
        lines = Path(ledger).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if fields[:1] == ["case"] and len(fields) == 3:
            return int(fields[2])
    return None


def gone(pid):
    """Dead (a zombie is: its subreaper may be this test process) or no longer there."""
    return process_tree.start_time(pid) is None


def wait_for(condition, what, seconds=120):
    """Poll until condition() is true (the event); fail if it never is."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_killed_worker_leaves_no_ledger_and_no_implementation(monkeypatch):
    run_bundled_hanging(monkeypatch, 3)
    cases = hanging_and_short()
    seen_ledgers, killed = set(), {}

    def the_hanging_worker():
        """The worker whose implementation runs the hanging case, once it holds its segment."""
        marked = set(marked_segments().values())
        for worker in multiprocessing.active_children():
            found = ledger_of(worker.pid)
            if found:
                seen_ledgers.add(found[1])
                if first_process_in(found[1]) in marked:
                    return worker.pid, found
        return None

    def killer():
        victim, orphan = wait_for(the_hanging_worker, "the hanging case holds its segment")
        killed.update(victim=victim, orphan=orphan, segments=set(marked_segments()))
        os.kill(victim, signal.SIGKILL)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    results = list(run_cases(cases, jobs=2, timeout=60))
    thread.join()
    assert len(results) == len(cases)
    assert results[0].verdict == "ERROR" and "worker process died" in results[0].detail
    assert [r.verdict for r in results[1:]] == ["PASS"] * (len(cases) - 1), results
    # the orphaned implementation ended and cleaned up its case; every ledger folder of the
    # run is gone: the killed worker's implementation's, and the run's
    assert gone(killed["orphan"][0])
    assert not killed["segments"] & set(marked_segments())
    for ledger in seen_ledgers:
        implementation_folder = os.path.dirname(ledger)
        assert not os.path.exists(implementation_folder), ledger
        run_folder = os.path.dirname(implementation_folder)
        assert os.path.basename(run_folder).startswith("sharespec-ledger-"), ledger
        assert not os.path.exists(run_folder), ledger


def start_hanging_run(tmp_path):
    watch = T.Watch(tmp_path)
    paths = write_cases(tmp_path)
    arguments = [a for p in paths for a in ("--case", str(p))]
    runner, _ = T.start_run(watch, *arguments, "-j", "2", hang=3, timeout="60")
    wait_for(lambda: any(cpid in watch.made(runner.pid) for cpid in marked_segments().values()),
             "the hanging case holds its segment")
    return watch, runner


def next_run(watch, tmp_path):
    """A run after the killed one (same TMPDIR): what it says on stderr."""
    short = tmp_path / "short-1.case"
    done = subprocess.run([sys.executable, "-m", "sharespec", "run", "-q", "--case", str(short)],
                          capture_output=True, text=True, env=dict(os.environ) | watch.env(),
                          cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stderr


def test_sigkill_to_the_main_process_ends_every_process_it_started(tmp_path):
    """Issue 13: SIGKILL to the main process of run -j 2 left ~10 processes (workers,
    executors) alive, with their ledger folders."""
    watch, runner = start_hanging_run(tmp_path)
    runner.kill()
    runner.wait()           # (not its output: processes it started may hold the pipes)
    runner.stdout.close()
    runner.stderr.close()
    left = wait_for(lambda: (lambda found: found if not any(found.values()) else None)(
        {k: v for k, v in watch.leftovers(runner.pid, wait=0).items() if k != "ledgers"}),
        "every process of the killed run ended and cleaned up its case")
    assert left == {"segments": set(), "names": set(), "processes": set()}
    next_run(watch, tmp_path)
    assert watch.leftovers(runner.pid)["ledgers"] == set()


def test_run_killed_whole_is_swept_by_the_next_run_with_its_ledger(tmp_path):
    """Every process of the run (main, workers, implementations, case processes)
    killed at once: nobody cleans up; the next run removes the hanging case's segment by the
    ledger, removes the ledger folder, and says so on stderr."""
    watch, runner = start_hanging_run(tmp_path)
    made = {i for i, cpid in marked_segments().items() if cpid in watch.made(runner.pid)}
    everything = set(watch.look(runner.pid)) | {runner.pid}
    for pid in everything:
        try:
            os.kill(pid, signal.SIGSTOP)      # first stop all: none sees another die
        except ProcessLookupError:
            pass
    for pid in everything:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    runner.wait()
    runner.stdout.close()
    runner.stderr.close()
    wait_for(lambda: not watch.leftovers(runner.pid, wait=0)["processes"], "the run is dead")
    assert made <= set(marked_segments()), "nothing should have cleaned up yet"
    assert watch.leftovers(runner.pid, wait=0)["ledgers"]
    said = next_run(watch, tmp_path)
    assert "swept what killed runs left" in said and "segment" in said, said
    assert not made & set(marked_segments())
    left = watch.leftovers(runner.pid)
    assert left == {"segments": set(), "names": set(), "ledgers": set(), "processes": set()}


# --- which ledger folders are swept --------------------------------------------------------

def dead_process():
    """(pid, start time) of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    identity = process_tree.identity(child.pid)
    child.communicate(b"")
    return identity


def test_only_ledgers_whose_owner_is_provably_dead_are_swept(tmp_path):
    namespace = process_tree.pid_namespace()
    pid, started = process_tree.identity()
    dead_pid, dead_started = dead_process()
    folders = {
        "live": f"sharespec-ledger-{namespace}-{pid}-{started}-a",
        "dead": f"sharespec-ledger-{namespace}-{dead_pid}-{dead_started}-b",
        # this pid, but not the process that made it: the pid was reused since
        "reused": f"sharespec-ledger-{namespace}-{pid}-{started - 1}-c",
        "other namespace": f"sharespec-ledger-1{namespace}-{dead_pid}-{dead_started}-d",
        "older layout": "sharespec-ledger-k2j3h4",
    }
    for name in folders.values():
        (tmp_path / name).mkdir()
    # a dead owner's folder with an implementation folder of a dead starter in it
    implementation = tmp_path / folders["dead"] / f"{dead_pid}-{dead_started}-x"
    implementation.mkdir()
    (implementation / "executor").write_text(f"{dead_pid} {dead_started}")
    (implementation / "ledger").write_text("")
    removed = ledgers.sweep_orphaned_runs(str(tmp_path))
    left = {name for name in os.listdir(tmp_path)}
    assert left == {folders["live"], folders["other namespace"], folders["older layout"]}
    assert ("ledger", folders["dead"]) in removed and ("ledger", folders["reused"]) in removed
    assert "2 ledgers" in ledgers.describe_swept(removed)
    for name in left:
        os.rmdir(tmp_path / name)


def test_a_live_starters_implementation_is_not_swept(tmp_path):
    """A run folder whose owner is dead, but whose worker (the starter of an implementation)
    still runs: that implementation is its worker's to stop; the run folder stays."""
    namespace = process_tree.pid_namespace()
    dead_pid, dead_started = dead_process()
    pid, started = process_tree.identity()
    run = tmp_path / f"sharespec-ledger-{namespace}-{dead_pid}-{dead_started}-z"
    (run / f"{pid}-{started}-y").mkdir(parents=True)
    assert ledgers.sweep_orphaned_runs(str(tmp_path)) == []
    assert (run / f"{pid}-{started}-y").is_dir()
    (run / f"{pid}-{started}-y").rmdir()
    run.rmdir()


def test_no_ledger_folder_is_made_for_a_run_that_runs_nothing(tmp_path):
    """A bad start (exit 2) makes no ledger folder: one is made when an implementation
    starts."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "sharespec", "run", "--case",
                           str(tmp_path / "missing.case")], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 2
    assert not [n for n in os.listdir(tmp_path) if n.startswith("sharespec-ledger-")]


# --- a hostile implementation's children ------------------------------------------------------

HOSTILE = r'''
import json, os, signal, sys, time
log = sys.argv[1]

def note(pid):
    with open(log, "a") as f:
        f.write("%d\n" % pid)

def stubborn():
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)

def breeder():
    """Forks a child every few milliseconds (at most 100), each as stubborn as itself."""
    for _ in range(100):
        pid = os.fork()
        if pid == 0:
            note(os.getpid())
            while True:
                time.sleep(60)
        time.sleep(0.005)
    while True:
        time.sleep(60)

for line in sys.stdin:
    case = json.loads(line)
    for kind in ("sleeper", "group-leaver", "breeder"):
        pid = os.fork()
        if pid == 0:
            stubborn()
            os.closerange(0, 3)
            if kind == "group-leaver":
                os.setpgid(0, 0)
            note(os.getpid())
            if kind == "breeder":
                breeder()
            while True:
                time.sleep(60)
    print(json.dumps({"format": "sharespec-observation", "version": 1, "case": case["name"],
                      "status": "error", "results": [], "detail": "hostile"}), flush=True)
'''


def test_a_hostile_implementations_children_are_ended_with_it(tmp_path):
    """Issue 13: the children of a hostile implementation were never ended (900 left per
    fork-bomb kind). Its whole session is ended when it stops: children that ignore SIGTERM,
    one that moved to a process group of its own, and a breeder that keeps forking."""
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE)
    log = tmp_path / "pids"
    command = f"{sys.executable} {script} {log}"
    results = list(run_cases(hanging_and_short(2)[1:], impl=command, timeout=5))
    assert [r.verdict for r in results] == ["INCONCLUSIVE"] * 2
    pids = [int(p) for p in log.read_text().split()]
    assert len(pids) >= 6
    still = [pid for pid in pids if not gone(pid)]
    assert still == [], f"{len(still)} children of the implementation still run"


# --- the system refusing processes and threads (ulimit -u) ----------------------------------

def refuse(*_, **__):
    raise BlockingIOError(11, "Resource temporarily unavailable")


@pytest.mark.parametrize("jobs", [1, 2])
def test_no_process_or_thread_to_be_had_makes_cases_inconclusive(monkeypatch, jobs, capsys):
    """Issue 13: with ulimit -u low, a traceback and no case run. Every process and thread the
    runner would start is refused here: each case is INCONCLUSIVE and says why."""
    import multiprocessing.process
    import subprocess as subprocess_module

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    monkeypatch.setattr(subprocess_module.Popen, "_execute_child", refuse)
    results = list(run_cases(hanging_and_short(2)[1:], jobs=jobs, timeout=5))
    assert [r.verdict for r in results] == ["INCONCLUSIVE"] * 2
    assert all("the environment refused: cannot start the implementation" in r.detail
               and "Resource temporarily unavailable" in r.detail for r in results), results
    assert "the cases run one at a time" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="RLIMIT_NPROC does not hold for root")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ulimit_u_low_gives_inconclusive_cases_and_no_traceback(tmp_path, jobs):
    import resource

    def low():
        here = len([p for p in os.listdir("/proc") if p.isdigit()])    # a bound, roughly
        resource.setrlimit(resource.RLIMIT_NPROC, (here // 100 + 1, here // 100 + 1))

    (tmp_path / "short.case").write_text(SHORT_CASE.format(n=1))
    done = subprocess.run([sys.executable, "-m", "sharespec", "run", "-q", "--no-shrink", "-j",
                           jobs, "--case", str(tmp_path / "short.case")], capture_output=True,
                          text=True, preexec_fn=low, cwd=tmp_path)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode in (0, 1), done.stderr


# --- what an implementation under test leaves behind ------------------------------------------

LEAKY = r'''
import ctypes, json, os, subprocess, sys
libc = ctypes.CDLL(None)
inner = subprocess.Popen(json.loads(sys.argv[1]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=json.loads(sys.argv[2]))
kept = []
for line in sys.stdin:
    inner.stdin.write(line.encode())
    inner.stdin.flush()
    answer = inner.stdout.readline()
    case = json.loads(line)["name"]
    for n in range(3):
        libc.shmget(0, 4096, 0o1666)         # IPC_PRIVATE, IPC_CREAT | 0666
        kept.append(os.open("/dev/shm/leaky-%d-%s-%d" % (os.getpid(), case, n),
                            os.O_CREAT | os.O_RDWR, 0o666))
    sys.stdout.buffer.write(answer)
    sys.stdout.flush()
'''


def leaky_command(tmp_path):
    import json
    import shlex

    from sharespec.runner import bundled_impl_command
    argv, env = bundled_impl_command()
    script = tmp_path / "leaky.py"
    script.write_text(LEAKY)
    return shlex.join([sys.executable, str(script), json.dumps(argv), json.dumps(env)])


def remove_reported(err):
    """Remove what the warnings or errors in ``err`` name (this test made it)."""
    import ctypes
    import re
    libc = ctypes.CDLL(None)
    for group in re.findall(r"\(shmid ([0-9, ]+)\)", err):
        for ident in group.split(", "):
            libc.shmctl(int(ident), 0, None)
    for name in re.findall(r"leaky-[0-9]+-[a-z0-9-]+?-[0-9](?=[,)])", err):
        try:
            os.unlink(os.path.join("/dev/shm", name))
        except FileNotFoundError:
            pass


def test_strict_cleanup_makes_a_case_that_leaves_something_an_error(tmp_path, capsys):
    results = list(run_cases(hanging_and_short(2)[1:], impl=leaky_command(tmp_path), timeout=10,
                             strict_cleanup=True))
    err = capsys.readouterr().err
    try:
        assert [r.verdict for r in results] == ["ERROR", "ERROR"], results
        for result in results:
            assert result.detail.startswith("cleanup: the implementation left 3 SysV segments")
            assert "3 /dev/shm objects" in result.detail and "--strict-cleanup" in result.detail
            assert f"-{result.case.name}-" in result.detail     # its own, not the other case's
    finally:
        remove_reported(err + " ".join(r.detail for r in results))


def test_what_an_implementation_leaves_is_reported_not_removed(tmp_path, capsys):
    """Issue 13: an implementation that leaves 3 segments (mode 0666) and 3 /dev/shm files
    got PASS without a word. The verdict stays (the results are right), a warning names the
    case and what it left; nothing of it is removed (it is not the runner's)."""
    results = list(run_cases(hanging_and_short(1)[1:], impl=leaky_command(tmp_path), timeout=10))
    err = capsys.readouterr().err
    try:
        assert [r.verdict for r in results] == ["PASS"]
        assert ("warning: short-1: the implementation left 3 SysV segments" in err
                and "and 3 /dev/shm objects" in err), err
        reported = [int(i) for i in err.split("(shmid ")[1].split(")")[0].split(", ")]
        assert set(reported) <= set(T.segments()), "reported, so still there: not removed"
        names = [n for n in os.listdir("/dev/shm") if n.startswith("leaky-") and n in err]
        assert len(names) == 3 and all("-short-1-" in n for n in names), err
    finally:
        remove_reported(err)


FORKS_A_MEMBER = """
import os, time
child = os.fork()
if child == 0:
    time.sleep(600)
    os._exit(0)
print(child, flush=True)
time.sleep(600)
"""


def test_a_ledger_swept_late_never_signals_a_process_that_took_one_of_its_pids(tmp_path):
    """A ledger may be swept minutes after its case (the next run), and pids are reused. Two
    processes started after the ledger was last written, one leading a group and one in it,
    as the case's first process and its child were, and named by the ledger as they were:
    the sweep leaves them alone."""
    leader = subprocess.Popen([sys.executable, "-c", FORKS_A_MEMBER], stdout=subprocess.PIPE,
                              start_new_session=True, text=True)
    member = int(leader.stdout.readline())
    try:
        folder = tmp_path / "1-1-impl"
        folder.mkdir()
        ledger = folder / "ledger"
        (folder / "executor").write_text("%d %d" % dead_process())     # an executor long gone
        then = time.time() - 100
        ledger.write_text(f"case {int(then)} {leader.pid}\npid {member}\n")
        os.utime(ledger, (then, then))
        ledgers.sweep_implementation(str(folder))
        assert leader.poll() is None and not gone(member)
        assert not folder.exists()
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
        leader.stdout.close()


def test_a_sigterm_while_a_worker_stops_its_implementation_only_hurries_the_stop(
        tmp_path, monkeypatch):
    """The chaos campaign: the main process of an interrupted run terminates its workers, some
    of them already stopping their implementation; the SIGTERM cut that stop short (a
    SystemExit traceback, the clean-up left half done). Now it only makes the stop hurry."""
    from sharespec import parallel

    def close(self, hurry=False):
        os.kill(os.getpid(), signal.SIGTERM)          # arrives in the middle of the stop
        (tmp_path / "stopped").write_text(str(self.hurry))

    monkeypatch.setattr(parallel.ImplementationProcess, "close", close)
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe()
    worker = context.Process(target=parallel._process_worker,
                             args=(theirs, None, 5.0, "linux", str(tmp_path / "run"),
                                   os.getpid(), []))
    worker.start()
    theirs.close()
    mine.send(None)                                   # nothing to do: it ends at once
    worker.join(60)
    mine.close()
    assert worker.exitcode == 0
    assert (tmp_path / "stopped").read_text() == "True"


def test_a_worker_whose_main_process_is_gone_ends_quietly(tmp_path, monkeypatch, capfd):
    """The chaos campaign: the main process killed while a worker ran a case; the worker's
    answer found the pipe closed (BrokenPipeError, a traceback). It ends quietly, having
    stopped its implementation."""
    from sharespec import parallel
    from sharespec.model.case_json import case_to_json
    import json

    run_bundled_hanging(monkeypatch, 3)
    case = hanging_and_short(0)[0]
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe()
    run = ledgers.make_run_folder()
    worker = context.Process(target=parallel._process_worker,
                             args=(theirs, None, 1.0, "linux", run, os.getpid(), [mine.fileno()]))
    worker.start()
    theirs.close()
    mine.send((0, case, json.dumps(case_to_json(case))))
    mine.close()                   # gone before the answer (the case hangs until its timeout)
    worker.join(60)
    os.rmdir(run)
    assert worker.exitcode == 0
    assert "Traceback" not in capfd.readouterr().err


def test_an_interrupted_run_whose_dead_worker_could_not_be_replaced_stops_cleanly(monkeypatch):
    """A worker killed, and no process to be had for its replacement (one worker fewer): an
    interruption after that stops the remaining worker and its implementation, instead of
    tripping over the empty place of the one that could not be replaced."""
    run_bundled_hanging(monkeypatch, 3)
    started = []
    start = multiprocessing.process.BaseProcess.start

    def refused_after_two(self):
        if len(started) >= 2:
            refuse()
        start(self)
        started.append(self.pid)

    def killer():
        victim, _ = wait_for(the_worker_holding_the_mark, "the hanging case holds its segment")
        os.kill(victim, signal.SIGKILL)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refused_after_two)
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    results = run_cases(hanging_and_short(), jobs=2, timeout=60)
    first = next(results)
    thread.join()
    assert first.verdict == "ERROR" and "worker process died" in first.detail
    results.close()                       # interrupted: the consumer is gone
    assert len(started) == 2 and all(gone(pid) for pid in started)


def the_worker_holding_the_mark():
    """(pid, ledger) of the worker whose implementation runs the hanging case, once the case
    holds its segment; None before."""
    marked = set(marked_segments().values())
    for worker in multiprocessing.active_children():
        found = ledger_of(worker.pid)
        if found and first_process_in(found[1]) in marked:
            return worker.pid, found
    return None
