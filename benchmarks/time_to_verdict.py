"""How long a user waits: time to the first verdict and to the end of a run (issue 12, "Figures").

    python benchmarks/time_to_verdict.py                    # everything
    python benchmarks/time_to_verdict.py --mutants 3 --no-qemu
    python benchmarks/time_to_verdict.py --mutants 0 --no-qemu     # the default run only

Prints, in one run:

1. the default run (``sharespec run``, the built-in, random and z3 cases), time to the first
   verdict and total:
   - *rebuild*: the z3 corpus rebuilt, as after a change of the model (the shipped corpus
     ignored with SHARESPEC_IGNORE_SHIPPED_CORPUS=1, an empty cache);
   - *fresh cache*: an empty cache, the shipped corpus used (a new install);
   - *warm cache*: the cache the rebuild filled (the model changed, the second run);
2. the whole run against each bundled mutant (``sharespec list mutants``; ``--mutants N``
   takes the first N), with the shrinking budget on when ``sharespec run --help`` offers
   ``--shrink-budget``: median and worst total, and the time to the first shrunk
   counterexample;
3. the same against the bundled implementation under ``qemu-x86_64`` (qemu-user) when it is
   installed (``--no-qemu`` skips it): cases, verdict counts, INCONCLUSIVE with their reasons,
   FAILs by rule, and time.

Each run is a fresh ``python -m sharespec`` in a temporary folder with its own XDG_CACHE_HOME,
its output unbuffered so that a line's time is when it was printed; the CPU time of the run
and of the processes it waited for is printed beside the total of the default runs (on a
loaded machine the total is mostly waiting for a core). Goals (issue 12): first
verdict <= 2 s and whole default run <= 10 s on 2 cores; every mutant run <= 120 s with a first
shrunk counterexample <= 10 s; <= 10% INCONCLUSIVE under qemu-user. The figures depend on the
machine and its load: run it on a quiet machine, and say how loaded it was (printed first).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

VERDICT = re.compile(r"^(PASS|FAIL|INCONCLUSIVE|NOT_APPLICABLE|ERROR)\s")
CLOSING = re.compile(r"^\d+ passed, .*cases\)$")


class Timed:
    """One run of the command line: when each kind of line first came, and the whole time."""

    def __init__(self, argv: list, folder: Path, env: dict, timeout: float):
        self.argv = argv
        self.first_verdict = self.first_shrunk = None
        self.closing = ""
        self.stderr_tail = ""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "sharespec", *argv], cwd=folder, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        errors: list = []
        reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
        reader.start()
        timer = threading.Timer(timeout, self._stop, (proc,))
        timer.start()
        try:
            for line in proc.stdout:
                now = time.monotonic() - started
                if self.first_verdict is None and VERDICT.match(line):
                    self.first_verdict = now
                if self.first_shrunk is None and line.strip().startswith("shrunk "):
                    self.first_shrunk = now
                if CLOSING.match(line.strip()):
                    self.closing = line.strip()
            self.status = proc.wait()
        finally:
            timer.cancel()
        reader.join()
        self.total = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # the CPU the run and everything it waited for used: what the total would be on an
        # idle machine with one core, whatever the load while it was measured
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.timed_out = self.total >= timeout
        self.stderr_tail = (errors[0] if errors else "")[-600:]


    @staticmethod
    def _stop(proc) -> None:
        """Out of time: SIGTERM (the run stops with a partial report and ends what it
        started), then SIGKILL to its whole group (its implementations hold its output open)."""
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def seconds(value) -> str:
    return "-" if value is None else f"{value:.2f} s"


def environment(cache: Path, **extra) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONUNBUFFERED="1", **extra)
    env.pop("SHARESPEC_IGNORE_SHIPPED_CORPUS", None)
    env.update(extra)
    return env


def default_runs(work: Path, jobs: int, timeout: float) -> None:
    print(f"1. the default run (sharespec run{f' -j {jobs}' if jobs > 1 else ''})")
    extra = ["-j", str(jobs)] if jobs > 1 else []
    cache = work / "cache"
    kinds = (("rebuild (model changed, empty cache)", {"SHARESPEC_IGNORE_SHIPPED_CORPUS": "1"}),
             ("warm cache (second run after the change)", {"SHARESPEC_IGNORE_SHIPPED_CORPUS": "1"}),
             ("fresh cache, shipped corpus", {}))
    for n, (what, extra_env) in enumerate(kinds):
        run_cache = cache if n < 2 else work / "empty-cache"
        r = Timed(["run", "--no-shrink", *extra], work, environment(run_cache, **extra_env),
                  timeout)
        print(f"   {what:<42} first verdict {seconds(r.first_verdict):>9}   total "
              f"{seconds(r.total):>9} (CPU {r.cpu:.1f} s)   exit {r.status}   {r.closing}")
        if r.status not in (0, 1, 3):
            print(f"      stderr: {r.stderr_tail.strip()[-300:]}")


def shrink_option() -> list:
    """``--shrink-budget 10`` if this sharespec has it (it is being added), else nothing."""
    help_text = subprocess.run([sys.executable, "-m", "sharespec", "run", "--help"],
                               capture_output=True, text=True).stdout
    return ["--shrink-budget", "10"] if "--shrink-budget" in help_text else []


def mutant_runs(work: Path, count: int, jobs: int, timeout: float) -> None:
    from sharespec.mutants import mutant_names
    names = mutant_names()[:count] if count >= 0 else mutant_names()
    budget = shrink_option()
    print(f"\n2. against {len(names)} of {len(mutant_names())} mutants "
          f"({' '.join(budget) if budget else 'no --shrink-budget in this sharespec: unbounded shrinking'}"
          f"{f', -j {jobs}' if jobs > 1 else ''}; timeout {timeout:.0f} s each)")
    totals, firsts = [], []
    for name in names:
        folder = work / f"mutant-{name}"
        folder.mkdir()
        r = Timed(["run", "-q", "--impl", f"mutant:{name}", "--out", str(folder / "failures"),
                   *budget, *(["-j", str(jobs)] if jobs > 1 else [])],
                  folder, environment(work / "cache-mutants"), timeout)
        totals.append(r.total)
        if r.first_shrunk is not None:
            firsts.append(r.first_shrunk)
        late = " (TIMED OUT)" if r.timed_out else ""
        print(f"   {name:<34} total {seconds(r.total):>9}{late}  first shrunk "
              f"{seconds(r.first_shrunk):>9}  exit {r.status}  {r.closing}")
    if totals:
        print(f"   whole run: median {statistics.median(totals):.1f} s, worst {max(totals):.1f} s; "
              f"first shrunk counterexample: median "
              f"{statistics.median(firsts) if firsts else float('nan'):.1f} s, worst "
              f"{max(firsts) if firsts else float('nan'):.1f} s ({len(firsts)} of {len(totals)} shrank one)")


def qemu_run(work: Path, jobs: int, timeout: float) -> None:
    qemu = shutil.which("qemu-x86_64")
    print("\n3. the bundled implementation under qemu-user")
    if qemu is None:
        print("   skipped: qemu-x86_64 is not installed (Debian: apt-get install qemu-user)")
        return
    import sharespec.impl
    impl_parent = Path(sharespec.impl.__file__).resolve().parent.parent
    python = os.path.realpath(sys.executable)
    command = f"{qemu} -E PYTHONPATH={impl_parent} {python} -S -m {Path(sharespec.impl.__file__).parent.name}"
    out = work / "qemu.jsonl"
    r = Timed(["run", "-q", "--no-shrink", "--impl", command, "--json", str(out),
               *(["-j", str(jobs)] if jobs > 1 else [])], work, environment(work / "cache"), timeout)
    print(f"   --impl '{command}'")
    print(f"   total {seconds(r.total)}{' (TIMED OUT)' if r.timed_out else ''}, first verdict "
          f"{seconds(r.first_verdict)}, exit {r.status}")
    if not out.exists():
        print(f"   no results written; stderr: {r.stderr_tail.strip()[-300:]}")
        return
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    cases = [rec for rec in records if "verdict" in rec]
    verdicts = Counter(rec["verdict"] for rec in cases)
    print(f"   {len(cases)} cases: " + ", ".join(f"{v} {n}" for v, n in verdicts.most_common()))
    if cases:
        print(f"   INCONCLUSIVE: {100 * verdicts['INCONCLUSIVE'] / len(cases):.1f}%")
    reasons = Counter(re.sub(r"\d+", "N", rec["detail"])[:110] for rec in cases
                      if rec["verdict"] == "INCONCLUSIVE")
    for reason, n in reasons.most_common(12):
        print(f"     {n:>4}  {reason}")
    rules = Counter(rule for rec in cases if rec["verdict"] == "FAIL"
                    for rule in (rec.get("failure_rules") or ["(no rule)"]))
    if rules:
        print("   FAILs by rule: " + ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items())))
    for rec in [rec for rec in cases if rec["verdict"] == "FAIL"][:10]:
        print(f"     FAIL {rec['case']}: {rec['detail'][:120]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mutants", type=int, default=-1, metavar="N",
                   help="time only the first N mutants (default all; 0: none)")
    p.add_argument("--no-qemu", action="store_true", help="skip the qemu-user run")
    p.add_argument("--no-default", action="store_true", help="skip the default runs")
    p.add_argument("-j", "--jobs", type=int, default=1, help="sharespec run -j (default 1)")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="seconds before one run is killed (default 900)")
    args = p.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)      # each figure as soon as it is measured
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"(figures on a loaded machine are upper bounds)\n")
    with tempfile.TemporaryDirectory(prefix="sharespec-ttv-") as tmp:
        work = Path(tmp)
        if not args.no_default:
            default_runs(work, args.jobs, args.timeout)
        if args.mutants != 0:
            mutant_runs(work, args.mutants, args.jobs, args.timeout)
        if not args.no_qemu:
            qemu_run(work, args.jobs, args.timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
