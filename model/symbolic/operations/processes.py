"""The twins of the process and thread operations: fork, spawn, thread_exit, exit, exec
(semantics.fork, thread_exit, exec_; exit is address_space.teardown). None of them fails, so
each result code table is ``ok``; what they do to threads, processes, cells and descriptors is
built in next_state.py and next_cells.py from the terms here.
"""
from __future__ import annotations

import z3

from ..step_view import StepView
from .effect import Effect

And, Or, Not = z3.And, z3.Or, z3.Not
TRUE = z3.BoolVal(True)
OK = [(TRUE, "ok")]


def fork(v: StepView) -> Effect:
    """R09-R11, R16, R34, R40, R41: the child (the next process index) gets a copy of the
    address space, and of the descriptors; its thread is the next thread index."""
    s = v.before
    return Effect(code=OK, binds_thread=v.is_op["fork"],
                  child_is=[And(v.performs["fork"], s.nprocs == p) for p in range(v.scope.processes)])


def spawn(v: StepView) -> Effect:
    """R15: a new thread (the next thread index) in the acting process."""
    return Effect(code=OK, binds_thread=v.is_op["spawn"])


def thread_exit(v: StepView) -> Effect:
    """The acting thread ends; the last thread of a process ends the process."""
    s, a = v.before, v.args
    others = [And(s.t_alive[t], s.t_proc[t] == v.pid, a.actor != t) for t in range(v.scope.threads)]
    return Effect(code=OK, ends_process=And(v.performs["thread_exit"], Not(Or(others))))


def exit_(v: StepView) -> Effect:
    """The acting process ends: its mappings and descriptors go (R28: its attaches detach)."""
    return Effect(code=OK, ends_process=v.performs["exit"])


def exec_(v: StepView) -> Effect:
    """R29, C04: a fresh address space, the other threads of the process gone, its
    descriptors closed (the case format opens them close-on-exec)."""
    return Effect(code=OK, replaces=[And(v.pid_eq[p], v.performs["exec"])
                                     for p in range(v.scope.processes)])
