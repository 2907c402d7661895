"""The bundled implementation at the program break (impl/worker.py _break_base, _brk): @brk
places count from the case process's break, and a break moved by anyone but the case (the C
library's malloc) makes the step an error rather than a lowering under malloc's heap."""
import subprocess
import sys

from impl_cases import ROOT, run, step


def test_break_places_count_from_the_case_process_s_break():
    results = run([step("T0", "shmget", "S0", key="private", size=4096, creat=True),
                   step("T0", "brk", at=("@brk", 2, 0)),
                   step("T0", "shmat", "A0", segment="S0", at=("@brk", 1, 0)),
                   step("T0", "brk", at=("@brk", 0, 0)),
                   step("T0", "shmat", "A1", segment="S0", at=("@brk", 1, 0)),
                   step("T0", "brk", at=("@brk", 1, 0)),
                   step("T0", "shmctl", segment="S0", cmd="rmid")])
    assert results[1:] == ["ok", "EINVAL", "ok", "ok", "ENOMEM", "ok"]


# In a process of its own, so that this test's break is never moved: the worker's functions
# with the break moved behind them, as malloc would.
MOVED = """
import sys
sys.path.insert(0, %r)
from impl import syscalls, worker
assert worker._brk({"addr": 2 * 4096}) == ("ok", None)
top = syscalls.break_now()
assert syscalls.set_break(top + 4096) == "ok"          # someone else raises it
for call in (lambda: worker._brk({"addr": 0}), worker._break_base):
    try:
        call()
    except RuntimeError as error:
        assert "moved the program break" in str(error), error
    else:
        raise AssertionError("no error")
assert syscalls.break_now() == top + 4096              # not lowered under the other's pages
print("refused")
"""


def test_a_break_moved_by_someone_else_is_an_error_and_is_never_lowered():
    r = subprocess.run([sys.executable, "-c", MOVED % ROOT], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "refused", r.stdout + r.stderr
