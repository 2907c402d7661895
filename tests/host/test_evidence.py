"""Environment or deviation, decided by evidence (issue 12 item 3, issue 13's environments):
a refusal the profile does not allow is INCONCLUSIVE only when a limit explains it or it does
not repeat; a refusal that repeats with headroom is a FAIL. R22 (shmmax), R45 (shm_rmid_forced)."""
import subprocess
import sys

import pytest

from cases_for_fakes import ONE_PAGE_MMAP, SYSV, write_cases
from fake_impl import fake_impl
from sharespec.evidence import Limits, limit_explaining, weigh
from sharespec.model import ops
from sharespec.model.results import Errno, Fault

CASES = __import__("pathlib").Path(__file__).resolve().parents[2] / "sharespec" / "cases"


def run(*args, prefix=()):
    return subprocess.run([*prefix, sys.executable, "-m", "sharespec", "run", "--no-shrink", *args],
                          capture_output=True, text=True, timeout=600)


def test_an_implementation_that_refuses_a_legal_mmap_every_time_fails(tmp_path):
    folder = write_cases(tmp_path / "cases", ONE_PAGE_MMAP)
    done = run("--impl", fake_impl(tmp_path, "refuse-mmap"), "--case", str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL" in done.stdout
    assert "ENOMEM for mmap of 4096 bytes, repeatable on a re-run alone, with headroom" in done.stdout


def test_a_refusal_that_does_not_repeat_is_inconclusive(tmp_path):
    folder = write_cases(tmp_path / "cases", ONE_PAGE_MMAP)
    done = run("--impl", fake_impl(tmp_path, "refuse-mmap-once"), "--case", str(folder))
    assert "INCONCLUSIVE" in done.stdout and "did not repeat on a re-run alone" in done.stdout
    assert done.returncode == 3       # and nothing passed: nothing was learnt


def test_a_limit_that_explains_the_refusal_is_named_without_a_rerun():
    limits = Limits(shmmax=4096, rlimits={})
    asked = ops.ShmGet(key="private", size=8192, creat=True, excl=False)

    def rerun():
        raise AssertionError("a refusal a limit explains is not run again")
    weighing = weigh(asked, Errno("EINVAL"), 0, rerun, lambda: limits)
    assert weighing.environment and "kernel.shmmax is 4096, below the 8192 bytes asked" in weighing.sentence


@pytest.mark.parametrize("limits, op, observed, named", [
    (Limits(shmmni=8, segments=8), ops.ShmGet(key="private", size=4096, creat=True, excl=False),
     Errno("ENOSPC"), "kernel.shmmni"),
    (Limits(rlimits={"RLIMIT_AS": 1 << 20}), ops.Mmap(shared=False, prot="rw", length=4096),
     Errno("ENOMEM"), "RLIMIT_AS"),
    (Limits(dev_shm_readonly=True), ops.Open(kind="shm", name="x", creat=True), Errno("EROFS"),
     "read-only"),
    (Limits(dev_shm_readonly=True), ops.ShmUnlink(name="x"), Errno("EROFS"), "read-only"),
    (Limits(dev_shm_free=8192), ops.Write(at=ops.Place("M0"), value=1), Fault("SIGBUS"),
     "bytes free"),
])
def test_each_limit_is_named(limits, op, observed, named):
    assert named in limit_explaining(op, observed, limits)


def test_headroom_explains_nothing():
    roomy = Limits(shmmax=1 << 40, shmmni=4096, segments=3, mem_available=1 << 34,
                   dev_shm_free=1 << 30, rlimits={"RLIMIT_AS": None})
    assert limit_explaining(ops.Mmap(shared=False, prot="rw", length=4096), Errno("ENOMEM"),
                            roomy) is None
    assert limit_explaining(ops.ShmGet(key="private", size=4096, creat=True, excl=False),
                            Errno("EINVAL"), roomy) is None


def _unshare(*flags):
    probe = subprocess.run(["unshare", *flags, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare {' '.join(flags)} is not permitted here: {probe.stderr.decode()[:100]}")
    return ["unshare", *flags]


def test_a_lowered_shmmax_makes_the_bundled_implementation_inconclusive_not_failed(tmp_path):
    prefix = _unshare("--ipc")
    folder = write_cases(tmp_path / "cases", SYSV.replace("4096", "8192"), ONE_PAGE_MMAP)
    done = run("--case", str(folder),
               prefix=[*prefix, "sh", "-c", 'echo 4096 > /proc/sys/kernel/shmmax && exec "$@"', "-"])
    assert "FAIL" not in done.stdout, done.stdout
    assert "kernel.shmmax is 4096, below the 8192 bytes asked" in done.stdout
    assert done.returncode == 3       # 1 of 2 inconclusive is more than 10%


def test_a_limit_lowered_by_a_wrapper_of_the_implementation_is_seen(tmp_path):
    """prlimit lowers RLIMIT_AS of the implementation alone: its own limits (/proc/PID/limits)
    are read, so its ENOMEM is the limit's, though this process has no such limit. The same
    refusing implementation without the wrapper FAILs (test above)."""
    if subprocess.run(["prlimit", "--version"], capture_output=True).returncode != 0:
        pytest.skip("prlimit is not installed")
    folder = write_cases(tmp_path / "cases", ONE_PAGE_MMAP)
    command = "prlimit --as=8589934592 " + fake_impl(tmp_path, "refuse-mmap")
    done = run("--impl", command, "--case", str(folder))
    assert "RLIMIT_AS is 8589934592 bytes" in done.stdout, done.stdout + done.stderr
    assert "FAIL" not in done.stdout


def test_shm_rmid_forced_is_read_from_the_host_and_changes_the_rules(tmp_path):
    """R45: with kernel.shm_rmid_forced=1, a segment goes when its last attach does; even a
    failed shmat (do_shmat's out_nattch) destroys a never-attached segment."""
    prefix = _unshare("--ipc")
    forced = [*prefix, "sh", "-c", 'echo 1 > /proc/sys/kernel/shm_rmid_forced && exec "$@"', "-"]
    case = str(CASES / "r27-shmat-over-attach.case")
    done = run("--case", case, prefix=forced)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "judging under linux:shm_rmid_forced" in done.stderr
    ignored = run("--case", case, "--shm-rmid-forced", "0", prefix=forced)
    assert ignored.returncode == 1 and "FAIL" in ignored.stdout


def test_the_model_destroys_an_unattached_segment_on_a_failed_shmat_under_shm_rmid_forced():
    """R45, R27: as do_shmat's out_nattch path does (shm_nattch++ then --, shm_may_destroy)."""
    from sharespec.model.case_text import case_from_text
    from sharespec.model.oracle import judge
    from sharespec.model.results import parse_result
    text = (CASES / "r27-shmat-over-attach.case").read_text()
    case = case_from_text(text, "r27")
    observed = [parse_result(r) for r in
                ["new", "new", "ok", "EINVAL", "EINVAL"]]
    assert judge(case.steps[:5], observed, "linux:shm_rmid_forced", case.rules).verdict == "PASS"
    assert judge(case.steps[:5], observed, "linux", case.rules).verdict == "FAIL"


def test_a_refusal_that_cannot_be_re_run_is_inconclusive(monkeypatch):
    """No process for the re-run (the environment refused it): the evidence is missing."""
    from sharespec import runner
    from sharespec.model.case_text import case_from_text
    from sharespec.runner import CaseResult, EnvironmentRefused, weigh_refusal

    def refused(self, line):
        raise EnvironmentRefused("fork: EAGAIN")
    monkeypatch.setattr(runner.ImplementationProcess, "exchange", refused)
    case = case_from_text(ONE_PAGE_MMAP, "one")
    failed = CaseResult(case, "FAIL", "step 1: observed ENOMEM", step=0, observed="ENOMEM",
                        refusal=True)
    impl = runner.ImplementationProcess("true", 1.0)
    weighed = weigh_refusal(failed, impl, "{}", "linux")
    assert weighed.verdict == "INCONCLUSIVE" and "could not be re-run alone" in weighed.detail
