"""sharespec: check how an operating system shares memory between processes and threads.

Each command is a module of sharespec/commands/.

Exit status: 0 all passed, 1 something failed (or broke the protocol), 2 bad usage or input
(with a message naming the file, the place and the problem, and nothing half-written),
130 interrupted.
"""
from __future__ import annotations

# The very first lines the command runs (sharespec/__init__.py is next to nothing): from here
# on, SIGINT and SIGTERM are held until the command is ready to stop cleanly (arm_interrupts),
# so that one that comes while the modules are imported or the arguments read neither kills
# the run (exit -15) nor prints a traceback (KeyboardInterrupt in an import): it is acted on
# as soon as it can be, with exit 130 and the partial report. Only a signal that comes before
# the interpreter reaches this line cannot be handled (README, "Parallel workers, and runs
# that survive anything"). Imported by something else (tests calling main()), nothing changes.
import signal
import sys

_held: list = []          # the signals that came while held, oldest first


def _hold(signum, frame) -> None:
    _held.append(signum)


def _started_as_command() -> bool:
    """Run as `sharespec` (the console script) or `python -m sharespec`, not imported."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if spec is not None and spec.name == "sharespec.__main__":
        return True
    return (sys.argv[0] or "").rsplit("/", 1)[-1] == "sharespec"


AS_COMMAND = _started_as_command()
if AS_COMMAND:
    signal.signal(signal.SIGINT, _hold)
    signal.signal(signal.SIGTERM, _hold)

import argparse
import ctypes
import importlib
import pkgutil
from typing import Optional, Sequence

from sharespec import __version__, interrupts
from sharespec.commands.common import UsageError

# The order commands are listed in; modules not named here follow alphabetically.
ORDER = ("run", "show", "generate", "shrink")


def command_modules() -> dict:
    import sharespec.commands as package
    names = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name != "common"]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return {n: importlib.import_module(f"sharespec.commands.{n}") for n in names}


def _parser(commands: dict) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sharespec", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"sharespec {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in commands.items():
        module.add_arguments(sub.add_parser(name.replace("_", "-"), help=module.HELP,
                                            description=module.HELP))
    return p


def arm_interrupts() -> None:
    """From here on SIGINT and SIGTERM raise KeyboardInterrupt (SIGTERM ends a run the way
    Ctrl-C does: exit 130, partial report); one held since start-up is raised now."""
    if not AS_COMMAND:
        return        # imported (tests): sharespec run installs its SIGTERM handler itself
    sys.unraisablehook = interrupts.drop_lost_interrupt
    signal.signal(signal.SIGINT, interrupts.interrupt)
    signal.signal(signal.SIGTERM, interrupts.interrupt)
    if _held:
        _held.clear()
        raise KeyboardInterrupt


def hold_interrupts() -> None:
    """The run is over (its report is being written, the interpreter is ending): a signal now
    no longer cuts anything short, and is held (then dropped)."""
    if AS_COMMAND:
        signal.signal(signal.SIGINT, _hold)
        signal.signal(signal.SIGTERM, _hold)


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(argv)
    finally:
        hold_interrupts()


def _main(argv: Optional[Sequence[str]]) -> int:
    try:
        # a signal while the commands are imported and the arguments read is held (the run
        # command acts on it once its output is checked, the others at once, below)
        commands = command_modules()
        parser = _parser(commands)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        from sharespec.model.case import CaseError
        command = commands[args.command.replace("-", "_")]
        if not getattr(command, "ARMS_INTERRUPTS", False):
            arm_interrupts()
    except KeyboardInterrupt:
        return _interrupted()
    try:
        status = command.main(args)
        interrupts.raise_if_swallowed()      # a Ctrl-C lost in a finalizer still ends in 130
        return status
    except (CaseError, UsageError) as e:
        print(f"sharespec: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except ctypes.ArgumentError as e:
        # Ctrl-C while z3's ctypes layer converts an argument: Python's KeyboardInterrupt comes
        # out wrapped in an ArgumentError ("argument 2: KeyboardInterrupt"); the latch says so
        if not interrupts.came():
            raise
        return _interrupted()
    except BrokenPipeError:
        # the reader went away (`sharespec list | head`): stop quietly, as cat does; stdout is
        # pointed at /dev/null so that flushing it at exit does not raise again
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _interrupted() -> int:
    """The command stops on Ctrl-C or SIGTERM: said on standard error, exit status 130."""
    interrupts.handled()
    # An object the interrupt cut off in its __init__ (z3's AstRef before it set self.ctx) is
    # finalized later, and its __del__ fails: Python would print "Exception ignored in" and a
    # traceback after our message. The command is over; such noise says nothing (a CI run of
    # tests/host/test_z3_progress.py met it once).
    sys.unraisablehook = lambda unraisable: None
    print("sharespec: interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":
    raise SystemExit(main())
