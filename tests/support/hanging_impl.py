"""The bundled implementation with one step that never ends, for tests of timeouts, kills and
clean-up (tests only: impl/ has no such switch).

The step numbered STEP (from 0, in the case's order) of every case that reaches it is never
sent to its thread: the executor waits for its answer until the case's timeout, while the
case's processes, and all they made, stay as they are. A test kills the executor, the runner
or a worker meanwhile, or lets the timeout come.

- In the test's own process (impl.run_case): ``hang_at(monkeypatch, STEP)``.
- As a command line: ``PYTHONPATH=ROOT python -S hanging_impl.py STEP [impl options]``.
- Through the runner, as the bundled implementation (so with a ledger): in the test's process,
  ``run_bundled_hanging(monkeypatch, STEP)`` (forked -j workers inherit it); in a runner of
  its own, ``runner_argv(STEP, ARGS)``, the command line of ``sharespec ARGS``.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def hang(executor_module, step_index):
    """Make CaseRun.perform of that executor module wait, at the step numbered step_index,
    for an answer to a command it never sends; returns the original perform."""
    perform = executor_module.CaseRun.perform

    def perform_or_hang(run, step):
        if step.index == step_index:
            process = run.processes.get(run.plan.process_of[step.thread])
            if process is not None and process.state == "alive":
                process.reader.next(run.deadline)     # Timeout at the deadline
        return perform(run, step)
    executor_module.CaseRun.perform = perform_or_hang
    return perform


def hang_at(monkeypatch, step_index):
    """In this process: impl.run_case hangs at that step (undone with the monkeypatch)."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from impl import executor
    monkeypatch.setattr(executor.CaseRun, "perform", executor.CaseRun.perform)
    hang(executor, step_index)


def command(step_index):
    """(argv, env) of this implementation, started as the runner starts the bundled one
    (sharespec.runner.bundled_impl_command): lean, the implementation's folder on the path."""
    import sharespec.impl
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(sharespec.impl.__file__)))
    env.pop("PYTHONFAULTHANDLER", None)
    return [sys.executable, "-S", os.path.abspath(__file__), str(step_index)], env


def run_bundled_hanging(monkeypatch, step_index):
    """The runner in this process (and the -j workers it forks) starts this implementation
    wherever it would start the bundled one."""
    import sharespec.runner
    monkeypatch.setattr(sharespec.runner, "bundled_impl_command", lambda: command(step_index))


RUNNER = """
import sys
sys.path.insert(0, {here!r})
import hanging_impl, sharespec.runner
from sharespec.cli import main
sharespec.runner.bundled_impl_command = lambda: hanging_impl.command({step!r})
sys.argv[0] = "sharespec"
raise SystemExit(main())
"""


def runner_argv(step_index, arguments):
    """``sharespec ARGUMENTS`` whose bundled implementation is this one."""
    return [sys.executable, "-c", RUNNER.format(here=HERE, step=step_index), *arguments]


def main(argv):
    """The command line: STEP, then the bundled implementation's own options."""
    from impl import __main__ as impl_main, executor
    hang(executor, int(argv[0]))
    return impl_main.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
