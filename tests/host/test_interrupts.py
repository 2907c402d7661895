"""A Ctrl-C that Python swallows (raised inside a finalizer such as z3's AstRef.__del__) still
stops the command: the handler's latch (sharespec/interrupts.py) raises it again at the next
progress report, and a command that returns anyway ends in exit 130."""
import gc
import io
import types

import pytest

from sharespec import cli, interrupts
from sharespec.generators.z3_progress import CoverageProgress

# the swallowed KeyboardInterrupt is what these tests make on purpose
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class _InterruptedFinalizer:
    def __del__(self):
        interrupts.interrupt(2, None)      # the signal arrives while a finalizer runs


def _swallow_one():
    _InterruptedFinalizer()
    gc.collect()                         # Python prints "Exception ignored in" and goes on


def test_a_swallowed_interrupt_is_raised_at_the_next_progress_report():
    try:
        _swallow_one()                   # no exception comes out here
        progress = CoverageProgress(io.StringIO(), tty=False)
        with pytest.raises(KeyboardInterrupt):
            progress.phase("shortest programs of 3 steps")
    finally:
        interrupts.handled()


def test_a_command_that_returns_after_a_swallowed_interrupt_exits_130(monkeypatch, capsys):
    def finishing_command(args):
        _swallow_one()
        return 0
    command = types.SimpleNamespace(main=finishing_command, HELP="test", ARMS_INTERRUPTS=True,
                                    add_arguments=lambda parser: None)
    monkeypatch.setattr(cli, "command_modules", lambda: {"finish": command})
    assert cli.main(["finish"]) == 130
    assert "interrupted" in capsys.readouterr().err
    interrupts.raise_if_swallowed()      # handled: the latch is clear again


def test_an_interrupt_wrapped_by_ctypes_exits_130(monkeypatch, capsys):
    """z3's ctypes layer turns a KeyboardInterrupt raised while it converts an argument into
    ctypes.ArgumentError; the latch, not the message, tells it from a real argument error."""
    import ctypes

    def wrapped(args):
        try:
            interrupts.interrupt(2, None)
        except KeyboardInterrupt as e:
            raise ctypes.ArgumentError("argument 2: <class 'KeyboardInterrupt'>") from e

    def bad_argument(args):
        raise ctypes.ArgumentError("argument 1: wrong type")

    for name, main in (("wrapped", wrapped), ("bad", bad_argument)):
        command = types.SimpleNamespace(main=main, HELP="test", ARMS_INTERRUPTS=True,
                                        add_arguments=lambda parser: None)
        monkeypatch.setattr(cli, "command_modules", lambda command=command, name=name: {name: command})
        if name == "wrapped":
            assert cli.main([name]) == 130
        else:
            with pytest.raises(ctypes.ArgumentError):
                cli.main([name])
    assert not interrupts.came()
