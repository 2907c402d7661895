"""Fake implementations for tests of the runner, scripts speaking docs/protocol.md:
- fake_impl: answers each step with the first result the case allows (the "parrot"), except
  where a policy makes it lie, refuse or give up. Only for cases whose allowed results do not
  depend on the results before them (the parrot would then be inconsistent);
- liar_impl: the bundled implementation, with one lie about R10."""
import json
import sys
import textwrap

SCRIPT = """
import json, os, sys
POLICY = {policy!r}
COUNTER = {counter!r}

def tries():
    n = int(open(COUNTER).read()) if os.path.exists(COUNTER) else 0
    with open(COUNTER, "w") as f:
        f.write(str(n + 1))
    return n

for line in sys.stdin:
    case = json.loads(line)
    results = [step["allowed"][0] for step in case["steps"]]
    status = "done"
    if POLICY == "error":
        status, results = "error", []
    elif POLICY == "timeout":
        status, results = "timeout", results[:1]
    elif POLICY in ("refuse-mmap", "refuse-mmap-once"):
        first = next((i for i, s in enumerate(case["steps"]) if s["op"] == "mmap"), None)
        if first is not None and (POLICY == "refuse-mmap" or tries() == 0):
            results = results[:first] + ["ENOMEM"] + ["ok"] * (len(results) - first - 1)
            results = results[:len(case["steps"])]
    print(json.dumps({{"format": "sharespec-observation", "version": 1, "case": case["name"],
                      "status": status, "results": results, "detail": "fake"}}), flush=True)
"""


def fake_impl(tmp_path, policy: str) -> str:
    """The --impl command line of a fake implementation with ``policy``: parrot, error,
    timeout, refuse-mmap (ENOMEM for the first mmap, every time), refuse-mmap-once (only the
    first time it is asked, over all its processes)."""
    script = tmp_path / f"fake-{policy}.py"
    script.write_text(textwrap.dedent(SCRIPT.format(policy=policy,
                                                   counter=str(tmp_path / f"{policy}.count"))))
    return f"{sys.executable} {script}"


# A fake implementation: the bundled one, except that a read by any thread but T0 of a nonzero
# byte reports 0 (so a child never sees its parent's writes to shared memory: R10). An
# optional second argument makes every case take that many seconds more (a slow one).
LIAR = """\
import json, subprocess, sys, time
argv, env = json.loads(sys.argv[1])
delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
real = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
for line in sys.stdin:
    case = json.loads(line)
    real.stdin.write(line); real.stdin.flush()
    obs = json.loads(real.stdout.readline())
    obs["results"] = ["0" if s["op"] == "read" and s["thread"] != "T0" and r.isdigit() else r
                      for s, r in zip(case["steps"], obs["results"])]
    time.sleep(delay)
    print(json.dumps(obs), flush=True)
real.stdin.close(); real.wait()
"""


def liar_impl(tmp_path, delay: float = 0.0) -> str:
    """The --impl command line of LIAR (``delay``: seconds more for every case)."""
    from sharespec.runner import bundled_impl_command
    script = tmp_path / "liar.py"
    script.write_text(LIAR)
    argv, env = bundled_impl_command()
    extra = f" {delay}" if delay else ""
    return f"{sys.executable} {script} '{json.dumps([argv, env])}'{extra}"
