"""Wrong verdicts when the environment refuses (issue 13): the default suite against the bundled
implementation on this (correct) kernel, in environments that refuse memory-sharing calls.

Every FAIL or ERROR there is a wrong verdict: the kernel is right, so a refusal must come out
INCONCLUSIVE (with its reason) or the case must pass. Each environment runs in namespaces of its
own (`unshare --ipc --mount`, as root), so the host is never changed:

- kernel.shmmax=4096, kernel.shmmni=4, kernel.shmall=4 (pages), kernel.shm_rmid_forced=1;
- an 8 KiB tmpfs on /dev/shm, and a read-only one;
- ulimit -n 64 (the runner raises the soft limit where it can) and ulimit -v (address space);
- strace fault injection (`strace -f -e inject=...` on the implementation), when strace is
  installed: shmget ENOSPC on its 5th call, shmat ENOMEM on its 3rd, mremap ENOMEM on every
  2nd. (Not mmap: the interpreter's own start-up maps memory, and an implementation that cannot
  start is an ERROR the runner cannot tell from a broken one.)

    python benchmarks/limits.py [--z3-bound 4] [--only NAME]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))

SYSCTL = 'echo {value} > /proc/sys/kernel/{name} && '
TMPFS = 'mount -t tmpfs -o {options} tmpfs /dev/shm && '
ENVIRONMENTS = {
    "shmmax=4096": SYSCTL.format(value=4096, name="shmmax"),
    "shmmni=4": SYSCTL.format(value=4, name="shmmni"),
    "shmall=4": SYSCTL.format(value=4, name="shmall"),
    "shm_rmid_forced=1": SYSCTL.format(value=1, name="shm_rmid_forced"),
    "dev_shm_8k": TMPFS.format(options="size=8k"),
    "dev_shm_readonly": TMPFS.format(options="ro"),
    "ulimit_n_64_soft": "ulimit -S -n 64 && ",     # raised by the runner (hard limit above)
    "ulimit_n_64_hard": "ulimit -n 64 && ",        # cannot be raised: exit 2, one line
    "ulimit_v_1g": "ulimit -v 1048576 && ",
}
STRACE = {
    "strace_shmget_enospc": "-e trace=shmget -e inject=shmget:error=ENOSPC:when=5",
    "strace_shmat_enomem": "-e trace=shmat -e inject=shmat:error=ENOMEM:when=3",
    "strace_mremap_enomem": "-e trace=mremap -e inject=mremap:error=ENOMEM:when=2+2",
}


def run_in(name: str, setup: str, args, impl=None) -> dict:
    folder = tempfile.mkdtemp(prefix="sharespec-limits-")
    out = os.path.join(folder, "results.jsonl")
    command = [sys.executable, "-m", "sharespec", "run", "--no-shrink", "-q",
               "--z3-bound", str(args.z3_bound), "--json", out]
    if impl:
        command += ["--impl", impl]
    inner = setup + 'exec "$@"'
    started = time.monotonic()
    done = subprocess.run(["unshare", "--ipc", "--mount", "--propagation", "private", "sh", "-c",
                           inner, "-", *command], capture_output=True, text=True, cwd=folder,
                          timeout=args.timeout)
    seconds = time.monotonic() - started
    verdicts: Counter = Counter()
    wrong = []
    try:
        with open(out) as f:
            for line in f:
                record = json.loads(line)
                if "verdict" in record:
                    verdicts[record["verdict"]] += 1
                    injected = impl and "repeatable on a re-run alone" in record["detail"]
                    if record["verdict"] == "FAIL" and injected:
                        # strace injects the refusal every time, with headroom: by the evidence
                        # rule that is an implementation refusing a legal call, a FAIL by design
                        verdicts["FAIL (injected, repeatable)"] += 1
                    elif record["verdict"] in ("FAIL", "ERROR"):
                        wrong.append(f"{record['case']}: {record['detail'][:160]}")
    except OSError:
        refused = done.returncode == 2 and done.stderr.startswith("sharespec: ") \
            and done.stderr.count("\n") == 1
        if not refused:     # a clear refusal to start (exit 2, one line) is right, not wrong
            wrong.append(f"no results (exit {done.returncode}): {done.stderr.strip()[-300:]}")
        else:
            verdicts["refused to start (exit 2): " + done.stderr.strip()[11:90]] += 1
    tracebacks = done.stderr.count("Traceback")
    shutil.rmtree(folder, ignore_errors=True)
    return {"environment": name, "exit": done.returncode, "seconds": round(seconds, 1),
            "verdicts": dict(verdicts), "wrong": wrong, "tracebacks": tracebacks}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--z3-bound", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("needs root and unshare (namespaces of its own)")
        return 2
    from sharespec.runner import bundled_impl_command
    argv, env = bundled_impl_command()
    rows = []
    for name, setup in ENVIRONMENTS.items():
        if not args.only or name in args.only:
            rows.append(run_in(name, setup, args))
    if shutil.which("strace"):
        for name, expression in STRACE.items():
            if not args.only or name in args.only:
                impl = (f"env PYTHONPATH={env['PYTHONPATH']} strace -qq -f -o /dev/null "
                        f"{expression} " + " ".join(argv))
                rows.append(run_in(name, "", args, impl))
    else:
        print("strace is not installed: fault injection skipped")
    total_wrong = 0
    for row in rows:
        v = row["verdicts"]
        total_wrong += len(row["wrong"]) + row["tracebacks"]
        print(f"{row['environment']:<22} exit {row['exit']:>3}  {row['seconds']:>6.1f} s  "
              f"pass {v.get('PASS', 0):>4}  incon {v.get('INCONCLUSIVE', 0):>4}  "
              f"fail {v.get('FAIL', 0):>3}  error {v.get('ERROR', 0):>3}  "
              f"tracebacks {row['tracebacks']}")
        other = {k: n for k, n in v.items() if k not in ("PASS", "INCONCLUSIVE", "FAIL", "ERROR")}
        if other:
            print(f"    also: {other}")
        for line in row["wrong"][:5]:
            print(f"    wrong: {line}")
    print(f"wrong verdicts and tracebacks in all: {total_wrong}")
    return 1 if total_wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
