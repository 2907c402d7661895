"""sharespec's way out of an interrupt (sharespec/cli.py ``_interrupted``): one line on standard
error and status 130, and nothing after it. An object the interrupt cut off in its __init__
(z3's AstRef before it set self.ctx) fails in its __del__ later, and Python printed "Exception
ignored in" with a traceback after the message (a CI run of test_z3_progress met it once)."""
from __future__ import annotations

import gc
import sys

from sharespec import cli
from sharespec import interrupts


class _CutOff:
    """What an interrupted __init__ leaves: a finalizer that needs an attribute never set."""

    def __del__(self):
        self.ctx.ref()


def test_an_interrupted_command_says_so_once_and_prints_no_finalizer_traceback(capsys,
                                                                                 monkeypatch):
    # Python's own hook (pytest's would turn the traceback into a warning); restored afterwards
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
    monkeypatch.setattr(interrupts, "handled", lambda: None)
    assert cli._interrupted() == 130
    _CutOff()
    gc.collect()
    assert capsys.readouterr().err == "sharespec: interrupted\n"
