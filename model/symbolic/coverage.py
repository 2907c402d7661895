"""Coverage goals over the encoding, and for each the shortest program reaching it.

A goal is (operation, kind of memory, sharing path, outcome) of the LAST step of a program,
restricted to what the core encodes (core.py):

- kinds: private anonymous, shared anonymous, SysV, SysV read-only attach (file, memfd and
  POSIX shm are not in the encoded core yet); for mremap, its mode takes the path's place;
- sharing paths of an access (read/write), by how the acting thread came to have the mapping:
  ``fork grandchild`` / ``fork child`` (inherited through two / one fork), ``after IPC_RMID``
  (attached by id after the segment was removed), ``through the key`` (attached through a
  handle that shmget found by key), ``alias`` (attached while the process already mapped the
  segment elsewhere), ``after mremap`` (the destination of a move or an alias, or a mapping
  grown in place), ``sibling thread`` (mapped by another thread of the process),
  ``same thread``; the first that applies, in this order;
- outcomes: a read's nonzero value, its 0, SIGSEGV, SIGBUS; a write's ok, SIGSEGV, SIGBUS (past
  the object's end after mremap grew a shared mapping, R43); the errno or result
  of the other calls.

One unrolling of ``bound`` steps is built once; goals are literals per step, asked as
assumptions, all open goals of a step at once (``shortest_programs``). A goal is listed as
unreachable when the solver proved it so: at every length, by induction over the lemmas
(``never_reachable``; ``how="induction"``), or within the bound (``how="bounded"``);
``unknown`` is listed as such.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Optional

import z3

from .core import ADVICES, KIND_ANON, KIND_PRIVATE, KIND_SYSV, MREMAP_MODES, OPS, R, SymbolicScope
from .encoding import select
from .unrolling import Unrolling

And, Or, Not = z3.And, z3.Or, z3.Not

KINDS = ("private anonymous", "shared anonymous", "SysV", "SysV read-only")
PATHS = ("same thread", "sibling thread", "fork child", "fork grandchild", "through the key",
         "after IPC_RMID", "alias", "after mremap")
ACCESS_OUTCOMES = {"read": ("value", "0", "SIGSEGV", "SIGBUS"), "write": ("ok", "SIGSEGV", "SIGBUS")}
MREMAP_OUTCOMES = {"grow": ("ok", "EFAULT", "ENOMEM"), "move": ("ok", "EFAULT"),
                   "alias": ("ok", "EFAULT", "EINVAL")}
# the outcomes a madvise can have at all (an advice without an EINVAL case is not asked for one)
MADVISE_OUTCOMES = {adv: ("ok", "ENOMEM") + (("EINVAL",) if adv in ("wipeonfork", "free", "remove")
                                             else ()) + (("EACCES",) if adv == "remove" else ())
                    for adv in ADVICES}

# Catalogue rules a goal exercises (beside rules.rules_for_step of its last step).
_PATH_RULES = {"sibling thread": ("R15",), "fork grandchild": ("R41",), "through the key": ("R21",),
               "after IPC_RMID": ("R17", "R19"), "alias": ("R14",), "after mremap": ("R44",)}
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
                          "wipeonfork": ("R41",), "keeponfork": ("R41",), "remove": ("R39",),
                          "free": ("C05",)}[self.path])
        if self.op == "exec":
            rules.add("R29")
        if self.outcome == "SIGBUS":
            rules.add("R43")
        if self.op == "mremap":
            rules.add({"grow": "R43", "move": "R44", "alias": "R42"}[self.path])
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
                  for o in MADVISE_OUTCOMES[adv]]
        goals += [Goal("mremap", kind=k, path=mode, outcome=o) for mode in MREMAP_MODES
                  for k in KINDS for o in MREMAP_OUTCOMES[mode]]
    goals += [Goal(op, outcome="ok") for op in ("fork", "spawn", "thread_exit", "exit", "exec")]
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
        rmid_, bykey, alias, remap = (select(x, a.slot) for x in (s.slot_rmid, s.slot_bykey,
                                                                   s.slot_alias, s.slot_remap))
        inherited = depth != 0
        attach_path = Or(rmid_, bykey, alias, remap)
        path = {"fork grandchild": depth == 2, "fork child": depth == 1,
                "after IPC_RMID": And(Not(inherited), rmid_),
                "through the key": And(Not(inherited), Not(rmid_), bykey),
                "alias": And(Not(inherited), Not(rmid_), Not(bykey), alias),
                "after mremap": And(Not(inherited), Not(rmid_), Not(bykey), Not(alias), remap),
                "sibling thread": And(Not(inherited), Not(attach_path),
                                      select(s.slot_thread, a.slot) != a.actor),
                "same thread": And(Not(inherited), Not(attach_path),
                                   select(s.slot_thread, a.slot) == a.actor)}
        code = {name: r.code == i for name, i in R.items()}
        outcome = {"value": And(code["value"], r.arg != 0), "0": And(code["value"], r.arg == 0),
                   "stat dest": And(code["stat"], r.dest), "stat": And(code["stat"], Not(r.dest)),
                   "new": code["new"], "same": code["same"]}
        outcome.update({n: code[n] for n in ("ok", "SIGSEGV", "EINVAL", "ENOENT", "EEXIST",
                                              "EACCES", "ENOMEM", "dead", "SIGBUS", "EFAULT")})
        op = {name: a.op == i for name, i in OPS.items()}
        op["shmctl rmid"] = And(op["shmctl"], a.rmid)
        op["shmctl stat"] = And(op["shmctl"], Not(a.rmid))
        op["any"] = op["nop"] != True  # noqa: E712 (a z3 expression)
        advice = {name: a.advice == i for i, name in enumerate(ADVICES)}
        advice.update({name: a.mode == i for i, name in enumerate(MREMAP_MODES)})  # mremap's mode
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
        if goal.op in ("madvise", "mremap"):
            parts.append(f["advice"][goal.path])
        elif goal.path != "-":
            parts.append(f["path"][goal.path])
        return And(parts)


INDUCTION_AFTER = 3     # steps searched before the open goals are tried by induction


@dataclass
class GoalResult:
    goal: Goal
    status: str                       # "reached" | "unreachable" | "unknown"
    length: Optional[int] = None      # steps of the shortest program
    steps: tuple = ()
    results: tuple = ()
    seconds: float = 0.0
    how: str = ""                     # "induction" | "bounded" for an unreachable goal


class _StepView:
    """The parts of a one-step window ``GoalLiterals`` reads, named as on an unrolling."""

    def __init__(self, window):
        self.scope, self.states, self.args, self.results = (window.sc, window.states,
                                                           window.args, window.results)


def never_reachable(goals: list, scope: SymbolicScope, profile, timeout_ms: int = 30000) -> set:
    """The goals no step from ANY state satisfying the lemmas reaches: unreachable in programs
    of every length, proved once (by the induction of ``induction.prove_lemmas``) instead of by
    a bounded unsat per length. Empty if the lemmas are not proved inductive.

    One incremental pass: ask for any still-possible goal; every goal a model satisfies is
    possible (dropped from the candidates); when the solver says unsat, the rest are never
    reachable."""
    from .induction import Window, prove_lemmas
    from .unrolling import new_solver
    if prove_lemmas(scope, profile, timeout_ms).status != "proved":
        return set()
    w = Window(scope, profile, 1, "cov_")
    lits = GoalLiterals(_StepView(w))
    solver = new_solver(timeout_ms)
    solver.add(w.constraints)
    open_ = {g: lits.at(g, 0) for g in goals}
    while open_:
        verdict = solver.check(Or(list(open_.values())))
        if verdict == z3.unsat:
            return set(open_)
        if verdict != z3.sat:
            return set()
        m = solver.model()
        hit = [g for g, lit in open_.items() if z3.is_true(m.eval(lit, model_completion=True))]
        for g in hit:
            del open_[g]
    return set()


def shortest_programs(scope: SymbolicScope, profile="linux", bound: Optional[int] = None,
                      goals: Optional[list] = None, timeout_ms: int = 30000,
                      unrolling: Optional[Unrolling] = None,
                      stats: Optional[dict] = None) -> Iterator[GoalResult]:
    """For each goal, the shortest program of up to ``bound`` steps reaching it, or a proof that
    none does. ``stats``, if given, is filled with where the time went (seconds): ``build``
    (Python terms of the unrolling and the goal literals), ``induction`` (the goals proved
    never reachable), ``solve_sat`` / ``solve_unsat`` (solver calls by answer), ``decode``,
    and ``calls``.

    The goals are asked step by step on one unrolling, all at once: at step i, "some
    open goal holds at step i" is asked with the assumption that the program has exactly i+1
    steps; each model reaches every open goal it satisfies at step i (shortest, since none of
    them held at any earlier step), and an unsat answer proves every open goal unreachable at
    step i. So the solver is asked about as many times as there are distinct programs plus the
    bound, not goals times log(bound). The goals still open after ``INDUCTION_AFTER`` steps
    are checked by ``never_reachable`` once: those proved unreachable at every length leave the
    longer steps' questions, whose unsat answers are the expensive ones. Results come back in the order of ``goals``."""
    from .decode import program_from_model
    bound = scope.steps if bound is None else bound
    stats = {} if stats is None else stats
    stats.update(build=0.0, induction=0.0, solve_sat=0.0, solve_unsat=0.0, decode=0.0, calls=0)
    clock = time.perf_counter()
    u = unrolling or Unrolling(scope.with_steps(bound), profile, timeout_ms=timeout_ms)
    goals = all_goals(scope, u.profile.linux_interfaces) if goals is None else goals
    lits = GoalLiterals(u)
    stats["build"] += time.perf_counter() - clock
    done: dict = {}
    open_ = list(goals)
    unknown_at: Optional[int] = None      # a step at which the solver could not answer
    for i in range(bound):
        if i == INDUCTION_AFTER and open_:
            # what the first steps did not reach: is it reachable at all? (cheap to ask now
            # that most goals are gone; saves the longer steps' unsat on the never-reachable)
            clock = time.perf_counter()
            for g in never_reachable(open_, u.scope, u.profile, timeout_ms):
                done[g] = GoalResult(g, "unreachable", how="induction")
            open_ = [g for g in open_ if g not in done]
            stats["induction"] += time.perf_counter() - clock
        if not open_:
            break
        clock = time.perf_counter()
        at = {g: lits.at(g, i) for g in open_}
        length = u.length_literal(i + 1)
        stats["build"] += time.perf_counter() - clock
        while at:
            asked = time.perf_counter()
            verdict = u.solver.check(length, Or(list(at.values())))
            stats["calls"] += 1
            stats["solve_sat" if verdict == z3.sat else "solve_unsat"] += time.perf_counter() - asked
            if verdict != z3.sat:
                if verdict == z3.unknown and unknown_at is None:
                    unknown_at = i
                break
            clock = time.perf_counter()
            m = u.solver.model()
            hit = [g for g, lit in at.items() if z3.is_true(m.eval(lit, model_completion=True))]
            steps, results = program_from_model(m, u, i + 1)
            stats["decode"] += time.perf_counter() - clock
            for g in hit:
                # after an unknown, a later program is not claimed shortest
                done[g] = GoalResult(g, "reached", i + 1, steps, results,
                                     time.perf_counter() - asked,
                                     how="" if unknown_at is None else "not proved shortest")
                del at[g]
        open_ = [g for g in open_ if g not in done]
    for g in open_:
        done[g] = GoalResult(g, "unknown" if unknown_at is not None else "unreachable",
                             how="bounded")
    for g in goals:
        yield done[g]
