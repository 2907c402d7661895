"""The twins of the process and thread operations: fork, spawn, thread_exit, exit, exec
(semantics.fork, thread_exit, exec_; exit is address_space.teardown). None of them fails, so
each result code table is ``ok``; what they do to threads, processes, cells and descriptors is
built in next_state.py and next_cells.py from the terms here.
"""
from __future__ import annotations

import z3

from ..step_view import StepView
from ..terms import TRUE
from .effect import Effect

And, Or, Not = z3.And, z3.Or, z3.Not
OK = [(TRUE, "ok")]


def fork(view: StepView) -> Effect:
    """R09-R11, R16, R34, R40, R41: the child (the next process index) gets a copy of the
    address space, and of the descriptors; its thread is the next thread index."""
    before = view.before
    return Effect(code=OK, binds_thread=view.is_op["fork"],
                  child_is=[And(view.performs["fork"], before.nprocs == p)
                            for p in range(view.scope.processes)])


def spawn(view: StepView) -> Effect:
    """R15: a new thread (the next thread index) in the acting process."""
    return Effect(code=OK, binds_thread=view.is_op["spawn"])


def thread_exit(view: StepView) -> Effect:
    """The acting thread ends; the last thread of a process ends the process."""
    before, args = view.before, view.args
    others = [And(before.t_alive[t], before.t_proc[t] == view.pid, args.actor != t)
              for t in range(view.scope.threads)]
    return Effect(code=OK, ends_process=And(view.performs["thread_exit"], Not(Or(others))))


def exit_(view: StepView) -> Effect:
    """The acting process ends: its mappings and descriptors go (R28: its attaches detach)."""
    return Effect(code=OK, ends_process=view.performs["exit"])


def exec_(view: StepView) -> Effect:
    """R29, C04: a fresh address space, the other threads of the process gone, its
    descriptors closed (the case format opens them close-on-exec)."""
    return Effect(code=OK, replaces=[And(view.pid_eq[p], view.performs["exec"])
                                     for p in range(view.scope.processes)])
