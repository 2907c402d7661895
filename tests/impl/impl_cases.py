"""Builders for hand-written cases in the JSON form of docs/case-format.md (tests only)."""
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
