"""The flat symbolic encoding of the core semantics (core.py) for z3.

A state is a fixed set of booleans and narrow bit-vectors, one per cell (process, slot, page),
object page, thread, process, slot, segment handle and segment; a step is a set of argument
variables (the operation and every argument, all chosen by z3) and a result. Symbolic indices
are resolved with ``If`` chains; there are no arrays, uninterpreted functions or quantifiers,
and every nondeterministic choice is an explicit argument (``nd``: POSIX's optional failures;
a new thread's, process's, slot's or segment's index is the count of those bound so far).

A slot maps its object (``slot_anon``: the shared anonymous object of the slot that created
it; ``slot_seg``: a segment) from object page ``slot_pgoff`` on, so mremap (move, alias: a new
slot; grow: the same) copies cells between slots and records the offset; an access past the
object's size (``anon_size``, the segment's size) is SIGBUS (R43). A record boundary is the
``start`` flag of a cell: kept for SysV attaches (their records never merge, R30), derived
from the neighbouring cell's attributes for other memory (records merge again, merged()).
Backing objects (files, memfds, POSIX shm objects) and descriptors are objects.py's part of the
state; a slot that maps one names it (``slot_obj``), and a private page of it has a copy of its
own once written (the cell's ``cow``).

``transition(cur, args, nxt, res, scope, profile)`` returns the constraints tying one step to
the next state and the result. The rules cite the catalogue as semantics.py does; each mirrors
the explicit function of the same name (the agreement tests hold the two together).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import z3

from ..profiles import Profile
from .core import (ADVICES, KIND_ANON, KIND_NONE, KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, KIND_PRIVATE,
                   KIND_SYSV, OBJ_MEMFD, OPS, R, SymbolicScope)
from .objects import object_constraints, object_step, object_value

IDX = 4     # bits of an index or a count
VAL = 8     # bits of a byte
CNT = 8     # bits of an attach count
OPB = 5     # bits of an operation code (core.OP_NAMES)
KB = 3      # bits of a slot kind (core.KIND_NAMES)
RC = 5      # bits of a result code (core.RESULT_NAMES)


def bv(name: str, bits: int = IDX):
    return z3.BitVec(name, bits)


def num(n: int, bits: int = IDX):
    return z3.BitVecVal(n, bits)


def select(items: list, index, default=None):
    """items[index] for a symbolic index (an If chain); ``default`` beyond the end."""
    if default is None:
        default = items[-1]
    out = default
    for i in reversed(range(len(items))):
        out = z3.If(index == i, items[i], out)
    return out


def count(conds: list):
    return z3.Sum([z3.If(c, num(1, CNT), num(0, CNT)) for c in conds]) if conds else num(0, CNT)


@dataclass
class Cell:
    mapped: z3.BoolRef
    prot: z3.BitVecRef        # index into core.PROTS
    start: z3.BoolRef         # the first page of a mapping record (a VMA): counts in nattch
    dontfork: z3.BoolRef
    wipe: z3.BoolRef
    val: z3.BitVecRef         # the byte of a private page (0: no copy, or a copy holding 0)
    lazy: z3.BoolRef          # MADV_FREE: the private copy may be reclaimed (C05)
    cow: z3.BoolRef           # a private page of an object has a copy of its own (R11, R13)


CELL_FIELDS = ("mapped", "prot", "start", "dontfork", "wipe", "val", "lazy", "cow")


@dataclass
class SymState:
    """One state of the encoding. Ghost variables (``depth``, ``slot_*`` paths, ``ended``)
    do not influence results; coverage goals and the case format's validity use them."""
    nthreads: z3.BitVecRef
    nprocs: z3.BitVecRef
    nslots: z3.BitVecRef
    nhandles: z3.BitVecRef
    nsegs: z3.BitVecRef
    t_alive: list
    t_proc: list
    p_alive: list
    cells: list               # cells[p][k][q]
    anon: list                # anon[k][q]: the shared anonymous object of slot k
    slot_kind: list
    slot_seg: list
    slot_rdonly: list
    slot_pgoff: list          # the object page cell 0 of the slot maps (mremap move/alias)
    slot_anon: list           # the shared anonymous object (the slot that created it)
    anon_size: list           # anon_size[k]: pages of the shared anonymous object of slot k
    handle_seg: list          # segment index, or scope.segments when the handle names none
    seg_key: list
    seg_oldkey: list          # the key before IPC_RMID, for posix's IPC_STAT (R17)
    seg_removed: list
    seg_destroyed: list
    seg_size: list
    seg_page: list            # seg_page[g][q]
    # backing objects and descriptors (objects.py)
    nfds: z3.BitVecRef
    nobjs: z3.BitVecRef
    fd_obj: list
    fd_rdonly: list
    fd_open: list             # fd_open[p][h]
    obj_kind: list
    obj_named: list
    obj_size: list            # in pages
    obj_sealed: list
    obj_page: list            # obj_page[o][q]
    slot_obj: list            # the object a KIND_OBJ_* slot maps
    # ghosts
    npprocs: z3.BitVecRef = None
    t_pproc: list = field(default_factory=list)
    t_ended: list = field(default_factory=list)
    depth: list = field(default_factory=list)       # depth[p][k]: forks since slot k was mapped
    slot_thread: list = field(default_factory=list)
    slot_bykey: list = field(default_factory=list)
    slot_rmid: list = field(default_factory=list)
    slot_alias: list = field(default_factory=list)
    slot_remap: list = field(default_factory=list)  # the slot was moved, aliased or grown
    handle_bykey: list = field(default_factory=list)
    fd_byname: list = field(default_factory=list)   # open found an existing object by name
    obj_by_fd: list = field(default_factory=list)   # obj_by_fd[o][q]: last stored by pwrite


def fresh_state(prefix: str, sc: SymbolicScope) -> SymState:
    P, T, M, Q, G, O = sc.processes, sc.threads, sc.mappings, sc.pages, sc.segments, sc.objects
    b, v = z3.Bool, bv
    return SymState(
        nthreads=v(f"{prefix}nthreads"), nprocs=v(f"{prefix}nprocs"), nslots=v(f"{prefix}nslots"),
        nhandles=v(f"{prefix}nhandles"), nsegs=v(f"{prefix}nsegs"),
        t_alive=[b(f"{prefix}t{t}_alive") for t in range(T)],
        t_proc=[v(f"{prefix}t{t}_proc") for t in range(T)],
        p_alive=[b(f"{prefix}p{p}_alive") for p in range(P)],
        cells=[[[Cell(b(f"{prefix}c{p}_{k}_{q}_m"), v(f"{prefix}c{p}_{k}_{q}_prot", 2),
                      b(f"{prefix}c{p}_{k}_{q}_start"), b(f"{prefix}c{p}_{k}_{q}_df"),
                      b(f"{prefix}c{p}_{k}_{q}_wf"), v(f"{prefix}c{p}_{k}_{q}_val", VAL),
                      b(f"{prefix}c{p}_{k}_{q}_lz"), b(f"{prefix}c{p}_{k}_{q}_cow"))
                 for q in range(Q)] for k in range(M)] for p in range(P)],
        anon=[[v(f"{prefix}a{k}_{q}", VAL) for q in range(Q)] for k in range(M)],
        slot_kind=[v(f"{prefix}k{k}_kind", KB) for k in range(M)],
        slot_seg=[v(f"{prefix}k{k}_seg") for k in range(M)],
        slot_rdonly=[b(f"{prefix}k{k}_rdonly") for k in range(M)],
        slot_pgoff=[v(f"{prefix}k{k}_pgoff") for k in range(M)],
        slot_anon=[v(f"{prefix}k{k}_anon") for k in range(M)],
        anon_size=[v(f"{prefix}k{k}_asize") for k in range(M)],
        handle_seg=[v(f"{prefix}h{h}_seg") for h in range(G)],
        seg_key=[b(f"{prefix}g{g}_key") for g in range(G)],
        seg_oldkey=[b(f"{prefix}g{g}_oldkey") for g in range(G)],
        seg_removed=[b(f"{prefix}g{g}_removed") for g in range(G)],
        seg_destroyed=[b(f"{prefix}g{g}_destroyed") for g in range(G)],
        seg_size=[v(f"{prefix}g{g}_size") for g in range(G)],
        seg_page=[[v(f"{prefix}g{g}_{q}", VAL) for q in range(Q)] for g in range(G)],
        nfds=v(f"{prefix}nfds"), nobjs=v(f"{prefix}nobjs"),
        fd_obj=[v(f"{prefix}f{h}_obj") for h in range(O)],
        fd_rdonly=[b(f"{prefix}f{h}_rdonly") for h in range(O)],
        fd_open=[[b(f"{prefix}f{h}_open{p}") for h in range(O)] for p in range(P)],
        obj_kind=[v(f"{prefix}o{o}_kind", 2) for o in range(O)],
        obj_named=[b(f"{prefix}o{o}_named") for o in range(O)],
        obj_size=[v(f"{prefix}o{o}_size") for o in range(O)],
        obj_sealed=[b(f"{prefix}o{o}_sealed") for o in range(O)],
        obj_page=[[v(f"{prefix}o{o}_{q}", VAL) for q in range(Q)] for o in range(O)],
        slot_obj=[v(f"{prefix}k{k}_obj") for k in range(M)],
        npprocs=v(f"{prefix}npprocs"),
        t_pproc=[v(f"{prefix}t{t}_pproc") for t in range(T)],
        t_ended=[b(f"{prefix}t{t}_ended") for t in range(T)],
        depth=[[v(f"{prefix}d{p}_{k}", 2) for k in range(M)] for p in range(P)],
        slot_thread=[v(f"{prefix}k{k}_thread") for k in range(M)],
        slot_bykey=[b(f"{prefix}k{k}_bykey") for k in range(M)],
        slot_rmid=[b(f"{prefix}k{k}_rmid") for k in range(M)],
        slot_alias=[b(f"{prefix}k{k}_alias") for k in range(M)],
        slot_remap=[b(f"{prefix}k{k}_remap") for k in range(M)],
        handle_bykey=[b(f"{prefix}h{h}_bykey") for h in range(G)],
        fd_byname=[b(f"{prefix}f{h}_byname") for h in range(O)],
        obj_by_fd=[[b(f"{prefix}o{o}_{q}_byfd") for q in range(Q)] for o in range(O)],
    )


def initial_constraints(s: SymState, sc: SymbolicScope) -> list:
    """semantics.initial(): one process with one thread, T0, and nothing mapped."""
    F, Z = z3.BoolVal(False), num(0)
    cs = [s.nthreads == 1, s.nprocs == 1, s.nslots == 0, s.nhandles == 0, s.nsegs == 0,
          s.npprocs == 1, s.nfds == 0, s.nobjs == 0]
    for t in range(sc.threads):
        cs += [s.t_alive[t] == (t == 0), s.t_proc[t] == Z, s.t_pproc[t] == Z, s.t_ended[t] == F]
    for p in range(sc.processes):
        cs.append(s.p_alive[p] == (p == 0))
        for k in range(sc.mappings):
            cs.append(s.depth[p][k] == 0)
            for c in s.cells[p][k]:
                cs += [c.mapped == F, c.prot == 0, c.start == F, c.dontfork == F, c.wipe == F,
                       c.val == 0, c.lazy == F, c.cow == F]
    for k in range(sc.mappings):
        cs += [s.slot_kind[k] == KIND_NONE, s.slot_seg[k] == 0, s.slot_rdonly[k] == F,
               s.slot_thread[k] == 0, s.slot_bykey[k] == F, s.slot_rmid[k] == F,
               s.slot_alias[k] == F, s.slot_remap[k] == F, s.slot_pgoff[k] == Z,
               s.slot_anon[k] == Z, s.anon_size[k] == Z, s.slot_obj[k] == Z] + [a == 0 for a in s.anon[k]]
    for h in range(sc.segments):
        cs += [s.handle_seg[h] == sc.segments, s.handle_bykey[h] == F]
    for g in range(sc.segments):
        cs += [s.seg_key[g] == F, s.seg_oldkey[g] == F, s.seg_removed[g] == F, s.seg_destroyed[g] == F,
               s.seg_size[g] == 0] + [x == 0 for x in s.seg_page[g]]
    for h in range(sc.objects):
        cs += [s.fd_obj[h] == sc.objects, s.fd_rdonly[h] == F, s.fd_byname[h] == F]
        cs += [s.fd_open[p][h] == F for p in range(sc.processes)]
    for o in range(sc.objects):
        cs += [s.obj_kind[o] == 0, s.obj_named[o] == F, s.obj_size[o] == 0, s.obj_sealed[o] == F]
        cs += [x == 0 for x in s.obj_page[o]] + [x == F for x in s.obj_by_fd[o]]
    return cs


@dataclass
class SymArgs:
    op: z3.BitVecRef
    actor: z3.BitVecRef
    slot: z3.BitVecRef
    page: z3.BitVecRef
    length: z3.BitVecRef
    value: z3.BitVecRef
    shared: z3.BoolRef
    prot: z3.BitVecRef
    handle: z3.BitVecRef
    key: z3.BoolRef
    size: z3.BitVecRef
    creat: z3.BoolRef
    excl: z3.BoolRef
    rdonly: z3.BoolRef
    advice: z3.BitVecRef
    rmid: z3.BoolRef
    nd: z3.BoolRef            # POSIX: take the optional failure where one is allowed
    mode: z3.BitVecRef = None  # mremap: index into core.MREMAP_MODES
    old: z3.BitVecRef = None   # mremap: old size in pages
    fd: z3.BitVecRef = None    # a descriptor handle
    okind: z3.BitVecRef = None  # open: index into core.OBJECT_KINDS
    fdmap: z3.BoolRef = None   # mmap of the descriptor (else anonymous)
    # POSIX (R13): snap[p][k][q]: before a store into an object page, this unwritten private
    # page of it takes a copy of its own (one explicit choice per cell; empty under linux)
    snap: list = None

    FIELDS = ("op", "actor", "slot", "page", "length", "value", "shared", "prot", "handle", "key",
              "size", "creat", "excl", "rdonly", "advice", "rmid", "mode", "old", "fd", "okind",
              "fdmap")


def fresh_args(prefix: str, sc: SymbolicScope = None, profile: Profile = None) -> SymArgs:
    """A step's arguments; the per-cell snapshot choices only for a scope and a profile that
    lets private object pages snapshot (POSIX, R13)."""
    b = z3.Bool
    snaps = sc is not None and profile is not None and profile.private_file_may_snapshot
    snap = [[[b(f"{prefix}snap{p}_{k}_{q}") for q in range(sc.pages)] for k in range(sc.mappings)]
            for p in range(sc.processes)] if snaps else []
    return SymArgs(op=bv(f"{prefix}op", OPB), actor=bv(f"{prefix}actor"), slot=bv(f"{prefix}slot"),
                   page=bv(f"{prefix}page"), length=bv(f"{prefix}length"),
                   value=bv(f"{prefix}value", VAL), shared=b(f"{prefix}shared"),
                   prot=bv(f"{prefix}prot", 2), handle=bv(f"{prefix}handle"), key=b(f"{prefix}key"),
                   size=bv(f"{prefix}size"), creat=b(f"{prefix}creat"), excl=b(f"{prefix}excl"),
                   rdonly=b(f"{prefix}rdonly"), advice=bv(f"{prefix}advice", 3),
                   rmid=b(f"{prefix}rmid"), nd=b(f"{prefix}nd"), mode=bv(f"{prefix}mode", 2),
                   old=bv(f"{prefix}old"), fd=bv(f"{prefix}fd"), okind=bv(f"{prefix}okind", 2),
                   fdmap=b(f"{prefix}fdmap"), snap=snap)


@dataclass
class SymResult:
    code: z3.BitVecRef        # index into core.RESULT_NAMES
    arg: z3.BitVecRef         # the byte read, or the handle index of "=S.."
    nattch: z3.BitVecRef
    segsz: z3.BitVecRef       # size code (SymbolicScope.sizes)
    dest: z3.BoolRef
    key: z3.BoolRef

    def terms(self) -> list:
        return [self.code, self.arg, self.nattch, self.segsz, self.dest, self.key]


def fresh_result(prefix: str) -> SymResult:
    return SymResult(bv(f"{prefix}rcode", RC), bv(f"{prefix}rarg", VAL), bv(f"{prefix}nattch", CNT),
                     bv(f"{prefix}segsz"), z3.Bool(f"{prefix}dest"), z3.Bool(f"{prefix}rkey"))


def seg_pages(size_code):
    """Pages of a segment of this size code (code 0 is 100 bytes: one page)."""
    return z3.If(size_code == 0, num(1), size_code)


def valid_args(s: SymState, a: SymArgs, sc: SymbolicScope, profile: Profile,
               free_values: bool = True) -> list:
    """What makes a step a valid step of a program in the scope (the case format's rules:
    handles bound before use, no step by a thread that has certainly ended, scope limits).
    A NOP is always valid; steps after a NOP are NOPs (the caller adds that)."""
    op = a.op
    is_ = {name: op == i for name, i in OPS.items()}
    uses_place = z3.Or(is_["shmdt"], is_["munmap"], is_["mprotect"], is_["madvise"], is_["read"],
                       is_["write"], is_["mremap"])
    uses_length = z3.Or(is_["mmap"], is_["munmap"], is_["mprotect"], is_["madvise"], is_["mremap"])
    binds_slot = z3.Or(is_["mmap"], is_["shmat"])
    actor_ok = z3.And(z3.ULT(a.actor, s.nthreads), z3.Not(select(s.t_ended, a.actor)))
    cs = [z3.ULE(op, len(OPS) - 1),
          z3.Implies(z3.Not(is_["nop"]), actor_ok),
          z3.Implies(uses_place, z3.And(z3.ULT(a.slot, s.nslots), z3.ULE(a.page, sc.pages))),
          z3.Implies(uses_length, z3.And(z3.UGE(a.length, 1), z3.ULE(a.length, sc.pages))),
          z3.Implies(binds_slot, z3.And(z3.ULT(s.nslots, sc.mappings), a.slot == s.nslots)),
          z3.Implies(z3.Or(is_["shmat"], is_["shmctl"]), z3.ULT(a.handle, s.nhandles)),
          z3.Implies(is_["shmget"], z3.And(z3.ULT(s.nhandles, sc.segments), a.handle == s.nhandles,
                                          z3.ULE(a.size, sc.pages))),
          z3.Implies(z3.Or(is_["fork"], is_["spawn"]), z3.ULT(s.nthreads, sc.threads)),
          z3.Implies(is_["fork"], z3.ULT(s.npprocs, sc.processes)),
          z3.Implies(z3.Or(is_["mmap"], is_["mprotect"]), z3.ULE(a.prot, 2)),
          z3.Implies(is_["madvise"], z3.ULE(a.advice, len(ADVICES) - 1)),
          # mremap (core.py): alias <=> old size 0; the ranges stay inside a slot's cells
          z3.Implies(is_["mremap"], z3.And(
              z3.ULE(a.mode, 2), (a.mode == 2) == (a.old == 0), z3.ULE(a.old, sc.pages),
              z3.ULE(a.page + a.old, sc.pages),
              z3.Implies(a.mode == 0, z3.ULE(a.page + a.length, sc.pages)),
              z3.Implies(a.mode != 0, z3.ULT(s.nslots, sc.mappings))))]
    # descriptors (core.py): handles bound before use; open binds the next one; memfd_create
    # takes no flags; ftruncate to 0..pages pages; pread of pages 0..pages, pwrite below
    uses_fd = z3.Or(is_["close"], is_["ftruncate"], is_["pread"], is_["pwrite"], is_["seal"],
                    z3.And(is_["mmap"], a.fdmap))
    cs += [z3.Implies(uses_fd, z3.ULT(a.fd, s.nfds)),
           z3.Implies(is_["open"], z3.And(z3.ULT(s.nfds, sc.objects), a.fd == s.nfds,
                                          z3.ULE(a.okind, 2),
                                          z3.Implies(a.okind == OBJ_MEMFD,
                                                     z3.Not(z3.Or(a.creat, a.excl, a.rdonly))))),
           z3.Implies(is_["ftruncate"], z3.ULE(a.length, sc.pages)),
           z3.Implies(is_["pread"], z3.ULE(a.page, sc.pages)),
           z3.Implies(is_["pwrite"], z3.ULT(a.page, sc.pages))]
    if free_values:
        cs.append(z3.Implies(z3.Or(is_["write"], is_["pwrite"]),
                             z3.Or([a.value == v for v in sc.values])))
    if not profile.linux_interfaces:
        cs.append(z3.Not(is_["madvise"]))  # madvise is not applicable under posix
        cs.append(z3.Not(is_["mremap"]))   # nor is mremap
        cs.append(z3.Not(is_["seal"]))     # nor are memfds and their seals
        cs.append(z3.Not(z3.And(is_["open"], a.okind == OBJ_MEMFD)))
    return cs


def transition(s: SymState, a: SymArgs, n: SymState, r: SymResult, sc: SymbolicScope,
               profile: Profile) -> list:
    """Constraints: ``n`` and ``r`` are the state and result of step ``a`` from ``s``."""
    P, T, M, Q, G = sc.processes, sc.threads, sc.mappings, sc.pages, sc.segments
    T_, F_ = z3.BoolVal(True), z3.BoolVal(False)
    And, Or, If, Not = z3.And, z3.Or, z3.If, z3.Not
    is_ = {name: a.op == i for name, i in OPS.items()}
    NONE_SEG = num(G)

    def rc(name):
        return num(R[name], RC)

    live = select(s.t_alive, a.actor)
    pid = select(s.t_proc, a.actor)
    dead = And(Not(is_["nop"]), Not(live))
    L = {name: And(live, c) for name, c in is_.items()}
    pid_eq = [pid == p for p in range(P)]
    slot_eq = [a.slot == k for k in range(M)]
    kind = select(s.slot_kind, a.slot)
    slot_seg = select(s.slot_seg, a.slot)
    rdonly = select(s.slot_rdonly, a.slot)      # the mapping may never write its memory
    slot_obj = select(s.slot_obj, a.slot)
    maps_object = Or(kind == KIND_OBJ_SHARED, kind == KIND_OBJ_PRIVATE)
    end = a.page + a.length
    in_range = [And(z3.ULE(a.page, q), z3.ULT(q, end)) for q in range(Q)]
    beyond = z3.UGT(end, Q)                       # the range runs past the cells (unmapped)

    # The acting process's cells of the named slot: mine[k][q] (selected by pid).
    mine = [[Cell(*(select([getattr(s.cells[p][k][q], f) for p in range(P)], pid)
                    for f in CELL_FIELDS))
             for q in range(Q)] for k in range(M)]
    here = [Cell(*(select([getattr(mine[k][q], f) for k in range(M)], a.slot)
                   for f in CELL_FIELDS))
            for q in range(Q)]
    page_in_cells = z3.ULT(a.page, Q)
    acc_mapped = And(page_in_cells, select([c.mapped for c in here], a.page, F_))
    acc_prot = select([c.prot for c in here], a.page, num(0, 2))
    acc_private = select([c.val for c in here], a.page, num(0, VAL))
    acc_lazy = And(kind == KIND_PRIVATE, select([c.lazy for c in here], a.page, F_))
    acc_cow = select([c.cow for c in here], a.page, F_)
    # the object page the accessed page maps, and whether it lies past the object's end
    pgoff = select(s.slot_pgoff, a.slot)
    anon_obj = select(s.slot_anon, a.slot)
    acc_opg = pgoff + a.page
    acc_anon = select([select([s.anon[j][o] for j in range(M)], anon_obj) for o in range(Q)], acc_opg,
                      num(0, VAL))
    acc_seg = select([select([s.seg_page[g][o] for g in range(G)], slot_seg, num(0, VAL))
                      for o in range(Q)], acc_opg, num(0, VAL)) if G else num(0, VAL)
    # an object page: the private copy once there is one (R11, R12), else the object's (R13)
    acc_object = If(And(kind == KIND_OBJ_PRIVATE, acc_cow), acc_private,
                    object_value(s, sc, slot_obj, acc_opg))
    acc_value = If(kind == KIND_PRIVATE, acc_private, If(kind == KIND_ANON, acc_anon,
                                                         If(kind == KIND_SYSV, acc_seg, acc_object)))
    seg_size_of_slot = select(s.seg_size, slot_seg, num(0)) if G else num(0)
    obj_size_of_slot = select(s.obj_size, slot_obj, num(0))
    # past the end of the object: of a shared anonymous object or a segment (after mremap grew
    # the mapping, R43), of a backing object (R06, R08: also a private page, copied or not)
    acc_beyond = Or(And(kind == KIND_ANON, z3.UGE(acc_opg, select(s.anon_size, anon_obj))),
                    And(kind == KIND_SYSV, z3.UGE(acc_opg, seg_pages(seg_size_of_slot))),
                    And(maps_object, z3.UGE(acc_opg, obj_size_of_slot)))

    # --- read / write (memory.read, memory.write): R02, R09-R11, R14, R15, R24, R32, R33;
    # past the end of the object (after mremap grew a shared mapping): SIGBUS (R43)
    read_fault = Not(And(acc_mapped, acc_prot != 2))
    write_fault = Not(And(acc_mapped, acc_prot == 0))
    # R08 (POSIX): a private copy past the new end of a truncated object may also be read; nd
    survives = (And(kind == KIND_OBJ_PRIVATE, acc_cow, a.nd)
                if profile.private_copy_beyond_eof_may_survive else F_)
    read_bus = And(Not(read_fault), acc_beyond, Not(survives))
    write_bus = And(Not(write_fault), acc_beyond)
    fault = Or(And(L["read"], Or(read_fault, read_bus)), And(L["write"], Or(write_fault, write_bus)))
    write_ok = And(L["write"], Not(write_fault), Not(write_bus))
    # descriptors and objects (objects.py); a store through a shared object mapping is theirs
    obj = object_step(s, a, sc, profile, pid=pid, L=L,
                      map_store=And(write_ok, kind == KIND_OBJ_SHARED), map_store_obj=slot_obj,
                      map_store_page=acc_opg)
    mmap_ok = And(L["mmap"], Or(Not(a.fdmap), obj.map_ok))
    # POSIX (R13): before a store into an object page, its unwritten private pages may copy it
    snapshot_value = object_value(s, sc, obj.store_obj, obj.store_page)

    def may_snapshot(p, k, q):
        c = s.cells[p][k][q]
        return And(obj.store, c.mapped, Not(c.cow), s.slot_kind[k] == KIND_OBJ_PRIVATE,
                   s.slot_obj[k] == obj.store_obj, s.slot_pgoff[k] + q == obj.store_page)
    # C05: a read of a MADV_FREE page may find it reclaimed (zero); nd takes that path
    read_drop = And(L["read"], Not(read_fault), acc_lazy, a.nd)
    read_value = If(read_drop, num(0, VAL), acc_value)

    # --- segments named by a handle
    sid = select(s.handle_seg, a.handle, NONE_SEG) if G else NONE_SEG
    sid_live = And(sid != NONE_SEG,
                   Not(select(s.seg_destroyed, sid, T_))) if G else F_
    sid_removed = select(s.seg_removed, sid, F_) if G else F_

    # shmget (R18, R21, R22, R23): the live segment with the key, if any
    keyed = [And(z3.ULT(g, s.nsegs), s.seg_key[g], Not(s.seg_destroyed[g])) for g in range(G)]
    found = And(a.key, Or(keyed)) if G else F_
    existing = NONE_SEG
    for g in reversed(range(G)):
        existing = If(keyed[g], num(g), existing)
    ex_size = select(s.seg_size, existing, num(0)) if G else num(0)
    get_enoent = And(Not(found), a.key, Not(a.creat))
    get_eexist = And(found, a.creat, a.excl)
    get_einval = And(found, Not(get_eexist), z3.UGT(a.size, ex_size))
    get_same = And(found, Not(get_eexist), Not(get_einval))
    create = And(L["shmget"], Not(found), Not(get_enoent))
    first_handle = num(0)
    for h in reversed(range(G)):
        first_handle = If(s.handle_seg[h] == existing, num(h), first_handle)
    get_sid = If(create, s.nsegs, If(And(L["shmget"], get_same), existing, NONE_SEG))

    # shmat (R14, R19, R20, R24, R28)
    at_fail = Or(Not(sid_live), And(sid_removed, not profile.attach_removed_segment))
    attach = And(L["shmat"], Not(at_fail))
    at_pages = seg_pages(select(s.seg_size, sid, num(0))) if G else num(0)

    def cont(q):  # cell q carries on the mapping record of cell q-1
        return And(here[q].mapped, Not(here[q].start)) if q < Q else F_

    # shmdt (R25, R31), as semantics.shmdt: only at the slot's start when the slot maps its
    # segment from page 0; the first record, and every later one that ends within the
    # segment's size (a record grown by mremap past it stays)
    has_sysv = And(kind == KIND_SYSV, Or([c.mapped for c in here]))
    dt_ok = And(L["shmdt"], a.page == 0, pgoff == 0, has_sysv)
    dt_size = seg_pages(seg_size_of_slot)
    first_rec, ok_from, rec_ok = [], [None] * Q, []
    for q in range(Q):
        before = Or([here[q2].mapped for q2 in range(q)]) if q else F_
        first_rec.append(And(here[q].mapped, If(here[q].start, Not(before),
                                                first_rec[q - 1] if q else F_)))
    for q in reversed(range(Q)):
        ok_from[q] = And(z3.ULT(q, dt_size), Or(Not(cont(q + 1)), ok_from[q + 1] if q + 1 < Q else T_))
    for q in range(Q):
        rec_ok.append(If(here[q].start, ok_from[q], rec_ok[q - 1] if q else F_))
    dt_cell = [And(dt_ok, here[q].mapped, Or(first_rec[q], rec_ok[q])) for q in range(Q)]

    # shmctl (R17, R19, R20, R28, R30)
    def is_of(p, k, g):
        return And(s.slot_kind[k] == KIND_SYSV, s.slot_seg[k] == g)
    if profile.nattch_counts_fragments:
        nattch = count([And(s.cells[p][k][q].mapped, s.cells[p][k][q].start, is_of(p, k, sid))
                        for p in range(P) for k in range(M) for q in range(Q)])
    else:
        nattch = count([And(Or([c.mapped for c in s.cells[p][k]]), is_of(p, k, sid))
                        for p in range(P) for k in range(M)])
    ctl_einval = Or(Not(sid_live),
                    And(Not(a.rmid), sid_removed, a.nd) if profile.removed_stat_may_fail else F_)
    rmid_ok = And(L["shmctl"], a.rmid, Not(ctl_einval))

    # munmap (R05, R31, R32); posix may refuse to split an attach (R31)
    splits = And(kind == KIND_SYSV,
                 Or([And(a.page == q, cont(q)) for q in range(Q)] +
                    [And(end == q, cont(q)) for q in range(1, Q)]))
    un_einval = And(splits, a.nd) if profile.partial_shm_munmap_may_fail else F_
    unmap_ok = And(L["munmap"], Not(un_einval))

    # mprotect (R24, R30, R33, C01): EACCES, else change up to the first hole (ENOMEM)
    range_mapped = [And(in_range[q], here[q].mapped) for q in range(Q)]
    hole = Or(beyond, Or([And(in_range[q], Not(here[q].mapped)) for q in range(Q)]))
    pr_refused = And(a.prot == 0, rdonly, Or(range_mapped))
    # R24 (POSIX): mprotect of a SysV attach is unspecified: nd grants PROT_WRITE instead
    pr_choice = And(L["mprotect"], pr_refused, kind == KIND_SYSV) if profile.shm_mprotect_unspecified else F_
    pr_eacces = And(pr_refused, Not(And(pr_choice, a.nd)))
    pr_ok = And(L["mprotect"], Not(pr_eacces))
    before_hole = [And([Or(z3.ULT(q2, a.page), here[q2].mapped) for q2 in range(q + 1)])
                   for q in range(Q)]

    # madvise (R35, R36, R37, R39, R40, R41, C05): EINVAL for wipeonfork or free of anything
    # but private anonymous memory and for remove of private anonymous memory; EACCES for
    # remove of a mapping that is not shared or may not write its object (a private object
    # mapping, a read-only attach, a shared mapping of a read-only descriptor or sealed memfd)
    adv = {name: a.advice == i for i, name in enumerate(ADVICES)}
    any_mapped = Or(range_mapped)
    md_einval = And(any_mapped, Or(And(Or(adv["wipeonfork"], adv["free"]), kind != KIND_PRIVATE),
                                   And(adv["remove"], kind == KIND_PRIVATE)))
    md_eacces = And(any_mapped, adv["remove"], Or(kind == KIND_OBJ_PRIVATE, rdonly), Not(md_einval))
    md_ok = And(L["madvise"], Not(md_einval), Not(md_eacces))

    # Which pages an mprotect or a flag-setting madvise changes: a record already as asked is
    # left alone, never split (mprotect_fixup, madvise_update_vma return early; R30)
    target_differs = {
        "dontfork": [Not(c.dontfork) for c in here], "dofork": [c.dontfork for c in here],
        "wipeonfork": [Not(c.wipe) for c in here], "keeponfork": [c.wipe for c in here]}
    chg = [Or(And(pr_ok, in_range[q], before_hole[q], here[q].mapped, here[q].prot != a.prot),
              And(md_ok, in_range[q], here[q].mapped,
                  Or([And(adv[name], target_differs[name][q]) for name in target_differs])))
           for q in range(Q)]
    # A SysV record boundary at q goes when the kernel moves it instead of splitting
    # (address_space._modify_attach: vma_merge expands one piece and shrinks the other):
    # (a) the record starting at q is changed from its start to a range end inside it, and the
    #     record before it then equals it; (b) the record ending at q is changed from inside it
    #     to its end, and the record after it is unchanged and equals it.
    ends_inside = [And([z3.ULT(end, Q)] + [Or(z3.ULT(end, j), cont(j)) for j in range(q + 1, Q)])
                   for q in range(Q)]
    starts_inside = [And([z3.ULT(0, a.page), z3.ULT(a.page, q)] + [Or(z3.ULT(j, a.page), cont(j)) for j in range(1, q)])
                     for q in range(Q)]
    moved_a = [F_] + [And(chg[q], here[q].start, ends_inside[q]) for q in range(1, Q)]
    moved_b = [F_] + [And(chg[q - 1], Not(chg[q]), here[q].mapped, here[q].start, starts_inside[q])
                      for q in range(1, Q)]

    # mremap (R42-R44), as semantics.mremap: EFAULT without a record at the place; grow to a
    # smaller size unmaps the tail; move first unmaps the tail beyond the new size, then moves
    # what is left of the record (EFAULT if the old range is not within one record) to the
    # new slot, its object page offset kept; alias maps a copy of a shared record there; grow
    # extends the record in place when it ends at the old range's end and the room is free
    mr = L["mremap"]
    mode_grow, mode_move, mode_alias = a.mode == 0, a.mode == 1, a.mode == 2
    new_len, old_len = a.length, a.old
    mr_efault0 = Not(acc_mapped)
    end_from = [None] * (Q + 1)       # end_from[q]: the end of a record carried on at q
    end_from[Q] = num(Q)
    for q in reversed(range(Q)):
        end_from[q] = If(cont(q), end_from[q + 1], num(q))
    rec_end = select(end_from[1:], a.page, num(Q))
    shrink = And(mode_grow, z3.ULE(new_len, old_len))
    trunc = And(mode_move, z3.UGT(old_len, new_len))
    old_eff = If(trunc, new_len, old_len)
    mr_range_efault = z3.UGT(a.page + old_eff, rec_end)
    al_einval = Or(kind == KIND_PRIVATE, kind == KIND_OBJ_PRIVATE)   # only shared ones duplicate
    gr_enomem = Or(a.page + old_len != rec_end,
                   Or([And(z3.ULE(a.page + old_len, q), z3.ULT(q, a.page + new_len), here[q].mapped)
                       for q in range(Q)]))
    # a move that keeps the size may span several records and gaps (Linux 6.17+); not a SysV
    # attach, whose range must lie in one record (semantics.mremap)
    spans = And(mode_move, old_len == new_len, kind != KIND_SYSV)
    mr_efault = And(Not(shrink), Not(mode_alias), Or(mr_efault0, And(mr_range_efault, Not(spans))))
    mr_einval = And(mode_alias, Not(mr_efault0), al_einval)
    mr_enomem = And(mode_grow, Not(shrink), Not(mr_efault), gr_enomem)
    mr_started = And(mr, Not(mr_efault0))
    mr_cut = And(mr_started, Or(shrink, trunc))   # the tail [page+new, page+old) goes
    move_ok = And(mr_started, mode_move, Or(spans, Not(mr_range_efault)))
    alias_ok = And(mr_started, mode_alias, Not(al_einval))
    grow_ok = And(mr_started, mode_grow, Not(shrink), Not(mr_enomem), Not(mr_efault))
    mr_binds_ok = Or(move_ok, alias_ok)
    mr_code = If(Or(mr_efault0, mr_efault), rc("EFAULT"), If(mr_einval, rc("EINVAL"),
                 If(mr_enomem, rc("ENOMEM"), rc("ok"))))
    rec = Cell(*(select([getattr(c, f) for c in here], a.page)
                 for f in CELL_FIELDS))    # the attributes of the record at the place
    src = [Cell(*(select([getattr(c, f) for c in here], a.page + q, getattr(here[-1], f))
                  for f in CELL_FIELDS)) for q in range(Q)]    # source cell page+q of a move

    # thread_exit of the last thread ends the process
    others = [And(s.t_alive[t], s.t_proc[t] == pid, a.actor != t) for t in range(T)]
    last = Not(Or(others))
    dies = [And(live, pid_eq[p], Or(L["exit"], fault, And(L["thread_exit"], last)))
            for p in range(P)]
    execs = [And(pid_eq[p], L["exec"]) for p in range(P)]     # R29: a fresh address space
    fork = L["fork"]
    child_here = [And(fork, s.nprocs == p) for p in range(P)]

    cs = []
    # --- cells
    for p in range(P):
        for k in range(M):
            act = And(pid_eq[p], slot_eq[k])
            new_slot = And(s.nslots == k, pid_eq[p])
            for q in range(Q):
                c, nc = s.cells[p][k][q], n.cells[p][k][q]
                # the parent's cell, for a fork child
                par = Cell(*(select([getattr(s.cells[pp][k][q], f) for pp in range(P)], pid)
                             for f in CELL_FIELDS))
                mk = And(new_slot, Or(And(mmap_ok, z3.ULT(q, a.length)),
                                      And(attach, z3.ULT(q, at_pages))))
                # mremap: the destination slot's cell (a moved page, or a new tail page)
                src_q = src[q]
                # (a move spanning records leaves the gaps between them gaps)
                mr_mk = And(new_slot, mr_binds_ok, z3.ULT(q, new_len), Or(Not(spans), src_q.mapped))
                mr_from_src = And(move_ok, z3.ULT(q, old_eff))
                grown = And(grow_ok, act, z3.ULE(a.page + old_len, q), z3.ULT(q, a.page + new_len))
                mr_gone = And(act, Or(
                    And(mr_cut, z3.ULE(a.page + new_len, q), z3.ULT(q, a.page + old_len)),
                    And(move_ok, z3.ULE(a.page, q), z3.ULT(q, a.page + old_eff))))
                gone = Or(dies[p], execs[p], And(unmap_ok, act, in_range[q]), And(dt_cell[q], act),
                          mr_gone)
                copied = And(par.mapped, Not(par.dontfork))
                child = child_here[p]
                prot_here = And(pr_ok, act, in_range[q], before_hole[q])
                flag_here = And(md_ok, act, in_range[q], c.mapped)
                # a record is split where a range starts or ends inside it (split_at)
                split = And(act, c.mapped, Or(
                    And(chg[q], a.page == q),
                    And(chg[q - 1], end == q) if q else F_,
                    And(unmap_ok, end == q),
                    And(Or(And(mr_cut, z3.ULT(new_len, old_len)), move_ok), a.page + old_len == q)))
                made = Or(mk, mr_mk)
                mapped = If(gone, F_, If(made, T_, If(child, copied, Or(grown, c.mapped))))
                cs.append(nc.mapped == mapped)
                moved = lambda f: If(mr_from_src, getattr(src_q, f), getattr(rec, f))
                new_prot = If(L["mmap"], a.prot, If(L["mremap"], moved("prot"),
                                                    If(a.rdonly, num(1, 2), num(0, 2))))
                cs.append(nc.prot == If(gone, num(0, 2), If(made, new_prot, If(child, If(copied, par.prot, num(0, 2)),
                                        If(grown, rec.prot, If(prot_here, a.prot, c.prot))))))
                # a SysV attach's records never merge away (R30): a record start stays unless
                # the kernel moved that boundary (joined); the records of other memory merge
                # again when equal (address_space.merged)
                prev = n.cells[p][k][q - 1] if q else None
                joined = F_ if q == 0 else And(act, prev.mapped, prev.prot == nc.prot,
                                               prev.dontfork == nc.dontfork, prev.wipe == nc.wipe,
                                               Or(moved_a[q], moved_b[q]))
                sticky = If(gone, F_, If(made, z3.BoolVal(q == 0),
                                         If(child, And(copied, par.start),
                                            If(c.start, Not(joined), split))))
                derived = And(nc.mapped, T_ if q == 0 else Or(
                    Not(prev.mapped), prev.prot != nc.prot, prev.dontfork != nc.dontfork,
                    prev.wipe != nc.wipe))
                cs.append(nc.start == If(n.slot_kind[k] == KIND_SYSV, sticky, derived))
                cs.append(nc.dontfork == If(Or(gone, mk, child), F_,
                                            If(mr_mk, moved("dontfork"), If(grown, rec.dontfork,
                                            If(And(flag_here, adv["dontfork"]), T_,
                                               If(And(flag_here, adv["dofork"]), F_, c.dontfork))))))
                cs.append(nc.wipe == If(Or(gone, mk), F_, If(child, And(copied, par.wipe),
                                        If(mr_mk, moved("wipe"), If(grown, rec.wipe,
                                        If(And(flag_here, adv["wipeonfork"]), T_,
                                           If(And(flag_here, adv["keeponfork"]), F_, c.wipe)))))))
                here_write = And(write_ok, act, a.page == q, kind == KIND_PRIVATE)
                # a private object page: written, it has its own copy (R11, R12); MADV_DONTNEED
                # (R37) and a truncation past it (R08) throw the copy away; POSIX may copy it
                # before a store into its object page (R13, the explicit choice a.snap)
                copy_written = And(write_ok, act, a.page == q, kind == KIND_OBJ_PRIVATE)
                truncated = And(obj.trunc_drops, s.slot_kind[k] == KIND_OBJ_PRIVATE,
                                s.slot_obj[k] == obj.fd_obj, z3.UGE(s.slot_pgoff[k] + q, a.length))
                snapshot = And(may_snapshot(p, k, q), a.snap[p][k][q]) if a.snap else F_
                dropped = Or(And(flag_here, adv["dontneed"]), truncated)
                cs.append(nc.val == If(Or(gone, mk, grown), num(0, VAL),
                                       If(mr_mk, If(mr_from_src, src_q.val, num(0, VAL)),
                                       If(child, If(And(copied, Not(par.wipe)), par.val, num(0, VAL)),
                                          If(Or(here_write, copy_written), a.value,
                                             If(snapshot, snapshot_value,
                                                If(Or(dropped, And(read_drop, act, a.page == q)),
                                                   num(0, VAL), c.val)))))))
                cs.append(nc.cow == If(Or(gone, mk, grown), F_,
                                       If(mr_mk, And(mr_from_src, src_q.cow),
                                       If(child, And(copied, par.cow),
                                          If(Or(copy_written, snapshot), T_,
                                             If(dropped, F_, c.cow))))))
                cs.append(nc.lazy == If(Or(gone, mk, grown), F_,
                                        If(mr_mk, And(mr_from_src, src_q.lazy),
                                        If(child, And(copied, Not(par.wipe), par.lazy),
                                           If(Or(here_write, And(read_drop, act, a.page == q),
                                                 And(flag_here, adv["dontneed"])), F_,
                                              If(And(flag_here, adv["free"]), T_, c.lazy))))))
            # ghost: forks since the slot was mapped into this process
            cs.append(n.depth[p][k] == If(And(new_slot, Or(mmap_ok, attach, mr_binds_ok)), num(0, 2),
                                          If(child_here[p], If(select([s.depth[pp][k] for pp in range(P)], pid) == 2,
                                                               num(2, 2),
                                                               select([s.depth[pp][k] for pp in range(P)], pid) + 1),
                                             s.depth[p][k])))

    # --- objects: shared anonymous pages and segment pages (R01, R02: new memory is zero)
    # (the object page o of a slot's cell q is slot_pgoff + q)
    binds_slot = And(Not(is_["nop"]), Or(is_["mmap"], is_["shmat"],
                                         And(is_["mremap"], Not(mode_grow))))
    removing = And(md_ok, adv["remove"])
    punch = [Or([And(in_range[q], here[q].mapped, pgoff + q == o) for q in range(Q)])
             for o in range(Q)]   # R39: a hole in the object
    for k in range(M):
        fresh = And(binds_slot, s.nslots == k)
        mine_obj = And(kind == KIND_ANON, anon_obj == k)
        for o in range(Q):
            hit = And(write_ok, mine_obj, acc_opg == o)
            punched = And(removing, mine_obj, punch[o])
            cs.append(n.anon[k][o] == If(fresh, num(0, VAL), If(hit, a.value,
                                         If(punched, num(0, VAL), s.anon[k][o]))))
    for g in range(G):
        born = And(create, s.nsegs == g)
        mine_obj = And(kind == KIND_SYSV, slot_seg == g)
        for o in range(Q):
            hit = And(write_ok, mine_obj, acc_opg == o)
            punched = And(removing, mine_obj, punch[o])
            cs.append(n.seg_page[g][o] == If(born, num(0, VAL), If(hit, a.value,
                                             If(punched, num(0, VAL), s.seg_page[g][o]))))
    # backing objects and descriptors (objects.py); fork copies the descriptors, exit, a
    # fatal signal and exec close them
    cs += object_constraints(
        s, a, n, sc, obj, is_=is_, pid=pid, pid_eq=pid_eq, child_here=child_here,
        closes=[Or(dies[p], execs[p]) for p in range(P)],
        punched=lambda o, q: And(removing, kind == KIND_OBJ_SHARED, slot_obj == o, punch[q]))

    # --- slots
    mapped_kind = If(a.fdmap, If(a.shared, num(KIND_OBJ_SHARED, KB), num(KIND_OBJ_PRIVATE, KB)),
                     If(a.shared, num(KIND_ANON, KB), num(KIND_PRIVATE, KB)))
    new_kind = If(mmap_ok, mapped_kind,
                  If(attach, num(KIND_SYSV, KB), If(mr_binds_ok, kind, num(KIND_NONE, KB))))
    # ghost: the process already maps the segment, or the object, elsewhere (R14)
    alias_now = Or([And(mine[k][q].mapped, s.slot_kind[k] == KIND_SYSV, s.slot_seg[k] == sid)
                    for k in range(M) for q in range(Q)])
    alias_obj_now = Or([And(mine[k][q].mapped, Or(s.slot_kind[k] == KIND_OBJ_SHARED,
                                                  s.slot_kind[k] == KIND_OBJ_PRIVATE),
                            s.slot_obj[k] == obj.fd_obj) for k in range(M) for q in range(Q)])
    fd_byname = select(s.fd_byname, a.fd, F_)
    anon_made = And(mmap_ok, a.shared, Not(a.fdmap))
    obj_made = And(mmap_ok, a.fdmap)
    for k in range(M):
        b = And(binds_slot, s.nslots == k)
        cs += [n.slot_kind[k] == If(b, new_kind, s.slot_kind[k]),
               n.slot_seg[k] == If(b, If(attach, sid, If(And(mr_binds_ok, kind == KIND_SYSV), slot_seg,
                                                          num(0))), s.slot_seg[k]),
               n.slot_rdonly[k] == If(b, Or(And(attach, a.rdonly), And(obj_made, obj.map_nowrite),
                                         And(mr_binds_ok, rdonly)), s.slot_rdonly[k]),
               n.slot_obj[k] == If(b, If(obj_made, obj.fd_obj,
                                         If(And(mr_binds_ok, maps_object), slot_obj, num(0))),
                                   s.slot_obj[k]),
               n.slot_pgoff[k] == If(b, If(mr_binds_ok, pgoff + a.page, num(0)), s.slot_pgoff[k]),
               n.slot_anon[k] == If(b, If(And(mr_binds_ok, kind == KIND_ANON), anon_obj,
                                          If(anon_made, num(k), num(0))),
                                    s.slot_anon[k]),
               n.anon_size[k] == If(b, If(anon_made, a.length, num(0)), s.anon_size[k]),
               n.slot_remap[k] == If(b, mr_binds_ok, Or(s.slot_remap[k], And(grow_ok, a.slot == k))),
               n.slot_thread[k] == If(b, a.actor, s.slot_thread[k]),
               # through the key (a segment) or the name (an object) another open found
               n.slot_bykey[k] == If(b, Or(And(attach, select(s.handle_bykey, a.handle, F_) if G else F_),
                                           And(obj_made, fd_byname)), s.slot_bykey[k]),
               n.slot_rmid[k] == If(b, And(attach, sid_removed), s.slot_rmid[k]),
               n.slot_alias[k] == If(b, Or(And(attach, alias_now), And(obj_made, alias_obj_now)),
                                     s.slot_alias[k])]
    cs.append(n.nslots == If(binds_slot, s.nslots + 1, s.nslots))

    # --- segment handles and segments (R17, R18, R20: destroyed at the last detach)
    bind_handle = is_["shmget"]
    for h in range(G):
        b = And(bind_handle, s.nhandles == h)
        cs += [n.handle_seg[h] == If(b, If(live, get_sid, NONE_SEG), s.handle_seg[h]),
               n.handle_bykey[h] == If(b, And(L["shmget"], get_same), s.handle_bykey[h])]
    cs.append(n.nhandles == If(bind_handle, s.nhandles + 1, s.nhandles))
    cs.append(n.nsegs == If(create, s.nsegs + 1, s.nsegs))
    for g in range(G):
        born = And(create, s.nsegs == g)
        removed = If(born, F_, Or(s.seg_removed[g], And(rmid_ok, sid == g)))
        attached = Or([And(n.cells[p][k][q].mapped, n.slot_kind[k] == KIND_SYSV, n.slot_seg[k] == g)
                       for p in range(P) for k in range(M) for q in range(Q)])
        cs += [n.seg_key[g] == If(born, a.key, And(s.seg_key[g], Not(And(rmid_ok, sid == g)))),
               n.seg_oldkey[g] == (If(born, F_, Or(s.seg_oldkey[g], And(rmid_ok, sid == g, s.seg_key[g])))
                                   if profile.removed_stat_may_fail else F_),
               n.seg_removed[g] == removed,
               n.seg_destroyed[g] == If(born, F_, Or(s.seg_destroyed[g],
                                                     And(z3.ULT(g, s.nsegs), removed, Not(attached)))),
               n.seg_size[g] == If(born, a.size, s.seg_size[g])]

    # --- threads and processes (fork: R09-R11, R16, R34, R40, R41)
    binds_thread = And(Not(is_["nop"]), Or(is_["fork"], is_["spawn"]))
    actor_pproc = select(s.t_pproc, a.actor)
    for t in range(T):
        b = And(binds_thread, s.nthreads == t)
        dies_t = Or([And(s.t_proc[t] == p, dies[p]) for p in range(P)])
        execed_away = And(L["exec"], s.t_proc[t] == pid, a.actor != t)   # R29, C04
        cs += [n.t_alive[t] == If(b, live, And(s.t_alive[t], Not(dies_t), Not(execed_away),
                                               Not(And(L["thread_exit"], a.actor == t)))),
               n.t_proc[t] == If(b, If(live, If(is_["fork"], s.nprocs, pid), num(0)), s.t_proc[t]),
               n.t_pproc[t] == If(b, If(is_["fork"], s.npprocs, actor_pproc), s.t_pproc[t]),
               n.t_ended[t] == Or(s.t_ended[t], And(is_["thread_exit"], a.actor == t),
                                  And(is_["exit"], z3.ULT(t, s.nthreads), s.t_pproc[t] == actor_pproc),
                                  And(is_["exec"], z3.ULT(t, s.nthreads), s.t_pproc[t] == actor_pproc,
                                      a.actor != t))]
    cs.append(n.nthreads == If(binds_thread, s.nthreads + 1, s.nthreads))
    cs.append(n.nprocs == If(fork, s.nprocs + 1, s.nprocs))
    cs.append(n.npprocs == If(is_["fork"], s.npprocs + 1, s.npprocs))
    for p in range(P):
        cs.append(n.p_alive[p] == If(child_here[p], T_, And(s.p_alive[p], Not(dies[p]))))

    # --- the result
    code = If(is_["nop"], rc("ok"), If(dead, rc("dead"),
           If(is_["read"], If(read_fault, rc("SIGSEGV"), If(read_bus, rc("SIGBUS"), rc("value"))),
           If(is_["write"], If(write_fault, rc("SIGSEGV"), If(write_bus, rc("SIGBUS"), rc("ok"))),
           If(is_["mremap"], mr_code,
           If(is_["shmget"], If(get_enoent, rc("ENOENT"), If(get_eexist, rc("EEXIST"),
                             If(get_einval, rc("EINVAL"), If(get_same, rc("same"), rc("new"))))),
           If(is_["shmat"], If(at_fail, rc("EINVAL"), rc("ok")),
           If(is_["shmdt"], If(dt_ok, rc("ok"), rc("EINVAL")),
           If(is_["shmctl"], If(ctl_einval, rc("EINVAL"), If(a.rmid, rc("ok"), rc("stat"))),
           If(is_["munmap"], If(un_einval, rc("EINVAL"), rc("ok")),
           If(is_["mprotect"], If(pr_eacces, rc("EACCES"), If(hole, rc("ENOMEM"), rc("ok"))),
           If(is_["madvise"], If(md_einval, rc("EINVAL"), If(md_eacces, rc("EACCES"),
                                 If(Or(beyond, Or([And(in_range[q], Not(here[q].mapped)) for q in range(Q)])),
                                    rc("ENOMEM"), rc("ok")))),
           If(is_["mmap"], If(a.fdmap, obj.code["mmap"], rc("ok")),
           If(is_["open"], obj.code["open"],
           If(is_["close"], obj.code["close"],
           If(is_["ftruncate"], obj.code["ftruncate"],
           If(is_["pread"], obj.code["pread"],
           If(is_["pwrite"], obj.code["pwrite"],
           If(is_["shm_unlink"], obj.code["shm_unlink"],
           If(is_["seal"], obj.code["seal"],
           rc("ok")))))))))))))))))))))
    cs.append(r.code == code)
    cs.append(r.arg == If(And(is_["read"], live), read_value,
                          If(And(is_["pread"], live), obj.value,
                             If(And(is_["shmget"], live, get_same), z3.ZeroExt(VAL - IDX, first_handle),
                                num(0, VAL)))))
    stat = And(live, is_["shmctl"], Not(a.rmid), Not(ctl_einval))
    seg_keyed = select(s.seg_key, sid, F_) if G else F_
    cs += [r.nattch == If(stat, nattch, num(0, CNT)),
           r.segsz == If(stat, select(s.seg_size, sid, num(0)) if G else num(0), num(0))]
    if profile.removed_stat_may_fail:
        # R17 (POSIX): IPC_STAT of a removed segment may show SHM_DEST or not, and the old key
        # or IPC_PRIVATE; both fixed as on Linux everywhere else
        removed_stat = And(stat, sid_removed)
        old_key = select(s.seg_oldkey, sid, F_) if G else F_
        cs += [z3.Implies(Not(removed_stat), r.dest == F_),
               If(removed_stat, z3.Implies(r.key, old_key), r.key == And(stat, seg_keyed))]
    else:
        cs += [r.dest == And(stat, sid_removed), r.key == And(stat, seg_keyed)]
    # the explicit arguments nd and snap only matter where the profile allows a choice
    survival = ([And(L["ftruncate"], obj.trunc_ok, obj.trunc_shrinks),
                 And(L["read"], Not(read_fault), acc_beyond, kind == KIND_OBJ_PRIVATE, acc_cow)]
                if profile.private_copy_beyond_eof_may_survive else [])
    cs.append(z3.Implies(Not(Or([And(L["shmctl"], Not(a.rmid), sid_live, sid_removed),
                                 And(L["munmap"], splits), pr_choice,
                                 And(L["read"], Not(read_fault), acc_lazy)] + survival)), Not(a.nd)))
    for p, k, q in ((p, k, q) for p in range(P) for k in range(M) for q in range(Q) if a.snap):
        cs.append(z3.Implies(Not(may_snapshot(p, k, q)), Not(a.snap[p][k][q])))
    return cs
