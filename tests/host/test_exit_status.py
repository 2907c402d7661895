"""The exit status tells the truth (issue 12): a run that learnt nothing is never green.

0: every judged case passed; 1: a FAIL or an ERROR; 2: bad usage; 3: nothing failed but no
case passed, or more than --max-inconclusive of the judged cases were inconclusive."""
import subprocess
import sys

import pytest

from cases_for_fakes import ONE_PAGE_MMAP, SYSV, write_cases
from fake_impl import fake_impl
from sharespec.report import EXIT_FAILED, EXIT_PASSED, EXIT_UNSETTLED, Summary
from sharespec.runner import CaseResult

pytest_plugins = ["pytester"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "sharespec", "run", "--no-shrink", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("policy", ["error", "timeout"])
def test_an_implementation_that_never_runs_a_case_exits_3(tmp_path, policy):
    folder = write_cases(tmp_path / "cases", ONE_PAGE_MMAP, SYSV)
    done = run("--impl", fake_impl(tmp_path, policy), "--case", str(folder))
    assert done.returncode == EXIT_UNSETTLED, done.stdout + done.stderr
    assert "no case passed" in done.stdout


def test_the_parrot_passes_with_exit_0(tmp_path):
    folder = write_cases(tmp_path / "cases", ONE_PAGE_MMAP, SYSV)
    done = run("--impl", fake_impl(tmp_path, "parrot"), "--case", str(folder))
    assert done.returncode == EXIT_PASSED, done.stdout + done.stderr


def _summary(**counts):
    from sharespec.model.case import Case
    summary = Summary()
    case = Case(name="c", profile="linux", rules=(), origin="test", description="", steps=())
    for verdict, n in counts.items():
        for _ in range(n):
            summary.add(CaseResult(case, verdict, "step 3: the reason"))
    return summary


def test_too_many_inconclusive_cases_exit_3_and_say_why():
    status, why = _summary(PASS=8, INCONCLUSIVE=2).settle(0.10)
    assert status == EXIT_UNSETTLED
    assert "2 of 10 judged cases (20%)" in why and "2 x step N: the reason" in why
    assert _summary(PASS=8, INCONCLUSIVE=2).settle(0.25) == (EXIT_PASSED, "")
    assert _summary(PASS=9, INCONCLUSIVE=1).settle(0.10) == (EXIT_PASSED, "")


def test_not_applicable_cases_are_not_judged_cases():
    assert _summary(PASS=9, INCONCLUSIVE=1, NOT_APPLICABLE=50).settle(0.10)[0] == EXIT_PASSED
    assert _summary(NOT_APPLICABLE=5).settle(0.10)[0] == EXIT_UNSETTLED


def test_a_failure_outranks_inconclusive_cases_and_no_case_at_all_is_not_a_pass():
    assert _summary(FAIL=1, INCONCLUSIVE=9).settle(0.10)[0] == EXIT_FAILED
    assert _summary(ERROR=1).settle(0.10)[0] == EXIT_FAILED
    status, why = Summary().settle(0.10)
    assert status == EXIT_UNSETTLED and "no case was run" in why


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "ten", "101%"])
def test_a_bad_max_inconclusive_is_a_usage_error(tmp_path, value):
    done = run("--max-inconclusive", value, "--case", str(write_cases(tmp_path / "c", SYSV)))
    assert done.returncode == 2 and "--max-inconclusive" in done.stderr


def test_max_inconclusive_takes_a_percentage(tmp_path):
    folder = write_cases(tmp_path / "cases", ONE_PAGE_MMAP, SYSV)
    done = run("--impl", fake_impl(tmp_path, "refuse-mmap-once"), "--case", str(folder),
               "--max-inconclusive", "50%")
    assert done.returncode == EXIT_PASSED, done.stdout + done.stderr


def test_the_exit_statuses_are_in_the_help():
    done = subprocess.run([sys.executable, "-m", "sharespec", "run", "--help"],
                          capture_output=True, text=True)
    assert "exit status:" in done.stdout and "--max-inconclusive" in done.stdout


def test_the_pytest_plugin_fails_a_session_that_learnt_nothing(pytester, tmp_path):
    folder = write_cases(tmp_path / "cases", ONE_PAGE_MMAP, SYSV)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sharespec-impl",
                                           fake_impl(tmp_path, "error"),
                                           "--sharespec-corpus", str(folder))
    result.assert_outcomes(skipped=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*sharespec: the session fails: no case passed*"])
