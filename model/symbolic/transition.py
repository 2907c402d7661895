"""One step of the encoding: ``transition(before, args, after, result, scope, profile)`` gives
the constraints that make ``after`` and ``result`` the state and result of step ``args`` from
``before``.

Every operation's twin (operations/) reads the step's view (step_view.py) and says what it
does; the next state is built part by part from those effects (next_cells.py, next_state.py),
and the result code from each operation's table. The operations are exclusive (one code per
step), so each effect is guarded by its operation and the parts simply combine.
"""
from __future__ import annotations

from types import SimpleNamespace

import z3

from ..profiles import Profile
from .core import SymbolicScope
from .encoding import SymArgs, SymResult, SymState
from .next_cells import cells_after, snapshot_allowed
from .next_state import (backing_objects_after, descriptors_after, memory_objects_after,
                         segments_after, slots_after, threads_after)
from .operations import TWINS, effects_of
from .predicates import object_value
from .step_view import StepView
from .terms import BYTE_BITS, code_table, num, result_code

And, Or, Not, If, Implies = z3.And, z3.Or, z3.Not, z3.If, z3.Implies


def transition(before: SymState, args: SymArgs, after: SymState, result: SymResult,
               scope: SymbolicScope, profile: Profile) -> list:
    """Constraints: ``after`` and ``result`` are the state and result of step ``args``."""
    v = StepView(before, args, scope, profile)
    e = effects_of(v)
    # a fault kills the process (R28: its attaches detach), as exit and its last thread do
    kills = Or(e["read"].kills, e["write"].kills)
    dies = [And(v.live, v.pid_eq[p], Or(e["exit"].ends_process, kills, e["thread_exit"].ends_process))
            for p in range(scope.processes)]
    store = object_store(v, e)
    cs = cells_after(v, e, dies, store, after)
    cs += memory_objects_after(v, e, after)
    cs += descriptors_after(v, e, [Or(dies[p], e["exec"].replaces[p]) for p in range(scope.processes)],
                            after)
    cs += backing_objects_after(v, e, store, after)
    cs += slots_after(v, e, after)
    cs += segments_after(v, e, after)
    cs += threads_after(v, e, dies, after)
    return cs + result_constraints(v, e, store, result)


def object_store(v: StepView, e: dict) -> SimpleNamespace:
    """The store into an object page this step makes, if any: pwrite, or a store through a
    shared mapping of the object. ``old_value``: the page before it (what a POSIX snapshot of
    a private page copies, R13)."""
    pwritten = e["pwrite"].ok
    obj = If(pwritten, v.fd_obj, v.slot_obj)
    page = If(pwritten, v.args.page, v.acc_opg)
    return SimpleNamespace(happens=Or(e["write"].stores_into_object, pwritten), object=obj,
                           page=page, old_value=object_value(v.before, v.scope, obj, page))


def result_constraints(v: StepView, e: dict, store, r: SymResult) -> list:
    """The result: a NOP is ok, a dead thread's step is dead, any other step's code is its
    operation's table; the byte read, the handle of the segment shmget found, IPC_STAT's
    fields. The explicit choices (``alternative``, ``snap``) are fixed where no rule allows one,
    so that a model means one outcome."""
    a, sc = v.args, v.scope
    code = result_code("ok")
    for name in reversed(TWINS):
        code = If(v.is_op[name], code_table(e[name].code), code)
    cs = [r.code == If(v.is_op["nop"], result_code("ok"), If(v.dead, result_code("dead"), code))]
    cs.append(r.arg == If(And(v.is_op["read"], v.live), e["read"].value,
                          If(And(v.is_op["pread"], v.live), e["pread"].value,
                             If(And(v.is_op["shmget"], v.live, e["shmget"].same), e["shmget"].handle,
                                num(0, BYTE_BITS)))))
    cs += e["shmctl"].stat_result(r)
    alternatives = [c for name in TWINS for c in e[name].alternatives]
    cs.append(Implies(Not(Or(alternatives)), Not(a.alternative)))
    if a.snap:
        for p in range(sc.processes):
            for k in range(sc.mappings):
                for q in range(sc.pages):
                    cs.append(Implies(Not(snapshot_allowed(v, store, p, k, q)), Not(a.snap[p][k][q])))
    return cs
