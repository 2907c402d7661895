"""The programs one derandomized @given(programs(...)) run draws: the generator-reach tests
ask whether Hypothesis reaches an argument class, over the same programs every run."""
from __future__ import annotations


def drawn_programs(strategy, examples: int) -> list:
    """Every program ``strategy`` gives in a derandomized run of ``examples`` examples."""
    from hypothesis import HealthCheck, given, settings
    drawn: list = []

    @settings(max_examples=examples, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(program):
        drawn.append(program)

    collect()
    return drawn
