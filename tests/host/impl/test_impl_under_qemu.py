"""The bundled implementation wrapped in an emulator, as the README's "Verify your
implementation" shows it: qemu-x86_64 (Debian's qemu-user; .ci/run installs it) runs
built-in cases to PASS and leaves nothing behind. qemu-user lacks PR_SET_CHILD_SUBREAPER and
ignores MADV_DONTFORK (docs/emulators.md): this is the fallbacks of impl/features.py at work
on a real wrapper, not a switch. Skipped, saying why, where qemu-x86_64 is not installed."""
import os
import platform
import shlex
import shutil
import sys

import pytest

from impl_cases import ROOT, adopted_zombies, children_of
from sharespec.runner import run_cases
from sharespec.suite import builtin_cases

QEMU = shutil.which("qemu-x86_64")
pytestmark = [
    pytest.mark.skipif(QEMU is None, reason="qemu-x86_64 is not installed (Debian: apt-get "
                       "install qemu-user); the bundled implementation is not run under it"),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the cases' constants are x86-64's"),
]

CASES = {c.name: c for c in builtin_cases()}
# Fork, grandchildren, an orphan, threads, SysV, POSIX shm, exec (which leaves the emulator: a
# native execve of the same Python), copy-on-write: none of them meets a qemu deviation.
PASSING = ["r10-shared-anon-fork", "r09-sysv-grandchild", "r28-nattch-fork-exit",
           "r15-threads-share-private", "r46-shm-unlink-shared-child", "r11-private-anon-cow",
           "c04-exec-removes-mappings", "r34-fork-from-thread-child-alone"]


def qemu_command():
    """The README's command, with the real Python (a venv's python is a symlink, which the
    emulated program would not resolve to its standard library the same way)."""
    return "%s -E PYTHONPATH=%s %s -S -m impl" % (QEMU, shlex.quote(ROOT),
                                                  shlex.quote(os.path.realpath(sys.executable)))


def test_built_in_cases_pass_under_qemu_user_and_leave_nothing(no_leaks):
    before = children_of(os.getpid(), zombies=True)
    results = {r.case.name: r for r in run_cases([CASES[n] for n in PASSING], impl=qemu_command(),
                                                timeout=60)}
    assert {n: (r.verdict, r.detail) for n, r in results.items()} == {
        n: ("PASS", "") for n in PASSING}
    assert children_of(os.getpid()) - before == set(), "a live process was left"
    adopted_zombies(before)       # qemu has no subreaper: the killed orphans came back here


def test_under_qemu_user_the_features_found_are_named():
    """What the implementation finds under qemu-user: qemu 7.2 has no subreaper, and says
    EINVAL (docs/emulators.md); every feature is named, available or missing with a reason."""
    import subprocess
    done = subprocess.run(shlex.split(qemu_command()) + ["--features"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(None, 1) for line in done.stdout.splitlines())
    assert set(lines) == {"subreaper", "pdeathsig", "pidfd", "pagemap", "other_exec",
                          "ipc_namespace", "hugepages_empty"}
    assert all(v == "available" or (v.startswith("missing: ") and len(v) > 10)
               for v in lines.values()), lines
    if b"version 7.2" in subprocess.run([QEMU, "--version"], capture_output=True).stdout:
        assert lines["subreaper"] == "missing: prctl(PR_SET_CHILD_SUBREAPER): EINVAL"
