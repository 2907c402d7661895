"""Builders for hand-written cases in the JSON form of docs/case-format.md, and what a test
sees of the host (segments, processes) to tell that nothing was left (tests only)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The folder under test, imported by its own name (it uses relative imports only, so it is the
# same code as sharespec.impl; the installed name is exercised by the command-line tests).
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from impl import run_case  # noqa: E402


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
    with open("/proc/sysvipc/shm") as table:
        next(table)
        return sorted((int(line.split()[1]), int(line.split()[4])) for line in table)


def descendants(root=None):
    root = os.getpid() if root is None else root
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as stat:
                    parent[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                pass
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def snapshot():
    return {"segments": set(segments()), "dev_shm": set(os.listdir("/dev/shm")),
            "processes": descendants()}
