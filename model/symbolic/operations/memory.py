"""The twins of the memory operations: read, write, mmap, munmap, mprotect, madvise, mremap
(memory.read and memory.write, and semantics.py's functions of the same names).

Each takes the step's view (step_view.StepView) and returns an Effect: the result code as a
table, and the terms the next state is built from. The encoding covers byte 0 of a page, and
ranges in whole pages of one slot (core.py).
"""
from __future__ import annotations

import z3

from ..core import ADVICES, KIND_ANON, KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, KIND_PRIVATE, KIND_SYSV
from ..encoding import CELL_FIELDS, Cell
from ..step_view import StepView
from ..terms import BYTE_BITS, KIND_BITS, num, select
from .effect import Effect

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If
TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)
PROT_RW, PROT_NONE = 0, 2            # indices into core.PROTS


def read(v: StepView) -> Effect:
    """R02, R09-R11, R14, R15, R33: byte 0 of the page; SIGSEGV where it is unmapped or
    PROT_NONE; SIGBUS past the end of its object (R06, R08, R43). C05: a MADV_FREE page may
    have been reclaimed (reads 0); R08 (POSIX): a private copy past a truncated object's end may
    survive. Both are the step's alternative."""
    a = v.args
    fault = Not(And(v.acc_mapped, v.acc_prot != PROT_NONE))
    survives = (And(v.kind == KIND_OBJ_PRIVATE, v.acc_cow, a.alternative)
                if v.profile.private_copy_beyond_eof_may_survive else FALSE)
    bus = And(Not(fault), v.acc_beyond, Not(survives))
    reclaimed = And(v.performs["read"], Not(fault), v.acc_lazy, a.alternative)
    alternatives = [And(v.performs["read"], Not(fault), v.acc_lazy)]
    if v.profile.private_copy_beyond_eof_may_survive:
        alternatives.append(And(v.performs["read"], Not(fault), v.acc_beyond,
                                v.kind == KIND_OBJ_PRIVATE, v.acc_cow))
    return Effect(code=[(fault, "SIGSEGV"), (bus, "SIGBUS"), (TRUE, "value")],
                  alternatives=alternatives,
                  kills=And(v.performs["read"], Or(fault, bus)), reclaimed=reclaimed,
                  value=If(reclaimed, num(0, BYTE_BITS), v.acc_value))


def write(v: StepView) -> Effect:
    """R09-R12, R14, R15, R24, R32: a store of the byte; SIGSEGV where the page is not
    writable, SIGBUS past the end of its object. A store through a shared object mapping is
    a store into the object (``stores_into_object``)."""
    fault = Not(And(v.acc_mapped, v.acc_prot == PROT_RW))
    bus = And(Not(fault), v.acc_beyond)
    ok = And(v.performs["write"], Not(fault), Not(bus))
    return Effect(code=[(fault, "SIGSEGV"), (bus, "SIGBUS"), (TRUE, "ok")],
                  kills=And(v.performs["write"], Or(fault, bus)), ok=ok,
                  stores_into_object=And(ok, v.kind == KIND_OBJ_SHARED))


def mmap(v: StepView) -> Effect:
    """R01, R02 (new memory is zero), C01, R47: anonymous memory always maps; a descriptor needs
    to be held (EBADF), writable for a shared writable mapping (EACCES), and not write-sealed
    (EPERM). A shared mapping of a read-only descriptor or a sealed memfd never may write."""
    a = v.args
    writable = a.prot == PROT_RW
    eacces = And(v.fd_open, a.shared, v.fd_rdonly, writable)
    eperm = And(v.fd_open, a.shared, v.fd_obj_sealed, writable, Not(v.fd_rdonly))
    maps_fd = And(v.performs["mmap"], a.fdmap, v.fd_open, Not(eacces), Not(eperm))
    ok = And(v.performs["mmap"], Or(Not(a.fdmap), maps_fd))
    kind = If(a.fdmap, If(a.shared, num(KIND_OBJ_SHARED, KIND_BITS), num(KIND_OBJ_PRIVATE, KIND_BITS)),
              If(a.shared, num(KIND_ANON, KIND_BITS), num(KIND_PRIVATE, KIND_BITS)))
    return Effect(code=[(And(a.fdmap, Not(v.fd_open)), "EBADF"), (And(a.fdmap, eacces), "EACCES"),
                        (And(a.fdmap, eperm), "EPERM"), (TRUE, "ok")],
                  ok=ok, kind=kind, never_writes=And(a.shared, Or(v.fd_rdonly, v.fd_obj_sealed)),
                  makes_anon=And(ok, a.shared, Not(a.fdmap)), maps_object=And(ok, a.fdmap))


def munmap(v: StepView) -> Effect:
    """R05, R31, R32: the range goes (unmapped pages in it are no error). R31 (POSIX): a range
    that splits a SysV attach may fail with EINVAL (the alternative)."""
    a, pages = v.args, v.scope.pages
    splits = And(v.kind == KIND_SYSV,
                 Or([And(a.page == q, v.continues(q)) for q in range(pages)] +
                    [And(v.end == q, v.continues(q)) for q in range(1, pages)]))
    einval = And(splits, a.alternative) if v.profile.partial_shm_munmap_may_fail else FALSE
    return Effect(code=[(einval, "EINVAL"), (TRUE, "ok")],
                  alternatives=[And(v.performs["munmap"], splits)],
                  ok=And(v.performs["munmap"], Not(einval)))


def mprotect(v: StepView) -> Effect:
    """R24, R30, R33, C01: EACCES for PROT_WRITE on a mapping that may never write; else the
    protection changes up to the first hole, which is ENOMEM. R24 (POSIX): mprotect of a SysV
    attach is unspecified, so the alternative grants PROT_WRITE there."""
    a, pages, here = v.args, v.scope.pages, v.here
    refused = And(a.prot == PROT_RW, v.rdonly, Or(v.range_mapped))
    choice = (And(v.performs["mprotect"], refused, v.kind == KIND_SYSV)
              if v.profile.shm_mprotect_unspecified else FALSE)
    eacces = And(refused, Not(And(choice, a.alternative)))
    ok = And(v.performs["mprotect"], Not(eacces))
    before_hole = [And([Or(z3.ULT(q2, a.page), here[q2].mapped) for q2 in range(q + 1)])
                   for q in range(pages)]
    # a record already as asked is left alone, never split (mprotect_fixup returns early)
    changes = [And(ok, v.in_range[q], before_hole[q], here[q].mapped, here[q].prot != a.prot)
               for q in range(pages)]
    return Effect(code=[(eacces, "EACCES"), (v.hole, "ENOMEM"), (TRUE, "ok")],
                  alternatives=[choice], ok=ok, before_hole=before_hole, changes=changes)


def madvise(v: StepView) -> Effect:
    """R35-R37, R39-R41, C05: EINVAL for wipeonfork or free of anything but private anonymous
    memory and for remove of private anonymous memory; EACCES for remove of a mapping that is
    not shared or may not write its object; ENOMEM for a hole in the range."""
    a, pages, here = v.args, v.scope.pages, v.here
    advice = {name: a.advice == i for i, name in enumerate(ADVICES)}
    any_mapped = Or(v.range_mapped)
    einval = And(any_mapped, Or(And(Or(advice["wipeonfork"], advice["free"]), v.kind != KIND_PRIVATE),
                                And(advice["remove"], v.kind == KIND_PRIVATE)))
    eacces = And(any_mapped, advice["remove"], Or(v.kind == KIND_OBJ_PRIVATE, v.rdonly), Not(einval))
    ok = And(v.performs["madvise"], Not(einval), Not(eacces))
    # a flag already as asked leaves its record alone (madvise_update_vma returns early)
    differs = {"dontfork": [Not(c.dontfork) for c in here], "dofork": [c.dontfork for c in here],
               "wipeonfork": [Not(c.wipe) for c in here], "keeponfork": [c.wipe for c in here]}
    changes = [And(ok, v.in_range[q], here[q].mapped,
                   Or([And(advice[name], differs[name][q]) for name in differs]))
               for q in range(pages)]
    return Effect(code=[(einval, "EINVAL"), (eacces, "EACCES"), (v.hole, "ENOMEM"), (TRUE, "ok")],
                  ok=ok, advice=advice, changes=changes, removes=And(ok, advice["remove"]))


def mremap(v: StepView) -> Effect:
    """R42-R44, as semantics.mremap: EFAULT without a record at the place; grow to a smaller
    size unmaps the tail; move first unmaps the tail beyond the new size, then moves what is
    left of the record (EFAULT if the old range is not within one record) to the new slot, its
    object page offset kept; alias maps a copy of a shared record there (EINVAL for a private
    one); grow extends the record in place when it ends at the old range's end and the room
    is free (else ENOMEM). A move that keeps the size may span several records and the gaps
    between them (Linux 6.17+), except in a SysV attach."""
    a, pages, here = v.args, v.scope.pages, v.here
    grow, move, alias = a.mode == 0, a.mode == 1, a.mode == 2
    new_len, old_len = a.length, a.old
    no_record = Not(v.acc_mapped)
    end_from = [None] * (pages + 1)       # end_from[q]: the end of a record carried on at q
    end_from[pages] = num(pages)
    for q in reversed(range(pages)):
        end_from[q] = If(v.continues(q), end_from[q + 1], num(q))
    record_end = select(end_from[1:], a.page, num(pages))
    shrink = And(grow, z3.ULE(new_len, old_len))
    trunc = And(move, z3.UGT(old_len, new_len))
    old_kept = If(trunc, new_len, old_len)      # the old pages a move carries over
    past_record = z3.UGT(a.page + old_kept, record_end)
    alias_private = Or(v.kind == KIND_PRIVATE, v.kind == KIND_OBJ_PRIVATE)
    no_room = Or(a.page + old_len != record_end,
                 Or([And(z3.ULE(a.page + old_len, q), z3.ULT(q, a.page + new_len), here[q].mapped)
                     for q in range(pages)]))
    spans = And(move, old_len == new_len, v.kind != KIND_SYSV)
    efault = And(Not(shrink), Not(alias), Or(no_record, And(past_record, Not(spans))))
    einval = And(alias, Not(no_record), alias_private)
    enomem = And(grow, Not(shrink), Not(efault), no_room)
    started = And(v.performs["mremap"], Not(no_record))
    move_ok = And(started, move, Or(spans, Not(past_record)))
    alias_ok = And(started, alias, Not(alias_private))
    record = Cell(*(select([getattr(c, f) for c in here], a.page) for f in CELL_FIELDS))
    source = [Cell(*(select([getattr(c, f) for c in here], a.page + q, getattr(here[-1], f))
                     for f in CELL_FIELDS)) for q in range(pages)]   # page page+q of a move
    return Effect(code=[(Or(no_record, efault), "EFAULT"), (einval, "EINVAL"),
                        (enomem, "ENOMEM"), (TRUE, "ok")],
                  grow=grow, new_len=new_len, old_len=old_len, old_kept=old_kept, spans=spans,
                  shrink=shrink, trunc=trunc, cuts=And(started, Or(shrink, trunc)),
                  move_ok=move_ok, binds_ok=Or(move_ok, alias_ok),
                  grow_ok=And(started, grow, Not(shrink), Not(enomem), Not(efault)),
                  record=record, source=source)
