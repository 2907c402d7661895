"""benchmarks/emulator_checks.c, the standalone program behind docs/emulators.md: on this
host's kernel every check must read "as Linux" (else the check itself is wrong about Linux,
and what it says of an emulator means nothing). Rules: C01 C05 R27 R30 R39 R40 R41 R42."""
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "benchmarks" / "emulator_checks.c"
CC = shutil.which("cc") or shutil.which("gcc")


@pytest.mark.skipif(CC is None, reason="no C compiler (cc) to build benchmarks/emulator_checks.c")
def test_every_check_reads_as_linux_on_the_host(tmp_path):
    program = tmp_path / "emulator_checks"
    subprocess.run([CC, "-O2", "-Wall", "-Werror", "-o", str(program), str(SOURCE)], check=True)
    done = subprocess.run([str(program)], capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout
    assert lines[-1] == "0 deviation(s)"
    checks = lines[:-1]
    assert len(checks) >= 15 and all(line.endswith("as Linux") for line in checks), done.stdout
