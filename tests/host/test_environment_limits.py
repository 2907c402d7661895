"""Environmental limits give INCONCLUSIVE with the errno, never FAIL and never PASS.

Provoked for real: the run goes in a private IPC namespace (unshare --ipc, as root) whose
SysV limits are lowered (kernel.shmmni: one segment at all; kernel.shmall: one page in all),
so a case needing two segments, or eight kilobytes, is refused by the kernel with ENOSPC."""
import json
import os
import shutil
import subprocess
import sys

import pytest

CASE = """\
case env-two-segments
profile linux
rules R09
origin handwritten

T0: S0 = shmget(private, 4096, creat)
T0: S1 = shmget(private, 8192, creat)
T0: A0 = shmat(S1)
T0: write(A0, 1)
T0: read(A0)
"""

LIMITS = {"shmmni": "1",      # the second shmget finds no free identifier
          "shmall": "1"}      # the second shmget finds no page left in the namespace's total


def can_unshare_ipc():
    if shutil.which("unshare") is None:
        return "no unshare command"
    if os.geteuid() != 0:
        return "needs root (a private IPC namespace whose limits can be written)"
    probe = subprocess.run(["unshare", "--ipc", "sh", "-c", "echo 1 > /proc/sys/kernel/shmmni"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return "unshare --ipc is refused here: " + probe.stderr.strip()
    return None


@pytest.mark.skipif(can_unshare_ipc() is not None, reason=str(can_unshare_ipc()))
@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_exhausted_sysv_limit_is_inconclusive_with_the_errno(tmp_path, limit):
    (tmp_path / "two.case").write_text(CASE)
    out = tmp_path / "results.jsonl"
    inner = ('echo %s > /proc/sys/kernel/%s && exec "$0" -m sharespec run --no-shrink -q '
             '--case two.case --json results.jsonl --out failures' % (LIMITS[limit], limit))
    done = subprocess.run(["unshare", "--ipc", "sh", "-c", inner, sys.executable],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    (case,) = [r for r in records if "verdict" in r]
    assert case["verdict"] == "INCONCLUSIVE", (case, done.stdout[-2000:], done.stderr[-2000:])
    assert case["step"] == 2 and case["observed"] == "ENOSPC", case
    assert "ENOSPC for shmget of 8192 bytes: the environment: kernel." + limit in case["detail"]
    assert case["results"][:2] == ["new", "ENOSPC"]
    # inconclusive is not a failure (1), but a run that learnt nothing is not green either (3)
    assert done.returncode == 3


def test_the_same_case_passes_without_the_limit(tmp_path):
    """The control: with the host's limits the case runs to the end and passes, so the
    INCONCLUSIVE above comes from the limit alone."""
    (tmp_path / "two.case").write_text(CASE)
    done = subprocess.run([sys.executable, "-m", "sharespec", "run", "--no-shrink", "-q",
                           "--case", "two.case", "--json", "results.jsonl", "--out", "failures"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    (case,) = [r for r in records if "verdict" in r]
    assert case["verdict"] == "PASS" and case["results"] == ["new", "new", "ok", "ok", "1"], case
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
