"""Mutants leave nothing behind either: benchmarks/mutation.py runs every mutant over
thousands of generated cases, and a mutant's bug must not turn into a leaked segment.

The leak this guards against: threads-as-processes makes ``spawn`` fork a process the
executor is never told about, so a segment that "thread" created had a creator outside the
case's known processes, and the executor's clean-up (which removes only segments created by
the case's processes) left it behind, nattch 0, its creator dead.

Each run goes in a private IPC namespace (unshare), so whatever the mutant leaves is seen
there alone (other runs on the machine cannot disturb the count) and dies with the namespace
(a regression cannot dirty the host)."""
import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache

import pytest

from sharespec.runner import resolve_impl

# The "thread" T1 creates segments (private and keyed), T0 one of its own; T1 then ends
# (a forked "thread" whose thread_exit does not end it) and more follow.
SPAWNED_THREAD_MAKES_SEGMENTS = """\
case spawned-thread-makes-segments
profile linux
origin handwritten
T0: T1 = spawn()
T1: S0 = shmget(private, 4096, creat)
T1: S1 = shmget(k1, 8192, creat)
T0: S2 = shmget(private, 4096, creat)
T1: A0 = shmat(S0)
T1: write(A0, 3)
"""
THREAD_TWO_LEVELS = """\
case spawned-threads-two-levels
profile linux
origin handwritten
T0: T1 = spawn()
T1: T2 = spawn()
T2: S0 = shmget(private, 4096, creat)
T1: S1 = shmget(private, 4096, creat)
"""
# The "thread" belongs to a forked child, and lives on when the case ends well, until the
# clean-up kills the case's process group: its segment's creator is one the executor never knew.
THREAD_OF_A_CHILD = """\
case thread-of-a-child-makes-a-segment
profile linux
origin handwritten
T0: T1 = fork()
T1: T2 = spawn()
T2: S0 = shmget(private, 4096, creat)
T0: S1 = shmget(private, 4096, creat)
"""
CASES = [SPAWNED_THREAD_MAKES_SEGMENTS, THREAD_TWO_LEVELS, THREAD_OF_A_CHILD]

# Runs in the private namespace: the cases through one CommandSession (as mutation.py's hunt
# and kit.shrink_result do), stopped, then the namespace's segment table.
HELPER = """
import ctypes, json, os, sys
from sharespec.kit import CommandSession
from sharespec.model.case_text import case_from_text

# every process the cases leave behind comes here when its parent ends (a child subreaper)
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)

def leftover_processes():
    # (pid, state) of every child of this process: after the session, any is a process of the
    # cases that outlived them (its parents ended, so it came here). Each is killed and reaped.
    left = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            left.append((int(entry), fields[0]))
            os.kill(int(entry), 9)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return left

def table():
    with open("/proc/sysvipc/shm") as f:
        return [line.split()[1:5] for line in f.readlines()[1:]]

command, texts = sys.argv[1], json.loads(sys.argv[2])
before = table()
session = CommandSession(command, "linux", 10.0)
try:
    results = [list(session.run(case_from_text(t, "<test>")).results) for t in texts]
finally:
    session.close()
print(json.dumps({"before": before, "results": results, "after": table(),
                  "processes": leftover_processes()}))
"""


@lru_cache(maxsize=1)
def private_ipc_prefix():
    """The command prefix that runs a program in a private IPC namespace, or None."""
    if shutil.which("unshare") is None:
        return None
    prefixes = [["unshare", "--ipc"]] if os.geteuid() == 0 else []
    prefixes.append(["unshare", "--user", "--map-root-user", "--ipc"])
    for prefix in prefixes:
        probe = subprocess.run(prefix + ["true"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return prefix
    return None


def run_in_private_namespace(command, texts=CASES):
    """{"before", "results", "after"}: the namespace's segments before and after the cases ran
    against ``command`` (stopped in between), and each case's results."""
    done = subprocess.run(private_ipc_prefix() + [sys.executable, "-c", HELPER, command,
                                                  json.dumps(texts)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


needs_namespace = pytest.mark.skipif(private_ipc_prefix() is None,
                                     reason="no private IPC namespace here (unshare)")


@needs_namespace
def test_threads_as_processes_leaves_no_segment():
    seen = run_in_private_namespace(resolve_impl("mutant:threads-as-processes"))
    assert seen["before"] == []
    # not vacuous: the "threads" really created their segments (the mutant ran the cases)
    assert seen["results"][0][:4] == ["ok", "new", "new", "new"], seen["results"]
    assert seen["results"][1] == ["ok", "ok", "new", "new"], seen["results"]
    assert seen["results"][2] == ["ok", "ok", "new", "new"], seen["results"]
    assert seen["after"] == [], "segments left behind (id, mode, size, creator): %s" % seen["after"]
    assert seen["processes"] == [], "processes left behind (pid, state): %s" % seen["processes"]


@needs_namespace
def test_the_bundled_implementation_leaves_no_segment_either():
    """The same cases on the correct implementation (threads really are threads)."""
    seen = run_in_private_namespace(" ".join(["env", "PYTHONPATH=" + os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))), sys.executable, "-S", "-m", "impl"]))
    assert seen["results"] == [["ok", "new", "new", "new", "ok", "ok"], ["ok", "ok", "new", "new"],
                               ["ok", "ok", "new", "new"]], seen["results"]
    assert seen["after"] == [] and seen["processes"] == []


# Mutants whose bug keeps something alive past where Linux ends it: a process holding the
# attaches of one that exited (a "keeper"), a removal left undone, a segment held removed.
# Each runs its own witness (tests/host/mutant_cases) and a case that exits with attaches of a
# removed keyed segment; nothing may be left in the namespace.
LINGERING = ["exit-keeps-attaches", "last-thread-exit-keeps-attaches", "rmid-unattached-deferred",
             "rmid-ignored", "rmid-forgets-identifier", "removed-key-still-found",
             "shm-unlink-destroys"]
EXIT_WITH_REMOVED_ATTACH = """\
case exit-with-removed-attach
profile linux
origin handwritten
T0: S0 = shmget(k1, 4096, creat)
T0: T1 = fork()
T1: A0 = shmat(S0)
T1: T2 = fork()
T0: shmctl(S0, rmid)
T2: thread_exit()
T1: exit()
"""


@needs_namespace
@pytest.mark.parametrize("name", LINGERING)
def test_a_mutant_that_keeps_things_alive_leaves_nothing(name):
    from pathlib import Path
    witness = (Path(__file__).resolve().parent / "mutant_cases" / f"{name}.case").read_text()
    seen = run_in_private_namespace(resolve_impl(f"mutant:{name}"),
                                    [witness, EXIT_WITH_REMOVED_ATTACH])
    assert len(seen["results"][1]) == 7, seen["results"]      # the cases really ran
    assert seen["after"] == [], "segments left behind (id, mode, size, creator): %s" % seen["after"]
    assert seen["processes"] == [], "processes left behind (pid, state): %s" % seen["processes"]
