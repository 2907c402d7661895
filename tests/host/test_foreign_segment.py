"""Never touch what is not ours: a segment someone else made before the run, with a key
sharespec might choose, is never read, written, attached or removed; and parallel workers and
parallel runs on the same machine never collide on keys, names or files."""
import ctypes
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sharespec.impl import executor, hygiene
from sharespec.impl.syscalls import IPC_CREAT, IPC_EXCL, IPC_RMID, IPC_STAT

ROOT = Path(__file__).resolve().parents[2]
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]

PATTERN = bytes(range(256)) * 16       # 4096 bytes


def stat(ident):
    """(key, nattch, atime, dtime, lpid) of a segment, by IPC_STAT (which changes none of them)."""
    buf = ctypes.create_string_buffer(256)
    assert libc.shmctl(ident, IPC_STAT, buf) == 0, os.strerror(ctypes.get_errno())
    raw = buf.raw
    return (struct.unpack_from("<i", raw, 0)[0], struct.unpack_from("<Q", raw, 88)[0],
            struct.unpack_from("<q", raw, 56)[0], struct.unpack_from("<q", raw, 64)[0],
            struct.unpack_from("<i", raw, 84)[0])


@pytest.fixture
def foreign_segment():
    """A keyed segment of this test process (not of sharespec), holding PATTERN."""
    for key in range(0x13572468, 0x13572468 + 1000):
        ident = libc.shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0o600)
        if ident != -1:
            break
    else:
        pytest.skip("no free key for the foreign segment")
    address = libc.shmat(ident, None, 0)
    ctypes.memmove(address, PATTERN, len(PATTERN))
    libc.shmdt(address)
    try:
        yield key, ident
    finally:
        libc.shmctl(ident, IPC_RMID, None)


KEYED_CASE = {"format": "sharespec-case", "version": 1, "name": "keyed", "steps": [
    {"thread": "T0", "op": "shmget", "bind": "S0", "args": {"key": "k1", "size": 4096,
                                                            "creat": True}},
    {"thread": "T0", "op": "shmat", "bind": "A0", "args": {"segment": "S0"}},
    {"thread": "T0", "op": "write", "args": {"at": {"mapping": "A0"}, "value": 99}},
    {"thread": "T0", "op": "shmget", "bind": "S1", "args": {"key": "k2", "size": 4096}},
    {"thread": "T0", "op": "shmctl", "args": {"segment": "S0", "cmd": "stat"}},
]}


def test_a_foreign_segment_with_the_key_sharespec_draws_first_is_left_untouched(
        foreign_segment, monkeypatch):
    key, ident = foreign_segment
    before = stat(ident)
    drawn = []
    real = hygiene.random.randrange

    def draw(low, high):                 # the first key drawn is the foreign one, every time
        value = key if len(drawn) % 2 == 0 else real(low, high)
        drawn.append(value)
        return value

    monkeypatch.setattr(hygiene.random, "randrange", draw)
    observation = executor.run_case(KEYED_CASE, 10)
    # the case ran as on a machine without the foreign segment: k1 new (created, zero, ours),
    # k2 absent (shmget without creat finds nothing), and the stat shows our own segment
    assert observation["results"] == ["new", "ok", "ok", "ENOENT",
                                      "stat(nattch=1,segsz=4096,dest=0,key=k1)"], observation
    assert drawn.count(key) >= 2         # the foreign key was drawn, for k1 and for k2, and refused
    assert stat(ident) == before         # never attached (nattch, atime, dtime, lpid unchanged)
    address = libc.shmat(ident, None, 0)
    try:
        assert ctypes.string_at(address, len(PATTERN)) == PATTERN     # never written
    finally:
        libc.shmdt(address)


def test_a_foreign_private_segment_is_not_swept(monkeypatch):
    """Clean-up removes segments by creator; a private segment of another process (here this
    test) that exists during a case survives it, even if the case made and leaked some."""
    ident = libc.shmget(0, 4096, IPC_CREAT | 0o600)
    try:
        case = dict(KEYED_CASE, steps=KEYED_CASE["steps"][:3])
        observation = executor.run_case(case, 10)
        assert observation["status"] == "done"
        assert stat(ident)[1] == 0      # still there (IPC_STAT works), unattached
    finally:
        libc.shmctl(ident, IPC_RMID, None)


def segments():
    with open("/proc/sysvipc/shm") as table:
        return {int(line.split()[1]) for line in table.readlines()[1:]}


def test_two_concurrent_runs_with_two_workers_each_never_collide(tmp_path):
    """Two `sharespec run -j 2` at once (four executors, the same built-in cases with the same
    key and object names): every case passes in both, and nothing is left."""
    before_segments = segments()
    before_names = {n for n in os.listdir("/dev/shm") if n.startswith("sharespec")}
    runs = [subprocess.Popen([sys.executable, "-m", "sharespec", "run", "-q", "-j", "2",
                              "--generated", "0", "--no-shrink",
                              "--out", str(tmp_path / "failures")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs):
        assert run.returncode == 0, stdout[-3000:] + stderr[-2000:]
        assert " 0 failed, 0 inconclusive, 0 not applicable, 0 errors" in stdout, stdout[-1000:]
    deadline = time.monotonic() + 3
    while True:
        new = (segments() - before_segments,
               {n for n in os.listdir("/dev/shm") if n.startswith("sharespec")} - before_names)
        if new == (set(), set()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert new == (set(), set())


def test_executors_draw_names_apart():
    """The names of a case carry the executor's pid: two executors cannot draw the same."""
    plan = executor.protocol.parse_case({"format": "sharespec-case", "version": 1, "steps": [
        {"thread": "T0", "op": "open", "bind": "F0", "args": {"kind": "shm", "name": "obj",
                                                              "creat": True}}]})
    names = hygiene.Namespace(plan)
    names.create()
    try:
        assert names.shm_name("obj").startswith("/sharespec-%d." % os.getpid())
    finally:
        names.remove()
