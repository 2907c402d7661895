"""Throughput of the bundled implementation against the physical limit, measured in one run.

Prints, for the two standard cases (fork and thread: shmget, shmat, a child or a second thread
writes, the first reads, shmdt, IPC_RMID), the median microseconds per case of
- native C (benchmarks/native_cases.c, compiled here with `cc` when there is one);
- the bundled implementation (`python -S -m impl --ledger FILE`, one pre-started process, case
  lines in, observation lines out: what the runner pays per case, without judging);
- the CPython floor: what any implementation written in CPython pays at least, measured in a
  bare `python -S`: the same case done directly (ctypes, os.fork or _thread, no protocol, no
  executor), and the bare fork+_exit+waitpid or thread start+join; each also in a Python that
  has imported the bundled implementation's modules (its executor is that big when it forks);
and, served: the same case done directly in a server process forked from that bare Python,
which reads the case's JSON line and writes an observation line (json in, json out, no
validation, no step interpreted, no clean-up checked: the least that an implementation of
docs/protocol.md which isolates its cases in another process pays);
and every figure's ratio to native C: the bundled implementation's is what the goal (4x) is
about, the floor's is the best that any CPython implementation could reach on this machine.
Then cases per second for the whole default suite and for a generated corpus through the
runner (judging included) at -j 1 and -j 2, and the parallelism the machine offers before
and after those runs (two CPU-bound processes against one: the ceiling of any -j 2 speed-up).

    python benchmarks/throughput.py [--repeats N] [--corpus N] [--no-suite]
    python benchmarks/throughput.py --corpus-only [--corpus N]

--corpus-only measures the corpus at -j 2 alone, between two runs of a fixed CPU-bound job in
two processes (parallel_scaling.spin), and prints the corpus's rate divided by the job's: on a
shared, noisy machine that ratio moves less than the rate, so two versions of the
implementation compare better by it.
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
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from parallel_scaling import parallelism, spin  # noqa: E402  (a script beside this one)

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

# The CPython floor, run as `python -S -c FLOOR KIND N [MODULE...]`: the standard case done
# directly ("fork-case", "thread-case"), or a bare fork+_exit+waitpid ("fork") or thread
# start and join ("thread": _thread, which is what threading.Thread stands on, and a lock the
# thread releases as its last act); the modules are imported first. Prints the median in us.
FLOOR = r"""
import os, sys, time, _thread
kind, n = sys.argv[1], int(sys.argv[2])
for module in sys.argv[3:]:
    __import__(module)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
done = _thread.allocate_lock()

def write(addr):
    ctypes.c_ubyte.from_address(addr).value = 7
    done.release()

def case(use_thread):
    ident = libc.shmget(0, 4096, 0o1600)
    addr = libc.shmat(ident, None, 0)
    if use_thread:
        done.acquire()
        _thread.start_new_thread(write, (addr,))
        done.acquire()
        done.release()
    else:
        pid = os.fork()
        if pid == 0:
            ctypes.c_ubyte.from_address(addr).value = 7
            os._exit(0)
        os.waitpid(pid, 0)
    value = ctypes.c_ubyte.from_address(addr).value
    libc.shmdt(addr)
    libc.shmctl(ident, 0, None)
    if value != 7:
        raise SystemExit("the case went wrong")
    return value

def bare(use_thread):
    if use_thread:
        done.acquire()
        _thread.start_new_thread(done.release, ())
        done.acquire()
        done.release()
    else:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

def served(use_thread):
    # a server process, forked now, that reads case lines, does each case directly and
    # writes its observation line; the work measured: one case line in, its observation out
    import json
    line = os.environ["SHARESPEC_BENCH_LINE"].encode() + b"\n"
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()
    server = os.fork()
    if server == 0:
        os.close(requests_w)
        os.close(replies_r)
        for request in os.fdopen(requests_r, "rb"):
            name = json.loads(request)["name"]
            value = case(use_thread)
            os.write(replies_w, (json.dumps({
                "format": "sharespec-observation", "version": 1, "case": name, "status": "done",
                "results": ["new", "ok", "ok", "ok", "ok", str(value), "ok", "ok"],
                "detail": ""}) + "\n").encode())
        os._exit(0)
    os.close(requests_r)
    os.close(replies_w)
    replies = os.fdopen(replies_r, "rb")
    SERVERS.append((server, requests_w))

    def one():
        os.write(requests_w, line)
        if json.loads(replies.readline())["results"][5] != "7":
            raise SystemExit("the served case went wrong")
    return one

SERVERS = []
work = {"fork-case": lambda: case(False), "thread-case": lambda: case(True),
        "fork": lambda: bare(False), "thread": lambda: bare(True)}.get(kind)
if work is None:
    work = served(kind == "thread-served")
times = []
for i in range(n + 20):
    t0 = time.perf_counter()
    work()
    if i >= 20:
        times.append(time.perf_counter() - t0)
for server, requests in SERVERS:
    os.close(requests)
    os.waitpid(server, 0)
times.sort()
print("%.1f" % (times[len(times) // 2] * 1e6))
"""
EXECUTOR_MODULES = ["impl.__main__"]     # what the bundled implementation's executor imports


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


def floor(kind: str, repeats: int, modules=(), line: str = "") -> float:
    """The median of FLOOR's `kind` in a fresh `python -S`, with `modules` imported first
    (`line`: the case's JSON line, for the served kinds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SHARESPEC_BENCH_LINE=line)
    env.pop("PYTHONFAULTHANDLER", None)
    out = subprocess.run([sys.executable, "-S", "-c", FLOOR, kind, str(repeats), *modules],
                         check=True, capture_output=True, text=True, env=env)
    return float(out.stdout)


def case_line(case_text: str) -> str:
    from sharespec.model.case_json import dumps_case
    from sharespec.model.case_text import case_from_text
    return dumps_case(case_from_text(case_text, "<bench>"))


def bundled(case_text: str, repeats: int) -> float:
    """The median time from writing a case line to reading its observation, as the runner
    starts the bundled implementation (with a ledger)."""
    from sharespec.runner import bundled_impl_command

    line = (case_line(case_text) + "\n").encode()
    argv, env = bundled_impl_command()
    ledger_dir = tempfile.mkdtemp(prefix="sharespec-bench-")
    argv = argv + ["--ledger", os.path.join(ledger_dir, "ledger")]
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
        shutil.rmtree(ledger_dir, ignore_errors=True)
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


def per_case(kind: str, text: str, repeats: int) -> None:
    c = native(kind, repeats)
    rows = [("bundled implementation", bundled(text, repeats)),
            ("floor: the case done directly, python -S", floor(kind + "-case", repeats)),
            ("  the same, executor's modules imported",
             floor(kind + "-case", repeats, EXECUTOR_MODULES)),
            ("  the same, served: case line in, observation out",
             floor(kind + "-served", repeats, line=case_line(text))),
            ("floor: bare " + ("fork+_exit+waitpid" if kind == "fork" else "thread start+join")
             + ", python -S", floor(kind, repeats)),
            ("  the same, executor's modules imported", floor(kind, repeats, EXECUTOR_MODULES))]
    if c is None:
        print(f"{kind} case (no C compiler: native side not measured)")
    else:
        print(f"{kind} case: native C {c:8.1f} us")
    for label, us in rows:
        ratio = f"   {us / c:6.1f}x native" if c else ""
        print(f"  {label:<52} {us:8.1f} us{ratio}")


def reference_rate(n: int = 3_000_000) -> float:
    """Units of a fixed CPU-bound job (spin(n)) done per second by two processes at once."""
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(2) as pool:
        start = time.perf_counter()
        pool.map(spin, [n] * 4)
        return 4 / (time.perf_counter() - start)


def corpus_only(count: int) -> None:
    from sharespec.generators.random_programs import random_cases
    corpus = list(random_cases(seed=7, count=count))
    before = reference_rate()
    rate = suite_rate(corpus, 2)
    after = reference_rate()
    reference = (before + after) / 2
    print(f"{len(corpus)}-case corpus at -j 2: {rate:7.1f} cases/s; reference job "
          f"{before:5.2f} and {after:5.2f} units/s; ratio {rate / reference:6.2f} cases per unit")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--corpus", type=int, default=1000)
    ap.add_argument("--no-suite", action="store_true", help="per-case figures only")
    ap.add_argument("--corpus-only", action="store_true",
                    help="the corpus at -j 2 only, and its ratio to a fixed CPU-bound job")
    args = ap.parse_args()
    if args.corpus_only:
        corpus_only(args.corpus)
        return
    print(f"machine: {os.uname().sysname} {os.uname().release} {os.uname().machine}, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; "
          f"medians of {args.repeats} (ratios: to native C, same run; goal 4x)")
    for kind, text in (("fork", FORK_CASE), ("thread", THREAD_CASE)):
        per_case(kind, text, args.repeats)
    if args.no_suite:
        return

    from sharespec.generators.random_programs import random_cases
    from sharespec.suite import builtin_cases
    suite = builtin_cases()
    corpus = list(random_cases(seed=7, count=args.corpus))
    offered = [statistics.median(parallelism() for _ in range(3))]
    for name, cases in (("default suite", suite), (f"{len(corpus)}-case corpus", corpus)):
        r1 = suite_rate(cases, 1)
        r2 = suite_rate(cases, 2)
        print(f"{name:>16} ({len(cases)} cases): -j 1 {r1:7.1f} cases/s   -j 2 {r2:7.1f} cases/s   "
              f"speed-up {r2 / r1:4.2f}x")
    offered.append(statistics.median(parallelism() for _ in range(3)))
    print("parallelism this machine offered, before and after those runs: two CPU-bound "
          "processes ran %.2fx and %.2fx as fast as one (no -j 2 speed-up can be more)" % tuple(offered))


if __name__ == "__main__":
    main()
