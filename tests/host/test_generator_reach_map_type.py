"""Every generator that draws from the action menu reaches an mmap with neither MAP_SHARED nor
MAP_PRIVATE (model/map_type.py, C01; the mmap_neither family): random walks and Hypothesis
programs of the default scope, the exhaustive enumerator, and the distinguishing search, which
finds the POSIX error-order difference (EBADF or EINVAL for a closed descriptor) from a menu
of that family. Statistical for the first two, so in the host tier (as
tests/host/test_generator_reach.py is for the other classes)."""
from __future__ import annotations

import random
from dataclasses import replace

from sharespec.model.ops import Mmap
from sharespec.model.scope import SMALL, Scope
from drawn_programs import drawn_programs


def reached(programs) -> set:
    hits = set()
    for program in programs:
        for st in program:
            if isinstance(st.op, Mmap) and st.op.neither:
                hits.add("anon" if st.op.fd is None else "fd")
                if st.op.fixed != "none":
                    hits.add(st.op.fixed)
    return hits


def test_C01_random_programs_reach_neither():
    from sharespec.generators.random_programs import random_program
    rng = random.Random(16)
    assert {"anon", "fd", "replace"} <= reached(random_program(rng, Scope()) for _ in range(300))


def test_C01_hypothesis_programs_reach_neither():
    from sharespec.generators.strategies import programs
    assert {"anon"} <= reached(drawn_programs(programs(Scope(steps=10)), 300))


def test_C01_the_exhaustive_enumerator_explores_neither():
    """Every transition explored is an edge of the state graph; the programs it emits are one
    per (state, result) class, which a failed mmap shares with other failed calls."""
    from sharespec.generators.exhaustive import explore
    scope = replace(SMALL, processes=1, threads=1, pages=1, mappings=2, segments=0, objects=1,
                    steps=2, values=(1,), offsets=(0,), fixed=("replace", "noreplace"),
                    families=("mmap", "open", "mmap_neither"))
    graph = explore(scope).graph
    steps = [data["step"] for _, _, data in graph.edges(data=True)]
    assert {"anon", "fd", "replace", "noreplace"} <= reached([steps])
    results = {str(data["result"]) for _, _, data in graph.edges(data=True)
               if data["step"].op.OP == "mmap" and data["step"].op.neither}
    assert results == {"EINVAL", "EEXIST"}


def test_C01_distinguish_finds_posix_may_answer_EINVAL_before_EBADF():
    from sharespec.generators.distinguish import Menu, distinguish
    scope = replace(SMALL, processes=1, threads=1, pages=1, mappings=1, segments=0, objects=1,
                    values=(1,), offsets=(0,), opens=("creat",), object_kinds=("file",),
                    families=("open", "close", "mmap_neither"))
    found = distinguish("linux", "posix", bound=3, menus=[Menu("neither", scope)]).found
    assert found is not None
    last = found.program[-1].op
    assert isinstance(last, Mmap) and last.neither
    assert {str(r) for r in found.only_b} == {"EINVAL"}
