"""Hostile input at scale: the case readers and the protocol readers against 10,000 inputs each.

The strategies of tests/test_hostile_input.py (random text and bytes, valid cases mutated,
deep nesting, huge numbers, wrong types, unknown fields, truncations), drawn many more times.
For every reader it prints how many inputs gave a case, how many a clear error, how many
anything else (a traceback: listed, and the exit status is 1), and the slowest input's time
(a hang would show there).

    python benchmarks/fuzz_parsers.py [--count N] [--seed S]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

import test_hostile_input as T  # noqa: E402
from sharespec.impl import protocol  # noqa: E402
from sharespec.model.case import CaseError  # noqa: E402
from sharespec.model.case_json import loads_case  # noqa: E402
from sharespec.model.case_text import case_from_text  # noqa: E402
from sharespec.runner import VERDICTS, judge_observation  # noqa: E402


def json_reader(text):
    return loads_case(text, "<fuzz>")


def text_reader(text):
    return case_from_text(text, "<fuzz>")


def impl_reader(line):
    plan = protocol.plan_or_error(protocol.parse_line(line))
    if not isinstance(plan, protocol.Plan):
        if "reader failed" in plan:
            raise AssertionError(plan)
        raise protocol.CaseError(plan)
    return plan


def runner_reader(pair):
    case, observation = pair
    result = judge_observation(case, observation, "linux", 0.0)
    if result.verdict not in VERDICTS:
        raise AssertionError(result.verdict)
    return result


READERS = [
    ("case JSON reader", json_reader, T.hostile_json_text, (CaseError,)),
    ("case text reader", text_reader, T.hostile_text, (CaseError,)),
    ("impl protocol reader", impl_reader,
     T.st.one_of(T.hostile_json_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                 T.st.binary(max_size=300)), (protocol.CaseError,)),
    ("runner observation reader", runner_reader,
     T.st.tuples(T.st.sampled_from(T.SAMPLES), T.observation_like), ()),
]


def fuzz(name, read, strategy, errors, count, rng_seed):
    tally = {"case": 0, "error": 0, "other": 0}
    slowest = [0.0, None]
    problems = []

    @seed(rng_seed)
    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(value):
        t0 = time.perf_counter()
        try:
            read(value)
            tally["case"] += 1
        except errors:
            tally["error"] += 1
        except Exception as error:  # noqa: BLE001 - this is what we are looking for
            tally["other"] += 1
            if len(problems) < 5:
                problems.append("%s: %r on %r" % (type(error).__name__, error, repr(value)[:200]))
        elapsed = time.perf_counter() - t0
        if elapsed > slowest[0]:
            slowest[:] = [elapsed, repr(value)[:80]]

    t0 = time.perf_counter()
    one()
    total = sum(tally.values())
    print(f"{name:>26}: {total:6d} inputs in {time.perf_counter() - t0:6.1f} s: "
          f"{tally['case']:5d} valid, {tally['error']:5d} clear errors, {tally['other']:3d} other; "
          f"slowest {slowest[0] * 1000:7.1f} ms")
    for problem in problems:
        print("      " + problem)
    return tally["other"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=random.randrange(2 ** 32))
    args = parser.parse_args()
    print(f"seed {args.seed}; {args.count} inputs per reader")
    bad = sum(fuzz(name, read, strategy, errors, args.count, args.seed)
              for name, read, strategy, errors in READERS)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
