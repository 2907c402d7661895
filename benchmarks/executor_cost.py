"""What the bundled implementation costs per case, apart from the runner: wall time, the CPU
and copy-on-write (minor) faults of its executor, and the CPU and faults of the processes under
it (each case's processes, counted once they are reaped), for a generated corpus run through
impl.run_case in a bare `python -S` (as the runner starts it: its size is what every fork
copies).

    python benchmarks/executor_cost.py [--corpus 500] [--seed 7] [--rounds 3]

Each round runs the whole corpus in a fresh process; the medians are printed last.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HARNESS = r"""
import json, os, resource, sys, time
from impl import protocol
from impl.executor import run_case
lines = open(sys.argv[1], "rb").read().splitlines()
self0, kids0, t0 = resource.getrusage(resource.RUSAGE_SELF), os.times(), time.perf_counter()
for line in lines:
    protocol.dumps(run_case(protocol.parse_line(line), 10.0))
wall = time.perf_counter() - t0
self1 = resource.getrusage(resource.RUSAGE_SELF)
kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
n = len(lines)
print(json.dumps({
    "wall_ms": wall / n * 1e3,
    "executor_cpu_ms": (self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime) / n * 1e3,
    "executor_faults": (self1.ru_minflt - self0.ru_minflt) / n,
    "under_it_cpu_ms": (kids1.ru_utime + kids1.ru_stime) / n * 1e3,
    "under_it_faults": kids1.ru_minflt / n}))
"""

LABELS = {"wall_ms": "wall per case (ms)", "executor_cpu_ms": "executor CPU (ms)",
          "executor_faults": "executor minor faults", "under_it_cpu_ms": "processes under it: CPU (ms)",
          "under_it_faults": "processes under it: minor faults"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from sharespec.generators.random_programs import random_cases
    from sharespec.model.case_json import dumps_case

    with tempfile.NamedTemporaryFile("w", prefix="sharespec-bench-", suffix=".jsonl") as corpus:
        for case in random_cases(seed=args.seed, count=args.corpus):
            corpus.write(dumps_case(case) + "\n")
        corpus.flush()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        rounds = []
        for number in range(args.rounds):
            out = subprocess.run([sys.executable, "-S", "-c", HARNESS, corpus.name], check=True,
                                 capture_output=True, text=True, env=env)
            figures = json.loads(out.stdout)
            rounds.append(figures)
            print(f"round {number + 1}: " + ", ".join(f"{LABELS[k]} {v:.2f}" for k, v in figures.items()))
    print(f"{args.corpus} cases (random_cases, seed {args.seed}), medians of {args.rounds} rounds:")
    for key, label in LABELS.items():
        print(f"  {label:<36} {statistics.median(r[key] for r in rounds):8.2f}")


if __name__ == "__main__":
    main()
