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
from .core import KIND_OBJ_PRIVATE, SymbolicScope
from .encoding import SymArgs, SymResult, SymState
from .next_cells import cells_after
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
    view = StepView(before, args, scope, profile)
    effects = effects_of(view)
    # a fault kills the process (R28: its attaches detach), as exit and its last thread do
    kills = Or(effects["read"].kills, effects["write"].kills)
    ends = Or(effects["exit"].ends_process, kills, effects["thread_exit"].ends_process)
    dies = [And(view.live, view.pid_eq[p], ends) for p in range(scope.processes)]
    store = object_store(view, effects)
    cs = cells_after(view, effects, dies, store, after)
    cs += memory_objects_after(view, effects, after)
    closes = [Or(dies[p], effects["exec"].replaces[p]) for p in range(scope.processes)]
    cs += descriptors_after(view, effects, closes, after)
    cs += backing_objects_after(view, effects, store, after)
    cs += slots_after(view, effects, after)
    cs += segments_after(view, effects, after)
    cs += threads_after(view, effects, dies, after)
    return cs + result_constraints(view, effects, store, result)


def object_store(view: StepView, effects: dict) -> SimpleNamespace:
    """The store into an object page this step makes, if any: pwrite, or a store through a
    shared mapping of the object. ``old_value``: the page before it (what a POSIX snapshot of
    a private page copies, R13); ``may_snapshot[p][k][q]``: cell (p, k, q) may take that copy
    (only where the arguments carry the choices, ``args.snap``)."""
    before, scope, pwritten = view.before, view.scope, effects["pwrite"].ok
    obj = If(pwritten, view.fd_obj, view.slot_obj)
    page = If(pwritten, view.args.page, view.acc_opg)
    store = SimpleNamespace(happens=Or(effects["write"].stores_into_object, pwritten), object=obj,
                            page=page, old_value=object_value(before, scope, obj, page))
    store.may_snapshot = [[[snapshot_allowed(before, store, p, k, q) for q in range(scope.pages)]
                           for k in range(scope.mappings)]
                          for p in range(scope.processes)] if view.args.snap else []
    return store


def snapshot_allowed(before: SymState, store: SimpleNamespace, p: int, k: int, q: int):
    """POSIX (R13): cell (p, k, q) is an unwritten private page of the object page a store
    goes into, so it may take a copy of its own first."""
    cell = before.cells[p][k][q]
    return And(store.happens, cell.mapped, Not(cell.cow), before.slot_kind[k] == KIND_OBJ_PRIVATE,
               before.slot_obj[k] == store.object, before.slot_pgoff[k] + q == store.page)


def result_constraints(view: StepView, effects: dict, store, result: SymResult) -> list:
    """The result: a NOP is ok, a dead thread's step is dead, any other step's code is its
    operation's table; the byte read, the handle of the segment shmget found, IPC_STAT's
    fields. The explicit choices (``alternative``, ``snap``) are fixed where no rule allows one,
    so that a model means one outcome."""
    args, scope = view.args, view.scope
    code = result_code("ok")
    for name in reversed(TWINS):
        code = If(view.is_op[name], code_table(effects[name].code), code)
    cs = [result.code == If(view.is_op["nop"], result_code("ok"),
                            If(view.dead, result_code("dead"), code))]
    cs.append(result.arg == If(view.performs["read"], effects["read"].value,
                               If(view.performs["pread"], effects["pread"].value,
                                  If(effects["shmget"].found_by_key, effects["shmget"].handle,
                                     num(0, BYTE_BITS)))))
    cs += effects["shmctl"].stat_result(result)
    alternatives = [c for name in TWINS for c in effects[name].alternatives]
    cs.append(Implies(Not(Or(alternatives)), Not(args.alternative)))
    if args.snap:
        for p in range(scope.processes):
            for k in range(scope.mappings):
                for q in range(scope.pages):
                    cs.append(Implies(Not(store.may_snapshot[p][k][q]), Not(args.snap[p][k][q])))
    return cs
