"""Coverage goals over the encoding, and for each the shortest program reaching it.

A goal is (operation, kind of memory, sharing path, outcome) of the LAST step of a program,
restricted to what the core encodes (core.py):

- kinds: private anonymous, shared anonymous, SysV, SysV read-only attach;
- sharing paths of an access (read/write), by how the acting thread came to have the mapping:
  ``fork grandchild`` / ``fork child`` (inherited through two / one fork), ``after IPC_RMID``
  (attached by id after the segment was removed), ``through the key`` (attached through a
  handle that shmget found by key), ``alias`` (attached while the process already mapped the
  segment elsewhere), ``sibling thread`` (mapped by another thread of the process),
  ``same thread``; the first that applies, in this order;
- outcomes: a read's nonzero value, its 0, SIGSEGV; a write's ok, SIGSEGV; the errno or result
  of the other calls.

One unrolling of ``bound`` steps is built once; each goal is a literal per step, asked as an
assumption. A goal no program of up to ``bound`` steps reaches is listed as unreachable (the
solver proved it); ``unknown`` is listed as such.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Optional

import z3

from .core import ADVICES, KIND_ANON, KIND_PRIVATE, KIND_SYSV, OPS, R, SymbolicScope
from .encoding import select
from .unrolling import Unrolling

And, Or, Not = z3.And, z3.Or, z3.Not

KINDS = ("private anonymous", "shared anonymous", "SysV", "SysV read-only")
PATHS = ("same thread", "sibling thread", "fork child", "fork grandchild", "through the key",
         "after IPC_RMID", "alias")
ACCESS_OUTCOMES = {"read": ("value", "0", "SIGSEGV"), "write": ("ok", "SIGSEGV")}

# Catalogue rules a goal exercises (beside rules.rules_for_step of its last step).
_PATH_RULES = {"sibling thread": ("R15",), "fork grandchild": ("R41",), "through the key": ("R21",),
               "after IPC_RMID": ("R17", "R19"), "alias": ("R14",)}
_FORK_RULES = {"private anonymous": ("R11",), "shared anonymous": ("R10",), "SysV": ("R09",),
               "SysV read-only": ("R09", "R24")}


@dataclass(frozen=True)
class Goal:
    op: str
    kind: str = "-"
    path: str = "-"
    outcome: str = "-"

    @property
    def name(self) -> str:
        parts = [self.op] + [p for p in (self.kind, self.path, self.outcome) if p != "-"]
        return "z3-" + "-".join(p.lower().replace(" ", "-").replace("_", "-") for p in parts)

    def rules(self) -> tuple:
        rules = set(_PATH_RULES.get(self.path, ()))
        if self.path.startswith("fork"):
            rules.update(_FORK_RULES.get(self.kind, ()))
        if self.outcome == "SIGSEGV":
            rules.update(("R32", "R33") + (("R24",) if self.kind == "SysV read-only" else ()))
        if self.op == "read" and self.outcome == "0":
            rules.add("R01" if self.kind.startswith("SysV") else "R02")
        if self.op == "madvise":
            rules.update({"dontneed": ("R35", "R36"), "dontfork": ("R40",), "dofork": ("R40",),
                          "wipeonfork": ("R41",), "keeponfork": ("R41",)}[self.path])
        return tuple(sorted(rules))

    def describe(self) -> str:
        words = [self.op]
        if self.kind != "-":
            words.append(f"of {self.kind} memory")
        if self.path != "-":
            words.append(f"({self.path})")
        if self.outcome != "-":
            words.append(f"-> {self.outcome}")
        return " ".join(words)


def all_goals(scope: SymbolicScope, linux: bool = True) -> list:
    goals = []
    for op, outcomes in ACCESS_OUTCOMES.items():
        for kind in KINDS:
            for path in PATHS:
                if path in ("through the key", "after IPC_RMID", "alias") and not kind.startswith("SysV"):
                    continue  # only attaches come through a key, an id or an alias
                for outcome in outcomes:
                    goals.append(Goal(op, kind, path, outcome))
    goals += [Goal("shmget", outcome=o) for o in ("new", "same", "ENOENT", "EEXIST", "EINVAL")]
    goals += [Goal("shmat", kind=k, outcome=o) for k in ("SysV", "SysV read-only")
              for o in ("ok", "EINVAL")]
    goals += [Goal("shmdt", outcome=o) for o in ("ok", "EINVAL")]
    goals += [Goal("shmctl rmid", outcome=o) for o in ("ok", "EINVAL")]
    goals += [Goal("shmctl stat", outcome=o) for o in ("stat", "stat dest", "EINVAL")]
    goals += [Goal("munmap", kind=k, outcome="ok") for k in KINDS]
    goals += [Goal("mprotect", kind=k, outcome=o) for k in KINDS for o in ("ok", "ENOMEM", "EACCES")]
    if linux:
        goals += [Goal("madvise", kind=k, path=adv, outcome=o) for adv in ADVICES for k in KINDS
                  for o in ("ok", "ENOMEM", "EINVAL")]
    goals += [Goal(op, outcome="ok") for op in ("fork", "spawn", "thread_exit", "exit")]
    goals += [Goal("any", outcome="dead")]
    return goals


class GoalLiterals:
    """The Bool ``goal holds at step i`` for every goal and step, over one unrolling."""

    def __init__(self, u: Unrolling):
        self.u = u
        self._facts = [self._step_facts(i) for i in range(len(u.args))]

    def _step_facts(self, i: int) -> dict:
        u, sc = self.u, self.u.scope
        s, a, r = u.states[i], u.args[i], u.results[i]
        pid = select(s.t_proc, a.actor)
        slot_kind = select(s.slot_kind, a.slot)
        rdonly = select(s.slot_rdonly, a.slot)
        kind = {"private anonymous": slot_kind == KIND_PRIVATE, "shared anonymous": slot_kind == KIND_ANON,
                "SysV": And(slot_kind == KIND_SYSV, Not(rdonly)),
                "SysV read-only": And(slot_kind == KIND_SYSV, rdonly)}
        depth = select([select([s.depth[p][k] for p in range(sc.processes)], pid)
                        for k in range(sc.mappings)], a.slot)
        rmid_, bykey, alias = (select(x, a.slot) for x in (s.slot_rmid, s.slot_bykey, s.slot_alias))
        inherited = depth != 0
        attach_path = Or(rmid_, bykey, alias)
        path = {"fork grandchild": depth == 2, "fork child": depth == 1,
                "after IPC_RMID": And(Not(inherited), rmid_),
                "through the key": And(Not(inherited), Not(rmid_), bykey),
                "alias": And(Not(inherited), Not(rmid_), Not(bykey), alias),
                "sibling thread": And(Not(inherited), Not(attach_path),
                                      select(s.slot_thread, a.slot) != a.actor),
                "same thread": And(Not(inherited), Not(attach_path),
                                   select(s.slot_thread, a.slot) == a.actor)}
        code = {name: r.code == i for name, i in R.items()}
        outcome = {"value": And(code["value"], r.arg != 0), "0": And(code["value"], r.arg == 0),
                   "stat dest": And(code["stat"], r.dest), "stat": And(code["stat"], Not(r.dest)),
                   "new": code["new"], "same": code["same"]}
        outcome.update({n: code[n] for n in ("ok", "SIGSEGV", "EINVAL", "ENOENT", "EEXIST",
                                              "EACCES", "ENOMEM", "dead")})
        op = {name: a.op == i for name, i in OPS.items()}
        op["shmctl rmid"] = And(op["shmctl"], a.rmid)
        op["shmctl stat"] = And(op["shmctl"], Not(a.rmid))
        op["any"] = op["nop"] != True  # noqa: E712 (a z3 expression)
        advice = {name: a.advice == i for i, name in enumerate(ADVICES)}
        # shmat's kind is the attach it makes (read-only or not), not the slot's before it
        shmat_kind = {"SysV": Not(a.rdonly), "SysV read-only": a.rdonly}
        return dict(kind=kind, path=path, outcome=outcome, op=op, advice=advice, shmat_kind=shmat_kind)

    def at(self, goal: Goal, i: int):
        f = self._facts[i]
        parts = [f["op"][goal.op], f["outcome"][goal.outcome]]
        if goal.op == "shmat":
            parts.append(f["shmat_kind"][goal.kind])
        elif goal.kind != "-":
            parts.append(f["kind"][goal.kind])
        if goal.op == "madvise":
            parts.append(f["advice"][goal.path])
        elif goal.path != "-":
            parts.append(f["path"][goal.path])
        return And(parts)


@dataclass
class GoalResult:
    goal: Goal
    status: str                       # "reached" | "unreachable" | "unknown"
    length: Optional[int] = None      # steps of the shortest program
    steps: tuple = ()
    results: tuple = ()
    seconds: float = 0.0


def shortest_programs(scope: SymbolicScope, profile="linux", bound: Optional[int] = None,
                      goals: Optional[list] = None, timeout_ms: int = 30000,
                      unrolling: Optional[Unrolling] = None) -> Iterator[GoalResult]:
    """For each goal, the shortest program of up to ``bound`` steps reaching it (binary search
    on the step at which it holds), or a proof that none does."""
    from .decode import program_from_model
    bound = scope.steps if bound is None else bound
    u = unrolling or Unrolling(scope.with_steps(bound), profile, timeout_ms=timeout_ms)
    lits = GoalLiterals(u)
    goals = all_goals(scope, u.profile.linux_interfaces) if goals is None else goals
    for goal in goals:
        started = time.perf_counter()
        at = [lits.at(goal, i) for i in range(bound)]
        verdict = u.solver.check(Or(at))
        if verdict != z3.sat:
            yield GoalResult(goal, "unreachable" if verdict == z3.unsat else "unknown",
                             seconds=time.perf_counter() - started)
            continue
        m = u.solver.model()
        hi = next(i for i in range(bound) if z3.is_true(m.eval(at[i], model_completion=True)))
        lo, best = 0, (hi, m)
        while lo < hi:   # the smallest i such that the goal holds at some step <= i
            mid = (lo + hi) // 2
            verdict = u.solver.check(Or(at[:mid + 1]))
            if verdict == z3.sat:
                m = u.solver.model()
                hi = next(i for i in range(mid + 1) if z3.is_true(m.eval(at[i], model_completion=True)))
                best = (hi, m)
            elif verdict == z3.unsat:
                lo = mid + 1
            else:
                break  # unknown: keep the shortest found so far (not claimed minimal)
        length = best[0] + 1
        steps, results = program_from_model(best[1], u, length)
        yield GoalResult(goal, "reached", length, steps, results, time.perf_counter() - started)
