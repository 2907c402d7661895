"""sharespec: check how an operating system shares memory between processes and threads.

Each command is a module of sharespec/commands/.

Exit status: 0 all passed, 1 something failed (or broke the protocol), 2 bad usage or input
(with a message naming the file, the place and the problem, and nothing half-written),
130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Optional, Sequence

from sharespec import __version__
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    commands = command_modules()
    parser = _parser(commands)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from sharespec.model.case import CaseError
    try:
        return commands[args.command.replace("-", "_")].main(args)
    except (CaseError, UsageError) as e:
        print(f"sharespec: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sharespec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`sharespec list | head`): stop quietly, as cat does; stdout is
        # pointed at /dev/null so that flushing it at exit does not raise again
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
