"""Clean-up removes only the segments a case provably made (impl/segments.py), never by
creator pid alone: a pid is reused, and a segment outlives its creator (issue 13, security)."""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from host_tables import segment_table
from impl_cases import ROOT, Cli, case, read, shmat, shmget, step, write
from impl import hygiene, processes, segments

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_RMID = 0o1000, 0


def exists(ident):
    return ident in segment_table()


class HeldProcess:
    """A child standing in for a case process: it makes a private segment each time it is
    told to (and says its id), and is not reaped until close(), so its pid stays its own."""

    def __init__(self):
        self.commands_r, self.commands_w = os.pipe()
        self.ids_r, self.ids_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                while os.read(self.commands_r, 1) == b"m":
                    ident = libc.shmget(0, 4096, IPC_CREAT | 0o600)
                    os.write(self.ids_w, ident.to_bytes(4, "little", signed=True))
            finally:
                os._exit(0)
        self.made = []

    def make(self):
        os.write(self.commands_w, b"m")
        ident = int.from_bytes(os.read(self.ids_r, 4), "little", signed=True)
        assert ident >= 0, os.strerror(ctypes.get_errno())
        self.made.append(ident)
        return ident

    def end(self):
        """It exits but is not reaped: a zombie, as a case process before its clean-up."""
        os.write(self.commands_w, b"x")
        os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)

    def close(self):
        for ident in self.made:
            libc.shmctl(ident, IPC_RMID, None)
        os.waitpid(self.pid, 0)
        for fd in (self.commands_r, self.commands_w, self.ids_r, self.ids_w):
            os.close(fd)


@pytest.fixture
def held():
    process = HeldProcess()
    try:
        yield process
    finally:
        process.close()


def test_a_segment_there_before_the_first_shmget_went_to_its_creator_pid_is_left(held):
    """The search after an unanswered shmget: a segment with a case pid as creator that was in
    the table before the first shmget command went to that process was made by an earlier
    holder of the pid (someone else): left. One made after it is the case's: removed."""
    foreign = held.make()                 # as if made by a dead process whose pid it now has
    made = segments.CaseSegments({})
    made.sending(held.pid, 1)             # the table before the case's first shmget there
    ours = held.make()                    # made, never answered (the process was killed)
    held.end()
    assert made.unanswered == 1
    assert hygiene.remove_segments({held.pid}, made) == []
    assert exists(foreign) and not exists(ours)


def test_without_an_unanswered_shmget_only_known_ids_are_removed(held):
    """Every answer was read: only the ids the case's shmgets returned are looked at."""
    other = held.make()
    made = segments.CaseSegments({})
    made.sending(held.pid, 1)
    ours = held.make()
    made.answered(held.pid, ours)
    held.end()
    assert hygiene.remove_segments({held.pid}, made) == []
    assert exists(other) and not exists(ours)


def test_a_process_that_never_got_a_shmget_made_nothing(held):
    """A segment whose creator is a case pid to which no shmget was ever sent is not the
    case's (its pid was someone else's when it was made), even when the case searches."""
    foreign = held.make()
    made = segments.CaseSegments({})
    made.unanswered = 1                   # some other process of the case was cut short
    held.end()
    assert hygiene.remove_segments({held.pid}, made) == []
    assert exists(foreign)


def test_a_known_id_now_someone_elses_is_left(held):
    """An id the case got, whose segment now shows a creator outside the case, is left."""
    foreign = held.make()
    made = segments.CaseSegments({})
    made.answered(12345678, foreign)      # "returned to case process 12345678"
    held.end()
    assert hygiene.remove_segments({12345678}, made) == []
    assert exists(foreign)


def test_a_removal_that_fails_is_retried_and_reported(held, monkeypatch):
    """shmctl(IPC_RMID) failing (EINVAL, say, from a fault injected) is never silent: the
    table shows the segment still there, so it is tried again, then reported."""
    made = segments.CaseSegments({})
    made.sending(held.pid, 1)
    ours = held.make()
    made.answered(held.pid, ours)
    held.end()
    calls = []
    monkeypatch.setattr(segments.syscalls, "shmctl_rmid", lambda ident: calls.append(ident)
                        or "EINVAL")
    problems = hygiene.remove_segments({held.pid}, made)
    assert calls == [ours] * segments.RMID_ATTEMPTS
    assert problems == ["segment %d left: shmctl(IPC_RMID) failed %d times (EINVAL)"
                        % (ours, segments.RMID_ATTEMPTS)]
    assert exists(ours)                   # (removed by the fixture)


# --- without a child subreaper: init may have reaped a case process (impl/segments.py) ----

@pytest.fixture
def no_subreaper(monkeypatch):
    monkeypatch.setattr(segments.features, "has", lambda name: name != "subreaper")


def test_without_a_subreaper_an_unreaped_creator_proves_the_search(held, no_subreaper):
    """No subreaper: a segment the search finds is the case's when its creator is still
    unreaped (its watch says so, after the table is read): removed; the foreign one left."""
    foreign = held.make()
    made = segments.CaseSegments({})
    made.watch(held.pid, processes.Watch(held.pid))
    made.sending(held.pid, 1)
    ours = held.make()
    held.end()                            # a zombie: its pid still its own
    assert hygiene.remove_segments({held.pid}, made) == []
    assert exists(foreign) and not exists(ours)


def test_without_a_subreaper_a_private_segment_of_a_reaped_creator_is_left_and_said(
        held, no_subreaper):
    """No subreaper: once its creator was reaped (by init, as an orphan), a private segment
    the search finds may be another's (the pid may have been reused): left, and reported,
    never removed by creator pid alone. (With a subreaper the same segment is removed.)"""
    made = segments.CaseSegments({})
    made.watch(held.pid, processes.Watch(held.pid))
    made.sending(held.pid, 1)
    ours = held.make()
    held.end()
    os.waitpid(held.pid, 0)               # reaped, as init reaps an orphan
    held.close = lambda: [libc.shmctl(i, IPC_RMID, None) for i in held.made] and None
    try:
        problems = hygiene.remove_segments({held.pid}, made)
        assert exists(ours)
        assert len(problems) == 1 and problems[0].startswith(
            "segment %d (creator %d, a pid of the case) left" % (ours, held.pid)), problems
        assert "subreaper" in problems[0]
    finally:
        for fd in (held.commands_r, held.commands_w, held.ids_r, held.ids_w):
            os.close(fd)


def test_without_a_subreaper_a_segment_of_the_case_key_is_removed(no_subreaper):
    """No subreaper, and no watch shows its creator unreaped: a segment with one of the case's
    own keys (drawn at random, free when drawn) is still provably the case's: removed; a
    private one made the same way is left and reported."""
    key = hygiene.Namespace(None)._free_key()
    me = os.getpid()                      # stands in for a case process nobody can identify
    made = segments.CaseSegments({"K0": key})
    made.sending(me, 2)
    keyed = libc.shmget(key, 4096, IPC_CREAT | 0o600)
    private = libc.shmget(0, 4096, IPC_CREAT | 0o600)
    try:
        assert keyed >= 0 and private >= 0
        problems = hygiene.remove_segments({me}, made)
        assert not exists(keyed) and exists(private)
        assert len(problems) == 1 and "segment %d (creator %d" % (private, me) in problems[0]
    finally:
        for ident in (keyed, private):
            libc.shmctl(ident, IPC_RMID, None)


def test_without_a_subreaper_a_pid_two_case_processes_had_proves_nothing(held, no_subreaper):
    """No subreaper: a pid that named two case processes (the first was reaped by init, the
    pid given again) does not prove a private segment's maker: left and reported."""
    made = segments.CaseSegments({})
    made.watch(held.pid, processes.Watch(held.pid))
    made.watch(held.pid, processes.Watch(held.pid))     # a second case process with it
    made.sending(held.pid, 1)
    ours = held.make()
    held.end()
    problems = hygiene.remove_segments({held.pid}, made)
    assert exists(ours) and len(problems) == 1 and "segment %d" % ours in problems[0]


def test_a_closed_watch_vouches_for_no_pid():
    """A watch closed (its pidfd gone) no longer says its process is unreaped, even when the
    pid is free: segments.py would otherwise take the pid alone as proof."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    watch = processes.Watch(pid)
    os.waitpid(pid, 0)
    watch.close()
    assert not watch.is_unreaped()


# --- the campaign's reproduction, in namespaces of its own --------------------------------

REPRODUCTION = textwrap.dedent("""\
    import ctypes, json, os, sys
    sys.path.insert(0, sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)

    def table():
        with open("/proc/sysvipc/shm") as t:
            return {int(l.split()[1]): int(l.split()[4]) for l in t.readlines()[1:]}

    for _ in range(400):        # foreign segments, another user's, by short-lived processes
        pid = os.fork()
        if pid == 0:
            if os.getuid() == 0:
                os.setuid(65534)
            os._exit(0 if libc.shmget(0, 4096, 0o1000 | 0o600) >= 0 else 1)
        assert os.waitpid(pid, 0)[1] == 0
    foreign = table()
    from impl import executor
    mapping = {"mapping": "M0", "page": 0, "offset": 0}
    steps = [{"thread": "T0", "op": "mmap", "bind": "M0", "args": {"prot": "none",
                                                                    "length": 4096}},
             {"thread": "T0", "op": "write", "args": {"at": mapping, "value": 1}},
             {"thread": "T0", "op": "shmget", "bind": "S0",
              "args": {"key": "private", "size": 4096, "creat": True}}]
    faulting = {"format": "sharespec-case", "version": 1, "name": "faults-then-shmget",
                "steps": steps}
    clean = dict(faulting, name="clean", steps=steps[:1])
    results = []
    for _ in range(5):          # the case's processes get the pids of the foreign creators
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(min(foreign.values()) - 1))
        results.append(executor.run_case(faulting, 10))
    # as the command line runs cases: a clean case, then the faulting one, in one executor
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(min(foreign.values()) - 1))
    for _ in range(3):
        assert executor.run_case(clean, 10)["results"] == ["ok"]
        results.append(executor.run_case(faulting, 10))
    print(json.dumps({"foreign": len(foreign), "removed": len(set(foreign) - set(table())),
                      "results": [o["results"] for o in results]}))
""")


@pytest.mark.parametrize("disabled", ["", "subreaper,pdeathsig,pidfd"],
                         ids=["all-features", "no-subreaper-nor-pidfds"])
def test_a_case_that_faults_before_its_shmget_removes_no_foreign_segment(tmp_path, disabled):
    """Issue 13: 400 private segments of dead processes (another user's), the pid counter set
    so that the case's processes get their pids, and a case whose process faults before its
    shmget (which is never answered): no foreign segment is removed, 5 times of 5. In pid and
    IPC namespaces of its own, so nothing else on the host is seen or touched. Also with the
    fallbacks of a wrapper (no subreaper, no pidfds: SHARESPEC_IMPL_DISABLE)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    script = tmp_path / "reproduction.py"
    script.write_text(REPRODUCTION)
    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--ipc",
                           sys.executable, "-S", str(script), ROOT],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, SHARESPEC_IMPL_DISABLE=disabled))
    if done.returncode != 0 and ("Operation not permitted" in done.stderr
                                 or "Permission denied" in done.stderr):
        pytest.skip("unshare --pid --ipc is not permitted here: " + done.stderr.strip()[-200:])
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["foreign"] == 400
    assert found["results"] == [["ok", "SIGSEGV", "dead"]] * 8
    assert found["removed"] == 0


# --- the ledger sweep after a killed executor ----------------------------------------------

def test_the_ledger_sweep_removes_only_what_the_ledger_names(held, tmp_path):
    """After a killed executor its case's pids prove nothing (they may have been reaped and
    reused): the sweep removes the segments the ledger names, reports one made by a case pid
    that it does not name (left), and removes /dev/shm entries under the case's run ids only."""
    named = held.make()
    unnamed = held.make()
    held.end()
    me = os.getpid()
    runid, other = "%d.0c1ea0u1" % me, "%d.0c1ea0u2" % me
    ours = os.path.join(hygiene.SHM_DIR, "sharespec-%s-obj" % runid)
    theirs = os.path.join(hygiene.SHM_DIR, "sharespec-%s-obj" % other)
    for path in (ours, theirs):
        open(path, "w").close()
    ledger = tmp_path / "ledger"
    ledger.write_text("names %s\ncase %d %d\npid %d\nsegment %d\n"
                      % (runid, int(time.time()) - 5, 999999999, held.pid, named))
    try:
        done = hygiene.sweep_ledger(str(ledger), me)
        assert ("segment", str(named)) in done
        assert ("name", "sharespec-%s-obj" % runid) in done
        problems = [text for kind, text in done if kind == "problem"]
        assert len(problems) == 1 and "segment %d left" % unnamed in problems[0], done
        assert not exists(named) and exists(unnamed)
        assert not os.path.exists(ours) and os.path.exists(theirs)
        assert not ledger.exists()
    finally:
        for path in (ours, theirs):
            if os.path.exists(path):
                os.unlink(path)


def test_the_table_is_read_whole():
    """/proc/sysvipc/shm comes a page or so per read: every segment is in what is read."""
    made = [libc.shmget(0, 4096, IPC_CREAT | 0o600) for _ in range(300)]
    try:
        assert min(made) >= 0
        assert set(made) <= set(segments.rows(segments.read_table()))
    finally:
        for ident in made:
            libc.shmctl(ident, IPC_RMID, None)


def test_case_processes_stay_unreaped_when_started_with_sigchld_ignored():
    """The proofs above rest on no case process being reaped before the clean-up. Started
    with SIGCHLD ignored (it stays ignored across fork and exec), the kernel would reap each
    case process as it died: its pid free for others, and how it ended lost (it was an
    error, "exited with status -1"). The executor restores the default."""
    steps = [shmget("T0", "S0"), shmat("T0", "A0", "S0"), step("T0", "fork", "T1"),
             write("T1", "A0", 7), step("T1", "exit"), read("T0", "A0")]
    done = subprocess.run([sys.executable, "-S", "-m", "impl"],
                          input=json.dumps(case(steps)) + "\n", capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=60,
                          preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
    observation = json.loads(done.stdout)
    assert observation["status"] == "done", observation
    assert observation["results"] == ["new", "ok", "ok", "ok", "ok", "7"]


def test_reaping_a_group_kills_it_once_then_only_asks(monkeypatch):
    """hygiene.reap_case sends SIGKILL to the case's group once, while its leader is not
    reaped (the group's id is then the case's); after that it only asks whether anyone is
    left (signal 0): once the last member is reaped, the id may be someone else's."""
    ready_r, ready_w = os.pipe()
    leader = os.fork()
    if leader == 0:
        try:
            os.setpgid(0, 0)
            if os.fork() == 0:          # a member that is not this process's child
                os.write(ready_w, b"x")
                time.sleep(60)
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"x"
        sent = []
        real = os.killpg
        monkeypatch.setattr(os, "killpg", lambda pgid, number: sent.append(number)
                            or real(pgid, number))
        hygiene.reap_case(leader)
        assert sent[0] == signal.SIGKILL and set(sent[1:]) == {0}, sent
        assert [entry for entry in os.listdir("/proc") if entry == str(leader)] == []
    finally:
        os.close(ready_r)
        monkeypatch.undo()
        try:
            os.killpg(leader, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_case_process_writes_the_segments_it_makes_to_the_ledger_at_once(tmp_path):
    """The ledger names each segment a case process makes as soon as shmget returns, written
    by that process (an exec'd one too), not by the executor once it reads the answer: a
    killed executor never reads it, and the sweep removes only what the ledger names."""
    ledger = tmp_path / "ledger"
    running = Cli(str(ledger), hang=2)       # the third step never ends
    try:
        line = json.dumps(case([step("T0", "exec"), shmget("T0", "S0"),
                                step("T0", "shmctl", segment="S0", cmd="stat")]))
        running.proc.stdin.write((line + "\n").encode())
        running.proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
                ledger.exists() and "segment " in ledger.read_text()):
            time.sleep(0.01)
        named = [int(line.split()[1]) for line in ledger.read_text().splitlines()
                 if line.startswith("segment ")]
        assert len(named) == 1 and exists(named[0])
    finally:
        running.proc.terminate()        # the executor kills the case and cleans up
        running.proc.wait(timeout=30)
    assert not exists(named[0])
