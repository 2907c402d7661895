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
                       initial_constraints, num, transition, valid_args)

LOGIC = "QF_FD"


def new_solver(timeout_ms: Optional[int] = None):
    solver = z3.SolverFor(LOGIC)
    if timeout_ms:
        solver.set("timeout", int(timeout_ms))
    return solver


class Unrolling:
    """states[0..K], args[0..K-1], results[0..K-1] for ``scope.steps`` = K, on ``solver``.

    ``free_values``: writes store one of ``scope.values`` (for generation); False lets a fixed
    program store any byte (for agreement checks).
    """

    def __init__(self, scope: SymbolicScope, profile="linux", *, free_values: bool = True,
                 timeout_ms: Optional[int] = None, solver=None):
        started = time.perf_counter()
        self.scope = scope
        self.profile: Profile = get_profile(profile)
        self.solver = solver if solver is not None else new_solver(timeout_ms)
        self.states: list[SymState] = [fresh_state("s0_", scope)]
        self.args: list[SymArgs] = []
        self.results: list[SymResult] = []
        cs = initial_constraints(self.states[0], scope)
        for i in range(scope.steps):
            a, r, n = fresh_args(f"a{i}_"), fresh_result(f"r{i}_"), fresh_state(f"s{i + 1}_", scope)
            cs += valid_args(self.states[-1], a, scope, self.profile, free_values)
            cs += transition(self.states[-1], a, n, r, scope, self.profile)
            if self.args:
                cs.append(z3.Implies(self.args[-1].op == OPS["nop"], a.op == OPS["nop"]))
            self.args.append(a)
            self.results.append(r)
            self.states.append(n)
        self.construct_seconds = time.perf_counter() - started
        self.solver.add(cs)
        self.build_seconds = time.perf_counter() - started

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


def fix_step(a: SymArgs, s: StepArgs) -> list:
    """Equalities fixing the arguments that matter for the step's operation."""
    op = s.op
    lits = [a.op == op, a.actor == s.actor]
    name = next(n for n, i in OPS.items() if i == op)
    if name in ("shmdt", "munmap", "mprotect", "madvise", "read", "write", "mmap", "shmat"):
        lits += [a.slot == s.slot]
    if name in ("shmdt", "munmap", "mprotect", "madvise", "read", "write", "mremap"):
        lits += [a.page == s.page]
    if name in ("mmap", "munmap", "mprotect", "madvise", "mremap"):
        lits += [a.length == s.length]
    if name == "mremap":
        lits += [a.slot == s.slot, a.mode == s.mode, a.old == s.old]
    if name == "write":
        lits.append(a.value == s.value)
    if name in ("mmap", "mprotect"):
        lits.append(a.prot == s.prot)
    if name == "mmap":
        lits.append(a.shared == s.shared)
    if name in ("shmat", "shmctl", "shmget"):
        lits.append(a.handle == s.handle)
    if name == "shmat":
        lits.append(a.rdonly == s.rdonly)
    if name == "shmget":
        lits += [a.key == s.key, a.size == s.size, a.creat == s.creat, a.excl == s.excl]
    if name == "shmctl":
        lits.append(a.rmid == s.rmid)
    if name == "madvise":
        lits.append(a.advice == s.advice)
    return lits


def args_from_model(m: z3.ModelRef, a: SymArgs) -> StepArgs:
    def val(x):
        v = m.eval(x, model_completion=True)
        return z3.is_true(v) if z3.is_bool(x) else v.as_long()
    return StepArgs(**{f: val(getattr(a, f)) for f in SymArgs.FIELDS})


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


__all__ = ["Unrolling", "fix_step", "args_from_model", "result_from_model", "block", "num",
           "new_solver", "LOGIC"]
