"""Throughput of the bundled implementation against the physical limit, measured in one run.

Prints, for the two standard cases (fork and thread: shmget, shmat, a child or a second thread
writes, the first reads, shmdt, IPC_RMID), the median microseconds per case of
- native C (benchmarks/native_cases.c, compiled here with `cc` when there is one), and
- the bundled implementation (`python -S -m impl`, one pre-started process, case lines in,
  observation lines out: what the runner pays per case, without judging),
and their ratio; then cases per second for the whole default suite and for a generated corpus
through the runner (judging included) at -j 1 and -j 2.

    python benchmarks/throughput.py [--repeats N] [--corpus N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FORK_CASE = """\
case bench-fork
profile linux
rules R09
origin handwritten
T0: S0 = shmget(private, 4096, creat)
T0: A0 = shmat(S0)
T0: T1 = fork()
T1: write(A0, 7)
T1: exit()
T0: read(A0)
T0: shmdt(A0)
T0: shmctl(S0, rmid)
"""
THREAD_CASE = FORK_CASE.replace("bench-fork", "bench-thread").replace("fork()", "spawn()").replace(
    "T1: exit()", "T1: thread_exit()").replace("R09", "R15")


def native(kind: str, repeats: int):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    exe = Path(tempfile.gettempdir()) / f"sharespec-native-{os.getpid()}"
    try:
        subprocess.run([cc, "-O2", "-pthread", "-o", str(exe), str(HERE / "native_cases.c")], check=True)
        out = subprocess.run([str(exe), kind, str(repeats)], check=True, capture_output=True, text=True)
        return float(out.stdout)
    finally:
        exe.unlink(missing_ok=True)


def bundled(case_text: str, repeats: int) -> float:
    from sharespec.model.case_json import dumps_case
    from sharespec.model.case_text import case_from_text
    from sharespec.runner import bundled_impl_command

    line = (dumps_case(case_from_text(case_text, "<bench>")) + "\n").encode()
    argv, env = bundled_impl_command()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
    times = []
    try:
        for i in range(repeats + 20):
            t0 = time.perf_counter()
            proc.stdin.write(line)
            obs = json.loads(proc.stdout.readline())
            elapsed = time.perf_counter() - t0
            if obs.get("status") != "done" or obs["results"][5] != "7":
                raise SystemExit(f"the bundled implementation did not run the case: {obs}")
            if i >= 20:  # warm-up
                times.append(elapsed * 1e6)
    finally:
        proc.stdin.close()
        proc.wait()
    return statistics.median(times)


def suite_rate(cases, jobs: int) -> float:
    from sharespec.runner import run_cases
    t0 = time.perf_counter()
    n = 0
    for result in run_cases(cases, jobs=jobs):
        n += 1
        if result.verdict not in ("PASS", "NOT_APPLICABLE"):
            print(f"  note: {result.case.name} {result.verdict} {result.detail}", file=sys.stderr)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--corpus", type=int, default=1000)
    args = ap.parse_args()
    print(f"machine: {os.uname().sysname} {os.uname().release} {os.uname().machine}, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for kind, text in (("fork", FORK_CASE), ("thread", THREAD_CASE)):
        c = native(kind, args.repeats)
        ours = bundled(text, args.repeats)
        if c is None:
            print(f"{kind:>6} case: bundled {ours:8.1f} us   (no C compiler: native side not measured)")
        else:
            print(f"{kind:>6} case: native C {c:8.1f} us   bundled {ours:8.1f} us   ratio {ours / c:5.2f}x")

    from sharespec.generators.random_programs import random_cases
    from sharespec.suite import builtin_cases
    suite = builtin_cases()
    corpus = list(random_cases(seed=7, count=args.corpus))
    for name, cases in (("default suite", suite), (f"{len(corpus)}-case corpus", corpus)):
        r1 = suite_rate(cases, 1)
        r2 = suite_rate(cases, 2)
        print(f"{name:>16} ({len(cases)} cases): -j 1 {r1:7.1f} cases/s   -j 2 {r2:7.1f} cases/s   "
              f"speed-up {r2 / r1:4.2f}x")


if __name__ == "__main__":
    main()
