"""The chaos campaign: rounds of `sharespec run -j 2` that are ended from outside, each
followed by the next run, which must sweep what the ended one left.

Each round starts a run (the default suite without z3, so that rounds are short, or the
built-in cases with hanging cases: see --hang) and sends it one of: SIGKILL to its main
process, SIGKILL to its whole process group, SIGINT, SIGTERM; in half the rounds at a random
moment of its first LATEST seconds (start-up, on a loaded host), in the others a random moment
after its first case was reported (cases running); meanwhile random processes of its
implementations (executors, case processes) are killed with SIGKILL. Then it starts the next run at once (one case), which sweeps what the
ended run left (sharespec.ledgers.sweep_orphaned_runs), and counts what is still there after
it: processes, SysV segments, /dev/shm objects, ledger folders. Goal: 0 of each.

Counts are exact only where nothing else runs: by default the campaign re-runs itself in
its own IPC, mount and pid namespaces (``unshare --ipc --mount --pid --fork --mount-proc``,
as root), with a /dev/shm and a /tmp of its own, so that every segment, object, ledger
and process it sees is the campaign's. (--no-namespace runs on the host, counting only what
its runs' pids made; see tests/host/test_chaos.py.) It also checks, for a run that was
interrupted (SIGINT, SIGTERM), the exit status (130, or 0/1 if it had finished) and that
its report is whole and says it is partial; and that no run printed a traceback.

    sudo python benchmarks/chaos.py [--rounds 100] [--seed S] [--kills-per-second 2]

Prints a line per round and the totals; exit status 1 if anything leaked or broke.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "host"))

import test_chaos as T  # noqa: E402

ACTIONS = ("SIGKILL main", "SIGKILL group", "SIGINT", "SIGTERM")
ONE_CASE = T.CASES / "r09-sysv-inherited-by-fork.case"


def reap_orphans(keep):
    """As pid 1 of the namespace, orphans come here: reap every zombie child but ``keep``."""
    for pid, (ppid, _, _, zombie) in T.processes().items():
        if zombie and ppid == os.getpid() and pid not in keep:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def isolated_counts(watch):
    """Everything in the namespace: processes but this one, segments, objects, ledgers (in
    /tmp and in the round's TMPDIR)."""
    reap_orphans(set())
    live = {pid for pid, (_, _, _, zombie) in T.processes().items()
            if not zombie and pid != os.getpid()}
    return {"processes": live, "segments": set(T.segments()),
            "objects": set(os.listdir("/dev/shm")), "ledgers": T.ledgers() | T.ledgers(watch.tmp)}


def host_counts(watch, runner_pid):
    left = watch.leftovers(runner_pid, wait=0)
    return {"processes": left["processes"], "segments": left["segments"],
            "objects": left["names"], "ledgers": left["ledgers"]}


def wait_for_nothing_left(count, seconds):
    """Poll until nothing is left (the event waited for), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        left = count()
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def one_round(rng, args, folder: Path, isolated: bool) -> dict:
    watch = T.Watch(folder)
    action = rng.choice(ACTIONS)
    # Half the signals come during start-up (before any case is reported), half while cases
    # run: a moment after the first case is reported (the event waited for).
    phase = rng.choice(["start-up", "cases"])
    moment = rng.uniform(0.0, args.latest)
    hang = rng.choice([None, 9, 13]) if args.hang else None
    if args.hang:
        suite = ["--case", str(T.CASES)]
    else:
        suite = ["--z3-bound", "0", "--generated", str(args.generated), "--seed",
                 str(rng.randrange(1000))]
    env_run = dict(os.environ)
    runner, out = T.start_run(watch, *suite, "-j", "2", hang=hang,
                              timeout=str(rng.choice([0.5, 1, 2])))
    kills = 0
    start = time.monotonic()
    sent = False
    began = False            # whether the run had begun its cases when the signal came
    first_reported = None
    while runner.poll() is None:
        now = time.monotonic() - start
        if phase == "cases" and first_reported is None and any(
                "verdict" in r for r in T.partial_records(folder)):
            first_reported = now
        due = (now >= moment if phase == "start-up"
               else first_reported is not None and now - first_reported >= moment / 2)
        if not sent and due:
            if action == "SIGKILL main":
                runner.send_signal(signal.SIGKILL)
            elif action == "SIGKILL group":
                os.killpg(runner.pid, signal.SIGKILL)
            else:
                runner.send_signal(signal.SIGINT if action == "SIGINT" else signal.SIGTERM)
            sent = True
            began = any(folder.glob(".sharespec-*.partial")) or out.exists()
        if args.kills_per_second and T.kill_one(watch, runner, rng):
            kills += 1
        else:
            watch.look(runner.pid)
        if isolated:
            reap_orphans({runner.pid})
        pause = rng.expovariate(args.kills_per_second) if args.kills_per_second else 0.02
        time.sleep(min(pause, 0.05) if not sent else pause)
        if now > 600:
            runner.kill()
    stdout, stderr = runner.communicate()
    problems = []
    if "Traceback" in stderr:
        problems.append("traceback: " + stderr[stderr.index("Traceback"):][-300:])
    status = runner.returncode
    if action.startswith("SIGKILL") and sent and status not in (-9, 0, 1):
        problems.append(f"exit status {status} after {action}")
    if action in ("SIGINT", "SIGTERM"):
        if status not in (130, 143, 0, 1):
            problems.append(f"exit status {status} after {action}")
        if status in (130, 143):
            try:
                _, summary = T.records_of(out)
                if summary.get("complete") is not False:
                    problems.append("interrupted, but the report does not say it is partial")
            except (OSError, ValueError, IndexError) as error:
                problems.append(f"interrupted, and no whole report: {error}")
    # The next run: it sweeps what this one left, and says so.
    following = subprocess.run(
        [sys.executable, "-m", "sharespec", "run", "-q", "--no-shrink", "--case", str(ONE_CASE)],
        capture_output=True, text=True, cwd=folder, env=env_run | watch.env())
    swept = [line for line in following.stderr.splitlines() if "swept" in line]
    if following.returncode != 0:
        problems.append(f"the next run failed ({following.returncode}): {following.stderr[-300:]}")
    if isolated:
        left = wait_for_nothing_left(lambda: isolated_counts(watch), args.grace)
    else:
        left = wait_for_nothing_left(lambda: host_counts(watch, runner.pid), args.grace)
    for kind, found in left.items():
        if found:
            problems.append(f"left behind after the next run: {len(found)} {kind} "
                            f"{sorted(found)[:5]}")
    leaks = [p for p in problems if p.startswith("left behind")]
    others = [p for p in problems if p not in leaks]
    return {"action": action, "phase": phase, "status": status, "kills": kills,
            "moment": moment if phase == "start-up" or first_reported is None
            else first_reported + moment / 2, "began": began, "sent": sent,
            "leaks": leaks, "startup": others if sent and not began else [],
            "later": others if not (sent and not began) else [],
            "swept": swept, "left": {k: len(v) for k, v in left.items()}, "problems": problems}


def in_namespace(argv) -> int:
    """Re-run this script in new IPC, mount and pid namespaces, with a private /dev/shm and
    /tmp (the script is pid 1 there, and reaps what is orphaned)."""
    inner = ("mount -t tmpfs -o mode=1777 tmpfs /dev/shm && mount -t tmpfs -o mode=1777 tmpfs "
             "/tmp && exec \"$0\" \"$@\"")
    command = ["unshare", "--ipc", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child",
               "--propagation", "private", "sh", "-c", inner, sys.executable,
               os.path.abspath(__file__), "--isolated", *argv]
    # the campaign ends with this process (killed, say): unshare with it, the namespace with
    # unshare (--kill-child ends its pid 1, and so every process in it)
    from sharespec import process_tree
    process_tree.load()
    parent = os.getpid()
    return subprocess.call(command, preexec_fn=lambda: process_tree.die_with_parent(
        parent, signal.SIGKILL))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=random.randrange(2 ** 32))
    parser.add_argument("--kills-per-second", type=float, default=2.0,
                        help="SIGKILLs to implementation processes while a run lasts")
    parser.add_argument("--latest", type=float, default=3.0,
                        help="the signal comes at a random moment in [0, LATEST] s")
    parser.add_argument("--generated", type=int, default=20,
                        help="generated cases in each run's suite (with the built-in ones)")
    parser.add_argument("--hang", action="store_true",
                        help="run the built-in cases, some hanging past their timeout")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="how long leftovers may take to go after the next run")
    parser.add_argument("--no-namespace", action="store_true")
    parser.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if not args.isolated and not args.no_namespace:
        argv = [a for a in sys.argv[1:]] + ["--seed", str(args.seed)]
        return in_namespace(argv)
    rng = random.Random(args.seed)
    print(f"seed {args.seed}, {'own namespaces' if args.isolated else 'on the host'}", flush=True)
    totals = {kind: 0 for kind in ("processes", "segments", "objects", "ledgers")}
    by_action = {action: 0 for action in ACTIONS}
    rounds_swept = kills = 0
    problems = {"leaks": 0, "startup": 0, "later": 0}
    for number in range(1, args.rounds + 1):
        folder = Path(tempfile.mkdtemp(prefix="sharespec-chaos-"))
        try:
            result = one_round(rng, args, folder, args.isolated)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        by_action[result["action"]] += 1
        kills += result["kills"]
        rounds_swept += bool(result["swept"])
        for kind, n in result["left"].items():
            totals[kind] += n
        for kind in problems:
            problems[kind] += len(result[kind])
        when = ("not sent: the run ended first" if not result["sent"] else
                f"at {result['moment']:4.2f} s, " + ("cases begun" if result["began"]
                                                    else "start-up"))
        print(f"round {number:3d}: {result['action']:13s} {when}, exit "
              f"{result['status']}, {result['kills']} kills; next run: "
              f"{result['swept'][0][len('sharespec: '):] if result['swept'] else 'nothing to sweep'}"
              f"; left {result['left']}", flush=True)
        for problem in result["leaks"]:
            print("    " + problem, flush=True)
        for problem in result["startup"]:
            print("    [start-up] " + problem, flush=True)
        for problem in result["later"]:
            print("    [cases begun] " + problem, flush=True)
    print(f"total: {args.rounds} rounds {by_action}, {kills} implementation processes killed, "
          f"{rounds_swept} next runs swept something; left after the next run's sweep: "
          f"{totals['processes']} processes, {totals['segments']} segments, {totals['objects']} "
          f"objects, {totals['ledgers']} ledgers; problems: {problems['later']} with a run that "
          f"had begun its cases, {problems['startup']} with a signal during start-up (exit status, "
          f"report, traceback)", flush=True)
    return 1 if any(problems.values()) or any(totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
