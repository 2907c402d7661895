"""Every program up to a bound, explored breadth-first over the explicit semantics.

The engine uses only the model's interface (``initial()``, ``step(state, step, profile)``),
as stateright's BFS checker does: from each state, every action of the model's menu
(model/actions.py: every operation family, by every live thread, one step per argument class
the scope offers) and every (next state, result) the profile allows. States equal up to
renaming of internal ids are explored once (``canonical.canonical_state``; what may be
renamed, and why, is written there). The state graph is a networkx MultiDiGraph whose nodes
are canonical states and whose edges carry (step, result).

The scope bounds how many of each handle and which argument classes; the default one
(model/scope.SMALL) offers every family with its arguments narrowed so that bounds 3 and 4 stay
small (mprotect, madvise and mremap included).

A created handle is named after the count of its kind so far (T1, M0, S0, F0 ...): the name
follows from the state (descriptors: from the count carried beside it), so the program that
reaches a node needs no other memory.

Which programs become cases: a *class* is (canonical state reached, result of the last step).
Each class gets the first program that reaches it in breadth-first, menu order (a shortest
one); programs that are a strict prefix of another class's program are then left out, since
the longer case checks every step of the shorter one too.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator, Optional

import networkx as nx

from sharespec.model.case import Case
from sharespec.model.actions import actions
from sharespec.model.oracle import allowed_per_step
from sharespec.model.profiles import get_profile
from sharespec.model.scope import Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import State, initial

from .canonical import canonical_state, fingerprinted_case, same_up_to_renaming
from .frame_observations import observe_program
from .observation_tail import observation_tail


@dataclass
class Exploration:
    """The explored state graph and its figures."""
    graph: nx.MultiDiGraph
    symmetry: bool
    states_explored: int = 0          # successor states computed (before any merging)
    distinct_states: int = 0          # nodes of the graph
    merged_by_symmetry: int = 0       # successors that were a new raw state but a known class
    seconds: float = 0.0
    # class (node, result) -> the first program reaching it
    programs: dict = field(default_factory=dict)

    def selected_programs(self) -> list:
        """One program per class, without those that another selected program extends."""
        programs = set(self.programs.values())
        prefixes = {p[:k] for p in programs for k in range(1, len(p))}
        return sorted((p for p in programs if p not in prefixes), key=lambda p: (len(p), repr(p)))


def explore(scope: Scope, profile="linux", symmetry: bool = True, verify: bool = False,
            max_states: Optional[int] = None) -> Exploration:
    """Breadth-first exploration of every program of at most ``scope.steps`` steps.

    ``verify``: confirm every merge of two different raw states by an exact graph isomorphism
    (slow; for tests). ``max_states`` stops early (the result then says so by its counts)."""
    prof = get_profile(profile)
    keyer = canonical_state if symmetry else (lambda s: s)
    t0 = time.perf_counter()
    g = nx.MultiDiGraph()
    ex = Exploration(g, symmetry)
    start = (keyer(initial()), 0)
    ids = {start: 0}
    representative = {0: initial()}   # a raw state of each node, for ``verify``
    g.add_node(0, state=start[0], depth=0)
    path = {0: ()}                    # node -> the first program reaching it
    fds = {0: 0}                      # node -> descriptor handles bound so far (names F0..)
    queue = deque([0])
    while queue:
        node = queue.popleft()
        state, fds_bound = g.nodes[node]["state"], fds[node]
        depth = g.nodes[node]["depth"]
        if depth >= scope.steps:
            continue
        for st in (a.step for a in actions(state, scope, fds_bound=fds_bound)):
            try:
                outcomes = step(state, st, prof)
            except NotApplicable:
                continue
            next_fds = fds_bound + (st.op.BINDS == "fd")   # open, dup, reopen
            for raw, result in outcomes:
                ex.states_explored += 1
                key = (keyer(raw), next_fds)
                target = ids.get(key)
                if target is None:
                    target = ids[key] = len(ids)
                    g.add_node(target, state=key[0], depth=depth + 1)
                    fds[target] = next_fds
                    representative[target] = raw
                    path[target] = path[node] + (st,)
                    queue.append(target)
                elif symmetry and raw != representative[target]:
                    ex.merged_by_symmetry += 1
                    if verify and not same_up_to_renaming(raw, representative[target]):
                        raise AssertionError(f"merged states that are not symmetric after {st}")
                g.add_edge(node, target, step=st, result=result)
                ex.programs.setdefault((target, str(result)), path[node] + (st,))
            if max_states is not None and len(ids) >= max_states:
                queue.clear()
                break
    ex.distinct_states = g.number_of_nodes()
    ex.seconds = time.perf_counter() - t0
    return ex


def exhaustive_cases(scope: Scope, profile="linux", exploration: Optional[Exploration] = None,
                     frames: bool = True, observe: bool = True) -> Iterator[Case]:
    """One Case per selected program, expectations from the oracle, named by content hash.
    ``frames``: with frames steps observing the pages the program touched
    (frame_observations.py; under posix they check what the values imply). ``observe``: then
    the observation tail (observation_tail.py: reads of everything the program touched, pread
    and IPC_STAT of its objects, a fork probe), so that each state reached is looked at whole.
    The enumeration itself never chooses frames steps or the tail's: they observe, so they
    would only multiply the programs, not the states."""
    ex = exploration or explore(scope, profile)
    for program in ex.selected_programs():
        tail = observation_tail(program, profile) if observe else ()
        if frames:
            program = observe_program(program, profile)
        program = tuple(program) + tail
        allowed = tuple(allowed_per_step(program, profile))
        yield fingerprinted_case("exhaustive", program, str(profile), "exhaustive",
                                 f"exhaustive enumeration, {len(program)} steps", allowed)


def report(scope: Scope, profile="linux") -> dict:
    """The figures of one bound, with and without symmetry reduction."""
    with_sym = explore(scope, profile, symmetry=True)
    without = explore(scope, profile, symmetry=False)
    return {
        "steps": scope.steps,
        "states_explored": with_sym.states_explored,
        "distinct_states": with_sym.distinct_states,
        "distinct_states_without_symmetry": without.distinct_states,
        "reduction_factor": round(without.distinct_states / max(1, with_sym.distinct_states), 3),
        "programs": len(with_sym.selected_programs()),
        "seconds": round(with_sym.seconds, 3),
        "seconds_without_symmetry": round(without.seconds, 3),
        "states_per_second": round(with_sym.states_explored / max(with_sym.seconds, 1e-9)),
        "states_per_second_without_symmetry":
            round(without.states_explored / max(without.seconds, 1e-9)),
    }
