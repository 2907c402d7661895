"""Memory over a long campaign: a small corpus of small, fast cases repeated to N cases, run
through run_cases at -j 2 (results streamed and dropped, as `sharespec run` does), with the
peak resident memory of the runner and of its worker processes at checkpoints.

    python benchmarks/memory_flat.py [--cases 100000] [--jobs 2] [--checkpoints 10]

Flat means the last checkpoint's figures are those of the first, give or take noise.
"""
from __future__ import annotations

import argparse
import itertools
import os
import resource
import time

from sharespec.model.case_text import case_from_text

SMALL = [
    """case small-shm\nprofile linux\nrules R09\norigin handwritten\n
T0: S0 = shmget(private, 4096, creat)\nT0: A0 = shmat(S0)\nT0: write(A0, 7)\nT0: read(A0)
T0: shmdt(A0)\nT0: shmctl(S0, rmid)\n""",
    """case small-anon\nprofile linux\nrules R02\norigin handwritten\n
T0: M0 = mmap(anon, shared, rw, 4096)\nT0: write(M0, 3)\nT0: read(M0)\n""",
    """case small-thread\nprofile linux\nrules R15\norigin handwritten\n
T0: M0 = mmap(anon, private, rw, 4096)\nT0: T1 = spawn()\nT1: write(M0, 5)\nT0: read(M0)\n""",
]


def rss_kb(pid) -> "tuple[int, int]":
    """(VmRSS, VmHWM) of a process in kB; (0, 0) if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError):
        return 0, 0


def children(pid) -> list:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except OSError:
            pass
    return found


def main() -> None:
    from sharespec.runner import run_cases

    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--checkpoints", type=int, default=10)
    args = parser.parse_args()
    corpus = [case_from_text(text, "<small>") for text in SMALL]
    stream = itertools.islice(itertools.cycle(corpus), args.cases)
    every = max(1, args.cases // args.checkpoints)
    print(f"{args.cases} cases ({len(corpus)} small cases repeated), -j {args.jobs}")
    print(f"{'cases':>8} {'seconds':>8} {'cases/s':>8} {'runner RSS':>11} {'runner peak':>12} "
          f"{'workers RSS':>12} {'workers peak':>13}  verdicts")
    t0 = time.perf_counter()
    verdicts: dict = {}
    for n, result in enumerate(run_cases(stream, jobs=args.jobs), 1):
        verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
        if n % every == 0 or n == args.cases:
            elapsed = time.perf_counter() - t0
            rss, peak = rss_kb(os.getpid())
            workers = [rss_kb(pid) for pid in children(os.getpid())]
            print(f"{n:8d} {elapsed:8.1f} {n / elapsed:8.1f} {rss / 1024:9.1f}MB {peak / 1024:10.1f}MB "
                  f"{sum(w[0] for w in workers) / 1024:10.1f}MB {max([w[1] for w in workers] or [0]) / 1024:11.1f}MB"
                  f"  {verdicts}", flush=True)
    print(f"peak RSS of the runner (getrusage): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")


if __name__ == "__main__":
    main()
