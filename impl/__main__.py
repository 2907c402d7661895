"""The command line: cases as JSON lines on stdin, one observation line per case on stdout.

    python -m sharespec.impl [--timeout SECONDS] [--ledger FILE]    (per case, default 10)
    PYTHONPATH=/work/main python -S -m impl [--timeout SECONDS] [--ledger FILE]

A line that is not a valid case gets an observation with status "error". On SIGINT or
SIGTERM the current case is killed and cleaned up, its observation is not written, and the
exit status is 130 or 143. The host features it uses beyond plain system calls are probed
once (features.py); SHARESPEC_IMPL_DISABLE=name,... makes some count as missing, for tests
(an unknown name: exit status 2). With --ledger, the pids of the running case (and its keys,
names and segment ids) are kept in FILE (ledger.py), so that whoever started this process can
clean up after it even if it is killed with SIGKILL; SHARESPEC_IMPL_PID_LOG=FILE has every
pid of the run appended to FILE (ledger.py). (``--resume CMD_FD RESULT_FD [LEDGER_FD]`` is
how exec re-enters a case process; it is not for people.)
"""
import argparse
import os
import signal
import sys

from . import worker


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
    # imported here, not above: an exec'd case process re-enters this module (--resume) and
    # needs only the worker, and every module it imports makes its start slower
    from . import features, protocol
    from .executor import interrupts_held, run_case
    from .ledger import Ledger, log_pid
    parser = argparse.ArgumentParser(prog="sharespec.impl", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--ledger", metavar="FILE",
                        help="keep the pids of the running case in FILE (for the runner)")
    parser.add_argument("--features", action="store_true",
                        help="say which host features this host offers (and which fallbacks "
                        "are used instead), then exit")
    options = parser.parse_args(argv)
    try:
        features.disabled_by_switch()
    except features.BadSwitch as error:
        parser.exit(2, "%s: %s\n" % (parser.prog, error))
    if options.features:
        print("\n".join(features.report()))
        return 0
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ledger = Ledger(options.ledger)
    log_pid(os.getpid(), "executor")
    try:
        for line in sys.stdin.buffer:
            if not line.strip():
                continue
            try:
                case = protocol.parse_line(line)
            except protocol.CaseError as error:
                observation = protocol.observation("", "error", [], "invalid case: %s" % error)
            else:
                observation = run_case(case, options.timeout, ledger)
            with interrupts_held():
                sys.stdout.buffer.write((protocol.dumps(observation) + "\n").encode())
                sys.stdout.buffer.flush()
        return 0
    except Interrupted as interrupt:
        return 128 + interrupt.number
    finally:
        ledger.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
