"""How many of the action menu's labels (model/actions.py ``Action.label``: a family and the
classes of its arguments) a number of generated programs reach, per generator.

    python benchmarks/label_coverage.py [--programs N] [--seed S]

Printed for N programs of the Hypothesis strategies' case scope (strategies.CASES_SCOPE), each
generator on one line: programs, steps, distinct labels. The generators:
  hypothesis        the distinct programs of one @given(programs(...)) run (generate phase only,
                    no database, as cases() draws them), as many examples as it takes to get N
  random            random walks (seed S) with their least-used-labels-first rule (Usage)
  random-no-usage   random walks without it: what a pure draw per program can reach

A label reached is a class of an argument that some program exercised; a generator that reaches
few kills few mutants (benchmarks/mutation.py). No observation tail, no oracle: this measures
the draw, in a minute or two.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sharespec.generators.random_programs import (SWARM_LEAVES_OUT, SWARM_SHARE, Usage,  # noqa: E402
                                                  random_program)
from sharespec.generators.strategies import CASES_SCOPE, programs  # noqa: E402
from sharespec.generators.walk import NO_SWARM, Swarm, Walk  # noqa: E402
from sharespec.model.actions import classify  # noqa: E402


def labels(program) -> list:
    """The label of each step of ``program``, classified in the first state it may reach."""
    walk, out = Walk(CASES_SCOPE), []
    for st in program:
        out.append(classify(walk.states[0], st).label)
        walk.take(st, walk.successors(st)[:64])
    return out


def hypothesis_programs(count: int) -> list:
    from hypothesis import HealthCheck, Phase, given, settings
    drawn: dict = {}

    class Enough(Exception):
        pass

    @settings(max_examples=3 * count, database=None, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(programs(CASES_SCOPE, min_choices=3 * CASES_SCOPE.steps // 4))
    def draw(program):
        drawn.setdefault(program, None)
        if len(drawn) >= count:
            raise Enough
    try:
        draw()
    except Enough:
        pass
    return list(drawn)


def random_programs(count: int, seed: int, least_used: bool) -> list:
    rng, usage, out = random.Random(seed), Usage() if least_used else None, []
    while len(out) < count:
        swarm = (Swarm.drawn(lambda: rng.random() < SWARM_LEAVES_OUT)
                 if rng.random() < SWARM_SHARE else NO_SWARM)
        program = random_program(rng, CASES_SCOPE, usage=usage, swarm=swarm)
        if program:
            out.append(program)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    makers = {"hypothesis": lambda: hypothesis_programs(args.programs),
              "random": lambda: random_programs(args.programs, args.seed, True),
              "random-no-usage": lambda: random_programs(args.programs, args.seed, False)}
    print(f"{'generator':<16} {'programs':>8} {'steps':>6} {'labels':>6} {'seconds':>7}")
    for name, make in makers.items():
        start = time.monotonic()
        counted = Counter(label for program in make() for label in labels(program))
        print(f"{name:<16} {args.programs:>8} {sum(counted.values()):>6} {len(counted):>6} "
              f"{time.monotonic() - start:>7.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
