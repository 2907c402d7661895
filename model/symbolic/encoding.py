"""The variables of the flat encoding: a state, a step's arguments, a step's result; the
initial state; what makes a step valid. The rules themselves are per operation (operations/),
tied together by transition.py.

A state is a fixed set of booleans and narrow bit-vectors, one per cell (process, slot, page),
object page, thread, process, slot, segment handle and segment; there are no arrays,
uninterpreted functions or quantifiers, so every question is decidable and fast to bit-blast.
Every nondeterministic choice is an explicit argument (``alternative``: an allowed alternative
outcome, such as POSIX's optional failures; ``snap``: POSIX's snapshot of a private page), and a
new thread's, process's, slot's or segment's index is the count of those bound so far.

A slot maps its object (``slot_anon``: the shared anonymous object of the slot that created
it; ``slot_seg``: a segment; ``slot_obj``: a backing object) from object page ``slot_pgoff`` on,
so mremap copies cells between slots and records the offset. A record boundary is the ``start``
flag of a cell: kept for SysV attaches (their records never merge, R30), derived from the
neighbouring cell for other memory (records merge again when equal).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import z3

from ..profiles import Profile
from .core import ADVICES, KIND_NONE, OBJ_MEMFD, OPS, SymbolicScope
from .terms import (BYTE_BITS, CODE_BITS, COUNT_BITS, INDEX_BITS, KIND_BITS, OP_BITS, bv, num,
                    select)


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


def fresh_state(prefix: str, scope: SymbolicScope) -> SymState:
    """A state of fresh variables, named ``prefix`` + what they are (c0_1_2_m: cell process 0,
    slot 1, page 2, mapped)."""
    processes, threads, slots, pages = scope.processes, scope.threads, scope.mappings, scope.pages
    segments, objects = scope.segments, scope.objects
    flag = lambda name: z3.Bool(prefix + name)
    index = lambda name, bits=INDEX_BITS: bv(prefix + name, bits)
    return SymState(
        nthreads=index("nthreads"), nprocs=index("nprocs"), nslots=index("nslots"),
        nhandles=index("nhandles"), nsegs=index("nsegs"),
        t_alive=[flag(f"t{t}_alive") for t in range(threads)],
        t_proc=[index(f"t{t}_proc") for t in range(threads)],
        p_alive=[flag(f"p{p}_alive") for p in range(processes)],
        cells=[[[Cell(flag(f"c{p}_{k}_{q}_m"), index(f"c{p}_{k}_{q}_prot", 2),
                      flag(f"c{p}_{k}_{q}_start"), flag(f"c{p}_{k}_{q}_df"),
                      flag(f"c{p}_{k}_{q}_wf"), index(f"c{p}_{k}_{q}_val", BYTE_BITS),
                      flag(f"c{p}_{k}_{q}_lz"), flag(f"c{p}_{k}_{q}_cow"))
                 for q in range(pages)] for k in range(slots)] for p in range(processes)],
        anon=[[index(f"a{k}_{q}", BYTE_BITS) for q in range(pages)] for k in range(slots)],
        slot_kind=[index(f"k{k}_kind", KIND_BITS) for k in range(slots)],
        slot_seg=[index(f"k{k}_seg") for k in range(slots)],
        slot_rdonly=[flag(f"k{k}_rdonly") for k in range(slots)],
        slot_pgoff=[index(f"k{k}_pgoff") for k in range(slots)],
        slot_anon=[index(f"k{k}_anon") for k in range(slots)],
        anon_size=[index(f"k{k}_asize") for k in range(slots)],
        handle_seg=[index(f"h{h}_seg") for h in range(segments)],
        seg_key=[flag(f"g{g}_key") for g in range(segments)],
        seg_oldkey=[flag(f"g{g}_oldkey") for g in range(segments)],
        seg_removed=[flag(f"g{g}_removed") for g in range(segments)],
        seg_destroyed=[flag(f"g{g}_destroyed") for g in range(segments)],
        seg_size=[index(f"g{g}_size") for g in range(segments)],
        seg_page=[[index(f"g{g}_{q}", BYTE_BITS) for q in range(pages)] for g in range(segments)],
        nfds=index("nfds"), nobjs=index("nobjs"),
        fd_obj=[index(f"f{h}_obj") for h in range(objects)],
        fd_rdonly=[flag(f"f{h}_rdonly") for h in range(objects)],
        fd_open=[[flag(f"f{h}_open{p}") for h in range(objects)] for p in range(processes)],
        obj_kind=[index(f"o{o}_kind", 2) for o in range(objects)],
        obj_named=[flag(f"o{o}_named") for o in range(objects)],
        obj_size=[index(f"o{o}_size") for o in range(objects)],
        obj_sealed=[flag(f"o{o}_sealed") for o in range(objects)],
        obj_page=[[index(f"o{o}_{q}", BYTE_BITS) for q in range(pages)] for o in range(objects)],
        slot_obj=[index(f"k{k}_obj") for k in range(slots)],
        npprocs=index("npprocs"),
        t_pproc=[index(f"t{t}_pproc") for t in range(threads)],
        t_ended=[flag(f"t{t}_ended") for t in range(threads)],
        depth=[[index(f"d{p}_{k}", 2) for k in range(slots)] for p in range(processes)],
        slot_thread=[index(f"k{k}_thread") for k in range(slots)],
        slot_bykey=[flag(f"k{k}_bykey") for k in range(slots)],
        slot_rmid=[flag(f"k{k}_rmid") for k in range(slots)],
        slot_alias=[flag(f"k{k}_alias") for k in range(slots)],
        slot_remap=[flag(f"k{k}_remap") for k in range(slots)],
        handle_bykey=[flag(f"h{h}_bykey") for h in range(segments)],
        fd_byname=[flag(f"f{h}_byname") for h in range(objects)],
        obj_by_fd=[[flag(f"o{o}_{q}_byfd") for q in range(pages)] for o in range(objects)],
    )


def initial_constraints(s: SymState, scope: SymbolicScope) -> list:
    """semantics.initial(): one process with one thread, T0, and nothing mapped."""
    false, zero = z3.BoolVal(False), num(0)
    cs = [s.nthreads == 1, s.nprocs == 1, s.nslots == 0, s.nhandles == 0, s.nsegs == 0,
          s.npprocs == 1, s.nfds == 0, s.nobjs == 0]
    for t in range(scope.threads):
        cs += [s.t_alive[t] == (t == 0), s.t_proc[t] == zero, s.t_pproc[t] == zero,
               s.t_ended[t] == false]
    for p in range(scope.processes):
        cs.append(s.p_alive[p] == (p == 0))
        for k in range(scope.mappings):
            cs.append(s.depth[p][k] == 0)
            for c in s.cells[p][k]:
                cs += [c.mapped == false, c.prot == 0, c.start == false, c.dontfork == false,
                       c.wipe == false, c.val == 0, c.lazy == false, c.cow == false]
    for k in range(scope.mappings):
        cs += [s.slot_kind[k] == KIND_NONE, s.slot_seg[k] == 0, s.slot_rdonly[k] == false,
               s.slot_thread[k] == 0, s.slot_bykey[k] == false, s.slot_rmid[k] == false,
               s.slot_alias[k] == false, s.slot_remap[k] == false, s.slot_pgoff[k] == zero,
               s.slot_anon[k] == zero, s.anon_size[k] == zero, s.slot_obj[k] == zero]
        cs += [page == 0 for page in s.anon[k]]
    for h in range(scope.segments):
        cs += [s.handle_seg[h] == scope.segments, s.handle_bykey[h] == false]
    for g in range(scope.segments):
        cs += [s.seg_key[g] == false, s.seg_oldkey[g] == false, s.seg_removed[g] == false,
               s.seg_destroyed[g] == false, s.seg_size[g] == 0]
        cs += [page == 0 for page in s.seg_page[g]]
    for h in range(scope.objects):
        cs += [s.fd_obj[h] == scope.objects, s.fd_rdonly[h] == false, s.fd_byname[h] == false]
        cs += [s.fd_open[p][h] == false for p in range(scope.processes)]
    for o in range(scope.objects):
        cs += [s.obj_kind[o] == 0, s.obj_named[o] == false, s.obj_size[o] == 0,
               s.obj_sealed[o] == false]
        cs += [page == 0 for page in s.obj_page[o]] + [by_fd == false for by_fd in s.obj_by_fd[o]]
    return cs


@dataclass
class SymArgs:
    """A step's arguments, each chosen by the solver (indices by order of binding, as
    core.StepArgs)."""
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
    # take the allowed alternative outcome where the profile allows one (a POSIX optional
    # failure, a MADV_FREE page found reclaimed, ...); ignored elsewhere
    alternative: z3.BoolRef
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


def fresh_args(prefix: str, scope: SymbolicScope = None, profile: Profile = None) -> SymArgs:
    """A step's arguments; the per-cell snapshot choices only for a scope and a profile that
    lets private object pages snapshot (POSIX, R13)."""
    flag = lambda name: z3.Bool(prefix + name)
    index = lambda name, bits=INDEX_BITS: bv(prefix + name, bits)
    snaps = scope is not None and profile is not None and profile.private_file_may_snapshot
    snap = [[[flag(f"snap{p}_{k}_{q}") for q in range(scope.pages)] for k in range(scope.mappings)]
            for p in range(scope.processes)] if snaps else []
    return SymArgs(op=index("op", OP_BITS), actor=index("actor"), slot=index("slot"),
                   page=index("page"), length=index("length"), value=index("value", BYTE_BITS),
                   shared=flag("shared"), prot=index("prot", 2), handle=index("handle"),
                   key=flag("key"), size=index("size"), creat=flag("creat"), excl=flag("excl"),
                   rdonly=flag("rdonly"), advice=index("advice", 3), rmid=flag("rmid"),
                   alternative=flag("nd"), mode=index("mode", 2), old=index("old"),
                   fd=index("fd"), okind=index("okind", 2), fdmap=flag("fdmap"), snap=snap)


@dataclass
class SymResult:
    """A step's result: the code, and the fields of the results that carry more."""
    code: z3.BitVecRef        # index into core.RESULT_NAMES
    arg: z3.BitVecRef         # the byte read, or the handle index of "=S.."
    nattch: z3.BitVecRef      # IPC_STAT's fields
    segsz: z3.BitVecRef       # size code (SymbolicScope.sizes)
    dest: z3.BoolRef
    key: z3.BoolRef

    def terms(self) -> list:
        return [self.code, self.arg, self.nattch, self.segsz, self.dest, self.key]


def fresh_result(prefix: str) -> SymResult:
    return SymResult(bv(f"{prefix}rcode", CODE_BITS), bv(f"{prefix}rarg", BYTE_BITS),
                     bv(f"{prefix}nattch", COUNT_BITS), bv(f"{prefix}segsz"),
                     z3.Bool(f"{prefix}dest"), z3.Bool(f"{prefix}rkey"))


def valid_args(s: SymState, a: SymArgs, scope: SymbolicScope, profile: Profile,
               free_values: bool = True) -> list:
    """What makes a step a valid step of a program in the scope (the case format's rules:
    handles bound before use, no step by a thread that has certainly ended, scope limits).
    A NOP is always valid; steps after a NOP are NOPs (the caller adds that)."""
    op = a.op
    is_op = {name: op == i for name, i in OPS.items()}
    uses_place = z3.Or(is_op["shmdt"], is_op["munmap"], is_op["mprotect"], is_op["madvise"], is_op["read"],
                       is_op["write"], is_op["mremap"])
    uses_length = z3.Or(is_op["mmap"], is_op["munmap"], is_op["mprotect"], is_op["madvise"], is_op["mremap"])
    binds_slot = z3.Or(is_op["mmap"], is_op["shmat"])
    actor_ok = z3.And(z3.ULT(a.actor, s.nthreads), z3.Not(select(s.t_ended, a.actor)))
    cs = [z3.ULE(op, len(OPS) - 1),
          z3.Implies(z3.Not(is_op["nop"]), actor_ok),
          z3.Implies(uses_place, z3.And(z3.ULT(a.slot, s.nslots), z3.ULE(a.page, scope.pages))),
          z3.Implies(uses_length, z3.And(z3.UGE(a.length, 1), z3.ULE(a.length, scope.pages))),
          z3.Implies(binds_slot, z3.And(z3.ULT(s.nslots, scope.mappings), a.slot == s.nslots)),
          z3.Implies(z3.Or(is_op["shmat"], is_op["shmctl"]), z3.ULT(a.handle, s.nhandles)),
          z3.Implies(is_op["shmget"], z3.And(z3.ULT(s.nhandles, scope.segments), a.handle == s.nhandles,
                                          z3.ULE(a.size, scope.pages))),
          z3.Implies(z3.Or(is_op["fork"], is_op["spawn"]), z3.ULT(s.nthreads, scope.threads)),
          z3.Implies(is_op["fork"], z3.ULT(s.npprocs, scope.processes)),
          z3.Implies(z3.Or(is_op["mmap"], is_op["mprotect"]), z3.ULE(a.prot, 2)),
          z3.Implies(is_op["madvise"], z3.ULE(a.advice, len(ADVICES) - 1)),
          # mremap (core.py): alias <=> old size 0; the ranges stay inside a slot's cells
          z3.Implies(is_op["mremap"], z3.And(
              z3.ULE(a.mode, 2), (a.mode == 2) == (a.old == 0), z3.ULE(a.old, scope.pages),
              z3.ULE(a.page + a.old, scope.pages),
              z3.Implies(a.mode == 0, z3.ULE(a.page + a.length, scope.pages)),
              z3.Implies(a.mode != 0, z3.ULT(s.nslots, scope.mappings))))]
    # descriptors (core.py): handles bound before use; open binds the next one; memfd_create
    # takes no flags; ftruncate to 0..pages pages; pread of pages 0..pages, pwrite below
    uses_fd = z3.Or(is_op["close"], is_op["ftruncate"], is_op["pread"], is_op["pwrite"], is_op["seal"],
                    z3.And(is_op["mmap"], a.fdmap))
    cs += [z3.Implies(uses_fd, z3.ULT(a.fd, s.nfds)),
           z3.Implies(is_op["open"], z3.And(z3.ULT(s.nfds, scope.objects), a.fd == s.nfds,
                                          z3.ULE(a.okind, 2),
                                          z3.Implies(a.okind == OBJ_MEMFD,
                                                     z3.Not(z3.Or(a.creat, a.excl, a.rdonly))))),
           z3.Implies(is_op["ftruncate"], z3.ULE(a.length, scope.pages)),
           z3.Implies(is_op["pread"], z3.ULE(a.page, scope.pages)),
           z3.Implies(is_op["pwrite"], z3.ULT(a.page, scope.pages))]
    if free_values:
        cs.append(z3.Implies(z3.Or(is_op["write"], is_op["pwrite"]),
                             z3.Or([a.value == v for v in scope.values])))
    if not profile.linux_interfaces:
        cs.append(z3.Not(is_op["madvise"]))  # madvise is not applicable under posix
        cs.append(z3.Not(is_op["mremap"]))   # nor is mremap
        cs.append(z3.Not(is_op["seal"]))     # nor are memfds and their seals
        cs.append(z3.Not(z3.And(is_op["open"], a.okind == OBJ_MEMFD)))
    return cs
