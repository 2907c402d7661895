"""R49: the probes of generated programs look under guard markers.

A page under a MADV_GUARD_INSTALL marker faults, so a probe cannot read what the install kept
(shared memory) or threw away (private anonymous memory): the observation tail of random,
Hypothesis and exhaustive cases (generators/observation_tail.py) and the probes of observed
coverage witnesses (sharespec/coverage_observations.py) fork a child that lifts the markers
and reads the pages. The parent keeps its markers, so its faulting read stays a probe too.
"""
from __future__ import annotations

import pytest

from sharespec.coverage_observations import observed_program
from sharespec.generators.observation_tail import observed
from sharespec.model.oracle import allowed_per_step
from sharespec.model.ops import Madvise, Read

from test_model_rules import program

GUARDED = """
T0: M0 = mmap(anon, {sharing}, rw, 8192)
T0: write(M0, 9)
T0: madvise(M0, 4096, guard_install)
"""


def _under_the_guard(steps) -> list:
    """The allowed results of the reads that follow a guard_remove of M0[0], by the same thread."""
    allowed = allowed_per_step(steps, "linux")
    lifted = {st.thread for st in steps if isinstance(st.op, Madvise) and st.op.advice == "guard_remove"}
    return [{str(r) for r in allowed[i]} for i, st in enumerate(steps)
            if isinstance(st.op, Read) and st.thread in lifted and st.op.at.page == 0]


@pytest.mark.parametrize("sharing, under", [("shared", {"9"}), ("private", {"0"})])
def test_R49_the_observation_tail_reads_under_the_guard(sharing, under):
    steps = observed(program(GUARDED.format(sharing=sharing)))
    assert _under_the_guard(steps) == [under]
    # the parent keeps its marker: the faulting read of the page (by a fork child of its
    # own, which inherits the marker) is still a probe
    lifted = {st.thread for st in steps if isinstance(st.op, Madvise) and st.op.advice == "guard_remove"}
    others = [{str(x) for x in r} for st, r in zip(steps, allowed_per_step(steps, "linux"))
              if st.thread not in lifted and isinstance(st.op, Read) and st.op.at.page == 0]
    assert {"SIGSEGV"} in others


@pytest.mark.parametrize("sharing", ["shared", "private"])
def test_R49_observed_coverage_witnesses_read_under_the_guard(sharing):
    steps = observed_program(program(GUARDED.format(sharing=sharing)))
    steps = steps[0] if steps and isinstance(steps[0], tuple) else steps
    [under] = _under_the_guard(steps)
    # the witness's fill stores a distinct byte before the install: shared memory keeps it,
    # private anonymous memory loses it
    assert under == {"0"} if sharing == "private" else len(under) == 1 and under != {"0"}


def test_no_guard_no_lifting():
    steps = observed(program(GUARDED.format(sharing="shared").replace("guard_install", "dontneed")))
    assert not any(isinstance(st.op, Madvise) and st.op.advice == "guard_remove" for st in steps)
