"""How fast cases are read: the text and JSON forms of a 44-step case (every operation), per
pair, median of rounds. The runner streams cases, so thousands a second are expected here;
this figure replaces a timed test (speed goals live in benchmarks, not in tests)."""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "model"))

from test_case_format import EVERY_OP, dumps_case, every_op_case  # noqa: E402

from sharespec.model.case_json import loads_case  # noqa: E402
from sharespec.model.case_text import case_from_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args()
    line, text = dumps_case(every_op_case()), EVERY_OP
    per_pair = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.pairs):
            loads_case(line)
            case_from_text(text)
        per_pair.append((time.perf_counter() - start) / args.pairs)
    print(f"a 44-step case read in both forms: median {statistics.median(per_pair) * 1e3:.2f} ms "
          f"per pair (worst {max(per_pair) * 1e3:.2f} ms) over {args.rounds} rounds")


if __name__ == "__main__":
    main()
