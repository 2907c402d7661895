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
from ..predicates import file_value
from ..step_view import StepView
from ..terms import BYTE_BITS, FALSE, KIND_BITS, TRUE, num, select
from .effect import Effect

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If
PROT_RW, PROT_NONE = 0, 2            # indices into core.PROTS


def read(view: StepView) -> Effect:
    """R02, R09-R11, R14, R15, R33: byte 0 of the page; SIGSEGV where it is unmapped or
    PROT_NONE; SIGBUS past the end of its object (R06, R08, R43). C05: a MADV_FREE page may
    have been reclaimed (reads 0); R08 (POSIX): a private copy past a truncated object's end may
    survive. Both are the step's alternative."""
    args = view.args
    fault = Not(And(view.acc_mapped, view.acc_prot != PROT_NONE))
    survives = (And(view.kind == KIND_OBJ_PRIVATE, view.acc_cow, args.alternative)
                if view.profile.private_copy_beyond_eof_may_survive else FALSE)
    bus = And(Not(fault), view.acc_beyond, Not(survives))
    reclaimed = And(view.performs["read"], Not(fault), view.acc_lazy, args.alternative)
    alternatives = [And(view.performs["read"], Not(fault), view.acc_lazy)]
    if view.profile.private_copy_beyond_eof_may_survive:
        alternatives.append(And(view.performs["read"], Not(fault), view.acc_beyond,
                                view.kind == KIND_OBJ_PRIVATE, view.acc_cow))
    return Effect(code=[(fault, "SIGSEGV"), (bus, "SIGBUS"), (TRUE, "value")],
                  alternatives=alternatives,
                  kills=And(view.performs["read"], Or(fault, bus)), reclaimed=reclaimed,
                  value=If(reclaimed, num(0, BYTE_BITS), view.acc_value))


def write(view: StepView) -> Effect:
    """R09-R12, R14, R15, R24, R32: a store of the byte; SIGSEGV where the page is not
    writable, SIGBUS past the end of its object. A store through a shared object mapping is
    a store into the object (``stores_into_object``)."""
    fault = Not(And(view.acc_mapped, view.acc_prot == PROT_RW))
    bus = And(Not(fault), view.acc_beyond)
    ok = And(view.performs["write"], Not(fault), Not(bus))
    into_object = And(ok, view.kind == KIND_OBJ_SHARED)
    # R12 (posix): the file may not see the store yet (the alternative), unless it shows
    # that byte already (model/read_lag.py)
    lags, alternatives, shown = FALSE, [], num(0, BYTE_BITS)
    if view.profile.read_may_lag_shared_stores:
        _, shown = file_value(view.before, view.scope, view.slot_obj, view.acc_opg)
        may_lag = And(into_object, shown != view.args.value)
        lags, alternatives = And(may_lag, view.args.alternative), [may_lag]
    return Effect(code=[(fault, "SIGSEGV"), (bus, "SIGBUS"), (TRUE, "ok")],
                  alternatives=alternatives,
                  kills=And(view.performs["write"], Or(fault, bus)), ok=ok,
                  stores_into_object=into_object, file_lags=lags, file_shows=shown)


def mmap(view: StepView) -> Effect:
    """R01, R02 (new memory is zero), C01, R47: anonymous memory always maps; a descriptor needs
    to be held (EBADF), writable for a shared writable mapping (EACCES), and not write-sealed
    (EPERM). A shared mapping of a read-only descriptor or a sealed memfd never may write.
    C01 (model/map_type.py): neither MAP_SHARED nor MAP_PRIVATE is EINVAL once the descriptor
    is held (before the access mode and seals); under a profile whose error order is
    unspecified (POSIX), EINVAL may also come before the EBADF (the alternative)."""
    args = view.args
    writable = args.prot == PROT_RW
    ebadf = And(args.fdmap, Not(view.fd_open))
    einval = And(args.neither, Not(ebadf))
    if view.profile.error_order_unspecified:
        einval = Or(einval, And(args.neither, ebadf, args.alternative))
    eacces = And(view.fd_open, args.shared, view.fd_rdonly, writable)
    eperm = And(view.fd_open, args.shared, view.fd_obj_sealed, writable, Not(view.fd_rdonly))
    maps_fd = And(view.performs["mmap"], args.fdmap, view.fd_open, Not(eacces), Not(eperm))
    ok = And(view.performs["mmap"], Not(args.neither), Or(Not(args.fdmap), maps_fd))
    kind = If(args.fdmap,
              If(args.shared, num(KIND_OBJ_SHARED, KIND_BITS), num(KIND_OBJ_PRIVATE, KIND_BITS)),
              If(args.shared, num(KIND_ANON, KIND_BITS), num(KIND_PRIVATE, KIND_BITS)))
    alternatives = [And(view.performs["mmap"], args.neither, ebadf)] \
        if view.profile.error_order_unspecified else []
    return Effect(code=[(einval, "EINVAL"),
                        (ebadf, "EBADF"),
                        (And(args.fdmap, eacces), "EACCES"),
                        (And(args.fdmap, eperm), "EPERM"),
                        (TRUE, "ok")],
                  alternatives=alternatives, ok=ok, kind=kind,
                  never_writes=And(args.shared, Or(view.fd_rdonly, view.fd_obj_sealed)),
                  makes_anon=And(ok, args.shared, Not(args.fdmap)), maps_object=And(ok, args.fdmap))


def munmap(view: StepView) -> Effect:
    """R05, R31, R32: the range goes (unmapped pages in it are no error). R31 (POSIX): a range
    that splits a SysV attach may fail with EINVAL (the alternative)."""
    args, pages = view.args, view.scope.pages
    splits = And(view.kind == KIND_SYSV,
                 Or([And(args.page == q, view.continues(q)) for q in range(pages)] +
                    [And(view.end == q, view.continues(q)) for q in range(1, pages)]))
    einval = And(splits, args.alternative) if view.profile.partial_shm_munmap_may_fail else FALSE
    return Effect(code=[(einval, "EINVAL"), (TRUE, "ok")],
                  alternatives=[And(view.performs["munmap"], splits)],
                  ok=And(view.performs["munmap"], Not(einval)))


def mprotect(view: StepView) -> Effect:
    """R24, R30, R33, C01: EACCES for PROT_WRITE on a mapping that may never write; else the
    protection changes up to the first hole, which is ENOMEM. R24 (POSIX): mprotect of a SysV
    attach is unspecified, so the alternative grants PROT_WRITE there."""
    args, pages, here = view.args, view.scope.pages, view.here
    refused = And(args.prot == PROT_RW, view.rdonly, Or(view.range_mapped))
    choice = (And(view.performs["mprotect"], refused, view.kind == KIND_SYSV)
              if view.profile.shm_mprotect_unspecified else FALSE)
    eacces = And(refused, Not(And(choice, args.alternative)))
    ok = And(view.performs["mprotect"], Not(eacces))
    before_hole = [And([Or(z3.ULT(q2, args.page), here[q2].mapped) for q2 in range(q + 1)])
                   for q in range(pages)]
    # a record already as asked is left alone, never split (mprotect_fixup returns early)
    changes = [And(ok, view.in_range[q], before_hole[q], here[q].mapped, here[q].prot != args.prot)
               for q in range(pages)]
    return Effect(code=[(eacces, "EACCES"), (view.hole, "ENOMEM"), (TRUE, "ok")],
                  alternatives=[choice], ok=ok, before_hole=before_hole, changes=changes)


def madvise(view: StepView) -> Effect:
    """R35-R37, R39-R41, C05: EINVAL for wipeonfork or free of anything but private anonymous
    memory and for remove of private anonymous memory; EACCES for remove of a mapping that is
    not shared or may not write its object; ENOMEM for a hole in the range."""
    args, pages, here = view.args, view.scope.pages, view.here
    advice = {name: args.advice == i for i, name in enumerate(ADVICES)}
    any_mapped = Or(view.range_mapped)
    only_private = Or(advice["wipeonfork"], advice["free"])    # private anonymous memory only
    einval = And(any_mapped, Or(And(only_private, view.kind != KIND_PRIVATE),
                                And(advice["remove"], view.kind == KIND_PRIVATE)))
    eacces = And(any_mapped, advice["remove"], Or(view.kind == KIND_OBJ_PRIVATE, view.rdonly),
                 Not(einval))
    ok = And(view.performs["madvise"], Not(einval), Not(eacces))
    # a flag already as asked leaves its record alone (madvise_update_vma returns early)
    differs = {"dontfork": [Not(c.dontfork) for c in here], "dofork": [c.dontfork for c in here],
               "wipeonfork": [Not(c.wipe) for c in here], "keeponfork": [c.wipe for c in here]}
    changes = [And(ok, view.in_range[q], here[q].mapped,
                   Or([And(advice[name], differs[name][q]) for name in differs]))
               for q in range(pages)]
    # holes[o]: object page o is mapped in the range (where MADV_REMOVE punches, R39)
    holes = [Or([And(view.range_mapped[q], view.pgoff + q == o) for q in range(pages)])
             for o in range(pages)]
    return Effect(code=[(einval, "EINVAL"), (eacces, "EACCES"), (view.hole, "ENOMEM"),
                        (TRUE, "ok")],
                  ok=ok, advice=advice, changes=changes, removes=And(ok, advice["remove"]),
                  holes=holes)


def mremap(view: StepView) -> Effect:
    """R42-R44, as semantics.mremap: EFAULT without a record at the place; grow to a smaller
    size unmaps the tail; move first unmaps the tail beyond the new size, then moves what is
    left of the record (EFAULT if the old range is not within one record) to the new slot, its
    object page offset kept; alias maps a copy of a shared record there (EINVAL for a private
    one); grow extends the record in place when it ends at the old range's end and the room
    is free (else ENOMEM). A move that keeps the size may span several records and the gaps
    between them (Linux 6.17+), except in a SysV attach."""
    args, pages, here = view.args, view.scope.pages, view.here
    grow, move, alias = args.mode == 0, args.mode == 1, args.mode == 2
    new_len, old_len = args.length, args.old
    no_record = Not(view.acc_mapped)
    end_from = [None] * (pages + 1)       # end_from[q]: the end of a record carried on at q
    end_from[pages] = num(pages)
    for q in reversed(range(pages)):
        end_from[q] = If(view.continues(q), end_from[q + 1], num(q))
    record_end = select(end_from[1:], args.page, num(pages))
    shrink = And(grow, z3.ULE(new_len, old_len))
    trunc = And(move, z3.UGT(old_len, new_len))
    old_kept = If(trunc, new_len, old_len)      # the old pages a move carries over
    past_record = z3.UGT(args.page + old_kept, record_end)
    alias_private = Or(view.kind == KIND_PRIVATE, view.kind == KIND_OBJ_PRIVATE)
    no_room = Or(args.page + old_len != record_end,
                 Or([And(z3.ULE(args.page + old_len, q), z3.ULT(q, args.page + new_len),
                         here[q].mapped) for q in range(pages)]))
    spans = And(move, old_len == new_len, view.kind != KIND_SYSV)
    efault = And(Not(shrink), Not(alias), Or(no_record, And(past_record, Not(spans))))
    einval = And(alias, Not(no_record), alias_private)
    enomem = And(grow, Not(shrink), Not(efault), no_room)
    started = And(view.performs["mremap"], Not(no_record))
    move_ok = And(started, move, Or(spans, Not(past_record)))
    alias_ok = And(started, alias, Not(alias_private))
    source = [Cell(*(select([getattr(c, f) for c in here], args.page + q, getattr(here[-1], f))
                     for f in CELL_FIELDS)) for q in range(pages)]   # page page+q of a move
    record = source[0]                                               # the cell at the place
    return Effect(code=[(Or(no_record, efault), "EFAULT"), (einval, "EINVAL"),
                        (enomem, "ENOMEM"), (TRUE, "ok")],
                  grow=grow, new_len=new_len, old_len=old_len, old_kept=old_kept, spans=spans,
                  shrink=shrink, trunc=trunc, cuts=And(started, Or(shrink, trunc)),
                  move_ok=move_ok, binds_ok=Or(move_ok, alias_ok),
                  grow_ok=And(started, grow, Not(shrink), Not(enomem), Not(efault)),
                  record=record, source=source)
