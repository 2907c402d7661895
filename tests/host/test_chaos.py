"""Nothing breaks, nothing leaks: campaigns in which implementation processes are killed with
SIGKILL at random moments, cases hang past their timeout, and the runner is interrupted.

Every case hit is reported as ERROR or INCONCLUSIVE with the reason (never FAIL, never PASS
by accident), the campaign goes on (or stops cleanly with a partial report on SIGINT), and
afterwards no segment, /dev/shm object, ledger or process of the run remains. The long
version is benchmarks/chaos.py. Runs go in their own session (start_new_session), so "the
run's processes" are the processes of that session."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import hanging_impl
from host_tables import process_table, segment_table as host_segments
from sharespec.casefiles import read_case_paths

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "sharespec" / "cases"
LTP_CASES = ROOT / "tests" / "host" / "ltp_cases"
# What a case hit by a kill or a hang says (the runner's and the implementation's words).
EXPLAINED = ("killed", "closed its output", "did not start", "died", "timeout after")


def explained(detail):
    return any(words in detail for words in EXPLAINED)


# --- what the host has, and what a run left --------------------------------------------------
#
# The host is shared (other runs, other test sessions): a run is judged only on what it made.
# Its processes are those of its session and of its implementations' sessions (each runs in
# one of its own); its segments and names, those made by the pids its executors logged
# (SHARESPEC_IMPL_PID_LOG, see impl/ledger.py); its ledgers, those in its own TMPDIR.

PIDS = "SHARESPEC_IMPL_PID_LOG"


def segment_table():
    """{shmid: (cpid, ctime)} of every SysV segment."""
    return {ident: (row["cpid"], row["ctime"]) for ident, row in host_segments().items()}


def segments():
    """{shmid: cpid} of every SysV segment."""
    return {ident: cpid for ident, (cpid, _) in segment_table().items()}


def sharespec_names():
    return {n for n in os.listdir("/dev/shm") if n.startswith("sharespec")}


def name_pid(name):
    """The executor pid in a /dev/shm name of the bundled implementation
    (sharespec-PID.RANDOM...), or None."""
    head = name[len("sharespec-"):].split(".", 1)[0]
    return int(head) if name.startswith("sharespec-") and head.isdigit() else None


def logged_pids(path, since=0):
    """({pid: the time it was logged}, {executor pids}) from a pid log, logged since then."""
    pids, executors = {}, set()
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return pids, executors
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit() \
                and int(fields[1]) >= since:
            pids.setdefault(int(fields[0]), int(fields[1]))
            if fields[2:] == ["executor"]:
                executors.add(int(fields[0]))
    return pids, executors


def ledgers(folder=None):
    folder = folder or tempfile.gettempdir()
    return {n for n in os.listdir(folder) if n.startswith("sharespec-ledger-")}


def processes():
    """{pid: (ppid, pgid, sid, zombie)} of every process."""
    return {pid: (int(fields[1]), int(fields[2]), int(fields[3]), fields[0] == "Z")
            for pid, fields in process_table().items()}


def session_processes(*sids):
    """{pid: (ppid, pgid)} of the live processes of these sessions (zombies included)."""
    return {pid: (ppid, pgid) for pid, (ppid, pgid, sid, _) in processes().items() if sid in sids}


def reap_adopted(sids):
    """Reap the run's processes that ended up as this process's zombie children: when another
    test module made this pytest process a child subreaper, the orphans of a killed
    implementation come here, not to init, and are ours to reap."""
    for pid, (ppid, _) in session_processes(*sids).items():
        if ppid == os.getpid():
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


class Watch:
    """A run's own TMPDIR and pid log (in ``folder``), what existed before it, and what its
    processes were while it ran."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.tmp = self.folder / "tmp"
        self.tmp.mkdir(exist_ok=True)
        # the test session's pid log when there is one (tests/conftest.py), so that it knows
        # this run's pids too
        self.pid_log = Path(os.environ.get(PIDS) or self.folder / "pids")
        self.started = int(time.time())
        self.segments = set(segments())
        self.names = sharespec_names()
        self.seen = set()
        self.sessions_seen = set()

    def env(self):
        return {"TMPDIR": str(self.tmp), PIDS: str(self.pid_log)}

    def sessions(self, runner):
        """The run's sessions: the runner's, and its implementations' (each has its own)."""
        return ({runner} | self.sessions_seen
                | logged_pids(self.pid_log, self.started - 1)[1])

    def look(self, runner):
        """{pid: (ppid, pgid)} of the runner's live descendants (never another's process:
        only these are ever killed); their sessions are noted."""
        table = processes()
        tree, frontier = set(), {runner}
        while frontier:
            frontier = {p for p, row in table.items() if row[0] in frontier} - tree
            tree |= frontier
        self.sessions_seen |= {table[p][2] for p in tree}
        self.seen |= tree
        return {p: table[p][:2] for p in tree}

    def made(self, runner):
        """The pids of the run that may have made segments and names: logged during the run,
        or seen."""
        return set(logged_pids(self.pid_log, self.started - 1)[0]) | self.seen | {runner}

    def new_segments(self, runner):
        mine = self.made(runner)
        return {i for i, (cpid, ctime) in segment_table().items()
                if i not in self.segments and cpid in mine and ctime >= self.started - 1}

    def new_names(self, runner):
        mine = self.made(runner)
        return {n for n in sharespec_names() - self.names if name_pid(n) in mine}

    def leftovers(self, runner, wait=3.0):
        """New segments, names and ledgers of the run still there after a moment (its
        processes may be on their way out), and its live processes."""
        deadline = time.monotonic() + wait
        while True:
            sessions = self.sessions(runner)
            reap_adopted(sessions)
            live = {pid for pid, (_, _, sid, zombie) in processes().items()
                    if sid in sessions and not zombie}
            new = {"segments": self.new_segments(runner), "names": self.new_names(runner),
                   "ledgers": ledgers(self.tmp), "processes": live}
            if not any(new.values()) or time.monotonic() > deadline:
                return new
            time.sleep(0.1)


def start_run(watch, *extra, hang=None, timeout="1"):
    """``sharespec run`` in a session of its own, with the watch's TMPDIR and pid log."""
    env = dict(os.environ) | watch.env()
    out = watch.folder / "results.jsonl"
    arguments = ["run", "-q", "--no-shrink", "--json", str(out), "--timeout", timeout,
                 "--out", str(watch.folder / "failures"), *extra]
    command = [sys.executable, "-m", "sharespec", *arguments]
    if hang is not None:        # the step numbered hang never ends (tests/support/hanging_impl.py)
        command = hanging_impl.runner_argv(hang, arguments)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True, cwd=watch.folder)
    return proc, out


def records_of(out):
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return [r for r in records if "verdict" in r], records[-1]


def is_implementation(pid):
    """A process of the bundled implementation: an executor (python -S -m impl, or the
    hanging wrapper, tests/support/hanging_impl.py), a case process forked from one, or a case
    process's image after exec (… impl --resume …)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            arguments = f.read().split(b"\0")
        return b"impl" in arguments or any(a.endswith(b"/hanging_impl.py") for a in arguments)
    except OSError:
        return False


def kill_one(watch, runner, rng):
    """SIGKILL one process of the implementation: an executor (whose parent is a process of
    the runner) or a case process (whose parent is an implementation process), one or the
    other at random. Returns what was killed, or None. (The runner's own worker processes
    are not the implementation, and are left alone.)"""
    now = watch.look(runner.pid)
    ours = {p for p in now if is_implementation(p)}
    executors = [p for p in ours if now[p][0] not in ours]
    cases = [p for p in ours if now[p][0] in ours]
    pool = executors if rng.random() < 0.4 else cases
    if not pool:
        return None
    victim = rng.choice(pool)
    try:
        os.kill(victim, signal.SIGKILL)
    except ProcessLookupError:
        return None
    return "executor" if pool is executors else "case process"


def partial_records(folder):
    """The records of a running run's partial JSON report (the runner renames it when done)."""
    for partial in folder.glob(".sharespec-*.partial"):
        try:
            lines = partial.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                yield json.loads(line)
            except ValueError:
                continue  # the line being written


def short_case_hit(tmp_path, short):
    """Whether the partial results already show a non-hanging case that did not pass."""
    return any(record.get("case") in short and record.get("verdict") not in (None, "PASS")
               for record in partial_records(tmp_path))


# --- the campaign ------------------------------------------------------------------------------

def test_campaign_with_killed_and_hung_implementations_reports_and_leaves_nothing(tmp_path):
    watch = Watch(tmp_path)
    rng = random.Random(6)
    # Cases of 14 steps or more hang at their 14th step (9 of the built-in cases), past the
    # 1 s timeout; meanwhile random processes of the run are killed.
    runner, out = start_run(watch, "--case", str(CASES), "-j", "2", hang=13)
    kills = {"executor": 0, "case process": 0}
    short = {c.name for c in read_case_paths([CASES]) if len(c.steps) <= 13}
    deadline = time.monotonic() + 120
    # Kill until both kinds of process have been killed and a kill has visibly hit a case that
    # does not hang (timing decides which kills land, so stop on evidence, not on a count).
    while runner.poll() is None and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.02, 0.12))
        if sum(kills.values()) < 300 and not (all(kills.values()) and short_case_hit(tmp_path, short)):
            what = kill_one(watch, runner, rng)
            if what:
                kills[what] += 1
        else:
            watch.look(runner.pid)
    stdout, stderr = runner.communicate(timeout=60)
    assert runner.returncode in (0, 1), stdout[-2000:] + stderr[-2000:]
    cases, summary = records_of(out)
    assert summary["complete"] is True and len(cases) == len(list(CASES.glob("*.case")))
    verdicts = {r["verdict"] for r in cases}
    assert verdicts <= {"PASS", "ERROR", "INCONCLUSIVE"}, [r for r in cases if r["verdict"] == "FAIL"]
    hit = [r for r in cases if r["verdict"] != "PASS"]
    why = [(r["case"], r["verdict"], r["detail"][:120]) for r in hit]
    assert all(r["detail"] for r in hit), why
    steps = {c.name: len(c.steps) for c in read_case_paths([CASES])}
    for record in cases:       # a long case hangs: it can never pass; a hit one says why
        if steps[record["case"]] > 13:
            assert record["verdict"] != "PASS" and explained(record["detail"]), record
        elif record["verdict"] != "PASS":
            assert explained(record["detail"]), record
    assert any(steps[r["case"]] > 13 for r in cases)
    assert kills["executor"] and kills["case process"], kills
    assert len(hit) > sum(1 for r in cases if steps[r["case"]] > 13), (kills, why)   # kills hit
    assert "PASS" in verdicts
    left = watch.leftovers(runner.pid)
    assert left == {"segments": set(), "names": set(), "ledgers": set(), "processes": set()}


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_runner_signalled_part_way_stops_cleanly_with_a_partial_report(tmp_path, number):
    """Only the runner is signalled (not its group): it must stop its implementations itself."""
    watch = Watch(tmp_path)
    rng = random.Random(number)
    # the built-in and the LTP cases: a run long enough that it is still going when signalled
    # (the built-in cases alone could finish between the check below and the signal)
    runner, out = start_run(watch, "--case", str(CASES), "--case", str(LTP_CASES), "-j", "2",
                            hang=13)
    deadline = time.monotonic() + 60
    partial = None
    while time.monotonic() < deadline and runner.poll() is None:
        watch.look(runner.pid)
        found = list(tmp_path.glob(".sharespec-*.partial"))
        if found and found[0].read_text().count("\n") >= 15:
            partial = found[0]
            break
        if rng.random() < 0.2:
            kill_one(watch, runner, rng)
        time.sleep(0.02)
    assert partial is not None, "the run never got going"
    runner.send_signal(number)
    stdout, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "interrupted" in stdout + stderr
    cases, summary = records_of(out)
    total = len(list(CASES.glob("*.case"))) + len(list(LTP_CASES.glob("*.case")))
    assert summary["complete"] is False and 15 <= len(cases) < total
    assert {r["verdict"] for r in cases} <= {"PASS", "ERROR", "INCONCLUSIVE"}
    left = watch.leftovers(runner.pid)
    assert left == {"segments": set(), "names": set(), "ledgers": set(), "processes": set()}


# --- one kill at a chosen moment -----------------------------------------------------------------

BUSY_CASE = """\
case chaos-busy
profile linux
rules R09
origin handwritten

T0: S0 = shmget(k1, 4096, creat)
T0: S1 = shmget(private, 4096, creat)
T0: A0 = shmat(S0)
T0: F0 = open(shm, obj, creat)
T0: F1 = open(file, data, creat)
T0: T1 = fork()
T1: S2 = shmget(private, 8192, creat)
T1: A1 = shmat(S1)
T1: write(A1, 1)
T0: read(A0)
"""


def test_killed_executor_mid_case_leaves_nothing(tmp_path):
    """SIGKILL to the implementation while a case holds segments (two processes' worth), a
    POSIX shm name and a file: the case is an ERROR naming what happened, the next case runs,
    and the runner's ledger sweep removes everything the dead executor's case had made."""
    watch = Watch(tmp_path)
    (tmp_path / "busy.case").write_text(BUSY_CASE)
    (tmp_path / "after.case").write_text(BUSY_CASE.replace("chaos-busy", "chaos-after"))
    runner, out = start_run(watch, "--case", str(tmp_path / "busy.case"),
                            "--case", str(tmp_path / "after.case"), hang=9, timeout="3")
    deadline = time.monotonic() + 30
    while True:
        now = watch.look(runner.pid)
        made = {i for i, cpid in segments().items() if cpid in now and cpid != runner.pid}
        names = [n for n in sharespec_names() - watch.names]
        if len(made) >= 3 and len(names) >= 2:
            break
        assert time.monotonic() < deadline and runner.poll() is None, "the case never got going"
        time.sleep(0.01)
    executor = next(p for p, (ppid, _) in now.items()
                    if is_implementation(p) and not is_implementation(ppid))
    os.kill(executor, signal.SIGKILL)
    stdout, stderr = runner.communicate(timeout=60)     # the second case hangs until its timeout
    cases, summary = records_of(out)
    assert [r["verdict"] for r in cases] == ["ERROR", "INCONCLUSIVE"], cases
    assert "closed its output" in cases[0]["detail"] and "-9" in cases[0]["detail"], cases[0]
    assert "timeout after 9 of 10" in cases[1]["detail"]
    assert not made & set(segments()), "a segment of the killed case survived"
    left = watch.leftovers(runner.pid)
    assert left == {"segments": set(), "names": set(), "ledgers": set(), "processes": set()}


def test_case_process_killed_from_outside_is_inconclusive_never_fail(tmp_path):
    """A case process that dies of SIGKILL (no step causes it) makes the case INCONCLUSIVE
    with the reason, and no result is judged (a lower nattch could otherwise look like a FAIL)."""
    watch = Watch(tmp_path)
    (tmp_path / "busy.case").write_text(BUSY_CASE)
    runner, out = start_run(watch, "--case", str(tmp_path / "busy.case"), hang=8,
                            timeout="30")
    deadline = time.monotonic() + 30
    while True:           # the child (process 1) hangs at step 9: kill it then
        now = watch.look(runner.pid)
        # a case process that does not lead its group (the first process does), in a group
        # whose leader is the executor's child
        hung = [p for p, (ppid, pgid) in now.items() if is_implementation(ppid) and p != pgid
                and pgid in now and is_implementation(now[pgid][0])]
        if hung and len([c for c in segments().values() if c in now]) >= 3:
            break
        assert time.monotonic() < deadline and runner.poll() is None, "the case never got going"
        time.sleep(0.01)
    os.kill(hung[0], signal.SIGKILL)
    stdout, stderr = runner.communicate(timeout=60)
    cases, _ = records_of(out)
    assert [r["verdict"] for r in cases] == ["INCONCLUSIVE"], cases
    assert "killed by SIGKILL" in cases[0]["detail"] and cases[0]["results"] == []
    left = watch.leftovers(runner.pid)
    assert left == {"segments": set(), "names": set(), "ledgers": set(), "processes": set()}


# --- the session's own check (tests/conftest.py) counts only what the session made ------------

MAKE_SEGMENT = ("import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
                "print(libc.shmget(0, 4096, 0o1600))")


def test_the_session_check_counts_only_what_the_session_made(tmp_path, pytestconfig):
    """A segment made by a process that is neither this session's (logged by one of its
    executors) nor a live descendant is another run's, and is not counted; the same segment,
    its creator's pid logged (before it made it), is; a name carrying a logged executor's
    pid is the session's, one carrying another pid is not."""
    # the session's conftest module as pytest registered it (a plain "import conftest" may
    # find tests/host/impl/conftest.py, which pytest loaded under the same module name)
    top = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conftest.py")
    conftest = next(m for m in pytestconfig.pluginmanager.get_plugins()
                    if os.path.abspath(getattr(m, "__file__", "") or "") == top)

    before = conftest.snapshot()
    log = tmp_path / "pids"
    env = {k: v for k, v in os.environ.items() if k != PIDS}
    made = subprocess.run([sys.executable, "-c", MAKE_SEGMENT], capture_output=True, text=True,
                          env=env, start_new_session=True)
    ident = int(made.stdout)
    creator = segments()[ident]
    names = [f"sharespec-{creator}.test-ours", "sharespec-1.test-not-ours"]
    try:
        for name in names:
            open(os.path.join("/dev/shm", name), "w").close()
        # the creator has ended: not a descendant any more, and not logged
        left = conftest.made_by_session(before, str(log), str(tmp_path), me=os.getpid())
        assert ident not in left["segments"] and not left["dev_shm"]
        log.write_text(f"{creator} {int(time.time()) - 5} executor\n")
        left = conftest.made_by_session(before, str(log), str(tmp_path), me=os.getpid())
        assert ident in left["segments"] and left["dev_shm"] == {names[0]}
        (tmp_path / "sharespec-ledger-0-1-2-x").mkdir()
        left = conftest.made_by_session(before, str(log), str(tmp_path), me=os.getpid())
        assert left["ledgers"] == {"sharespec-ledger-0-1-2-x"}
    finally:
        import ctypes
        ctypes.CDLL(None).shmctl(ident, 0, None)      # IPC_RMID
        for name in names:
            os.unlink(os.path.join("/dev/shm", name))
        if (tmp_path / "sharespec-ledger-0-1-2-x").exists():
            (tmp_path / "sharespec-ledger-0-1-2-x").rmdir()
