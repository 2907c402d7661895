"""The long chaos campaign: rounds of `sharespec run -j 2` over the built-in cases (and
generated ones), in which random processes of the run (implementations, case processes) are
killed with SIGKILL, cases hang past their timeout, and every few rounds the runner itself
gets SIGINT or SIGTERM part-way. After each round it checks that every case was reported (or,
when interrupted, that the partial report is whole), that no case FAILed or PASSed because of
the chaos (every hit case is ERROR or INCONCLUSIVE with a reason), and that no segment,
/dev/shm name, ledger or process of the run remains. Prints a line per round and a total;
exit status 1 if any round found a problem.

    python benchmarks/chaos.py [--seconds 600] [--seed S] [--kills-per-second 8]
"""
from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import test_chaos as T  # noqa: E402


# -j 2, two cases queued per worker, and the one being written: what may still come after a
# signal that stops the run
IN_FLIGHT_AT_SIGNAL = 6


def reported_so_far(folder: Path) -> int:
    """Cases reported in the run's partial JSON report."""
    return sum(1 for record in T.partial_records(folder) if "verdict" in record)


def one_round(number: int, rng: random.Random, kills_per_second: float, interrupt) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="sharespec-chaos-"))
    watch = T.Watch()
    hang = rng.choice([None, 9, 11, 13])
    runner, out = T.start_run(folder, "--case", str(T.CASES), "-j", "2", hang=hang,
                              timeout=str(rng.choice([0.5, 1, 2])))
    kills = {"executor": 0, "case process": 0}
    stop_at = time.monotonic() + rng.uniform(1.0, 4.0) if interrupt else None
    reported_before_signal = None
    deadline = time.monotonic() + 600
    while runner.poll() is None and time.monotonic() < deadline:
        time.sleep(rng.expovariate(kills_per_second))
        what = T.kill_one(watch, runner, rng)
        if what:
            kills[what] += 1
        if stop_at is not None and time.monotonic() > stop_at:
            reported_before_signal = reported_so_far(folder)
            runner.send_signal(interrupt)
            stop_at = None
    stdout, stderr = runner.communicate(timeout=120)
    problems = []
    try:
        cases, summary = T.records_of(out)
    except (OSError, ValueError, IndexError) as error:
        cases, summary = [], {}
        problems.append(f"no whole report: {error}")
    verdicts: dict = {}
    for record in cases:
        verdicts[record["verdict"]] = verdicts.get(record["verdict"], 0) + 1
        if record["verdict"] == "FAIL":
            problems.append(f"FAIL {record['case']}: {record['detail'][:200]}")
        if record["verdict"] in ("ERROR", "INCONCLUSIVE") and not record["detail"]:
            problems.append(f"{record['verdict']} without a reason: {record['case']}")
    stopped = runner.returncode in (130, -signal.SIGINT, -signal.SIGTERM)
    if reported_before_signal is not None and summary:
        # A signal that comes as the run ends finds it complete: that run is right to say so
        # and to end as usual; one that comes earlier must stop it within the cases in flight
        if stopped and summary.get("complete") is not False:
            problems.append("interrupted, but the report does not say it is partial")
        if not stopped and len(cases) - reported_before_signal > IN_FLIGHT_AT_SIGNAL:
            problems.append(f"the run went on after the signal: {reported_before_signal} cases "
                            f"were reported then, {len(cases)} in the end")
    if not interrupt and summary.get("complete") is not True:
        problems.append(f"not complete (exit status {runner.returncode}): {stderr[-500:]}")
    left = watch.leftovers(runner.pid)
    if any(left.values()):
        problems.append(f"left behind: {left}")
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir()
    folder.rmdir()
    return {"kills": kills, "verdicts": verdicts, "problems": problems, "hang": hang,
            "interrupt": signal.Signals(interrupt).name if interrupt else None,
            "status": runner.returncode}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=random.randrange(2 ** 32))
    parser.add_argument("--kills-per-second", type=float, default=8)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"seed {args.seed}")
    end = time.monotonic() + args.seconds
    totals = {"rounds": 0, "kills": 0, "cases": 0, "hit": 0, "problems": 0}
    number = 0
    while time.monotonic() < end:
        number += 1
        interrupt = rng.choice([signal.SIGINT, signal.SIGTERM]) if number % 3 == 0 else None
        result = one_round(number, rng, args.kills_per_second, interrupt)
        kills = sum(result["kills"].values())
        cases = sum(result["verdicts"].values())
        hit = cases - result["verdicts"].get("PASS", 0)
        print(f"round {number:3d}: hang {result['hang']}, {kills:3d} kills {result['kills']}, "
              f"{result['interrupt'] or 'not interrupted'}, exit {result['status']}: "
              f"{cases} cases {result['verdicts']}; {len(result['problems'])} problems", flush=True)
        for problem in result["problems"]:
            print("    " + problem)
        totals["rounds"] += 1
        totals["kills"] += kills
        totals["cases"] += cases
        totals["hit"] += hit
        totals["problems"] += len(result["problems"])
    print(f"total: {totals['rounds']} rounds, {totals['kills']} kills, {totals['cases']} cases "
          f"reported ({totals['hit']} ERROR/INCONCLUSIVE), {totals['problems']} problems")
    return 1 if totals["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
