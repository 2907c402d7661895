"""The unrolled encoding: K steps from the initial state, built once, on one solver.

Questions are asked as assumptions (``solver.check(*literals)``), so the unrolling is never
rebuilt: a fixed program is a list of equalities on the step arguments; a coverage goal is a
literal about one step's result. Python-side construction time is kept in ``build_seconds``.
"""
from __future__ import annotations

import time
from typing import Optional, Sequence

import z3

from ..profiles import Profile, get_profile
from .core import OPS, StepArgs, SymbolicScope
from .encoding import (SymArgs, SymResult, SymState, fresh_args, fresh_result, fresh_state,
                       initial_constraints, valid_args)
from .terms import num
from .transition import transition

LOGIC = "QF_FD"


def new_solver(timeout_ms: Optional[int] = None):
    # Models are read field by field, never printed: without compaction z3 hands one over
    # about 2.5 times faster (measured on the coverage unrolling; a global setting, as the
    # per-solver one is not honoured)
    z3.set_param("model.compact", False)
    solver = z3.SolverFor(LOGIC)
    if timeout_ms:
        solver.set("timeout", int(timeout_ms))
    return solver


class Unrolling:
    """states[0..K], args[0..K-1], results[0..K-1] for ``scope.steps`` = K, on ``solver``.

    ``free_values``: writes store one of ``scope.values`` (for generation); False lets a fixed
    program store any byte (for agreement checks). ``lazy``: only the variables are made at
    once; the steps' constraints are added by ``extend_to`` as a search goes deeper, so that
    the many questions about short programs are asked of a short formula (a step-by-step
    search then runs about twice as fast at 12 steps).
    """

    def __init__(self, scope: SymbolicScope, profile="linux", *, free_values: bool = True,
                 timeout_ms: Optional[int] = None, solver=None, lazy: bool = False):
        started = time.perf_counter()
        self.scope = scope
        self.profile: Profile = get_profile(profile)
        self.free_values = free_values
        self.solver = solver if solver is not None else new_solver(timeout_ms)
        self.states: list[SymState] = [fresh_state("s0_", scope)]
        self.args: list[SymArgs] = []
        self.results: list[SymResult] = []
        for i in range(scope.steps):
            self.args.append(fresh_args(f"a{i}_", scope, self.profile))
            self.results.append(fresh_result(f"r{i}_"))
            self.states.append(fresh_state(f"s{i + 1}_", scope))
        self.built = 0                          # steps whose constraints are on the solver
        self.construct_seconds = time.perf_counter() - started
        self.solver.add(initial_constraints(self.states[0], scope))
        self.build_seconds = time.perf_counter() - started
        self._values = None
        if not lazy:
            self.extend_to(scope.steps)

    def extend_to(self, steps: int) -> None:
        """Add the constraints of the steps before ``steps`` not added yet."""
        started = time.perf_counter()
        cs = []
        for i in range(self.built, min(steps, len(self.args))):
            s, a, r, n = self.states[i], self.args[i], self.results[i], self.states[i + 1]
            cs += valid_args(s, a, self.scope, self.profile, self.free_values)
            cs += transition(s, a, n, r, self.scope, self.profile)
            if i:
                cs.append(z3.Implies(self.args[i - 1].op == OPS["nop"], a.op == OPS["nop"]))
        self.built = max(self.built, min(steps, len(self.args)))
        self.construct_seconds += time.perf_counter() - started
        self.solver.add(cs)
        self.build_seconds += time.perf_counter() - started

    def values(self, m: z3.ModelRef, length: int) -> tuple:
        """(StepArgs, result vector) of the first ``length`` steps of a model, read with one
        evaluation (reading them term by term is where decoding spent its time)."""
        if self._values is None:
            self._values = [_packed(a, r) for a, r in zip(self.args, self.results)]
        out = []
        for term, layout in self._values[:length]:
            bits = m.eval(term, model_completion=True).as_long()
            fields = {}
            for name, width, is_bool in layout:
                fields[name] = bool(bits & 1) if is_bool else bits & ((1 << width) - 1)
                bits >>= width
            out.append((StepArgs(**{f: fields[f] for f in ("op", "actor") + OP_FIELDS.get(
                OP_BY_CODE.get(fields["op"], "nop"), ())}),
                tuple(fields[f"r_{i}"] for i in range(len(self.results[0].terms())))))
        return out

    def fix_program(self, program: Sequence[StepArgs]) -> list:
        """Literals that fix the program (NOPs after it): to pass as assumptions."""
        lits = []
        for i, a in enumerate(self.args):
            if i >= len(program):
                lits.append(a.op == OPS["nop"])
                continue
            lits += fix_step(a, program[i])
        return lits

    def length_literal(self, k: int):
        """The program has exactly k steps."""
        lits = [self.args[i].op != OPS["nop"] for i in range(k)]
        if k < len(self.args):
            lits.append(self.args[k].op == OPS["nop"])
        return z3.And(lits) if lits else z3.BoolVal(True)


# The arguments that matter for each operation (beside the operation and the actor).
OP_FIELDS = {
    "nop": (), "fork": (), "spawn": (), "thread_exit": (), "exit": (), "exec": (), "shm_unlink": (),
    "mmap": ("slot", "length", "prot", "shared", "fdmap", "fd", "neither"),
    "shmat": ("slot", "handle", "rdonly"),
    "shmget": ("handle", "key", "size", "creat", "excl"),
    "shmdt": ("slot", "page"),
    "shmctl": ("handle", "rmid"),
    "munmap": ("slot", "page", "length"),
    "mprotect": ("slot", "page", "length", "prot"),
    "madvise": ("slot", "page", "length", "advice"),
    "read": ("slot", "page"),
    "write": ("slot", "page", "value"),
    "mremap": ("slot", "page", "length", "mode", "old"),
    "open": ("fd", "okind", "creat", "excl", "rdonly"),
    "close": ("fd",), "seal": ("fd",),
    "ftruncate": ("fd", "length"),
    "pread": ("fd", "page"),
    "pwrite": ("fd", "page", "value"),
}
OP_BY_CODE = {i: name for name, i in OPS.items()}


def fix_step(a: SymArgs, s: StepArgs) -> list:
    """Equalities fixing the arguments that matter for the step's operation."""
    return [a.op == s.op, a.actor == s.actor] + [
        getattr(a, f) == getattr(s, f) for f in OP_FIELDS[OP_BY_CODE[s.op]]]


def args_from_model(m: z3.ModelRef, a: SymArgs) -> StepArgs:
    """The step a model chose: the operation, then only the arguments that matter for it
    (model evaluation is what decoding spends its time on)."""
    def val(x):
        v = m.eval(x, model_completion=True)
        return z3.is_true(v) if z3.is_bool(x) else v.as_long()
    op = val(a.op)
    fields = OP_FIELDS.get(OP_BY_CODE.get(op, "nop"), ())
    return StepArgs(op=op, actor=val(a.actor), **{f: val(getattr(a, f)) for f in fields})


def _packed(a: SymArgs, r: SymResult):
    """One bit-vector term holding a step's arguments and result, and how to unpack it
    (name, width, boolean), lowest bits first."""
    layout, parts = [], []
    named = [(f, getattr(a, f)) for f in SymArgs.FIELDS] + [(f"r_{i}", t) for i, t in enumerate(r.terms())]
    for name, term in named:
        if z3.is_bool(term):
            layout.append((name, 1, True))
            parts.append(z3.If(term, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)))
        else:
            layout.append((name, term.size(), False))
            parts.append(term)
    return z3.Concat(list(reversed(parts))), layout


def result_from_model(m: z3.ModelRef, r: SymResult) -> tuple:
    def val(x):
        v = m.eval(x, model_completion=True)
        return z3.is_true(v) if z3.is_bool(x) else v.as_long()
    return tuple(val(t) for t in r.terms())


def block(r_list: Sequence[SymResult], values: Sequence[tuple]):
    """A clause excluding one vector of results."""
    diffs = []
    for r, vals in zip(r_list, values):
        for term, v in zip(r.terms(), vals):
            diffs.append(term != (z3.BoolVal(v) if z3.is_bool(term) else v))
    return z3.Or(diffs)


__all__ = ["Unrolling", "OP_FIELDS", "fix_step", "args_from_model", "result_from_model", "block", "num",
           "new_solver", "LOGIC"]
