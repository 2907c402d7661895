"""Builders for hand-written cases in the JSON form of docs/case-format.md, the command line
a case at a time (Cli), and what a test sees of the host (segments, processes) to tell that
nothing was left (tests only)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# The folder under test, imported by its own name (it uses relative imports only, so it is the
# same code as sharespec.impl; the installed name is exercised by the command-line tests).
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from impl import run_case  # noqa: E402
import host_tables as host  # noqa: E402  (tests/support)


def at(mapping, page=0, offset=0):
    return {"mapping": mapping, "page": page, "offset": offset}


def step(thread, op, bind=None, **args):
    """One step; a handle argument that is a place may be given as "M0" or ("M0", page, offset)."""
    for name in ("at",):
        if isinstance(args.get(name), str):
            args[name] = at(args[name])
        elif isinstance(args.get(name), tuple):
            args[name] = at(*args[name])
    found = {"thread": thread, "op": op, "args": args}
    if bind is not None:
        found["bind"] = bind
    return found


def case(steps, name="test", rules=()):
    return {"format": "sharespec-case", "version": 1, "name": name, "profile": "linux",
            "rules": list(rules), "origin": "handwritten", "description": "", "steps": list(steps)}


def run(steps, timeout=10.0):
    """The observed results of a case that must finish."""
    observation = run_case(case(steps), timeout)
    assert observation["status"] == "done", observation
    assert len(observation["results"]) == len(steps)
    return observation["results"]


# --- short forms of the common steps -------------------------------------------------

def shmget(thread, bind, key="private", size=4096, creat=True, excl=False):
    return step(thread, "shmget", bind, key=key, size=size, creat=creat, excl=excl)


def shmat(thread, bind, segment, **args):
    return step(thread, "shmat", bind, segment=segment, **args)


def anon(thread, bind, length=4096, shared=False, prot="rw", **args):
    return step(thread, "mmap", bind, shared=shared, prot=prot, length=length, fd=None, **args)


def read(thread, place):
    return step(thread, "read", at=place)


def write(thread, place, value):
    return step(thread, "write", at=place, value=value)


def stat(thread, segment):
    return step(thread, "shmctl", segment=segment, cmd="stat")


def rmid(thread, segment):
    return step(thread, "shmctl", segment=segment, cmd="rmid")


# --- what the host has --------------------------------------------------------------

def segments():
    """(shmid, creator pid) of every SysV segment."""
    return sorted((ident, row["cpid"]) for ident, row in host.segment_table().items())


def process_table():
    """pid -> (state letter, parent pid) of every process (Z: dead, not yet reaped)."""
    return {pid: (fields[0], int(fields[1])) for pid, fields in host.process_table().items()}


def descendants(root=None):
    return host.descendants(os.getpid() if root is None else root)


def children_of(pid, zombies=False):
    """The children of pid: live ones, and with zombies=True the dead not yet reaped too."""
    return {child for child, (state, ppid) in process_table().items()
            if ppid == pid and (zombies or state != "Z")}


def process_state(pid):
    """The state letter of /proc/PID/stat (Z: dead, not yet reaped), None once it is gone."""
    return process_table().get(pid, (None, None))[0]


def adopted_zombies(before):
    """The dead processes that came back to this test (the subreaper of everything it starts,
    see conftest.py) since `before`: the case processes of an implementation that is no subreaper
    (SHARESPEC_IMPL_DISABLE=subreaper, or an emulator without PR_SET_CHILD_SUBREAPER).
    Reaped here, as init would reap them; their pids are returned."""
    found = set()
    for pid in children_of(os.getpid(), zombies=True) - before:
        if process_table().get(pid, ("", 0))[0] == "Z":
            os.waitpid(pid, 0)
            found.add(pid)
    return found


def snapshot():
    return {"segments": set(segments()), "dev_shm": set(os.listdir("/dev/shm")),
            "processes": descendants()}


# --- the command line -----------------------------------------------------------------

class Cli:
    """The command line, a case at a time (hang: the number of a step that never ends, see
    tests/support/hanging_impl.py)."""

    def __init__(self, ledger=None, hang=None):
        extra = ["--ledger", ledger] if ledger else []
        env = dict(os.environ, PYTHONPATH=ROOT)
        argv = [sys.executable, "-S", "-m", "impl"]
        if hang is not None:
            argv = [sys.executable, "-S", os.path.join(ROOT, "tests", "support", "hanging_impl.py"),
                    str(hang)]
        self.proc = subprocess.Popen(argv + ["--timeout", "10"] + extra, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)

    def run(self, steps, name="test"):
        self.proc.stdin.write((json.dumps(case(steps, name=name)) + "\n").encode())
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0
