"""Ctrl-C and SIGTERM as KeyboardInterrupt, with a latch that Python cannot swallow.

A KeyboardInterrupt raised by the handler lands wherever the interpreter happens to be. Inside
a finalizer (z3's ``AstRef.__del__`` runs all the time during a search) Python prints
"Exception ignored in ..." and goes on, so the command would finish and exit 0 as if nobody
had pressed Ctrl-C. The handler therefore also sets a latch, and the places that a long
command passes often (progress reports) and the end of every command check it."""
from __future__ import annotations

import sys

_received: list = []      # the signals the handler raised for, oldest first


def interrupt(signum, frame) -> None:
    """The SIGINT/SIGTERM handler of a command that may be interrupted."""
    _received.append(signum)
    raise KeyboardInterrupt


def drop_lost_interrupt(unraisable) -> None:
    """sys.unraisablehook while interrupts are armed: a finalizer that fails once a signal has
    come (the handler's KeyboardInterrupt landed in it, bare or wrapped by ctypes as
    "ArgumentError: argument 2: KeyboardInterrupt") is not printed ("Exception ignored in" and
    a traceback), since the latch carries the interrupt to a place where the command stops;
    before any signal, a failing finalizer goes to Python's hook as usual."""
    if came():
        return
    sys.__unraisablehook__(unraisable)


def came() -> bool:
    """A signal came that nothing has handled yet (lost in a finalizer, or wrapped in another
    exception by a C layer)."""
    return bool(_received)


def raise_if_swallowed() -> None:
    """Raise the KeyboardInterrupt again if a signal came and nothing has handled it yet:
    call where stopping is safe."""
    if came():
        raise KeyboardInterrupt


def handled() -> None:
    """The interrupt is being handled (the command stops, exit 130): the latch is cleared."""
    _received.clear()
