"""The twins of the SysV shared memory operations: shmget, shmat, shmdt, shmctl (semantics.py's
functions of the same names). The core has one key name besides IPC_PRIVATE (core.py)."""
from __future__ import annotations

import z3

from ..core import KIND_SYSV
from ..predicates import segment_pages
from ..step_view import StepView
from ..terms import BYTE_BITS, COUNT_BITS, FALSE, INDEX_BITS, TRUE, count, first_true, num, select
from .effect import Effect

And, Or, Not, If, Implies = z3.And, z3.Or, z3.Not, z3.If, z3.Implies


def shmget(view: StepView) -> Effect:
    """R18, R21-R23: the live segment with the key, if any: ENOENT without it and IPC_CREAT,
    EEXIST with it and IPC_CREAT|IPC_EXCL, EINVAL if it is smaller than asked; else the same
    segment (its first handle is the result), or a new one."""
    before, args, segments = view.before, view.args, view.scope.segments
    keyed = [And(z3.ULT(g, before.nsegs), before.seg_key[g], Not(before.seg_destroyed[g]))
             for g in range(segments)]
    found = And(args.key, Or(keyed)) if segments else FALSE
    existing = first_true(keyed)                  # (segments: none)
    existing_size = select(before.seg_size, existing, num(0))
    enoent = And(Not(found), args.key, Not(args.creat))
    eexist = And(found, args.creat, args.excl)
    einval = And(found, Not(eexist), z3.UGT(args.size, existing_size))
    same = And(found, Not(eexist), Not(einval))
    creates = And(view.performs["shmget"], Not(found), Not(enoent))
    first_handle = num(0)
    for h in reversed(range(segments)):
        first_handle = If(before.handle_seg[h] == existing, num(h), first_handle)
    return Effect(code=[(enoent, "ENOENT"), (eexist, "EEXIST"), (einval, "EINVAL"),
                        (same, "same"), (TRUE, "new")],
                  creates=creates, same=same, found_by_key=And(view.performs["shmget"], same),
                  segment=If(creates, before.nsegs,
                             If(And(view.performs["shmget"], same), existing, view.no_segment)),
                  handle=z3.ZeroExt(BYTE_BITS - INDEX_BITS, first_handle))


def shmat(view: StepView) -> Effect:
    """R14, R19, R20, R24, R28: EINVAL unless the handle names a live segment (a removed one
    is attachable on Linux only); the attach maps the whole segment at the handle's slot."""
    before, segments = view.before, view.scope.segments
    fails = Or(Not(view.sid_live), And(view.sid_removed, not view.profile.attach_removed_segment))
    return Effect(code=[(fails, "EINVAL"), (TRUE, "ok")],
                  ok=And(view.performs["shmat"], Not(fails)),
                  pages=(segment_pages(select(before.seg_size, view.sid, num(0))) if segments
                         else num(0)))


def shmdt(view: StepView) -> Effect:
    """R25, R31, as semantics.shmdt: only at the slot's start when the slot maps its segment
    from page 0 (else EINVAL); it detaches the first record, and every later one that ends
    within the segment's size (a record grown by mremap past it stays)."""
    args, pages, here = view.args, view.scope.pages, view.here
    has_attach = And(view.kind == KIND_SYSV, Or([c.mapped for c in here]))
    ok = And(view.performs["shmdt"], args.page == 0, view.pgoff == 0, has_attach)
    size = segment_pages(view.seg_size_of_slot)
    in_first_record, fits_from, record_fits = [], [None] * pages, []
    for q in range(pages):
        before = Or([here[q2].mapped for q2 in range(q)]) if q else FALSE
        in_first_record.append(And(here[q].mapped, If(here[q].start, Not(before),
                                                      in_first_record[q - 1] if q else FALSE)))
    for q in reversed(range(pages)):   # the record from q on ends within the segment
        fits_from[q] = And(z3.ULT(q, size), Or(Not(view.continues(q + 1)),
                                               fits_from[q + 1] if q + 1 < pages else TRUE))
    for q in range(pages):
        record_fits.append(If(here[q].start, fits_from[q], record_fits[q - 1] if q else FALSE))
    return Effect(code=[(ok, "ok"), (TRUE, "EINVAL")],
                  detaches=[And(ok, here[q].mapped, Or(in_first_record[q], record_fits[q]))
                            for q in range(pages)])


def shmctl(view: StepView) -> Effect:
    """R17, R19, R20, R28, R30: EINVAL unless the handle names a live segment; IPC_RMID
    removes it (destroyed at its last detach); IPC_STAT gives its size, its attach count
    (records, or fragments under posix), SHM_DEST and the key. R17 (POSIX): IPC_STAT of a
    removed segment may fail (the alternative)."""
    before, args, scope, profile = view.before, view.args, view.scope, view.profile
    sid = view.sid

    def attaches(k):
        return And(before.slot_kind[k] == KIND_SYSV, before.slot_seg[k] == sid)
    if profile.nattch_counts_fragments:
        nattch = count([And(c.mapped, c.start, attaches(k)) for p in range(scope.processes)
                        for k in range(scope.mappings) for c in before.cells[p][k]])
    else:
        nattch = count([And(Or([c.mapped for c in before.cells[p][k]]), attaches(k))
                        for p in range(scope.processes) for k in range(scope.mappings)])
    may_fail = (And(Not(args.rmid), view.sid_removed, args.alternative)
                if profile.removed_stat_may_fail else FALSE)
    einval = Or(Not(view.sid_live), may_fail)
    stat = And(view.performs["shmctl"], Not(args.rmid), Not(einval))
    keyed = select(before.seg_key, sid, FALSE)
    size = select(before.seg_size, sid, num(0))

    def stat_result(result) -> list:
        """IPC_STAT's fields in ``result`` (zero for any other step)."""
        cs = [result.nattch == If(stat, nattch, num(0, COUNT_BITS)),
              result.segsz == If(stat, size, num(0))]
        if profile.removed_stat_may_fail:
            # R17 (POSIX): a removed segment may show SHM_DEST or not, and the old key or
            # IPC_PRIVATE; both as on Linux everywhere else
            removed_stat = And(stat, view.sid_removed)
            old_key = select(before.seg_oldkey, sid, FALSE)
            return cs + [Implies(Not(removed_stat), result.dest == FALSE),
                         If(removed_stat, Implies(result.key, old_key),
                            result.key == And(stat, keyed))]
        return cs + [result.dest == And(stat, view.sid_removed), result.key == And(stat, keyed)]
    return Effect(code=[(einval, "EINVAL"), (args.rmid, "ok"), (TRUE, "stat")],
                  alternatives=[And(view.performs["shmctl"], Not(args.rmid), view.sid_live,
                                    view.sid_removed)],
                  removes=And(view.performs["shmctl"], args.rmid, Not(einval)),
                  stat_result=stat_result)
