"""sharespec's way out of an interrupt (sharespec/cli.py ``_interrupted``): one line on standard
error and status 130, and nothing after it. An object the interrupt cut off in its __init__
(z3's AstRef before it set self.ctx) fails in its __del__ later, and Python printed "Exception
ignored in" with a traceback after the message (a CI run of test_z3_progress met it once)."""
from __future__ import annotations

import ctypes
import gc
import sys

import pytest

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


class _Interrupted:
    """A finalizer that the signal handler interrupts (z3's AstRef.__del__ in a search)."""

    def __del__(self):
        interrupts.interrupt(2, None)


class _WrappedByCtypes:
    """What z3's ctypes layer makes of the handler's KeyboardInterrupt (the next CI run)."""

    def __del__(self):
        interrupts._received.append(2)
        raise ctypes.ArgumentError("argument 2: KeyboardInterrupt: ")


@pytest.mark.parametrize("finalizer", [_Interrupted, _WrappedByCtypes])
def test_an_interrupt_that_lands_in_a_finalizer_prints_nothing_and_stays_latched(finalizer,
                                                                                   capsys,
                                                                                   monkeypatch):
    # the last CI runs: the handler's KeyboardInterrupt landed in AstRef.__del__, bare or
    # wrapped by ctypes, and Python printed "Exception ignored in" with a traceback before
    # "sharespec: interrupted"
    monkeypatch.setattr(sys, "unraisablehook", interrupts.drop_lost_interrupt)
    try:
        finalizer()
        gc.collect()
        assert interrupts.came()
    finally:
        interrupts.handled()
    assert capsys.readouterr().err == ""


def test_finalizer_failures_before_any_signal_still_reach_pythons_hook(capsys, monkeypatch):
    monkeypatch.setattr(sys, "unraisablehook", interrupts.drop_lost_interrupt)
    _CutOff()
    gc.collect()
    assert "AttributeError" in capsys.readouterr().err
