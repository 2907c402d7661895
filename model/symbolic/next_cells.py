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

from .core import KIND_OBJ_PRIVATE, KIND_PRIVATE, KIND_SYSV, PROTS
from .encoding import SymState
from .step_view import StepView
from .terms import AVID_BITS, BYTE_BITS, FALSE, TRUE, num, select

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If
PROT_RW = PROTS.index("rw")


def moved_boundaries(view: StepView, changes: list) -> tuple:
    """Where a SysV record boundary at q goes because the kernel moves it instead of splitting
    (address_space._modify_attach: vma_merge expands one piece and shrinks the other):
    (a) the record starting at q is changed from its start to a range end inside it, and the
    record before it then equals it; (b) the record ending at q is changed from inside it to
    its end, and the record after it is unchanged and equals it."""
    args, pages, here, end = view.args, view.scope.pages, view.here, view.end
    ends_inside = [And([z3.ULT(end, pages)] + [Or(z3.ULT(end, j), view.continues(j))
                                               for j in range(q + 1, pages)])
                   for q in range(pages)]
    starts_inside = [And([z3.ULT(0, args.page), z3.ULT(args.page, q)] +
                         [Or(z3.ULT(j, args.page), view.continues(j)) for j in range(1, q)])
                     for q in range(pages)]
    at_range_end = [FALSE] + [And(changes[q], here[q].start, ends_inside[q])
                              for q in range(1, pages)]
    at_range_start = [FALSE] + [And(changes[q - 1], Not(changes[q]), here[q].mapped,
                                    here[q].start, starts_inside[q]) for q in range(1, pages)]
    return at_range_end, at_range_start


def _events(view: StepView, effects: dict, dies: list, changes: list,
            p: int, k: int, q: int) -> SimpleNamespace:
    """What the step does to cell (p, k, q), by operation."""
    before, args, remap = view.before, view.args, effects["mremap"]
    act = And(view.pid_eq[p], view.slot_eq[k])         # the named slot of the acting process
    new_slot = And(before.nslots == k, view.pid_eq[p])  # the slot this step binds, if any
    cell = before.cells[p][k][q]
    parent = view.mine[k][q]                            # the cell a fork child copies
    source = remap.source[q]
    made_by_map = And(new_slot, Or(And(effects["mmap"].ok, z3.ULT(q, args.length)),
                                   And(effects["shmat"].ok, z3.ULT(q, effects["shmat"].pages))))
    # mremap's destination (a move spanning records leaves the gaps between them gaps)
    made_by_remap = And(new_slot, remap.binds_ok, z3.ULT(q, remap.new_len),
                        Or(Not(remap.spans), source.mapped))
    old_end, new_end = args.page + remap.old_len, args.page + remap.new_len
    grown = And(remap.grow_ok, act, z3.ULE(old_end, q), z3.ULT(q, new_end))
    remapped_away = And(act, Or(
        And(remap.cuts, z3.ULE(new_end, q), z3.ULT(q, old_end)),
        And(remap.move_ok, z3.ULE(args.page, q), z3.ULT(q, args.page + remap.old_kept))))
    gone = Or(dies[p], effects["exec"].replaces[p],
              And(effects["munmap"].ok, act, view.in_range[q]),
              And(effects["shmdt"].detaches[q], act), remapped_away)
    # a record is split where a range starts or ends inside it (split_at)
    split = And(act, cell.mapped, Or(
        And(changes[q], args.page == q),
        And(changes[q - 1], view.end == q) if q else FALSE,
        And(effects["munmap"].ok, view.end == q),
        And(Or(And(remap.cuts, z3.ULT(remap.new_len, remap.old_len)), remap.move_ok),
            old_end == q)))
    accessed = And(act, args.page == q)
    mprotected = effects["mprotect"]
    return SimpleNamespace(
        act=act, cell=cell, parent=parent, source=source, made_by_map=made_by_map,
        made_by_remap=made_by_remap, from_source=And(remap.move_ok, z3.ULT(q, remap.old_kept)),
        grown=grown, gone=gone, made=Or(made_by_map, made_by_remap),
        child=effects["fork"].child_is[p], copied=And(parent.mapped, Not(parent.dontfork)),
        split=split, accessed=accessed,
        prot_changed=And(mprotected.ok, act, view.in_range[q], mprotected.before_hole[q]),
        advised=And(effects["madvise"].ok, act, view.in_range[q], cell.mapped),
        stored=And(effects["write"].ok, accessed),
        reclaimed=And(effects["read"].reclaimed, accessed))


def cells_after(view: StepView, effects: dict, dies: list, store: SimpleNamespace,
                after: SymState) -> list:
    """Constraints: the cells of ``after``. ``dies[p]``: process p ends in this step;
    ``store``: the step stores into an object page, and the private pages that may copy it
    first (transition.object_store)."""
    before, scope = view.before, view.scope
    changes = [Or(effects["mprotect"].changes[q], effects["madvise"].changes[q])
               for q in range(scope.pages)]
    at_range_end, at_range_start = moved_boundaries(view, changes)
    # ghost: forks since the slot was mapped into the acting process (a fork child's depth)
    parent_depth = [select([before.depth[p][k] for p in range(scope.processes)], view.pid)
                    for k in range(scope.mappings)]
    child_depth = [If(d == 2, num(2, 2), d + 1) for d in parent_depth]      # at most 2
    fork_starts = [_record_starts(view.mine[k]) for k in range(scope.mappings)]
    write_ids = [_first_write_anon_vmas(view.mine[k], k) for k in range(scope.mappings)]
    cs = []
    for p in range(scope.processes):
        for k in range(scope.mappings):
            raws, splits = [], []
            for q in range(scope.pages):
                events = _events(view, effects, dies, changes, p, k, q)
                events.fork_start = fork_starts[k][q]
                events.write_id = write_ids[k][q]
                joined = FALSE
                if q:
                    prev, next_cell = after.cells[p][k][q - 1], after.cells[p][k][q]
                    joined = And(events.act, prev.mapped, prev.prot == next_cell.prot,
                                 prev.dontfork == next_cell.dontfork, prev.wipe == next_cell.wipe,
                                 Or(at_range_end[q], at_range_start[q]))
                more, raw, split = _cell_after(view, effects, events, store, after, (p, k, q),
                                               joined)
                cs += more
                raws.append(raw)
                splits.append(split)
            cs += _records_and_anon_vmas(after.cells[p][k], raws, splits,
                                         after.slot_kind[k] == KIND_SYSV)
            # ghost: forks since the slot was mapped into this process
            mapped_here = And(before.nslots == k, view.pid_eq[p],
                              Or(effects["mmap"].ok, effects["shmat"].ok, effects["mremap"].binds_ok))
            cs.append(after.depth[p][k] == If(mapped_here, num(0, 2),
                                              If(effects["fork"].child_is[p],
                                                 child_depth[k], before.depth[p][k])))
    return cs


def _record_starts(cells: list) -> list:
    """For each page of a slot, the page where its record begins: what a fork child's record
    that gets an anon_vma of its own is known by (``avid``; address_space.fork_anon_vmas)."""
    out, at = [], num(0, AVID_BITS)
    for q, cell in enumerate(cells):
        at = If(cell.start, num(q, AVID_BITS), at)
        out.append(at)
    return out


# A new anon_vma a first write makes is known by slot * ID_SLOT + the first number j < pages that
# no page of the slot holds: the record written has none, so at most pages - 1 are held. Pages
# moved in from another slot hold numbers of that slot (a move makes a new slot), and those a
# fork gave are apart (``forkvma``), so a new anon_vma never takes the number of one in use.
ID_SLOT = 6


def _first_write_anon_vmas(cells: list, k: int) -> list:
    """For each page of slot ``k`` of the acting process (``cells``, before the step), the
    anon_vma a first write there gives its record (address_space.anon_vma_prepare, R30): the
    next record's, else the previous record's, when find_mergeable_anon_vma finds it reusable
    (adjacent, flags equal but for the protection: anon_vma_compatible; not a fork child's:
    reusable_anon_vma), else a new one, which no page of the slot holds yet (``ID_SLOT``)."""
    pages = len(cells)
    compatible = lambda a, b: And(a.dontfork == b.dontfork, a.wipe == b.wipe, a.acct == b.acct)
    reusable = lambda old, a, b: And(old.mapped, old.anonvma, Not(old.forkvma), compatible(a, b))
    next_ok, next_id = [FALSE] * pages, [num(0, AVID_BITS)] * pages
    for q in range(pages - 2, -1, -1):
        after_it = cells[q + 1]
        next_ok[q] = If(Not(after_it.mapped), FALSE,
                        If(after_it.start, reusable(after_it, cells[q], after_it), next_ok[q + 1]))
        next_id[q] = If(after_it.start, after_it.avid, next_id[q + 1])
    prev_ok, prev_id = [FALSE] * pages, [num(0, AVID_BITS)] * pages
    for q in range(1, pages):
        before_it = cells[q - 1]
        prev_ok[q] = If(cells[q].start, reusable(before_it, before_it, cells[q]), prev_ok[q - 1])
        prev_id[q] = If(cells[q].start, before_it.avid, prev_id[q - 1])
    fresh = num(k * ID_SLOT + pages - 1, AVID_BITS)
    for j in range(pages - 2, -1, -1):
        number = num(k * ID_SLOT + j, AVID_BITS)
        held = Or([And(c.anonvma, Not(c.forkvma), c.avid == number) for c in cells])
        fresh = If(held, fresh, number)
    return [If(next_ok[q], next_id[q], If(prev_ok[q], prev_id[q], fresh)) for q in range(pages)]


def _records_and_anon_vmas(cells: list, raws: list, splits: list, sysv) -> list:
    """The record starts and each cell's anon_vma (``anonvma``, ``forkvma``, ``avid``: the whole
    record's). ``raws[q]``: the anon_vma page q brings (written, kept through a split, a fork,
    a move: (has one, a fork's, which)); ``splits[q]``: its flags differ from the page before.
    Records join left to right as address_space.merged does: a page joins the record before it
    unless their flags differ, or both have anon_vmas and they differ, or one has a fork
    child's and the other none (is_mergeable_anon_vma, R30); a joined record holds the
    anon_vma of the part that had one."""
    cs, effective = [], []
    for q, cell in enumerate(cells):
        has, fork, which = raws[q]
        if q == 0:
            cs.append(cell.start == If(sysv, splits[q][1], cell.mapped))
            effective.append((has, fork, which))
            continue
        e_has, e_fork, e_which = effective[-1]
        differ = If(And(e_has, has), Or(e_fork != fork, e_which != which),
                    Or(And(e_fork, Not(has)), And(fork, Not(e_has))))
        cs.append(cell.start == If(sysv, splits[q][1],
                                   And(cell.mapped, Or(splits[q][0], differ))))
        effective.append((If(cell.start, has, Or(e_has, has)),
                          If(cell.start, fork, If(e_has, e_fork, fork)),
                          If(cell.start, which, If(e_has, e_which, which))))
    final = effective[-1]
    for q in range(len(cells) - 1, -1, -1):
        cell = cells[q]
        if q < len(cells) - 1:
            same = And(cells[q + 1].mapped, Not(cells[q + 1].start))
            final = tuple(If(same, f, e) for f, e in zip(final, effective[q]))
        has, fork, which = final
        cs += [cell.anonvma == And(cell.mapped, has), cell.forkvma == And(cell.mapped, has, fork),
               cell.avid == If(And(cell.mapped, has), which, num(0, AVID_BITS))]
    return cs


def _cell_after(view: StepView, effects: dict, events, store, after: SymState, where: tuple,
                joined) -> list:
    """The constraints on one cell of ``after`` (``where``: process, slot, page)."""
    p, k, q = where
    before, args, advice = view.before, view.args, effects["madvise"].advice
    cell, nxt, parent = events.cell, after.cells[p][k][q], events.parent
    record, source = effects["mremap"].record, events.source
    zero = num(0, BYTE_BITS)
    moved = lambda f: If(events.from_source, getattr(source, f), getattr(record, f))
    flag = lambda name: And(events.advised, advice[name])
    gone, made, child, copied, grown = (events.gone, events.made, events.child, events.copied,
                                        events.grown)
    by_map, by_remap = events.made_by_map, events.made_by_remap
    new_prot = If(view.performs["mmap"], args.prot,
                  If(view.performs["mremap"], moved("prot"),
                     If(args.rdonly, num(1, 2), num(0, 2))))
    cs = [nxt.mapped == If(gone, FALSE, If(made, TRUE, If(child, copied, Or(grown, cell.mapped)))),
          nxt.prot == If(gone, num(0, 2), If(made, new_prot, If(
              child, If(copied, parent.prot, num(0, 2)),
              If(grown, record.prot, If(events.prot_changed, args.prot, cell.prot)))))]
    # a SysV attach's record start stays unless the kernel moved that boundary (joined)
    sticky = If(gone, FALSE, If(made, z3.BoolVal(q == 0),
                                If(child, And(copied, parent.start),
                                   If(cell.start, Not(joined), events.split))))
    prev = after.cells[p][k][q - 1] if q else None
    # records merge when equal, and their anon_vmas allow it (_records_and_anon_vmas, R30)
    flags_differ = TRUE if q == 0 else Or(
        Not(prev.mapped), prev.prot != nxt.prot, prev.dontfork != nxt.dontfork,
        prev.wipe != nxt.wipe, prev.acct != nxt.acct)
    cs.append(nxt.dontfork == If(Or(gone, by_map, child), FALSE,
                                 If(by_remap, moved("dontfork"), If(grown, record.dontfork,
                                 If(flag("dontfork"), TRUE,
                                    If(flag("dofork"), FALSE, cell.dontfork))))))
    cs.append(nxt.wipe == If(Or(gone, by_map), FALSE, If(child, And(copied, parent.wipe),
                             If(by_remap, moved("wipe"), If(grown, record.wipe,
                             If(flag("wipeonfork"), TRUE,
                                If(flag("keeponfork"), FALSE, cell.wipe)))))))
    # a private page's own byte: a store gives it one (R11, R12); MADV_DONTNEED (R37) and a
    # truncation past it (R08) throw it away; POSIX may copy an object page before a store
    # into it (R13, the explicit choice args.snap)
    stored_private = And(events.stored, view.kind == KIND_PRIVATE)
    stored_copy = And(events.stored, view.kind == KIND_OBJ_PRIVATE)
    truncated = And(effects["ftruncate"].drops_copies, before.slot_kind[k] == KIND_OBJ_PRIVATE,
                    before.slot_obj[k] == view.fd_obj,
                    z3.UGE(before.slot_pgoff[k] + q, args.length))
    snapshot = And(store.may_snapshot[p][k][q], args.snap[p][k][q]) if args.snap else FALSE
    dropped = Or(flag("dontneed"), truncated)
    fresh = Or(gone, by_map, grown)
    from_source = events.from_source
    cs.append(nxt.val == If(fresh, zero, If(by_remap, If(from_source, source.val, zero),
                            If(child, If(And(copied, Not(parent.wipe)), parent.val, zero),
                               If(Or(stored_private, stored_copy), args.value,
                                  If(snapshot, store.old_value,
                                     If(Or(dropped, events.reclaimed), zero, cell.val)))))))
    cs.append(nxt.cow == If(fresh, FALSE, If(by_remap, And(from_source, source.cow),
                            If(child, And(copied, parent.cow),
                               If(Or(stored_copy, snapshot), TRUE,
                                  If(dropped, FALSE, cell.cow))))))
    cs.append(nxt.lazy == If(fresh, FALSE, If(by_remap, And(from_source, source.lazy),
                             If(child, And(copied, Not(parent.wipe), parent.lazy),
                                If(Or(stored_private, events.reclaimed, flag("dontneed")), FALSE,
                                   If(flag("free"), TRUE, cell.lazy))))))
    # VM_ACCOUNT (address_space._accounted): a private writable mapping is charged; mprotect
    # charges a private record it makes writable, and uncharges one it makes unwritable only
    # if it is anonymous and has no anon_vma
    private = Or(before.slot_kind[k] == KIND_PRIVATE, before.slot_kind[k] == KIND_OBJ_PRIVATE)
    new_acct = If(view.performs["mmap"], And(Not(args.shared), args.prot == PROT_RW),
                  If(view.performs["mremap"], moved("acct"), FALSE))
    protected_acct = If(args.prot == cell.prot, cell.acct,
                        If(args.prot == PROT_RW, private,
                           And(cell.acct, Or(before.slot_kind[k] != KIND_PRIVATE, cell.anonvma))))
    cs.append(nxt.acct == If(gone, FALSE, If(made, new_acct, If(child, And(copied, parent.acct),
                             If(grown, record.acct,
                                If(events.prot_changed, protected_acct, cell.acct))))))
    # anon_vma_fork: a child record with an anon_vma gets one of its own, known by the page
    # where its record began; a MADV_WIPEONFORK record starts without one (dup_mmap; R30, R41)
    forked = And(copied, parent.anonvma, Not(parent.wipe))
    anon_vma = If(gone, FALSE, If(made, And(view.performs["mremap"], moved("anonvma")),
                  If(child, forked, If(grown, record.anonvma,
                     Or(cell.anonvma, stored_private, stored_copy)))))
    fork_vma = If(gone, FALSE, If(made, And(view.performs["mremap"], moved("forkvma")),
                  If(child, forked, If(grown, record.forkvma, cell.forkvma))))
    # which anon_vma: a move's and a grow's carry theirs; a first write makes one or reuses
    # a neighbour's (events.write_id: address_space.anon_vma_prepare, R30)
    none = num(0, AVID_BITS)
    which = If(gone, none, If(made, If(view.performs["mremap"], moved("avid"), none), If(
        child, If(forked, events.fork_start, none), If(grown, record.avid, If(
            cell.anonvma, cell.avid, If(Or(stored_private, stored_copy), events.write_id,
                                        none))))))
    return cs, (anon_vma, fork_vma, which), (flags_differ, sticky)

