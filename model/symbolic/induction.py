"""The named properties (properties.py) over the encoding, proved for programs of every length.

How: ``lemmas(s)`` is a well-formedness invariant of the encoding (counts in range, unmapped
cells canonical, dead processes map nothing, a mapped SysV cell names a live segment, ...).
It holds initially and every step preserves it (``prove_lemmas``), so every reachable state
satisfies it. Each property is then either

- an *invariant* ``P(s)``: holds initially, and ``lemmas(s) & P(s) & step => P(s')``; or
- a *step property* over a short window of steps from ANY state satisfying the lemmas (for
  example: a write, then a read through another page reaching the same frame). As every
  reachable state satisfies the lemmas, the window property holds wherever the window starts,
  in a program of any length.

Each property also has a *witness* (non-vacuity): a program from the initial state that
exercises it, found by bounded unrolling. ``unknown`` (a timeout) is never a proof.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import z3

from ..profiles import Profile, get_profile
from .core import (ADVICES, KIND_ANON, KIND_NONE, KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, KIND_PRIVATE,
                   KIND_SYSV, OBJ_MEMFD, OPS, R, SymbolicScope)
from .encoding import SymState, fresh_args, fresh_result, fresh_state, initial_constraints, valid_args
from .predicates import (cell_field, follows_object, is_value, object_page, object_value,
                         private_val, readable, segment_pages, writably_mapped)
from .terms import num, select
from .transition import transition
from . import object_properties as op
from .unrolling import Unrolling, args_from_model, new_solver

And, Or, Not, Implies, If = z3.And, z3.Or, z3.Not, z3.Implies, z3.If


# --- the lemmas -----------------------------------------------------------------------------

def attached(s: SymState, sc: SymbolicScope, g: int):
    return Or([And(s.cells[p][k][q].mapped, s.slot_kind[k] == KIND_SYSV, s.slot_seg[k] == g)
               for p in range(sc.processes) for k in range(sc.mappings) for q in range(sc.pages)])


def maps_object(s: SymState, k: int):
    return Or(s.slot_kind[k] == KIND_OBJ_SHARED, s.slot_kind[k] == KIND_OBJ_PRIVATE)


def rdonly_stays(s: SymState, k: int, profile: Optional[Profile]):
    """Whether slot k's read-only mark keeps its pages unwritable: always on Linux (R24);
    under posix a SysV attach may be made writable by mprotect (POSIX mprotect is unspecified
    for a mapping mmap did not make), so there only for the other slots."""
    if profile is not None and profile.shm_mprotect_unspecified:
        return And(s.slot_rdonly[k], s.slot_kind[k] != KIND_SYSV)
    return s.slot_rdonly[k]


def lemmas(s: SymState, sc: SymbolicScope, profile: Optional[Profile] = None) -> list:
    """Well-formedness of an encoded state; named so a failure says which."""
    P, T, M, Q, G, O = sc.processes, sc.threads, sc.mappings, sc.pages, sc.segments, sc.objects
    out = [("counts in range", And(z3.UGE(s.nthreads, 1), z3.ULE(s.nthreads, T), z3.UGE(s.nprocs, 1),
                                   z3.ULE(s.nprocs, s.npprocs), z3.ULE(s.npprocs, P),
                                   z3.ULE(s.nslots, M), z3.ULE(s.nhandles, G),
                                   z3.ULE(s.nsegs, s.nhandles), z3.ULE(s.nfds, O),
                                   z3.ULE(s.nobjs, s.nfds)))]
    for t in range(T):
        out.append((f"thread {t}: unbound threads are dead; a live thread runs in a live process",
                    And(Implies(z3.UGE(t, s.nthreads), Not(s.t_alive[t])),
                        Implies(s.t_alive[t], And(z3.ULT(s.t_proc[t], s.nprocs),
                                                  select(s.p_alive, s.t_proc[t], z3.BoolVal(False)))))))
    for p in range(P):
        for k in range(M):
            for q in range(Q):
                c = s.cells[p][k][q]
                kind = s.slot_kind[k]
                pred_unmapped = z3.BoolVal(True) if q == 0 else Not(s.cells[p][k][q - 1].mapped)
                out.append((f"cell {p},{k},{q} well formed", And(
                    Implies(Not(c.mapped), And(c.prot == 0, Not(c.start), Not(c.dontfork),
                                                Not(c.wipe), c.val == 0, Not(c.lazy), Not(c.cow),
                                                Not(c.acct), Not(c.anonvma), Not(c.forkvma),
                                                c.avid == 0)),
                    # a fork child's own anon_vma is an anon_vma (address_space.fork_anon_vmas)
                    Implies(c.forkvma, c.anonvma), Implies(Not(c.anonvma), c.avid == 0),
                    Implies(c.mapped, And(z3.ULE(c.prot, 2), s.p_alive[p], z3.ULT(k, s.nslots),
                                          kind != KIND_NONE)),
                    Implies(kind != KIND_PRIVATE, And(Not(c.wipe), Not(c.lazy))),
                    # a private object page holds a byte of its own only once it has a copy
                    Implies(kind != KIND_OBJ_PRIVATE, Not(c.cow)),
                    Implies(Not(Or(kind == KIND_PRIVATE, c.cow)), c.val == 0),
                    Implies(And(c.mapped, maps_object(s, k)), z3.ULT(s.slot_obj[k], s.nobjs)),
                    Implies(And(c.mapped, kind == KIND_SYSV),
                            And(z3.ULT(s.slot_seg[k], s.nsegs),
                                Not(select(s.seg_destroyed, s.slot_seg[k], z3.BoolVal(True))))),
                    Implies(And(c.mapped, pred_unmapped), c.start),
                    # a page that carries on a record has the record's attributes
                    Implies(And(c.mapped, Not(c.start)), z3.BoolVal(True) if q == 0 else And(
                        s.cells[p][k][q - 1].prot == c.prot,
                        s.cells[p][k][q - 1].dontfork == c.dontfork,
                        s.cells[p][k][q - 1].wipe == c.wipe)),
                    Implies(And(c.mapped, rdonly_stays(s, k, profile)), c.prot != 0),
                    # (ghost) only mremap puts a page of a slot past its shared anonymous
                    # object's or segment's end (R43): grown, or moved or aliased there
                    Implies(And(c.mapped, Or(
                        And(kind == KIND_ANON, z3.UGE(s.slot_pgoff[k] + q,
                                                      select(s.anon_size, s.slot_anon[k], num(0)))),
                        And(kind == KIND_SYSV, z3.UGE(s.slot_pgoff[k] + q, segment_pages(
                            select(s.seg_size, s.slot_seg[k], num(0))))))), s.slot_remap[k]))))
            out.append((f"process {p} beyond the count is dead",
                        Implies(z3.UGE(p, s.nprocs), Not(s.p_alive[p]))))
    for k in range(M):
        out.append((f"slot {k} well formed", And(
            z3.ULE(s.slot_kind[k], KIND_OBJ_PRIVATE),
            Implies(z3.UGE(k, s.nslots), s.slot_kind[k] == KIND_NONE),
            Implies(s.slot_rdonly[k], Or(s.slot_kind[k] == KIND_SYSV,
                                         s.slot_kind[k] == KIND_OBJ_SHARED)),
            Implies(maps_object(s, k), z3.ULT(s.slot_obj[k], s.nobjs)),
            Implies(s.slot_kind[k] == KIND_SYSV, z3.ULT(s.slot_seg[k], G)),
            # a move or alias adds at most Q-1 to its source slot's offset (no overflow)
            z3.ULE(s.slot_pgoff[k], k * (Q - 1)),
            Implies(s.slot_kind[k] == KIND_ANON,
                    And(z3.ULT(s.slot_anon[k], s.nslots), z3.ULE(s.slot_anon[k], k),
                        select(s.anon_size, s.slot_anon[k]) != 0,
                        z3.ULE(select(s.anon_size, s.slot_anon[k]), Q))))))
    for h in range(G):
        out.append((f"handle {h} names nothing or a segment",
                    And(Implies(z3.UGE(h, s.nhandles), s.handle_seg[h] == G),
                        Or(s.handle_seg[h] == G, z3.ULT(s.handle_seg[h], s.nsegs)))))
    for g in range(G):
        out.append((f"segment {g} well formed", And(
            Implies(z3.UGE(g, s.nsegs), And(Not(s.seg_key[g]), Not(s.seg_removed[g]),
                                            Not(s.seg_destroyed[g]))),
            Implies(z3.ULT(g, s.nsegs), z3.ULE(s.seg_size[g], Q)),
            Implies(s.seg_destroyed[g], s.seg_removed[g]),
            Implies(s.seg_removed[g], Not(s.seg_key[g])))))
        for g2 in range(g + 1, G):
            out.append((f"one live segment per key ({g}, {g2})",
                        Not(And(s.seg_key[g], s.seg_key[g2]))))
    for h in range(O):
        out.append((f"descriptor {h} names nothing or an object; only live processes hold it", And(
            Implies(z3.UGE(h, s.nfds), And(s.fd_obj[h] == O, Not(s.fd_rdonly[h]))),
            Or(s.fd_obj[h] == O, z3.ULT(s.fd_obj[h], s.nobjs)),
            # memfd_create gives a writable descriptor; only open() a read-only one
            Implies(s.fd_rdonly[h], select(s.obj_kind, s.fd_obj[h], num(OBJ_MEMFD, 2)) != OBJ_MEMFD),
            And([Implies(s.fd_open[p][h], And(s.p_alive[p], s.fd_obj[h] != O)) for p in range(P)]))))
    for o in range(O):
        out.append((f"object {o} well formed", And(
            Implies(z3.UGE(o, s.nobjs), And(Not(s.obj_named[o]), Not(s.obj_sealed[o]))),
            z3.ULE(s.obj_kind[o], 2), z3.ULE(s.obj_size[o], Q),
            # R03, R08: nothing is kept at or past the size, not even what read(2) may lag (R12)
            And([Implies(z3.UGE(q, s.obj_size[o]), And(s.obj_page[o][q] == 0,
                                                      Not(s.obj_lag[o][q]))) for q in range(Q)]),
            Implies(s.obj_named[o], s.obj_kind[o] != OBJ_MEMFD),
            Implies(s.obj_sealed[o], And(s.obj_kind[o] == OBJ_MEMFD,
                                         Not(writably_mapped(s, sc, num(o))))))))
        for o2 in range(o + 1, O):
            out.append((f"one object per name ({o}, {o2})",
                        Not(And(s.obj_named[o], s.obj_named[o2], s.obj_kind[o] == s.obj_kind[o2]))))
    return out


# --- state invariants from properties.py ----------------------------------------------------

def inv_segment_lifetime(s, sc, profile=None):
    """R17, R18, R20: destroyed => nothing maps it; removed and alive => still attached;
    removed => found by no key."""
    return And([And(Implies(s.seg_destroyed[g], Not(attached(s, sc, g))),
                    Implies(And(s.seg_removed[g], Not(s.seg_destroyed[g])), attached(s, sc, g)),
                    Implies(s.seg_removed[g], Not(s.seg_key[g])))
                for g in range(sc.segments)] or [z3.BoolVal(True)])


def inv_protection(s, sc, profile: Optional[Profile] = None):
    """R24: a read-only attach is never writable (mprotect cannot make it so; under posix
    this holds for mappings of read-only descriptors, not for SysV attaches)."""
    return And([Implies(And(s.cells[p][k][q].mapped, rdonly_stays(s, k, profile)),
                        s.cells[p][k][q].prot != 0)
                for p in range(sc.processes) for k in range(sc.mappings) for q in range(sc.pages)])


def inv_thread_sharing(s, sc, profile=None):
    """A live thread runs in exactly one live process (so sees exactly its page table)."""
    return And([Implies(s.t_alive[t], select(s.p_alive, s.t_proc[t], z3.BoolVal(False)))
                for t in range(sc.threads)])


def inv_attach_accounting(s, sc, profile=None):
    """R28: only live processes map memory; no attach names a destroyed segment."""
    cs = []
    for p in range(sc.processes):
        for k in range(sc.mappings):
            for q in range(sc.pages):
                c = s.cells[p][k][q]
                cs.append(Implies(c.mapped, s.p_alive[p]))
                cs.append(Implies(And(c.mapped, s.slot_kind[k] == KIND_SYSV),
                                  Not(select(s.seg_destroyed, s.slot_seg[k], z3.BoolVal(True)))))
    return And(cs)


# --- windows: a few steps from any well-formed state -----------------------------------------

class Window:
    """``length`` steps from a fresh state constrained only by the lemmas."""

    def __init__(self, sc: SymbolicScope, profile: Profile, length: int, prefix: str):
        self.sc = sc
        self.profile = profile
        self.states = [fresh_state(f"{prefix}s0_", sc)]
        self.args, self.results, self.constraints = [], [], []
        self.constraints += [c for _, c in lemmas(self.states[0], sc, profile)]
        for i in range(length):
            a, r = fresh_args(f"{prefix}a{i}_", sc, profile), fresh_result(f"{prefix}r{i}_")
            n = fresh_state(f"{prefix}s{i + 1}_", sc)
            self.constraints += valid_args(self.states[-1], a, sc, profile, free_values=False)
            self.constraints += [a.op != OPS["nop"]]
            self.constraints += transition(self.states[-1], a, n, r, sc, profile)
            self.args.append(a)
            self.results.append(r)
            self.states.append(n)

    def pid(self, i):
        return select(self.states[i].t_proc, self.args[i].actor)

    def kind(self, i):
        return select(self.states[i].slot_kind, self.args[i].slot)

    def seg(self, i):
        return select(self.states[i].slot_seg, self.args[i].slot)


# Each step property: function(window) -> (hypothesis, conclusion), both Bools over the window;
# proved: hypothesis & not conclusion is unsat; not vacuous: the hypothesis is satisfiable.

def sp_isolation(w: Window):
    """A write through a private page (anonymous, or of a file, memfd or POSIX shm object:
    R12) changes nothing another process can read, and no other page of its own process."""
    sc, s0, s1, a = w.sc, w.states[0], w.states[1], w.args[0]
    pid = w.pid(0)
    hyp = And(a.op == OPS["write"], w.results[0].code == R["ok"],
              Or(w.kind(0) == KIND_PRIVATE, w.kind(0) == KIND_OBJ_PRIVATE))
    same = []
    for p in range(sc.processes):
        for k in range(sc.mappings):
            for q in range(sc.pages):
                c0, c1 = s0.cells[p][k][q], s1.cells[p][k][q]
                written = And(pid == p, a.slot == k, a.page == q)
                same.append(Or(written, And(c0.mapped == c1.mapped, c0.prot == c1.prot,
                                            c0.val == c1.val, c0.cow == c1.cow)))
    objects_same = And([s0.anon[k][q] == s1.anon[k][q] for k in range(sc.mappings)
                        for q in range(sc.pages)] +
                       [s0.seg_page[g][q] == s1.seg_page[g][q] for g in range(sc.segments)
                        for q in range(sc.pages)] +
                       [And(s0.obj_page[o][q] == s1.obj_page[o][q], s0.obj_size[o] == s1.obj_size[o])
                        for o in range(sc.objects) for q in range(sc.pages)])
    return hyp, And(And(same), objects_same)


def sp_visibility(w: Window):
    """After a write of v, a read through any page reaching the same frame returns v: the same
    page of the same process, or a shared page of the same object page (any process; for a
    backing object also a private page that has no copy of its own, R12, R13)."""
    s0, s1, a0, a1 = w.states[0], w.states[1], w.args[0], w.args[1]
    k0, k1 = w.kind(0), select(s1.slot_kind, a1.slot)
    # the object page each maps (a slot maps its object from slot_pgoff on: mremap)
    opg0 = select(s0.slot_pgoff, a0.slot) + a0.page
    opg1 = select(s1.slot_pgoff, a1.slot) + a1.page
    same_frame = Or(And(w.pid(0) == w.pid(1), a0.slot == a1.slot, a0.page == a1.page),
                    And(k0 == KIND_ANON, k1 == KIND_ANON, opg0 == opg1,
                        select(s0.slot_anon, a0.slot) == select(s1.slot_anon, a1.slot)),
                    And(k0 == KIND_SYSV, k1 == KIND_SYSV, opg0 == opg1,
                        w.seg(0) == select(s1.slot_seg, a1.slot)),
                    And(k0 == KIND_OBJ_SHARED, opg0 == opg1,
                        follows_object(s1, w.sc, w.pid(1), a1.slot, a1.page,
                                       select(s0.slot_obj, a0.slot))))
    hyp = And(a0.op == OPS["write"], w.results[0].code == R["ok"], a1.op == OPS["read"],
              same_frame, readable(s1, w.sc, w.pid(1), a1.slot, a1.page),
              select(s1.t_alive, a1.actor))
    return hyp, is_value(w.results[1], a0.value)


def sp_thread_sharing(w: Window):
    """R15: a write by one thread is read back by any other live thread of its process."""
    s1, a0, a1 = w.states[1], w.args[0], w.args[1]
    hyp = And(a0.op == OPS["write"], w.results[0].code == R["ok"], a1.op == OPS["read"],
              a1.actor != a0.actor, select(s1.t_alive, a1.actor), w.pid(1) == w.pid(0),
              a1.slot == a0.slot, a1.page == a0.page)
    return hyp, is_value(w.results[1], a0.value)


def _cow(w: Window, child_writes: bool):
    s0 = w.states[0]
    a0, a1, a2 = w.args
    child = s0.nthreads  # the thread fork binds
    writer, reader = (child, a0.actor) if child_writes else (a0.actor, child)
    # what the page held at the fork: its own copy, or (a private object page without one,
    # R13) the object's page, which a private write does not change
    copied = cell_field(s0, w.sc, w.pid(0), a1.slot, a1.page, "cow")
    obj_value = object_value(s0, w.sc, select(s0.slot_obj, a1.slot), object_page(s0, a1.slot, a1.page))
    old = If(And(w.kind(1) == KIND_OBJ_PRIVATE, Not(copied)), obj_value,
             private_val(s0, w.sc, w.pid(0), a1.slot, a1.page))
    wipe = cell_field(s0, w.sc, w.pid(0), a1.slot, a1.page, "wipe")
    # C05: a page under MADV_FREE may have been reclaimed before the fork: the reader may see 0
    lazy = cell_field(s0, w.sc, w.pid(0), a1.slot, a1.page, "lazy")
    hyp = And(a0.op == OPS["fork"], w.results[0].code == R["ok"],
              a1.op == OPS["write"], a1.actor == writer, w.results[1].code == R["ok"],
              Or(w.kind(1) == KIND_PRIVATE, w.kind(1) == KIND_OBJ_PRIVATE),
              a2.op == OPS["read"], a2.actor == reader, a2.slot == a1.slot, a2.page == a1.page,
              readable(w.states[2], w.sc, w.pid(2), a2.slot, a2.page),
              select(w.states[2].t_alive, a2.actor))
    expected = old if child_writes else If(wipe, num(0, 8), old)  # R41: the child sees zeros
    return hyp, Or(is_value(w.results[2], expected), And(lazy, is_value(w.results[2], num(0, 8))))


def sp_cow_child_writes(w):
    """R11: after fork, the child's write to private memory (anonymous or of an object) is not
    seen by the parent."""
    return _cow(w, True)


def sp_cow_parent_writes(w):
    """R11, R41: after fork, the parent's write is not seen by the child, which keeps the
    pre-fork data (zeros under MADV_WIPEONFORK)."""
    return _cow(w, False)


def sp_lifetime_after_rmid(w: Window):
    """R17, R19: after IPC_RMID the segment stays fully usable: a write through one process's
    attach is read through another's."""
    s2, a0, a1, a2 = w.states[2], *w.args
    hyp = And(a0.op == OPS["shmctl"], a0.rmid, w.results[0].code == R["ok"],
              a1.op == OPS["write"], w.results[1].code == R["ok"], w.kind(1) == KIND_SYSV,
              a2.op == OPS["read"], select(s2.slot_kind, a2.slot) == KIND_SYSV,
              select(s2.slot_seg, a2.slot) == w.seg(1),
              object_page(s2, a2.slot, a2.page) == object_page(w.states[1], a1.slot, a1.page),
              w.pid(2) != w.pid(1), select(s2.t_alive, a2.actor),
              readable(s2, w.sc, w.pid(2), a2.slot, a2.page))
    return hyp, is_value(w.results[2], a1.value)


def sp_zero_fill_mmap(w: Window):
    """R02: every page of a new anonymous mapping reads 0."""
    a0, a1 = w.args
    hyp = And(a0.op == OPS["mmap"], Not(a0.fdmap), w.results[0].code == R["ok"], a1.op == OPS["read"],
              a1.actor == a0.actor, a1.slot == a0.slot, z3.ULT(a1.page, a0.length), a0.prot != 2)
    return hyp, is_value(w.results[1], num(0, 8))


def sp_zero_fill_segment(w: Window):
    """R01: a new segment reads 0 through its first attach."""
    a0, a1, a2 = w.args
    hyp = And(a0.op == OPS["shmget"], w.results[0].code == R["new"], a1.op == OPS["shmat"],
              a1.handle == a0.handle, w.results[1].code == R["ok"], a2.op == OPS["read"],
              a2.actor == a1.actor, a2.slot == a1.slot, a1.actor == a0.actor)
    pages = segment_pages(a0.size)
    return And(hyp, z3.ULT(a2.page, pages)), is_value(w.results[2], num(0, 8))


def sp_zero_fill_remove(w: Window):
    """R39: after MADV_REMOVE of shared memory, its pages read 0 through every mapping of the
    same frames (any process, any slot mapping the same object page, a private page of a
    backing object without a copy of its own; SIGBUS past the object's end, R06, R43)."""
    s0, s1, a0, a1 = w.states[0], w.states[1], *w.args
    k0, k1 = w.kind(0), select(s1.slot_kind, a1.slot)
    same_object = Or(And(k0 == KIND_ANON, k1 == KIND_ANON,
                         select(s0.slot_anon, a0.slot) == select(s1.slot_anon, a1.slot)),
                     And(k0 == KIND_SYSV, k1 == KIND_SYSV, w.seg(0) == select(s1.slot_seg, a1.slot)),
                     And(k0 == KIND_OBJ_SHARED,
                         follows_object(s1, w.sc, w.pid(1), a1.slot, a1.page,
                                        select(s0.slot_obj, a0.slot))))
    read_opg = object_page(s1, a1.slot, a1.page)
    punched = Or([And(z3.ULE(a0.page, q), z3.ULT(q, a0.page + a0.length),
                      cell_field(s0, w.sc, w.pid(0), a0.slot, num(q), "mapped"),
                      object_page(s0, a0.slot, num(q)) == read_opg) for q in range(w.sc.pages)])
    hyp = And(a0.op == OPS["madvise"], a0.advice == ADVICES.index("remove"),
              w.results[0].code == R["ok"], same_object, a1.op == OPS["read"], punched,
              readable(s1, w.sc, w.pid(1), a1.slot, a1.page), select(s1.t_alive, a1.actor))
    return hyp, Or(is_value(w.results[1], num(0, 8)), w.results[1].code == R["SIGBUS"])


sp_zero_fill_remove.linux_only = True     # madvise


def sp_exec_fresh(w: Window):
    """R29: after exec the thread's process maps nothing: any read faults."""
    a0, a1 = w.args
    hyp = And(a0.op == OPS["exec"], select(w.states[0].t_alive, a0.actor), a1.op == OPS["read"],
              a1.actor == a0.actor)
    return hyp, w.results[1].code == R["SIGSEGV"]


def sp_exec_ends_other_threads(w: Window):
    """R29, C04: after exec the other threads of the process are gone."""
    s0, a0, a1 = w.states[0], *w.args
    hyp = And(a0.op == OPS["exec"], select(s0.t_alive, a0.actor), a1.actor != a0.actor,
              select(s0.t_alive, a1.actor), select(s0.t_proc, a1.actor) == w.pid(0))
    return hyp, w.results[1].code == R["dead"]


def sp_write_faults(w: Window):
    """R32, R33: a write where the page is not writable (unmapped, read-only, PROT_NONE)
    raises SIGSEGV and ends the process."""
    s0, s1, a0 = w.states[0], w.states[1], w.args[0]
    prot = cell_field(s0, w.sc, w.pid(0), a0.slot, a0.page, "prot")
    mapped = And(z3.ULT(a0.page, w.sc.pages), cell_field(s0, w.sc, w.pid(0), a0.slot, a0.page, "mapped"))
    hyp = And(select(s0.t_alive, a0.actor), a0.op == OPS["write"], Not(And(mapped, prot == 0)))
    return hyp, And(w.results[0].code == R["SIGSEGV"],
                    Not(select(s1.p_alive, w.pid(0), z3.BoolVal(True))))


def sp_rdonly_stays_rdonly(w: Window):
    """R24, C01, R47: mprotect(rw) over a mapping that may not write its memory (a read-only
    attach, a shared mapping of a read-only descriptor or of a sealed memfd) fails with
    EACCES."""
    s0, a0 = w.states[0], w.args[0]
    rdonly = select(s0.slot_rdonly, a0.slot)
    if w.profile.shm_mprotect_unspecified:    # R24 (POSIX): not for a SysV attach
        rdonly = And(rdonly, select(s0.slot_kind, a0.slot) != KIND_SYSV)
    hyp = And(select(s0.t_alive, a0.actor), a0.op == OPS["mprotect"], a0.prot == 0, rdonly,
              Or([And(z3.ULE(a0.page, q), z3.ULT(q, a0.page + a0.length),
                      cell_field(s0, w.sc, w.pid(0), a0.slot, num(q), "mapped"))
                  for q in range(w.sc.pages)]))
    return hyp, w.results[0].code == R["EACCES"]


def sp_attach_accounting(w: Window):
    """R28: a successful shmat raises nattch by exactly one (stat before and after)."""
    a0, a1, a2 = w.args
    hyp = And(a0.op == OPS["shmctl"], Not(a0.rmid), w.results[0].code == R["stat"],
              a1.op == OPS["shmat"], a1.handle == a0.handle, w.results[1].code == R["ok"],
              a2.op == OPS["shmctl"], Not(a2.rmid), a2.handle == a0.handle,
              w.results[2].code == R["stat"])
    return hyp, w.results[2].nattch == w.results[0].nattch + 1


# --- witnesses (non-vacuity): goals over an unrolling from the initial state -----------------

def _pid(u, i):
    return select(u.states[i].t_proc, u.args[i].actor)


def _kind(u, i):
    return select(u.states[i].slot_kind, u.args[i].slot)


def w_isolation(u, i):
    """fork; one process writes v to private memory; another reads something else there."""
    if i + 1 >= len(u.args):
        return z3.BoolVal(False)
    a0, a1 = u.args[i], u.args[i + 1]
    return And(a0.op == OPS["write"], u.results[i].code == R["ok"], _kind(u, i) == KIND_PRIVATE,
               a1.op == OPS["read"], a1.slot == a0.slot, a1.page == a0.page,
               _pid(u, i + 1) != _pid(u, i), u.results[i + 1].code == R["value"],
               u.results[i + 1].arg != a0.value)


def w_visibility(u, i):
    """a write of v through a shared page is read as v by another process."""
    if i + 1 >= len(u.args):
        return z3.BoolVal(False)
    a0, a1 = u.args[i], u.args[i + 1]
    return And(a0.op == OPS["write"], u.results[i].code == R["ok"], _kind(u, i) != KIND_PRIVATE,
               a1.op == OPS["read"], _pid(u, i + 1) != _pid(u, i), is_value(u.results[i + 1], a0.value))


def w_thread_sharing(u, i):
    """a write to private memory by one thread is read by a sibling thread."""
    if i + 1 >= len(u.args):
        return z3.BoolVal(False)
    a0, a1 = u.args[i], u.args[i + 1]
    return And(a0.op == OPS["write"], u.results[i].code == R["ok"], _kind(u, i) == KIND_PRIVATE,
               a1.op == OPS["read"], a1.actor != a0.actor, _pid(u, i + 1) == _pid(u, i),
               is_value(u.results[i + 1], a0.value))


def _w_cow(u, i, child_writes):
    if i + 2 >= len(u.args):
        return z3.BoolVal(False)
    a0, a1, a2 = u.args[i:i + 3]
    child = u.states[i].nthreads
    writer, reader = (child, a0.actor) if child_writes else (a0.actor, child)
    return And(a0.op == OPS["fork"], a1.op == OPS["write"], a1.actor == writer,
               u.results[i + 1].code == R["ok"], _kind(u, i + 1) == KIND_PRIVATE,
               a2.op == OPS["read"], a2.actor == reader, a2.slot == a1.slot, a2.page == a1.page,
               u.results[i + 2].code == R["value"], u.results[i + 2].arg != a1.value,
               u.results[i + 2].arg != 0)


def w_lifetime(u, i):
    """after IPC_RMID, two processes still share the segment's frame."""
    if i + 2 >= len(u.args):
        return z3.BoolVal(False)
    a0, a1, a2 = u.args[i:i + 3]
    return And(a0.op == OPS["shmctl"], a0.rmid, u.results[i].code == R["ok"],
               a1.op == OPS["write"], u.results[i + 1].code == R["ok"], _kind(u, i + 1) == KIND_SYSV,
               a2.op == OPS["read"], _pid(u, i + 2) != _pid(u, i + 1),
               is_value(u.results[i + 2], a1.value))


def w_zero_fill(u, i):
    """a new mapping or attach reads 0 while other memory already holds data."""
    if i + 1 >= len(u.args):
        return z3.BoolVal(False)
    a0, a1, s = u.args[i], u.args[i + 1], u.states[i]
    sc = u.scope
    data = ([x != 0 for row in s.anon for x in row] + [x != 0 for row in s.seg_page for x in row]
            + [s.cells[p][k][q].val != 0 for p in range(sc.processes) for k in range(sc.mappings)
               for q in range(sc.pages)])
    return And(Or(a0.op == OPS["shmat"], a0.op == OPS["mmap"]), u.results[i].code == R["ok"],
               a1.op == OPS["read"], a1.slot == a0.slot, is_value(u.results[i + 1], num(0, 8)),
               Or(data))


def w_exec(u, i):
    """memory mapped (and readable) before exec faults when read after it."""
    if i + 1 >= len(u.args):
        return z3.BoolVal(False)
    a0, a1 = u.args[i], u.args[i + 1]
    return And(a0.op == OPS["exec"], a1.op == OPS["read"], a1.actor == a0.actor,
               u.results[i + 1].code == R["SIGSEGV"],
               readable(u.states[i], u.scope, _pid(u, i), a1.slot, a1.page))


def w_protection(u, i):
    """a write through a read-only attach faults."""
    a = u.args[i]
    return And(a.op == OPS["write"], u.results[i].code == R["SIGSEGV"], _kind(u, i) == KIND_SYSV,
               select(u.states[i].slot_rdonly, a.slot),
               readable(u.states[i], u.scope, _pid(u, i), a.slot, a.page))


def w_attach_accounting(u, i):
    """IPC_STAT counts two attaches in two processes."""
    a = u.args[i]
    return And(a.op == OPS["shmctl"], Not(a.rmid), u.results[i].code == R["stat"],
               u.results[i].nattch == 2, Or([u.states[i].nprocs == n for n in range(2, 8)]))


@dataclass(frozen=True)
class SymbolicProperty:
    name: str
    doc: str
    invariant: Optional[Callable] = None           # P(s, scope, profile)
    steps: tuple = ()                               # ((window length, P(window)), ...)
    witness: Optional[Callable] = None              # goal(unrolling, i)
    needs_segments: bool = False
    needs_objects: bool = False
    linux_only: bool = False                        # about an interface only Linux has


PROPERTIES = (
    SymbolicProperty("isolation", "no write through a private page is seen through another "
                     "process's page", steps=((1, sp_isolation),), witness=w_isolation),
    SymbolicProperty("visibility", "a read through any page that reaches a frame returns that "
                     "frame's last write", steps=((2, sp_visibility),
                                                  (2, op.sp_visibility_descriptor)),
                     witness=w_visibility),
    SymbolicProperty("thread sharing", "threads of a process see each other's writes",
                     invariant=inv_thread_sharing, steps=((2, sp_thread_sharing),),
                     witness=w_thread_sharing),
    SymbolicProperty("copy-on-write (child writes)", "after fork the parent keeps its data",
                     steps=((3, sp_cow_child_writes),), witness=lambda u, i: _w_cow(u, i, True)),
    SymbolicProperty("copy-on-write (parent writes)", "after fork the child keeps the pre-fork data",
                     steps=((3, sp_cow_parent_writes),), witness=lambda u, i: _w_cow(u, i, False)),
    SymbolicProperty("segment lifetime", "a removed segment lives, shared, until its last detach; "
                     "then it is gone", invariant=inv_segment_lifetime,
                     steps=((3, sp_lifetime_after_rmid),), witness=w_lifetime, needs_segments=True),
    SymbolicProperty("zero fill", "new memory reads 0",
                     steps=((2, sp_zero_fill_mmap), (3, sp_zero_fill_segment),
                            (2, sp_zero_fill_remove), (2, op.sp_zero_fill_truncate)),
                     witness=w_zero_fill, needs_segments=True),
    SymbolicProperty("exec", "exec leaves a fresh address space, no other thread and no "
                     "descriptor",
                     steps=((2, sp_exec_fresh), (2, sp_exec_ends_other_threads),
                            (2, op.sp_exec_closes_descriptors)), witness=w_exec),
    SymbolicProperty("protection", "a page that may not be written faults when written",
                     invariant=inv_protection, steps=((1, sp_write_faults), (1, sp_rdonly_stays_rdonly)),
                     witness=w_protection, needs_segments=True),
    SymbolicProperty("attach accounting", "nattch counts attaches; only live processes map memory",
                     invariant=inv_attach_accounting, steps=((3, sp_attach_accounting),),
                     witness=w_attach_accounting, needs_segments=True),
    SymbolicProperty("object lifetime", "after shm_unlink the name finds nothing and the object "
                     "lives on, shared, for whoever maps it",
                     steps=((2, op.sp_unlink_name_gone), (3, op.sp_unlink_stays_shared)),
                     witness=op.w_unlink, needs_objects=True),
    SymbolicProperty("sealing", "a write-sealed memfd changes only by truncation",
                     steps=((1, op.sp_sealed_unchanged), (1, op.sp_sealed_refuses)),
                     witness=op.w_sealed, needs_objects=True, linux_only=True),
)


# --- proving ----------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One proof obligation's answer: "proved", "failed" (with a counterexample) or "unknown".
    A witness also carries its program (``program``: the steps, ``results``: theirs)."""
    what: str
    status: str
    seconds: float
    detail: str = ""
    program: tuple = ()
    results: tuple = ()


@dataclass
class PropertyReport:
    name: str
    outcomes: list = field(default_factory=list)

    @property
    def status(self) -> str:
        """"proved" only if every obligation is; "not applicable" for a property about an
        interface the profile does not have (nothing is claimed about it)."""
        statuses = {o.status for o in self.outcomes}
        for s in ("failed", "unknown", "vacuous"):
            if s in statuses:
                return s
        if statuses == {"not applicable"}:
            return "not applicable"
        return "proved" if statuses <= {"proved", "not applicable"} else "unknown"

    @property
    def seconds(self) -> float:
        return sum(o.seconds for o in self.outcomes)


def _check(solver, what, query_lits=(), describe=None) -> Outcome:
    started = time.perf_counter()
    verdict = solver.check(*query_lits)
    seconds = time.perf_counter() - started
    if verdict == z3.unsat:
        return Outcome(what, "proved", seconds)
    if verdict == z3.unknown:
        return Outcome(what, "unknown", seconds, f"solver: {solver.reason_unknown()}")
    return Outcome(what, "failed", seconds, describe(solver.model()) if describe else "")


def describe_state(m, s: SymState, sc: SymbolicScope) -> str:
    ev = lambda x: m.eval(x, model_completion=True)
    val = lambda x: (z3.is_true(ev(x)) if z3.is_bool(x) else ev(x).as_long())
    from .core import KIND_NAMES, OBJECT_KINDS, PROTS
    lines = [f"threads bound {val(s.nthreads)}, processes {val(s.nprocs)}, mappings "
             f"{val(s.nslots)}, segment handles {val(s.nhandles)}, segments {val(s.nsegs)}, "
             f"descriptors {val(s.nfds)}, objects {val(s.nobjs)}"]
    for t in range(sc.threads):
        if val(s.t_alive[t]):
            lines.append(f"  T{t} alive in P{val(s.t_proc[t])}")
    for k in range(sc.mappings):
        kind = val(s.slot_kind[k])
        extra = (f" segment {val(s.slot_seg[k])}" if kind == KIND_SYSV else
                 f" object {val(s.slot_obj[k])}" if kind in (KIND_OBJ_SHARED, KIND_OBJ_PRIVATE) else "")
        extra += " rdonly" if val(s.slot_rdonly[k]) else ""
        extra += f" from object page {val(s.slot_pgoff[k])}" if val(s.slot_pgoff[k]) else ""
        name = KIND_NAMES[kind] if kind < len(KIND_NAMES) else f"kind {kind}?"
        lines.append(f"  M{k}: {name}{extra}")
        for p in range(sc.processes):
            cells = [s.cells[p][k][q] for q in range(sc.pages)]
            if any(val(c.mapped) for c in cells):
                shown = ", ".join(
                    (f"[{q}] {PROTS[val(c.prot)] if val(c.prot) < 3 else '?'} val={val(c.val)}"
                     f"{' start' if val(c.start) else ''}{' dontfork' if val(c.dontfork) else ''}"
                     f"{' wipe' if val(c.wipe) else ''}{' lazyfree' if val(c.lazy) else ''}"
                     f"{' copy' if val(c.cow) else ''}")
                    if val(c.mapped) else f"[{q}] -"
                    for q, c in enumerate(cells))
                lines.append(f"    P{p}{'' if val(s.p_alive[p]) else ' (dead)'}: {shown}")
    for g in range(sc.segments):
        lines.append(f"  segment {g}: key={val(s.seg_key[g])} removed={val(s.seg_removed[g])} "
                     f"destroyed={val(s.seg_destroyed[g])} size={val(s.seg_size[g])} pages="
                     f"{[val(x) for x in s.seg_page[g]]}")
    for h in range(sc.objects):
        holders = [p for p in range(sc.processes) if val(s.fd_open[p][h])]
        lines.append(f"  F{h}: object {val(s.fd_obj[h])}{' rdonly' if val(s.fd_rdonly[h]) else ''}"
                     f", open in {', '.join(f'P{p}' for p in holders) or 'no process'}")
    for o in range(sc.objects):
        kind = val(s.obj_kind[o])
        lines.append(f"  object {o}: {OBJECT_KINDS[kind] if kind < 3 else '?'} named="
                     f"{val(s.obj_named[o])} sealed={val(s.obj_sealed[o])} size={val(s.obj_size[o])}"
                     f" pages={[val(x) for x in s.obj_page[o]]}")
    return "\n".join(lines)


def _describe_window(w: Window):
    from .decode import steps_from_args, program_text
    def describe(m):
        args = [args_from_model(m, a) for a in w.args]
        steps = steps_from_args(args, w.sc)
        return ("pre-state:\n" + describe_state(m, w.states[0], w.sc) +
                "\nsteps (handles by index):\n" + program_text(steps))
    return describe


def prove_lemmas(sc: SymbolicScope, profile, timeout_ms: int = 60000) -> Outcome:
    """The lemmas hold initially and every valid step preserves them."""
    profile = get_profile(profile)
    started = time.perf_counter()
    s0 = fresh_state("init_", sc)
    solver = new_solver(timeout_ms)
    solver.add(initial_constraints(s0, sc))
    solver.add(Not(And([c for _, c in lemmas(s0, sc, profile)])))
    init = _check(solver, "lemmas hold initially")
    if init.status != "proved":
        init.detail = "initial state violates: " + ", ".join(
            n for n, c in lemmas(s0, sc, profile) if z3.is_false(solver.model().eval(c))) \
            if init.status == "failed" else init.detail
        return init
    w = Window(sc, profile, 1, "lem_")
    solver = new_solver(timeout_ms)
    solver.add(w.constraints)
    named = lemmas(w.states[1], sc, profile)
    solver.add(Not(And([c for _, c in named])))
    out = _check(solver, "every step preserves the lemmas", describe=_describe_window(w))
    if out.status == "failed":
        m = solver.model()
        broken = [n for n, c in named if z3.is_false(m.eval(c, model_completion=True))]
        out.detail = f"broken: {', '.join(broken)}\n{out.detail}"
    out.seconds = time.perf_counter() - started
    return out


def prove_property(prop: SymbolicProperty, sc: SymbolicScope, profile, witness_bound: int = 6,
                   timeout_ms: int = 60000) -> PropertyReport:
    profile = get_profile(profile)
    report = PropertyReport(prop.name)
    if prop.linux_only and not profile.linux_interfaces:
        report.outcomes.append(Outcome(f"{profile.name} has no such interface", "not applicable", 0.0))
        return report
    if prop.invariant is not None:
        s0 = fresh_state("pi_", sc)
        solver = new_solver(timeout_ms)
        solver.add(initial_constraints(s0, sc) + [Not(prop.invariant(s0, sc, profile))])
        report.outcomes.append(_check(solver, "invariant holds initially"))
        w = Window(sc, profile, 1, "pw_")
        solver = new_solver(timeout_ms)
        solver.add(w.constraints + [prop.invariant(w.states[0], sc, profile),
                                    Not(prop.invariant(w.states[1], sc, profile))])
        report.outcomes.append(_check(solver, "every step preserves the invariant",
                                      describe=_describe_window(w)))
    for n, (length, fn) in enumerate(prop.steps):
        what = " ".join(fn.__doc__.split(".")[0].split())
        if getattr(fn, "linux_only", False) and not profile.linux_interfaces:
            report.outcomes.append(Outcome(f"{what}: {profile.name} has no such interface",
                                           "not applicable", 0.0))
            continue
        w = Window(sc, profile, length, f"ps{n}_")
        hyp, conclusion = fn(w)
        solver = new_solver(timeout_ms)
        solver.add(w.constraints + [hyp, Not(conclusion)])
        report.outcomes.append(_check(solver, f"{what} (from any well-formed state)",
                                      describe=_describe_window(w)))
        # the hypothesis must be satisfiable, or the step property holds vacuously
        started = time.perf_counter()
        sat_solver = new_solver(timeout_ms)
        sat_solver.add(w.constraints + [hyp])
        verdict = sat_solver.check()
        status = ("proved" if verdict == z3.sat else "vacuous" if verdict == z3.unsat
                  else "unknown")
        report.outcomes.append(Outcome(f"{what}: its hypothesis can hold", status,
                                       time.perf_counter() - started))
    if prop.witness is not None:
        report.outcomes.append(find_witness(prop, sc, profile, witness_bound, timeout_ms))
    return report


def find_witness(prop: SymbolicProperty, sc: SymbolicScope, profile, bound: int,
                 timeout_ms: int) -> Outcome:
    """Non-vacuity: the shortest program (up to ``bound`` steps) that exercises the property."""
    from .decode import program_from_model, program_text
    from ..oracle import allowed_per_step
    started = time.perf_counter()
    if prop.needs_segments and sc.segments == 0:
        return Outcome("witness", "vacuous", 0.0, "the scope has no segments")
    if prop.needs_objects and sc.objects == 0:
        return Outcome("witness", "vacuous", 0.0, "the scope has no objects")
    u = Unrolling(sc.with_steps(bound), profile, timeout_ms=timeout_ms)
    for length in range(1, bound + 1):
        goal = Or([prop.witness(u, i) for i in range(length)])
        verdict = u.solver.check(u.length_literal(length), goal)
        if verdict == z3.unknown:
            return Outcome("witness", "unknown", time.perf_counter() - started,
                           f"solver: {u.solver.reason_unknown()}")
        if verdict == z3.sat:
            steps, results = program_from_model(u.solver.model(), u, length)
            allowed = allowed_per_step(steps, profile)
            if any(r not in a for r, a in zip(results, allowed)):
                return Outcome("witness", "failed", time.perf_counter() - started,
                               "the encoding's witness is not allowed by the explicit semantics:\n"
                               + program_text(steps, results))
            return Outcome("witness", "proved", time.perf_counter() - started,
                           program_text(steps, results), tuple(steps), tuple(results))
    return Outcome("witness", "vacuous", time.perf_counter() - started,
                   f"no program of up to {bound} steps exercises it")


def bounded_check(sc: SymbolicScope, profile, bound: int, timeout_ms: int = 60000) -> Outcome:
    """Cross-check by bounded unrolling from the initial state: no state reached in ``bound``
    steps breaks a lemma or an invariant property."""
    started = time.perf_counter()
    u = Unrolling(sc.with_steps(bound), profile, timeout_ms=timeout_ms)
    bad = []
    for s in u.states:
        bad.append(Not(And([c for _, c in lemmas(s, sc, u.profile)])))
        for prop in PROPERTIES:
            if prop.invariant is not None:
                bad.append(Not(prop.invariant(s, sc, u.profile)))
    out = _check(u.solver, f"bounded unrolling, {bound} steps", [Or(bad)])
    out.seconds = time.perf_counter() - started
    if out.status == "failed":
        from .decode import program_from_model, program_text
        steps, results = program_from_model(u.solver.model(), u, bound)
        out.detail = program_text(steps, results)
    return out
