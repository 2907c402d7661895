"""What -j 2 can gain on this machine, and what it does gain: the -j 2 / -j 1 speed-up of the
runner with the CPU it uses, against the parallelism the machine offers in the same run.

    python benchmarks/parallel_scaling.py [--rounds N] [--corpus N] [--sets suite,corpus]

For the default suite and a generated corpus (random_cases, seed 7, as throughput.py), each
round runs the set at -j 1 and at -j 2 (alternately, so that the load of other programs falls
on both alike) and prints, per run:
- cases per second;
- CPU seconds per wall second ("cores busy") of the runner's main process (RUSAGE_SELF) and
  of everything under it (RUSAGE_CHILDREN: at -j 1 the implementation, at -j 2 the worker
  processes, which judge, and their implementations);
- the CPU that other programs used meanwhile (/proc/stat's busy time minus ours), in cores.
Then the medians, the judging cost per case (judge_observation timed on the observations of
the -j 1 run) and the ceiling the CPU sets: with C cores to itself -j 2 runs at most C CPU-
seconds per second, so it can be at most C / (cores busy at -j 1) times as fast as -j 1,
times (CPU per case at -j 1) / (CPU per case at -j 2) (the implementation already overlaps
some of its work with the runner's at -j 1, and that part gains nothing from a second
worker; two workers contend for caches and kernel locks). Before the runs, two CPU-bound
processes are timed against one: the parallelism this machine offers at that moment.

On a machine shared with other work, the figures say how much of it there was ("other
programs"). To measure as if the machine were ours (root, autogroup scheduling), give the run
priority over the other sessions: it then takes the CPUs whenever it can use them:

    setsid sh -c 'echo -20 > /proc/$$/autogroup; exec nice -n -20 python benchmarks/parallel_scaling.py'
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (the first line of /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def our_seconds() -> "tuple[float, float]":
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def spin(n: int) -> float:
    start = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - start


def parallelism(n: int = 3_000_000) -> float:
    """How much faster two CPU-bound processes get through two units of work than one does:
    2.0 on two idle cores, about 1.0 when another program keeps one core busy."""
    import multiprocessing
    one = min(spin(n) for _ in range(2))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        start = time.perf_counter()
        pool.map(spin, [n, n])
        two = time.perf_counter() - start
    return 2 * one / two


def run(cases, jobs: int) -> dict:
    from sharespec.runner import run_cases
    busy0, (me0, kids0), t0 = machine_busy_seconds(), our_seconds(), time.perf_counter()
    results = list(run_cases(cases, jobs=jobs))
    wall = time.perf_counter() - t0
    busy1, (me1, kids1) = machine_busy_seconds(), our_seconds()
    main, under = me1 - me0, kids1 - kids0
    bad = [r for r in results if r.verdict not in ("PASS", "NOT_APPLICABLE")]
    for r in bad[:3]:
        print(f"  note: {r.case.name} {r.verdict} {r.detail[:120]}", file=sys.stderr)
    return {"rate": len(results) / wall, "main": main / wall, "under": under / wall,
            "cpu_per_case": (main + under) / len(results),
            "others": max(0.0, (busy1 - busy0) - main - under) / wall, "results": results}


def judging_seconds(results) -> float:
    """Seconds of judge_observation per case, on the observations a run received."""
    from sharespec.runner import judge_observation
    start = time.process_time()
    for r in results:
        obs = {"format": "sharespec-observation", "version": 1, "status": "done",
               "results": list(r.results)}
        judge_observation(r.case, obs, "linux", 0.0)
    return (time.process_time() - start) / max(1, len(results))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", type=int, default=1000)
    ap.add_argument("--sets", default="suite,corpus")
    args = ap.parse_args()
    from sharespec.generators.random_programs import random_cases
    from sharespec.suite import builtin_cases
    print(f"machine: {os.uname().sysname} {os.uname().release}, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}")
    offered = parallelism()
    print(f"parallelism offered now: two CPU-bound processes run {offered:.2f}x as fast as one")
    sets = {"suite": builtin_cases, "corpus": lambda: list(random_cases(seed=7, count=args.corpus))}
    for name in args.sets.split(","):
        cases = sets[name]()
        label = f"{name} ({len(cases)} cases)"
        runs = {1: [], 2: []}
        for _ in range(args.rounds):
            for jobs in (1, 2):
                got = run(cases, jobs)
                runs[jobs].append(got)
                print(f"{label:20} -j {jobs}: {got['rate']:7.1f} cases/s   cores busy: main "
                      f"{got['main']:4.2f} + under it {got['under']:4.2f} = "
                      f"{got['main'] + got['under']:4.2f}   other programs {got['others']:4.2f}",
                      flush=True)
        med = {j: {k: statistics.median(r[k] for r in runs[j])
                   for k in ("rate", "main", "under", "others", "cpu_per_case")}
               for j in (1, 2)}
        busy1 = med[1]["main"] + med[1]["under"]
        cores = min(2, os.cpu_count() or 1)
        # -j 2 runs at most `cores` CPU-seconds per second, each case costing cpu_per_case at -j 2
        ceiling = cores / med[2]["cpu_per_case"] / (busy1 / med[1]["cpu_per_case"])
        judging = judging_seconds(runs[1][0]["results"])
        print(f"{label:20} median speed-up {med[2]['rate'] / med[1]['rate']:4.2f}x; -j 1 keeps "
              f"{busy1:4.2f} cores busy, -j 2 {med[2]['main'] + med[2]['under']:4.2f} (other "
              f"programs {med[1]['others']:4.2f} and {med[2]['others']:4.2f}); CPU per case "
              f"{med[1]['cpu_per_case'] * 1e3:4.2f} ms at -j 1, "
              f"{med[2]['cpu_per_case'] * 1e3:4.2f} ms at -j 2: with {cores} cores to itself "
              f"-j 2 could be {ceiling:4.2f}x as fast; "
              f"judging {judging * 1e3:4.2f} ms of the {1e3 / med[1]['rate']:4.2f} ms a case takes "
              f"at -j 1", flush=True)


if __name__ == "__main__":
    main()
