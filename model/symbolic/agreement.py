"""Do the two encodings agree? For one program: the set of result sequences the explicit
semantics allows (every path through ``semantics.step``) against the set the z3 encoding
allows (every model, enumerated with blocking clauses). Disagreement is a bug in one of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import z3

from ..ops import Step
from ..profiles import get_profile
from ..semantics import step as explicit_step
from ..state import initial
from .core import OutsideCore, SymbolicScope, program_to_args
from .decode import result_from_vector, steps_from_args
from .unrolling import Unrolling, block, result_from_model

MAX_SEQUENCES = 64


def explicit_sequences(steps: Sequence[Step], profile) -> frozenset:
    """Every sequence of results some path of the explicit semantics gives."""
    profile = get_profile(profile)
    frontier = {(initial(), ())}
    for st in steps:
        frontier = {(nxt, seen + (res,)) for s, seen in frontier
                    for nxt, res in explicit_step(s, st, profile)}
    return frozenset(seen for _, seen in frontier)


def symbolic_sequences(u: Unrolling, program: list) -> frozenset:
    """Every sequence of results the encoding allows for this program (fixed by assumptions)."""
    lits = u.fix_program(program)
    n = len(program)
    found = set()
    u.solver.push()
    try:
        while True:
            verdict = u.solver.check(*lits)
            if verdict == z3.unknown:
                raise RuntimeError(f"solver answered unknown: {u.solver.reason_unknown()}")
            if verdict == z3.unsat:
                break
            m = u.solver.model()
            vecs = tuple(result_from_model(m, r) for r in u.results[:n])
            found.add(tuple(result_from_vector(v, u.scope) for v in vecs))
            if len(found) > MAX_SEQUENCES:
                raise RuntimeError("more result sequences than the enumeration bound")
            u.solver.add(block(u.results[:n], vecs))
    finally:
        u.solver.pop()
    return frozenset(found)


@dataclass(frozen=True)
class Agreement:
    program: tuple          # in the encoding's handle names
    explicit: frozenset
    symbolic: frozenset

    @property
    def agrees(self) -> bool:
        return self.explicit == self.symbolic

    def explain(self) -> str:
        from .decode import program_text
        lines = [program_text(self.program)]
        only_e = sorted(map(lambda seq: " ".join(map(str, seq)), self.explicit - self.symbolic))
        only_s = sorted(map(lambda seq: " ".join(map(str, seq)), self.symbolic - self.explicit))
        return ("\n".join(lines) + f"\nonly explicit: {only_e}\nonly symbolic: {only_s}")


def check_program(u: Unrolling, steps: Sequence[Step]) -> Agreement:
    """Compare the two for one program; OutsideCore if the encoding does not cover it.

    The program is first renamed to the encoding's positional handle names (and its lengths to
    whole pages), and both sides judge that same program.
    """
    args = program_to_args(steps, u.scope)
    canonical = steps_from_args(args, u.scope, _key_name(steps))
    explicit = explicit_sequences(canonical, u.profile)
    symbolic = frozenset(tuple(_rename_key(r, _key_name(steps)) for r in seq)
                         for seq in symbolic_sequences(u, args))
    return Agreement(canonical, explicit, symbolic)


def _key_name(steps) -> str:
    from ..ops import ShmGet
    for st in steps:
        if isinstance(st.op, ShmGet) and st.op.key != "private":
            return st.op.key
    return "K1"


def _rename_key(result, key_name: str):
    from ..results import Stat
    from dataclasses import replace
    if isinstance(result, Stat) and result.key != "private":
        return replace(result, key=key_name)
    return result


__all__ = ["explicit_sequences", "symbolic_sequences", "check_program", "Agreement", "OutsideCore",
           "SymbolicScope"]
