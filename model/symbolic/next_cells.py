"""The next state's cells (process, slot, page): what every operation's twin does to the
page tables, combined per cell.

A cell either goes (exit, a fatal signal, exec, munmap, shmdt, the old range of an mremap), is
made (mmap, shmat, the new range of an mremap), is copied into a fork child, grows in place
(mremap grow), or keeps its attributes with the changes mprotect, madvise, a store and a read
of a reclaimed page make. Record boundaries (``start``) of a SysV attach are kept explicitly,
because its records never merge (R30); those of other memory follow from the neighbouring
cell, because equal neighbouring records merge again.
"""
from __future__ import annotations

from types import SimpleNamespace

import z3

from .core import KIND_OBJ_PRIVATE, KIND_PRIVATE, KIND_SYSV
from .encoding import CELL_FIELDS, Cell, SymState
from .step_view import StepView
from .terms import BYTE_BITS, num, select

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If
TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)


def moved_boundaries(v: StepView, changes: list) -> tuple:
    """Where a SysV record boundary at q goes because the kernel moves it instead of splitting
    (address_space._modify_attach: vma_merge expands one piece and shrinks the other):
    (a) the record starting at q is changed from its start to a range end inside it, and the
    record before it then equals it; (b) the record ending at q is changed from inside it to
    its end, and the record after it is unchanged and equals it."""
    a, pages, here, end = v.args, v.scope.pages, v.here, v.end
    ends_inside = [And([z3.ULT(end, pages)] + [Or(z3.ULT(end, j), v.continues(j))
                                               for j in range(q + 1, pages)])
                   for q in range(pages)]
    starts_inside = [And([z3.ULT(0, a.page), z3.ULT(a.page, q)] +
                         [Or(z3.ULT(j, a.page), v.continues(j)) for j in range(1, q)])
                     for q in range(pages)]
    at_range_end = [FALSE] + [And(changes[q], here[q].start, ends_inside[q]) for q in range(1, pages)]
    at_range_start = [FALSE] + [And(changes[q - 1], Not(changes[q]), here[q].mapped, here[q].start,
                                    starts_inside[q]) for q in range(1, pages)]
    return at_range_end, at_range_start


def _events(v: StepView, e: dict, dies: list, changes: list, p: int, k: int, q: int) -> SimpleNamespace:
    """What the step does to cell (p, k, q), by operation."""
    s, a, mr = v.before, v.args, e["mremap"]
    act = And(v.pid_eq[p], v.slot_eq[k])             # the named slot of the acting process
    new_slot = And(s.nslots == k, v.pid_eq[p])       # the slot this step binds, if any
    cell = s.cells[p][k][q]
    parent = Cell(*(select([getattr(s.cells[pp][k][q], f) for pp in range(v.scope.processes)],
                           v.pid) for f in CELL_FIELDS))
    source = mr.source[q]
    made_by_map = And(new_slot, Or(And(e["mmap"].ok, z3.ULT(q, a.length)),
                                   And(e["shmat"].ok, z3.ULT(q, e["shmat"].pages))))
    # mremap's destination (a move spanning records leaves the gaps between them gaps)
    made_by_remap = And(new_slot, mr.binds_ok, z3.ULT(q, mr.new_len), Or(Not(mr.spans), source.mapped))
    from_source = And(mr.move_ok, z3.ULT(q, mr.old_kept))
    grown = And(mr.grow_ok, act, z3.ULE(a.page + mr.old_len, q), z3.ULT(q, a.page + mr.new_len))
    remapped_away = And(act, Or(
        And(mr.cuts, z3.ULE(a.page + mr.new_len, q), z3.ULT(q, a.page + mr.old_len)),
        And(mr.move_ok, z3.ULE(a.page, q), z3.ULT(q, a.page + mr.old_kept))))
    gone = Or(dies[p], e["exec"].replaces[p], And(e["munmap"].ok, act, v.in_range[q]),
              And(e["shmdt"].detaches[q], act), remapped_away)
    # a record is split where a range starts or ends inside it (split_at)
    split = And(act, cell.mapped, Or(
        And(changes[q], a.page == q),
        And(changes[q - 1], v.end == q) if q else FALSE,
        And(e["munmap"].ok, v.end == q),
        And(Or(And(mr.cuts, z3.ULT(mr.new_len, mr.old_len)), mr.move_ok), a.page + mr.old_len == q)))
    accessed = And(act, a.page == q)
    return SimpleNamespace(
        act=act, cell=cell, parent=parent, source=source, made_by_map=made_by_map,
        made_by_remap=made_by_remap, from_source=from_source, grown=grown, gone=gone,
        made=Or(made_by_map, made_by_remap), child=e["fork"].child_is[p],
        copied=And(parent.mapped, Not(parent.dontfork)), split=split, accessed=accessed,
        prot_changed=And(e["mprotect"].ok, act, v.in_range[q], e["mprotect"].before_hole[q]),
        advised=And(e["madvise"].ok, act, v.in_range[q], cell.mapped),
        stored=And(e["write"].ok, accessed), reclaimed=And(e["read"].reclaimed, accessed))


def cells_after(v: StepView, e: dict, dies: list, store: SimpleNamespace, after: SymState) -> list:
    """Constraints: the cells of ``after``. ``dies[p]``: process p ends in this step;
    ``store``: the step stores into an object page (transition.py)."""
    s, a, sc = v.before, v.args, v.scope
    changes = [Or(e["mprotect"].changes[q], e["madvise"].changes[q]) for q in range(sc.pages)]
    at_range_end, at_range_start = moved_boundaries(v, changes)
    cs = []
    for p in range(sc.processes):
        for k in range(sc.mappings):
            for q in range(sc.pages):
                ev = _events(v, e, dies, changes, p, k, q)
                joined = FALSE
                if q:
                    prev, nc = after.cells[p][k][q - 1], after.cells[p][k][q]
                    joined = And(ev.act, prev.mapped, prev.prot == nc.prot,
                                 prev.dontfork == nc.dontfork, prev.wipe == nc.wipe,
                                 Or(at_range_end[q], at_range_start[q]))
                cs += _cell_after(v, e, ev, store, after, p, k, q, joined)
            # ghost: forks since the slot was mapped into this process
            parent_depth = select([s.depth[pp][k] for pp in range(sc.processes)], v.pid)
            mapped_here = And(s.nslots == k, v.pid_eq[p],
                              Or(e["mmap"].ok, e["shmat"].ok, e["mremap"].binds_ok))
            cs.append(after.depth[p][k] == If(mapped_here, num(0, 2),
                                              If(e["fork"].child_is[p],
                                                 If(parent_depth == 2, num(2, 2), parent_depth + 1),
                                                 s.depth[p][k])))
    return cs


def _cell_after(v: StepView, e: dict, ev, store, after: SymState, p, k, q, joined) -> list:
    s, a, mr, advice = v.before, v.args, e["mremap"], e["madvise"].advice
    c, nc, par, rec = ev.cell, after.cells[p][k][q], ev.parent, mr.record
    zero = num(0, BYTE_BITS)
    moved = lambda f: If(ev.from_source, getattr(ev.source, f), getattr(rec, f))
    new_prot = If(v.performs["mmap"], a.prot, If(v.performs["mremap"], moved("prot"),
                                                 If(a.rdonly, num(1, 2), num(0, 2))))
    cs = [nc.mapped == If(ev.gone, FALSE, If(ev.made, TRUE, If(ev.child, ev.copied,
                                                               Or(ev.grown, c.mapped)))),
          nc.prot == If(ev.gone, num(0, 2), If(ev.made, new_prot, If(
              ev.child, If(ev.copied, par.prot, num(0, 2)),
              If(ev.grown, rec.prot, If(ev.prot_changed, a.prot, c.prot)))))]
    # a SysV attach's record start stays unless the kernel moved that boundary (joined)
    sticky = If(ev.gone, FALSE, If(ev.made, z3.BoolVal(q == 0),
                                   If(ev.child, And(ev.copied, par.start),
                                      If(c.start, Not(joined), ev.split))))
    prev = after.cells[p][k][q - 1] if q else None
    derived = And(nc.mapped, TRUE if q == 0 else Or(
        Not(prev.mapped), prev.prot != nc.prot, prev.dontfork != nc.dontfork, prev.wipe != nc.wipe))
    cs.append(nc.start == If(after.slot_kind[k] == KIND_SYSV, sticky, derived))
    flag = lambda name: And(ev.advised, advice[name])
    cs.append(nc.dontfork == If(Or(ev.gone, ev.made_by_map, ev.child), FALSE,
                                If(ev.made_by_remap, moved("dontfork"), If(ev.grown, rec.dontfork,
                                If(flag("dontfork"), TRUE, If(flag("dofork"), FALSE, c.dontfork))))))
    cs.append(nc.wipe == If(Or(ev.gone, ev.made_by_map), FALSE, If(ev.child, And(ev.copied, par.wipe),
                            If(ev.made_by_remap, moved("wipe"), If(ev.grown, rec.wipe,
                            If(flag("wipeonfork"), TRUE, If(flag("keeponfork"), FALSE, c.wipe)))))))
    # a private page's own byte: a store gives it one (R11, R12); MADV_DONTNEED (R37) and a
    # truncation past it (R08) throw it away; POSIX may copy an object page before a store
    # into it (R13, the explicit choice args.snap)
    stored_private = And(ev.stored, v.kind == KIND_PRIVATE)
    stored_copy = And(ev.stored, v.kind == KIND_OBJ_PRIVATE)
    truncated = And(e["ftruncate"].drops_copies, s.slot_kind[k] == KIND_OBJ_PRIVATE,
                    s.slot_obj[k] == v.fd_obj, z3.UGE(s.slot_pgoff[k] + q, a.length))
    snapshot = And(snapshot_allowed(v, store, p, k, q), a.snap[p][k][q]) if a.snap else FALSE
    dropped = Or(flag("dontneed"), truncated)
    fresh = Or(ev.gone, ev.made_by_map, ev.grown)
    cs.append(nc.val == If(fresh, zero, If(ev.made_by_remap, If(ev.from_source, ev.source.val, zero),
                           If(ev.child, If(And(ev.copied, Not(par.wipe)), par.val, zero),
                              If(Or(stored_private, stored_copy), a.value,
                                 If(snapshot, store.old_value,
                                    If(Or(dropped, ev.reclaimed), zero, c.val)))))))
    cs.append(nc.cow == If(fresh, FALSE, If(ev.made_by_remap, And(ev.from_source, ev.source.cow),
                           If(ev.child, And(ev.copied, par.cow),
                              If(Or(stored_copy, snapshot), TRUE, If(dropped, FALSE, c.cow))))))
    cs.append(nc.lazy == If(fresh, FALSE, If(ev.made_by_remap, And(ev.from_source, ev.source.lazy),
                            If(ev.child, And(ev.copied, Not(par.wipe), par.lazy),
                               If(Or(stored_private, ev.reclaimed, flag("dontneed")), FALSE,
                                  If(flag("free"), TRUE, c.lazy))))))
    return cs


def snapshot_allowed(v: StepView, store, p: int, k: int, q: int):
    """POSIX (R13): cell (p, k, q) is an unwritten private page of the object page a store
    goes into, so it may take a copy of its own first."""
    s = v.before
    c = s.cells[p][k][q]
    return And(store.happens, c.mapped, Not(c.cow), s.slot_kind[k] == KIND_OBJ_PRIVATE,
               s.slot_obj[k] == store.object, s.slot_pgoff[k] + q == store.page)
