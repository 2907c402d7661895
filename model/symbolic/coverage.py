"""Coverage goals over the encoding, and for each the shortest program reaching it.

A goal is (operation, kind of memory, sharing path, outcome) of the LAST step of a program,
restricted to what the core encodes (core.py):

- kinds: private anonymous, shared anonymous, SysV, SysV read-only attach, and the backing
  objects file, memfd and POSIX shm, each mapped shared (``file``) or private (``file
  private``: copy on write of the object's pages); for madvise and mremap, the advice or the
  mode takes the path's place; for open, the kind opened; for the other descriptor calls, the
  kind of the descriptor's object;
- sharing paths of an access (read/write), by how the acting thread came to have the mapping:
  ``fork grandchild`` / ``fork child`` (inherited through two / one fork), ``after IPC_RMID``
  (attached by id after the segment was removed) or ``after shm_unlink`` (the POSIX shm object
  has lost its name, R46), ``through the key`` (attached through a handle that shmget found by
  key) or ``through the name`` (mapped through a descriptor whose open found the object by its
  name), ``alias`` (mapped while the process already mapped the segment or object elsewhere,
  R14), ``after mremap`` (the destination of a move or an alias, or a mapping grown in place),
  ``sibling thread`` (mapped by another thread of the process), ``same thread``; the first that
  applies, in this order. Besides these, two paths of the data between a descriptor and a
  mapping (R12, R13): a read through a mapping of an object page last ``written by pwrite``,
  and a pread of one last ``written through a mapping``;
- outcomes: a read's nonzero value, its 0, SIGSEGV, SIGBUS; a write's ok, SIGSEGV, SIGBUS (past
  the object's end: after mremap grew a shared mapping, R43, or past a file's end, R06, R08);
  the errno or result of the other calls (a pread's value, 0 or eof).

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

from .core import (ADVICES, KIND_ANON, KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, KIND_PRIVATE, KIND_SYSV,
                   MREMAP_MODES, OBJ_FILE, OBJ_MEMFD, OBJ_SHM, OPS, R, SymbolicScope)
from .predicates import object_cell
from .terms import select
from .unrolling import Unrolling

And, Or, Not = z3.And, z3.Or, z3.Not

# kinds of backing-object memory: (object kind, mapped shared)
OBJECT_MEMORY = {"file": (OBJ_FILE, True), "file private": (OBJ_FILE, False),
                 "memfd": (OBJ_MEMFD, True), "memfd private": (OBJ_MEMFD, False),
                 "POSIX shm": (OBJ_SHM, True), "POSIX shm private": (OBJ_SHM, False)}
DESCRIPTOR_KINDS = {"file": OBJ_FILE, "memfd": OBJ_MEMFD, "POSIX shm": OBJ_SHM}
KINDS = ("private anonymous", "shared anonymous", "SysV", "SysV read-only") + tuple(OBJECT_MEMORY)
PATHS = ("same thread", "sibling thread", "fork child", "fork grandchild", "through the key",
         "after IPC_RMID", "through the name", "after shm_unlink", "alias", "after mremap")
ACCESS_OUTCOMES = {"read": ("value", "0", "SIGSEGV", "SIGBUS"), "write": ("ok", "SIGSEGV", "SIGBUS")}
MREMAP_OUTCOMES = {"grow": ("ok", "EFAULT", "ENOMEM"), "move": ("ok", "EFAULT"),
                   "alias": ("ok", "EFAULT", "EINVAL")}
# the outcomes a madvise can have at all (an advice without an EINVAL case is not asked for one)
MADVISE_OUTCOMES = {adv: ("ok", "ENOMEM") + (("EINVAL",) if adv in ("wipeonfork", "free", "remove")
                                             else ()) + (("EACCES",) if adv == "remove" else ())
                    for adv in ADVICES}

# Catalogue rules a goal exercises (beside rules.rules_for_step of its last step).
_PATH_RULES = {"sibling thread": ("R15",), "fork grandchild": ("R41",), "through the key": ("R21",),
               "after IPC_RMID": ("R17", "R19"), "alias": ("R14",), "after mremap": ("R44",),
               "through the name": ("R12",), "after shm_unlink": ("R46",),
               "written by pwrite": ("R12",), "written through a mapping": ("R12",)}
_FORK_RULES = {"private anonymous": ("R11",), "shared anonymous": ("R10",), "SysV": ("R09",),
               "SysV read-only": ("R09", "R24"), "file": ("R10",), "memfd": ("R10", "R47"),
               "POSIX shm": ("R10",), "file private": ("R11",), "memfd private": ("R11", "R47"),
               "POSIX shm private": ("R11",)}
_OP_RULES = {"open": ("R46",), "ftruncate": ("R03", "R08"), "pread": ("R12",), "pwrite": ("R12",),
             "shm_unlink": ("R46",), "seal": ("R47",)}


def _paths_for(kind: str) -> tuple:
    """The sharing paths an access to memory of this kind can come by."""
    if kind.startswith("SysV"):
        skip = ("through the name", "after shm_unlink")
    elif kind.startswith("POSIX shm"):
        skip = ("through the key", "after IPC_RMID")
    elif kind.startswith("file"):
        skip = ("through the key", "after IPC_RMID", "after shm_unlink")
    elif kind.startswith("memfd"):   # no name: never found by one, never unlinked
        skip = ("through the key", "after IPC_RMID", "through the name", "after shm_unlink")
    else:
        skip = ("through the key", "after IPC_RMID", "through the name", "after shm_unlink", "alias")
    return tuple(p for p in PATHS if p not in skip)


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
        rules = set(_PATH_RULES.get(self.path, ())) | set(_OP_RULES.get(self.op, ()))
        objects = self.kind in OBJECT_MEMORY
        if self.path.startswith("fork"):
            rules.update(_FORK_RULES.get(self.kind, ()))
        if self.outcome == "SIGSEGV":
            rules.update(("R32", "R33") + (("R24",) if self.kind == "SysV read-only" else ()))
        if self.op == "read" and self.outcome == "0":
            rules.add("R01" if self.kind.startswith("SysV") else "R03" if objects else "R02")
        if self.op in ("read", "write") and objects:
            rules.update(("R12",) if OBJECT_MEMORY[self.kind][1] else ("R11", "R13"))
        if self.op == "madvise":
            rules.update({"dontneed": ("R35", "R36") + (("R37",) if objects else ()),
                          "dontfork": ("R40",), "dofork": ("R40",),
                          "wipeonfork": ("R41",), "keeponfork": ("R41",), "remove": ("R39",),
                          "free": ("C05",)}[self.path])
        if self.op == "exec":
            rules.add("R29")
        if self.outcome == "SIGBUS":
            rules.add("R43" if not objects or self.path == "after mremap" else "R06")
        if self.op == "mremap":
            rules.add({"grow": "R43", "move": "R44", "alias": "R42"}[self.path])
        if self.op == "mmap" and self.outcome in ("EACCES", "EPERM"):
            rules.add("C01" if self.outcome == "EACCES" else "R47")
        return tuple(sorted(rules))

    def describe(self) -> str:
        words = [self.op]
        if self.kind != "-":
            words.append(f"of {self.kind} memory" if self.op not in DESCRIPTOR_OPS
                         else f"of a {self.kind} object")
        if self.path != "-":
            words.append(f"({self.path})")
        if self.outcome != "-":
            words.append(f"-> {self.outcome}")
        return " ".join(words)


DESCRIPTOR_OPS = ("open", "close", "ftruncate", "pread", "pwrite", "seal")


def all_goals(scope: SymbolicScope, linux: bool = True) -> list:
    objects = scope.objects > 0
    kinds = [k for k in KINDS if objects or k not in OBJECT_MEMORY]
    if not linux:   # no memfd under posix
        kinds = [k for k in kinds if not k.startswith("memfd")]
    descriptor_kinds = [k for k in DESCRIPTOR_KINDS if objects and (linux or k != "memfd")]
    goals = []
    for op, outcomes in ACCESS_OUTCOMES.items():
        for kind in kinds:
            for path in _paths_for(kind):
                for outcome in outcomes:
                    goals.append(Goal(op, kind, path, outcome))
    goals += [Goal("read", k, "written by pwrite", "value") for k in kinds if k in OBJECT_MEMORY]
    goals += [Goal("shmget", outcome=o) for o in ("new", "same", "ENOENT", "EEXIST", "EINVAL")]
    goals += [Goal("shmat", kind=k, outcome=o) for k in ("SysV", "SysV read-only")
              for o in ("ok", "EINVAL")]
    goals += [Goal("shmdt", outcome=o) for o in ("ok", "EINVAL")]
    goals += [Goal("shmctl rmid", outcome=o) for o in ("ok", "EINVAL")]
    goals += [Goal("shmctl stat", outcome=o) for o in ("stat", "stat dest", "EINVAL")]
    goals += [Goal("mmap", kind=k, outcome="ok") for k in kinds if k not in ("SysV", "SysV read-only")]
    goals += [Goal("munmap", kind=k, outcome="ok") for k in kinds]
    goals += [Goal("mprotect", kind=k, outcome=o) for k in kinds for o in ("ok", "ENOMEM", "EACCES")]
    if linux:
        goals += [Goal("madvise", kind=k, path=adv, outcome=o) for adv in ADVICES for k in kinds
                  for o in MADVISE_OUTCOMES[adv]]
        goals += [Goal("mremap", kind=k, path=mode, outcome=o) for mode in MREMAP_MODES
                  for k in kinds for o in MREMAP_OUTCOMES[mode]]
    goals += [Goal(op, outcome="ok") for op in ("fork", "spawn", "thread_exit", "exit", "exec")]
    goals += [Goal("any", outcome="dead")]
    if descriptor_kinds:
        named = [k for k in descriptor_kinds if k != "memfd"]
        goals += [Goal("open", kind=k, outcome=o) for k in descriptor_kinds
                  for o in (("ok", "ENOENT", "EEXIST") if k != "memfd" else ("ok",))]
        goals += [Goal("open", kind=k, path="through the name", outcome="ok") for k in named]
        goals += [Goal("mmap", outcome="EBADF")]
        goals += [Goal("mmap", kind=k, outcome="EACCES") for k in named]
        goals += [Goal("close", outcome=o) for o in ("ok", "EBADF")]
        goals += [Goal("ftruncate", kind=k, outcome="ok") for k in descriptor_kinds]
        goals += [Goal("ftruncate", kind=k, outcome="EINVAL") for k in named]
        goals += [Goal("ftruncate", outcome="EBADF")]
        goals += [Goal("pread", kind=k, outcome=o) for k in descriptor_kinds for o in ("value", "0", "eof")]
        goals += [Goal("pread", kind=k, path="written through a mapping", outcome="value")
                  for k in descriptor_kinds]
        goals += [Goal("pread", outcome="EBADF")]
        goals += [Goal("pwrite", kind=k, outcome="ok") for k in descriptor_kinds]
        goals += [Goal("pwrite", outcome="EBADF")]
        goals += [Goal("shm_unlink", outcome=o) for o in ("ok", "ENOENT")]
        if linux:
            goals += [Goal("mmap", kind="memfd", outcome="EPERM"),
                      Goal("pwrite", kind="memfd", outcome="EPERM")]
            goals += [Goal("seal", outcome=o) for o in ("ok", "EBADF", "EBUSY")]
            goals += [Goal("seal", kind=k, outcome="EPERM") for k in named]
    return goals


class GoalLiterals:
    """The Bool ``goal holds at step i`` for every goal and step, over one unrolling."""

    def __init__(self, u: Unrolling):
        self.u = u
        self._facts = [self._step_facts(i) for i in range(len(u.args))]

    def _step_facts(self, i: int) -> dict:
        u, sc = self.u, self.u.scope
        s, a, r = u.states[i], u.args[i], u.results[i]
        O = sc.objects
        pid = select(s.t_proc, a.actor)
        slot_kind = select(s.slot_kind, a.slot)
        rdonly = select(s.slot_rdonly, a.slot)
        slot_obj = select(s.slot_obj, a.slot)
        slot_obj_kind = select(s.obj_kind, slot_obj, z3.BitVecVal(0, 2))
        kind = {"private anonymous": slot_kind == KIND_PRIVATE, "shared anonymous": slot_kind == KIND_ANON,
                "SysV": And(slot_kind == KIND_SYSV, Not(rdonly)),
                "SysV read-only": And(slot_kind == KIND_SYSV, rdonly)}
        for name, (okind, shared) in OBJECT_MEMORY.items():
            kind[name] = And(slot_kind == (KIND_OBJ_SHARED if shared else KIND_OBJ_PRIVATE),
                             slot_obj_kind == okind)
        depth = select([select([s.depth[p][k] for p in range(sc.processes)], pid)
                        for k in range(sc.mappings)], a.slot)
        rmid_, bykey, alias, remap = (select(x, a.slot) for x in (s.slot_rmid, s.slot_bykey,
                                                                   s.slot_alias, s.slot_remap))
        maps_object = Or(slot_kind == KIND_OBJ_SHARED, slot_kind == KIND_OBJ_PRIVATE)
        unlinked = And(maps_object, slot_obj_kind == OBJ_SHM,
                       Not(select(s.obj_named, slot_obj, z3.BoolVal(False))))
        removed = Or(rmid_, unlinked)
        inherited = depth != 0
        attach_path = Or(removed, bykey, alias, remap)
        by_name = And(Not(inherited), Not(removed), bykey)
        path = {"fork grandchild": depth == 2, "fork child": depth == 1,
                "after IPC_RMID": And(Not(inherited), rmid_),
                "after shm_unlink": And(Not(inherited), unlinked),
                "through the key": by_name, "through the name": by_name,
                "alias": And(Not(inherited), Not(removed), Not(bykey), alias),
                "after mremap": And(Not(inherited), Not(removed), Not(bykey), Not(alias), remap),
                "sibling thread": And(Not(inherited), Not(attach_path),
                                      select(s.slot_thread, a.slot) != a.actor),
                "same thread": And(Not(inherited), Not(attach_path),
                                   select(s.slot_thread, a.slot) == a.actor)}
        # the data's path between a descriptor and a mapping (R12, R13)
        opg = select(s.slot_pgoff, a.slot) + a.page
        by_fd = object_cell(s.obj_by_fd, sc, slot_obj, opg, z3.BoolVal(False))
        cow = select([select([select([s.cells[p][k][q].cow for p in range(sc.processes)], pid)
                              for k in range(sc.mappings)], a.slot) for q in range(sc.pages)],
                     a.page, z3.BoolVal(False))
        fd_obj = select(s.fd_obj, a.fd, z3.BitVecVal(O, 4))
        fd_by_fd = select([select([s.obj_by_fd[o][q] for o in range(O)], fd_obj, z3.BoolVal(False))
                           for q in range(sc.pages)], a.page, z3.BoolVal(True))
        path.update({"written by pwrite": And(by_fd, Not(cow)),
                     "written through a mapping": Not(fd_by_fd)})
        code = {name: r.code == i for name, i in R.items()}
        outcome = {"value": And(code["value"], r.arg != 0), "0": And(code["value"], r.arg == 0),
                   "stat dest": And(code["stat"], r.dest), "stat": And(code["stat"], Not(r.dest)),
                   "new": code["new"], "same": code["same"]}
        outcome.update({n: code[n] for n in ("ok", "SIGSEGV", "EINVAL", "ENOENT", "EEXIST",
                                              "EACCES", "ENOMEM", "dead", "SIGBUS", "EFAULT", "eof",
                                              "EBADF", "EPERM", "EBUSY")})
        op = {name: a.op == i for name, i in OPS.items()}
        op["shmctl rmid"] = And(op["shmctl"], a.rmid)
        op["shmctl stat"] = And(op["shmctl"], Not(a.rmid))
        op["any"] = op["nop"] != True  # noqa: E712 (a z3 expression)
        advice = {name: a.advice == i for i, name in enumerate(ADVICES)}
        advice.update({name: a.mode == i for i, name in enumerate(MREMAP_MODES)})  # mremap's mode
        # shmat's kind is the attach it makes (read-only or not), not the slot's before it;
        # mmap's the mapping it makes; open's the kind it opens; the other descriptor calls'
        # the kind of the descriptor's object
        fd_kind = select(s.obj_kind, fd_obj, z3.BitVecVal(3, 2))
        made_kind = {"SysV": Not(a.rdonly), "SysV read-only": a.rdonly,
                     "private anonymous": And(Not(a.fdmap), Not(a.shared), Not(a.neither)),
                     "shared anonymous": And(Not(a.fdmap), a.shared)}
        for name, (okind, shared) in OBJECT_MEMORY.items():
            made_kind[name] = And(a.fdmap, a.shared == shared, Not(a.neither), fd_kind == okind)
        descriptor_kind = {name: fd_kind == okind for name, okind in DESCRIPTOR_KINDS.items()}
        open_kind = {name: a.okind == okind for name, okind in DESCRIPTOR_KINDS.items()}
        open_path = {"through the name": select(u.states[i + 1].fd_byname, a.fd, z3.BoolVal(False))}
        return dict(kind=kind, path=path, outcome=outcome, op=op, advice=advice, made_kind=made_kind,
                    descriptor_kind=descriptor_kind, open_kind=open_kind, open_path=open_path)

    def at(self, goal: Goal, i: int):
        f = self._facts[i]
        parts = [f["op"][goal.op], f["outcome"][goal.outcome]]
        if goal.kind == "-":
            pass
        elif goal.op in ("shmat", "mmap"):
            parts.append(f["made_kind"][goal.kind])
        elif goal.op == "open":
            parts.append(f["open_kind"][goal.kind])
        elif goal.op in DESCRIPTOR_OPS:
            parts.append(f["descriptor_kind"][goal.kind])
        else:
            parts.append(f["kind"][goal.kind])
        if goal.op in ("madvise", "mremap"):
            parts.append(f["advice"][goal.path])
        elif goal.op == "open" and goal.path != "-":
            parts.append(f["open_path"][goal.path])
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

    One incremental pass per group of goals (``goal_groups``): ask for any still-possible goal
    of the group; every goal a model satisfies is possible (dropped from the candidates); when
    the solver says unsat, the rest of the group are never reachable."""
    from .induction import Window, prove_lemmas
    from .unrolling import new_solver
    if prove_lemmas(scope, profile, timeout_ms).status != "proved":
        return set()
    w = Window(scope, profile, 1, "cov_")
    lits = GoalLiterals(_StepView(w))
    solver = new_solver(timeout_ms)
    solver.add(w.constraints)
    never = set()
    for group in goal_groups(goals):
        open_ = {g: lits.at(g, 0) for g in group}
        satisfied = Satisfied(open_)
        while open_:
            verdict = solver.check(Or(list(open_.values())))
            if verdict == z3.unsat:
                never |= set(open_)
            if verdict != z3.sat:
                break   # unknown: the rest stay possible
            for g in satisfied(solver.model(), open_):
                del open_[g]
    return never


class Satisfied:
    """Which of some literals a model satisfies, read with one evaluation for all of them
    (evaluating them one by one is where reading a model spent its time)."""

    def __init__(self, literals: dict):
        self.keys = list(literals)
        bits = [z3.If(literals[k], z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)) for k in self.keys]
        self.term = bits[0] if len(bits) == 1 else z3.Concat(bits)

    def __call__(self, m: z3.ModelRef, among) -> list:
        packed = m.eval(self.term, model_completion=True).as_long()
        n = len(self.keys)
        return [k for i, k in enumerate(self.keys) if packed >> (n - 1 - i) & 1 and k in among]


def goal_groups(goals: list) -> list:
    """The goals grouped by operation and kind, in order of first appearance. A solver call
    asks for any goal of one group: a disjunction of a few dozen goals is answered many times
    faster than one of hundreds (measured: the whole z3 corpus at 4 steps, with backing
    objects, in about a seventh of the time), and the extra unsat answers are cheap."""
    groups: dict = {}
    for g in goals:
        groups.setdefault((g.op, g.kind), []).append(g)
    return list(groups.values())


def shortest_programs(scope: SymbolicScope, profile="linux", bound: Optional[int] = None,
                      goals: Optional[list] = None, timeout_ms: int = 30000,
                      unrolling: Optional[Unrolling] = None,
                      stats: Optional[dict] = None) -> Iterator[GoalResult]:
    """For each goal, the shortest program of up to ``bound`` steps reaching it, or a proof that
    none does. ``stats``, if given, is filled with where the time went (seconds): ``build``
    (Python terms of the unrolling and the goal literals), ``induction`` (the goals proved
    never reachable), ``solve_sat`` / ``solve_unsat`` (solver calls by answer), ``decode``,
    and ``calls``.

    The goals are asked step by step on one unrolling, a group at a time (``goal_groups``):
    at step i, "some open goal of the group holds at step i" is asked with the assumption that
    the program has exactly i+1 steps; each model reaches every open goal of the group it
    satisfies at step i (shortest, since none of them held at any earlier step), and an unsat
    answer proves the group's open goals unreachable at step i. So the solver is asked about as
    many times as there are distinct programs plus the groups still open at each step, not
    goals times log(bound). The goals still open after ``INDUCTION_AFTER`` steps are checked
    by ``never_reachable`` once: those proved unreachable at every length leave the longer
    steps' questions, whose unsat answers are the expensive ones. Results come back in the order of ``goals``."""
    from .decode import program_from_model
    bound = scope.steps if bound is None else bound
    stats = {} if stats is None else stats
    stats.update(build=0.0, induction=0.0, solve_sat=0.0, solve_unsat=0.0, decode=0.0, calls=0)
    clock = time.perf_counter()
    u = unrolling or Unrolling(scope.with_steps(bound), profile, timeout_ms=timeout_ms, lazy=True)
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
        u.extend_to(i + 1)
        stats["build"] += time.perf_counter() - clock
        length = u.length_literal(i + 1)
        for group in goal_groups(open_):
            clock = time.perf_counter()
            at = {g: lits.at(g, i) for g in group}
            satisfied = Satisfied(at)
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
                hit = satisfied(m, at)
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
