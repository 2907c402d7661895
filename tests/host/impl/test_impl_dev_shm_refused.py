"""/dev/shm refusing (read-only, or an 8 KiB tmpfs): the case that meets it says so in its
observation, the clean-up does not die, and the next case runs as if nothing happened (issue
13: the bundled implementation died in clean-up, and the ERROR was charged to the next case).

Each run is in a mount namespace of its own, on a tmpfs mounted there over /dev/shm (made
read-only after it is mounted: its own superblock, never the host's), so the host's /dev/shm
is neither seen nor changed."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from impl_cases import ROOT, case, step

SIZE = 65536


def object_case(kind):
    """Open a file or shm object, size it, map it, and write four pages of it."""
    steps = [step("T0", "open", "F0", kind=kind, name="data", creat=True),
             step("T0", "ftruncate", fd="F0", length=SIZE),
             step("T0", "mmap", "M0", shared=True, prot="rw", length=SIZE, fd="F0")]
    steps += [step("T0", "write", at=("M0", page, 0), value=1) for page in range(4)]
    return case(steps, name=kind)


NEXT = case([step("T0", "shmget", "S0", key="private", size=4096, creat=True)], name="next")


def run_with_dev_shm(tmp_path, options, read_only):
    """The command line, three cases, with a tmpfs of `options` on /dev/shm (then made
    read-only when asked); (observations, standard error, exit status)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(c) + "\n"
                             for c in (object_case("file"), object_case("shm"), NEXT)))
    script = ("set -e; mount -t tmpfs -o %s sharespec-test /dev/shm; %s"
              'exec "$0" -S -m impl --timeout 20 < "$1"'
              % (options, "mount -o remount,ro /dev/shm; " if read_only else ""))
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                           sys.executable, str(cases)],
                          capture_output=True, text=True, env=env, timeout=120)
    if done.returncode != 0 and not done.stdout and ("Operation not permitted" in done.stderr
                                                     or "Permission denied" in done.stderr):
        pytest.skip("a mount namespace with its own /dev/shm is not permitted here: "
                    + done.stderr.strip()[-200:])
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr, done.returncode


def test_read_only_dev_shm(tmp_path):
    observations, err, status = run_with_dev_shm(tmp_path, "size=1m", read_only=True)
    assert status == 0 and "Traceback" not in err, err[-3000:]
    assert [o["case"] for o in observations] == ["file", "shm", "next"]
    files, objects, after = observations
    assert files["status"] == "error" and files["detail"].startswith("environment: ")
    assert "EROFS" in files["detail"]
    assert objects["status"] == "done" and objects["results"][0] == "EROFS"
    assert after["status"] == "done" and after["results"] == ["new"]
    assert "clean-up" not in err        # nothing was left: nothing to report


def test_full_dev_shm(tmp_path):
    """8 KiB: two pages; the third page written dies of SIGBUS, and the observation says
    how much room /dev/shm had."""
    observations, err, status = run_with_dev_shm(tmp_path, "size=8k", read_only=False)
    assert status == 0 and "Traceback" not in err, err[-3000:]
    assert [o["case"] for o in observations] == ["file", "shm", "next"]
    for observation in observations[:2]:
        assert observation["status"] == "done"
        assert observation["results"] == ["ok"] * 5 + ["SIGBUS", "dead"], observation
        assert observation["detail"] == ("environment: SIGBUS at step 6 while /dev/shm had "
                                         "0 of 8192 bytes free"), observation
    assert observations[2]["results"] == ["new"]
