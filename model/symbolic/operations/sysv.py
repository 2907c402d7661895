"""The twins of the SysV shared memory operations: shmget, shmat, shmdt, shmctl (semantics.py's
functions of the same names). The core has one key name besides IPC_PRIVATE (core.py)."""
from __future__ import annotations

import z3

from ..core import KIND_SYSV
from ..predicates import segment_pages
from ..step_view import StepView
from ..terms import COUNT_BITS, INDEX_BITS, BYTE_BITS, count, first_true, num, select
from .effect import Effect

And, Or, Not, If, Implies = z3.And, z3.Or, z3.Not, z3.If, z3.Implies
TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)


def shmget(v: StepView) -> Effect:
    """R18, R21-R23: the live segment with the key, if any: ENOENT without it and IPC_CREAT,
    EEXIST with it and IPC_CREAT|IPC_EXCL, EINVAL if it is smaller than asked; else the same
    segment (its first handle is the result), or a new one."""
    s, a, segments = v.before, v.args, v.scope.segments
    keyed = [And(z3.ULT(g, s.nsegs), s.seg_key[g], Not(s.seg_destroyed[g])) for g in range(segments)]
    found = And(a.key, Or(keyed)) if segments else FALSE
    existing = first_true(keyed)                  # (segments: none)
    existing_size = select(s.seg_size, existing, num(0)) if segments else num(0)
    enoent = And(Not(found), a.key, Not(a.creat))
    eexist = And(found, a.creat, a.excl)
    einval = And(found, Not(eexist), z3.UGT(a.size, existing_size))
    same = And(found, Not(eexist), Not(einval))
    creates = And(v.performs["shmget"], Not(found), Not(enoent))
    first_handle = num(0)
    for h in reversed(range(segments)):
        first_handle = If(s.handle_seg[h] == existing, num(h), first_handle)
    return Effect(code=[(enoent, "ENOENT"), (eexist, "EEXIST"), (einval, "EINVAL"),
                        (same, "same"), (TRUE, "new")],
                  creates=creates, same=same, found_by_key=And(v.performs["shmget"], same),
                  segment=If(creates, s.nsegs,
                             If(And(v.performs["shmget"], same), existing, v.no_segment)),
                  handle=z3.ZeroExt(BYTE_BITS - INDEX_BITS, first_handle))


def shmat(v: StepView) -> Effect:
    """R14, R19, R20, R24, R28: EINVAL unless the handle names a live segment (a removed one
    is attachable on Linux only); the attach maps the whole segment at the handle's slot."""
    s, segments = v.before, v.scope.segments
    fails = Or(Not(v.sid_live), And(v.sid_removed, not v.profile.attach_removed_segment))
    return Effect(code=[(fails, "EINVAL"), (TRUE, "ok")],
                  ok=And(v.performs["shmat"], Not(fails)),
                  pages=segment_pages(select(s.seg_size, v.sid, num(0))) if segments else num(0))


def shmdt(v: StepView) -> Effect:
    """R25, R31, as semantics.shmdt: only at the slot's start when the slot maps its segment
    from page 0 (else EINVAL); it detaches the first record, and every later one that ends
    within the segment's size (a record grown by mremap past it stays)."""
    a, pages, here = v.args, v.scope.pages, v.here
    has_attach = And(v.kind == KIND_SYSV, Or([c.mapped for c in here]))
    ok = And(v.performs["shmdt"], a.page == 0, v.pgoff == 0, has_attach)
    size = segment_pages(v.seg_size_of_slot)
    in_first_record, fits_from, record_fits = [], [None] * pages, []
    for q in range(pages):
        before = Or([here[q2].mapped for q2 in range(q)]) if q else FALSE
        in_first_record.append(And(here[q].mapped, If(here[q].start, Not(before),
                                                      in_first_record[q - 1] if q else FALSE)))
    for q in reversed(range(pages)):   # the record from q on ends within the segment
        fits_from[q] = And(z3.ULT(q, size), Or(Not(v.continues(q + 1)),
                                               fits_from[q + 1] if q + 1 < pages else TRUE))
    for q in range(pages):
        record_fits.append(If(here[q].start, fits_from[q], record_fits[q - 1] if q else FALSE))
    return Effect(code=[(ok, "ok"), (TRUE, "EINVAL")],
                  detaches=[And(ok, here[q].mapped, Or(in_first_record[q], record_fits[q]))
                            for q in range(pages)])


def shmctl(v: StepView) -> Effect:
    """R17, R19, R20, R28, R30: EINVAL unless the handle names a live segment; IPC_RMID
    removes it (destroyed at its last detach); IPC_STAT gives its size, its attach count
    (records, or fragments under posix), SHM_DEST and the key. R17 (POSIX): IPC_STAT of a
    removed segment may fail (the alternative)."""
    s, a, sc, profile = v.before, v.args, v.scope, v.profile
    sid, segments = v.sid, sc.segments

    def attaches(k):
        return And(s.slot_kind[k] == KIND_SYSV, s.slot_seg[k] == sid)
    if profile.nattch_counts_fragments:
        nattch = count([And(c.mapped, c.start, attaches(k)) for p in range(sc.processes)
                        for k in range(sc.mappings) for c in s.cells[p][k]])
    else:
        nattch = count([And(Or([c.mapped for c in s.cells[p][k]]), attaches(k))
                        for p in range(sc.processes) for k in range(sc.mappings)])
    einval = Or(Not(v.sid_live),
                And(Not(a.rmid), v.sid_removed, a.alternative) if profile.removed_stat_may_fail else FALSE)
    stat = And(v.live, v.is_op["shmctl"], Not(a.rmid), Not(einval))
    keyed = select(s.seg_key, sid, FALSE) if segments else FALSE

    def stat_result(r) -> list:
        """IPC_STAT's fields in result ``r`` (zero for any other step)."""
        cs = [r.nattch == If(stat, nattch, num(0, COUNT_BITS)),
              r.segsz == If(stat, select(s.seg_size, sid, num(0)) if segments else num(0), num(0))]
        if profile.removed_stat_may_fail:
            # R17 (POSIX): a removed segment may show SHM_DEST or not, and the old key or
            # IPC_PRIVATE; both as on Linux everywhere else
            removed_stat = And(stat, v.sid_removed)
            old_key = select(s.seg_oldkey, sid, FALSE) if segments else FALSE
            return cs + [Implies(Not(removed_stat), r.dest == FALSE),
                         If(removed_stat, Implies(r.key, old_key), r.key == And(stat, keyed))]
        return cs + [r.dest == And(stat, v.sid_removed), r.key == And(stat, keyed)]
    return Effect(code=[(einval, "EINVAL"), (a.rmid, "ok"), (TRUE, "stat")],
                  alternatives=[And(v.performs["shmctl"], Not(a.rmid), v.sid_live, v.sid_removed)],
                  removes=And(v.performs["shmctl"], a.rmid, Not(einval)), stat_result=stat_result)
