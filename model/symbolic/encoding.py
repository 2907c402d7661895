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
from .terms import (AVID_BITS, BYTE_BITS, CODE_BITS, COUNT_BITS, INDEX_BITS, KIND_BITS, OP_BITS,
                    bv, num, select)


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
    acct: z3.BoolRef          # the record is VM_ACCOUNT (address_space._accounted, R30)
    anonvma: z3.BoolRef       # the record has an anon_vma (a private page of it was written)
    # the record's anon_vma is one a fork gave it (Vma.fork_anon_vma), and which anon_vma the
    # record holds (0 when it has none): a fork's, the page where its record began at that
    # fork; one a first write made, slot * 6 + a number no page of the slot held then; or the
    # neighbour's it reused (address_space.anon_vma_prepare). Two records with anon_vmas merge
    # only when these agree (address_space._can_merge, R30)
    forkvma: z3.BoolRef
    avid: z3.BitVecRef


CELL_FIELDS = ("mapped", "prot", "start", "dontfork", "wipe", "val", "lazy", "cow", "acct",
               "anonvma", "forkvma", "avid")


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
    # R12 (posix, model/read_lag.py): obj_lag[o][q]: read(2) may still show obj_synced[o][q],
    # the page's byte 0 from before a store through a shared mapping (never under linux)
    obj_lag: list
    obj_synced: list
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
                      flag(f"c{p}_{k}_{q}_lz"), flag(f"c{p}_{k}_{q}_cow"),
                      flag(f"c{p}_{k}_{q}_acct"), flag(f"c{p}_{k}_{q}_av"),
                      flag(f"c{p}_{k}_{q}_fav"), index(f"c{p}_{k}_{q}_avid", AVID_BITS))
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
        obj_lag=[[flag(f"o{o}_{q}_lag") for q in range(pages)] for o in range(objects)],
        obj_synced=[[index(f"o{o}_{q}_synced", BYTE_BITS) for q in range(pages)] for o in range(objects)],
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


def initial_constraints(state: SymState, scope: SymbolicScope) -> list:
    """semantics.initial(): one process with one thread, T0, and nothing mapped."""
    false, zero = z3.BoolVal(False), num(0)
    cs = [state.nthreads == 1, state.nprocs == 1, state.nslots == 0, state.nhandles == 0,
          state.nsegs == 0, state.npprocs == 1, state.nfds == 0, state.nobjs == 0]
    for t in range(scope.threads):
        cs += [state.t_alive[t] == (t == 0), state.t_proc[t] == zero, state.t_pproc[t] == zero,
               state.t_ended[t] == false]
    for p in range(scope.processes):
        cs.append(state.p_alive[p] == (p == 0))
        for k in range(scope.mappings):
            cs.append(state.depth[p][k] == 0)
            for c in state.cells[p][k]:
                cs += [c.mapped == false, c.prot == 0, c.start == false, c.dontfork == false,
                       c.wipe == false, c.val == 0, c.lazy == false, c.cow == false,
                       c.acct == false, c.anonvma == false, c.forkvma == false,
                       c.avid == 0]
    for k in range(scope.mappings):
        cs += [state.slot_kind[k] == KIND_NONE, state.slot_seg[k] == 0,
               state.slot_rdonly[k] == false, state.slot_thread[k] == 0,
               state.slot_bykey[k] == false, state.slot_rmid[k] == false,
               state.slot_alias[k] == false, state.slot_remap[k] == false,
               state.slot_pgoff[k] == zero, state.slot_anon[k] == zero,
               state.anon_size[k] == zero, state.slot_obj[k] == zero]
        cs += [page == 0 for page in state.anon[k]]
    for h in range(scope.segments):
        cs += [state.handle_seg[h] == scope.segments, state.handle_bykey[h] == false]
    for g in range(scope.segments):
        cs += [state.seg_key[g] == false, state.seg_oldkey[g] == false,
               state.seg_removed[g] == false, state.seg_destroyed[g] == false,
               state.seg_size[g] == 0]
        cs += [page == 0 for page in state.seg_page[g]]
    for h in range(scope.objects):
        cs += [state.fd_obj[h] == scope.objects, state.fd_rdonly[h] == false,
               state.fd_byname[h] == false]
        cs += [state.fd_open[p][h] == false for p in range(scope.processes)]
    for o in range(scope.objects):
        cs += [state.obj_kind[o] == 0, state.obj_named[o] == false, state.obj_size[o] == 0,
               state.obj_sealed[o] == false]
        cs += [page == 0 for page in state.obj_page[o]]
        cs += [by_fd == false for by_fd in state.obj_by_fd[o]]
        cs += [lag == false for lag in state.obj_lag[o]]
        cs += [synced == 0 for synced in state.obj_synced[o]]
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
    neither: z3.BoolRef = None  # mmap with neither MAP_SHARED nor MAP_PRIVATE (map_type.py)
    # POSIX (R13): snap[p][k][q]: before a store into an object page, this unwritten private
    # page of it takes a copy of its own (one explicit choice per cell; empty under linux)
    snap: list = None

    FIELDS = ("op", "actor", "slot", "page", "length", "value", "shared", "prot", "handle", "key",
              "size", "creat", "excl", "rdonly", "advice", "rmid", "mode", "old", "fd", "okind",
              "fdmap", "neither")


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
                   fd=index("fd"), okind=index("okind", 2), fdmap=flag("fdmap"),
                   neither=flag("neither"), snap=snap)


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


def valid_args(state: SymState, args: SymArgs, scope: SymbolicScope, profile: Profile,
               free_values: bool = True) -> list:
    """What makes a step a valid step of a program in the scope (the case format's rules:
    handles bound before use, no step by a thread that has certainly ended, scope limits).
    A NOP is always valid; steps after a NOP are NOPs (the caller adds that)."""
    And, Or, Not, Implies, ULT, ULE, UGE = z3.And, z3.Or, z3.Not, z3.Implies, z3.ULT, z3.ULE, z3.UGE
    is_op = {name: args.op == i for name, i in OPS.items()}
    is_any = lambda *names: Or(*(is_op[name] for name in names))
    pages = scope.pages
    uses_place = is_any("shmdt", "munmap", "mprotect", "madvise", "read", "write", "mremap")
    uses_length = is_any("mmap", "munmap", "mprotect", "madvise", "mremap")
    actor_ok = And(ULT(args.actor, state.nthreads), Not(select(state.t_ended, args.actor)))
    cs = [ULE(args.op, len(OPS) - 1),
          Implies(Not(is_op["nop"]), actor_ok),
          Implies(uses_place, And(ULT(args.slot, state.nslots), ULE(args.page, pages))),
          Implies(uses_length, And(UGE(args.length, 1), ULE(args.length, pages))),
          Implies(is_any("mmap", "shmat"), And(ULT(state.nslots, scope.mappings),
                                               args.slot == state.nslots)),
          Implies(is_any("shmat", "shmctl"), ULT(args.handle, state.nhandles)),
          Implies(is_op["shmget"], And(ULT(state.nhandles, scope.segments),
                                       args.handle == state.nhandles, ULE(args.size, pages))),
          Implies(is_any("fork", "spawn"), ULT(state.nthreads, scope.threads)),
          Implies(is_op["fork"], ULT(state.npprocs, scope.processes)),
          Implies(is_any("mmap", "mprotect"), ULE(args.prot, 2)),
          Implies(And(is_op["mmap"], args.neither), Not(args.shared)),   # MAP_TYPE 0
          Implies(is_op["madvise"], ULE(args.advice, len(ADVICES) - 1)),
          # mremap (core.py): alias <=> old size 0; the ranges stay inside a slot's cells
          Implies(is_op["mremap"], And(
              ULE(args.mode, 2), (args.mode == 2) == (args.old == 0), ULE(args.old, pages),
              ULE(args.page + args.old, pages),
              Implies(args.mode == 0, ULE(args.page + args.length, pages)),
              Implies(args.mode != 0, ULT(state.nslots, scope.mappings))))]
    # descriptors (core.py): handles bound before use; open binds the next one; memfd_create
    # takes no flags; ftruncate to 0..pages pages; pread of pages 0..pages, pwrite below
    uses_fd = Or(is_any("close", "ftruncate", "pread", "pwrite", "seal"),
                 And(is_op["mmap"], args.fdmap))
    memfd_flags = Implies(args.okind == OBJ_MEMFD, Not(Or(args.creat, args.excl, args.rdonly)))
    cs += [Implies(uses_fd, ULT(args.fd, state.nfds)),
           Implies(is_op["open"], And(ULT(state.nfds, scope.objects), args.fd == state.nfds,
                                      ULE(args.okind, 2), memfd_flags)),
           Implies(is_op["ftruncate"], ULE(args.length, pages)),
           Implies(is_op["pread"], ULE(args.page, pages)),
           Implies(is_op["pwrite"], ULT(args.page, pages))]
    if free_values:
        cs.append(Implies(is_any("write", "pwrite"), Or([args.value == v for v in scope.values])))
    if not profile.linux_interfaces:
        cs.append(Not(is_op["madvise"]))  # madvise is not applicable under posix
        cs.append(Not(is_op["mremap"]))   # nor is mremap
        cs.append(Not(is_op["seal"]))     # nor are memfds and their seals
        cs.append(Not(And(is_op["open"], args.okind == OBJ_MEMFD)))
    return cs
