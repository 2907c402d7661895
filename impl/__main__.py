"""The command line: cases as JSON lines on stdin, one observation line per case on stdout.

    python -m sharespec.impl [--timeout SECONDS]      (per case, default 10)
    PYTHONPATH=/work/main python -S -m impl [--timeout SECONDS]

A line that is not a valid case gets an observation with status "error". On SIGINT or
SIGTERM the current case is killed and cleaned up, its observation is not written, and the
exit status is 130 or 143. (``--resume CMD_FD RESULT_FD`` is how exec re-enters a case
process; it is not for people.)
"""
import argparse
import signal
import sys

from . import protocol, worker
from .executor import run_case


class Interrupted(BaseException):
    def __init__(self, number):
        super().__init__(number)
        self.number = number


def _interrupt(number, frame):
    raise Interrupted(number)


def main(argv):
    if argv[:1] == ["--resume"]:
        worker.resume(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="sharespec.impl", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        while True:
            line = stdin.readline()
            if not line:
                return 0
            if not line.strip():
                continue
            try:
                case = protocol.parse_line(line)
            except protocol.CaseError as error:
                observation = protocol.observation("", "error", [], "invalid case: %s" % error)
            else:
                observation = run_case(case, options.timeout)
            old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            stdout.write((protocol.dumps(observation) + "\n").encode())
            stdout.flush()
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    except Interrupted as interrupt:
        return 128 + interrupt.number


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
