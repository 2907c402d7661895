"""Fake implementations for tests of the runner: a script speaking docs/protocol.md that
answers each step with the first result the case allows (the "parrot"), except where a policy
makes it lie, refuse or give up. Only for cases whose allowed results do not depend on the
results before them (the parrot would then be inconsistent)."""
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
