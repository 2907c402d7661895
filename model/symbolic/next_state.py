"""The next state's memory objects, slots, segments, descriptors, threads and processes, from
the operations' twins (the cells are next_cells.py's).

Each function returns the constraints tying one part of ``after`` to the step: a variable
changes only where an operation says so, and keeps its value otherwise (the frame condition).
"""
from __future__ import annotations

import z3

from .core import (KIND_ANON, KIND_NONE, KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, KIND_SYSV, OBJ_MEMFD)
from .encoding import SymState
from .step_view import StepView
from .terms import BYTE_BITS, FALSE, KIND_BITS, TRUE, num, select

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If


def binds_slot(view: StepView):
    """The step binds the next mapping handle (mmap, shmat, mremap move and alias)."""
    is_op = view.is_op
    return Or(is_op["mmap"], is_op["shmat"], And(is_op["mremap"], view.args.mode != 0))


def memory_objects_after(view: StepView, effects: dict, after: SymState) -> list:
    """Shared anonymous objects and segments: new ones are zero (R01, R02), a store changes a
    page, MADV_REMOVE punches a hole (R39)."""
    before, scope = view.before, view.scope
    binds = binds_slot(view)
    cs = []
    for k in range(scope.mappings):
        cs += _pages_after(view, effects, And(binds, before.nslots == k),
                           And(view.kind == KIND_ANON, view.anon_obj == k),
                           before.anon[k], after.anon[k])
    for g in range(scope.segments):
        cs += _pages_after(view, effects, And(effects["shmget"].creates, before.nsegs == g),
                           And(view.kind == KIND_SYSV, view.slot_seg == g),
                           before.seg_page[g], after.seg_page[g])
    return cs


def _pages_after(view: StepView, effects: dict, fresh, mine, pages_before: list,
                 pages_after: list) -> list:
    """The pages of one memory object: zero when ``fresh``; where the named slot maps it
    (``mine``), a store changes a page and MADV_REMOVE punches a hole."""
    zero, advised = num(0, BYTE_BITS), effects["madvise"]
    cs = []
    for o, (page, nxt) in enumerate(zip(pages_before, pages_after)):
        hit = And(effects["write"].ok, mine, view.acc_opg == o)
        punched = And(advised.removes, mine, advised.holes[o])
        cs.append(nxt == If(fresh, zero, If(hit, view.args.value, If(punched, zero, page))))
    return cs


def descriptors_after(view: StepView, effects: dict, closes: list, after: SymState) -> list:
    """The descriptor handles and which process holds each: open binds the next handle (also
    when it fails); fork copies the descriptors; exit, a fatal signal and exec (``closes``)
    close them; close closes one."""
    before, args, scope = view.before, view.args, view.scope
    opened = effects["open"]
    cs = [after.nfds == If(view.is_op["open"], before.nfds + 1, before.nfds)]
    for h in range(scope.objects):
        bound = And(view.is_op["open"], before.nfds == h)
        cs += [after.fd_obj[h] == If(bound, If(opened.ok, opened.object, view.no_object), before.fd_obj[h]),
               after.fd_rdonly[h] == If(bound, And(opened.ok, args.rdonly), before.fd_rdonly[h]),
               after.fd_byname[h] == If(bound, And(opened.ok, opened.found), before.fd_byname[h])]
        for p in range(scope.processes):
            cs.append(after.fd_open[p][h] == If(
                closes[p], FALSE, If(effects["fork"].child_is[p], view.held[h],
                                     If(And(bound, opened.ok, view.pid_eq[p]), TRUE,
                                        If(And(effects["close"].ok, view.pid_eq[p], args.fd == h), FALSE,
                                           before.fd_open[p][h])))))
    return cs


def backing_objects_after(view: StepView, effects: dict, store, after: SymState) -> list:
    """The object table: open makes an object, shm_unlink takes its name (R46), seal seals it
    (R47), ftruncate sets its size and drops the pages past it (R03, R08), a store changes a
    page and pwrite past the end grows it; MADV_REMOVE punches a hole (R39). ``store``: the
    step stores into an object page (transition.py)."""
    before, args, scope = view.before, view.args, view.scope
    zero = num(0, BYTE_BITS)
    punch = effects["madvise"].holes
    removes_shared = And(effects["madvise"].removes, view.kind == KIND_OBJ_SHARED)
    cs = [after.nobjs == If(effects["open"].creates, before.nobjs + 1, before.nobjs)]
    for o in range(scope.objects):
        born = And(effects["open"].creates, before.nobjs == o)
        truncated = And(effects["ftruncate"].ok, view.fd_obj == o)
        pwritten = And(effects["pwrite"].ok, view.fd_obj == o)
        unlinked = And(effects["shm_unlink"].ok, effects["shm_unlink"].object == o)
        sealed = And(effects["seal"].ok, view.fd_obj == o)
        grown = And(pwritten, z3.UGE(args.page, before.obj_size[o]))
        cs += [after.obj_kind[o] == If(born, args.okind, before.obj_kind[o]),
               after.obj_named[o] == If(born, args.okind != OBJ_MEMFD,
                                        And(before.obj_named[o], Not(unlinked))),
               after.obj_sealed[o] == If(born, FALSE, Or(before.obj_sealed[o], sealed)),
               after.obj_size[o] == If(born, num(0), If(truncated, args.length,
                                                        If(grown, args.page + 1, before.obj_size[o])))]
        for q in range(scope.pages):
            stored = And(store.happens, store.object == o, store.page == q)
            # R03, R08: the pages at and past the new size go (past the old one there are none)
            gone = Or(And(removes_shared, view.slot_obj == o, punch[q]),
                      And(truncated, z3.UGE(q, args.length)))
            page, by_fd = before.obj_page[o][q], before.obj_by_fd[o][q]
            cs += [after.obj_page[o][q] == If(born, zero, If(stored, args.value,
                                                             If(gone, zero, page))),
                   after.obj_by_fd[o][q] == If(born, FALSE, If(stored, view.is_op["pwrite"],
                                                               If(gone, FALSE, by_fd)))]
            # R12 (posix): what read(2) may still show (model/read_lag.py); a pwrite, a
            # truncation, a hole and a pread that reads the page's byte bring the file in sync
            mapped_store = And(stored, Not(view.is_op["pwrite"]))
            read_in_sync = And(effects["pread"].syncs, view.fd_obj == o, args.page == q)
            lag = If(born, FALSE, If(mapped_store, effects["write"].file_lags,
                                     If(Or(stored, gone, read_in_sync), FALSE, before.obj_lag[o][q])))
            cs += [after.obj_lag[o][q] == lag,
                   after.obj_synced[o][q] == If(lag, If(mapped_store, effects["write"].file_shows,
                                                        before.obj_synced[o][q]), zero)]
    return cs


def slots_after(view: StepView, effects: dict, after: SymState) -> list:
    """What the slot a step binds maps (mmap, shmat, mremap move and alias), and the ghosts
    coverage reads: who mapped it, through a key or a name, a second time, after IPC_RMID."""
    before, args, scope = view.before, view.args, view.scope
    mmapped, attach, remap = effects["mmap"], effects["shmat"], effects["mremap"]
    new_kind = If(mmapped.ok, mmapped.kind,
                  If(attach.ok, num(KIND_SYSV, KIND_BITS),
                     If(remap.binds_ok, view.kind, num(KIND_NONE, KIND_BITS))))
    # ghost: the process already maps the segment, or the object, elsewhere (R14)
    cells = [(k, view.mine[k][q]) for k in range(scope.mappings) for q in range(scope.pages)]
    segment_again = Or([And(c.mapped, before.slot_kind[k] == KIND_SYSV,
                            before.slot_seg[k] == view.sid) for k, c in cells])
    object_again = Or([And(c.mapped, Or(before.slot_kind[k] == KIND_OBJ_SHARED,
                                        before.slot_kind[k] == KIND_OBJ_PRIVATE),
                           before.slot_obj[k] == view.fd_obj) for k, c in cells])
    by_name = select(before.fd_byname, args.fd, FALSE)
    by_key = select(before.handle_bykey, args.handle, FALSE)
    same_kind_remapped = lambda kind: And(remap.binds_ok, view.kind == kind)
    binds_any = binds_slot(view)
    cs = []
    for k in range(scope.mappings):
        binds = And(binds_any, before.nslots == k)
        bound = {
            "slot_kind": new_kind,
            "slot_seg": If(attach.ok, view.sid,
                           If(same_kind_remapped(KIND_SYSV), view.slot_seg, num(0))),
            "slot_rdonly": Or(And(attach.ok, args.rdonly),
                              And(mmapped.maps_object, mmapped.never_writes),
                              And(remap.binds_ok, view.rdonly)),
            "slot_obj": If(mmapped.maps_object, view.fd_obj,
                           If(And(remap.binds_ok, view.maps_object), view.slot_obj, num(0))),
            "slot_pgoff": If(remap.binds_ok, view.pgoff + args.page, num(0)),
            "slot_anon": If(same_kind_remapped(KIND_ANON), view.anon_obj,
                            If(mmapped.makes_anon, num(k), num(0))),
            "anon_size": If(mmapped.makes_anon, args.length, num(0)),
            "slot_thread": args.actor,
            "slot_bykey": Or(And(attach.ok, by_key), And(mmapped.maps_object, by_name)),
            "slot_rmid": And(attach.ok, view.sid_removed),
            "slot_alias": Or(And(attach.ok, segment_again), And(mmapped.maps_object, object_again)),
        }
        cs += [getattr(after, name)[k] == If(binds, value, getattr(before, name)[k])
               for name, value in bound.items()]
        cs.append(after.slot_remap[k] == If(binds, remap.binds_ok, Or(
            before.slot_remap[k], And(remap.grow_ok, args.slot == k))))
    cs.append(after.nslots == If(binds_any, before.nslots + 1, before.nslots))
    return cs


def segments_after(view: StepView, effects: dict, after: SymState) -> list:
    """Segment handles and segments: shmget binds the next handle (R21, R22); IPC_RMID removes
    the key (R17, R18); a removed segment is destroyed at its last detach (R20)."""
    before, args, scope = view.before, view.args, view.scope
    get, removes = effects["shmget"], effects["shmctl"].removes
    named = If(view.live, get.segment, view.no_segment)
    cs = []
    for h in range(scope.segments):
        binds = And(view.is_op["shmget"], before.nhandles == h)
        cs += [after.handle_seg[h] == If(binds, named, before.handle_seg[h]),
               after.handle_bykey[h] == If(binds, get.found_by_key, before.handle_bykey[h])]
    cs.append(after.nhandles == If(view.is_op["shmget"], before.nhandles + 1, before.nhandles))
    cs.append(after.nsegs == If(get.creates, before.nsegs + 1, before.nsegs))
    for g in range(scope.segments):
        born = And(get.creates, before.nsegs == g)
        removed_now = And(removes, view.sid == g)
        removed = If(born, FALSE, Or(before.seg_removed[g], removed_now))
        attached = Or([And(after.cells[p][k][q].mapped, after.slot_kind[k] == KIND_SYSV,
                           after.slot_seg[k] == g)
                       for p in range(scope.processes) for k in range(scope.mappings)
                       for q in range(scope.pages)])
        # the key before IPC_RMID, which POSIX's IPC_STAT may still show (R17)
        old_key = (If(born, FALSE, Or(before.seg_oldkey[g], And(removed_now, before.seg_key[g])))
                   if view.profile.removed_stat_may_fail else FALSE)
        cs += [after.seg_key[g] == If(born, args.key, And(before.seg_key[g], Not(removed_now))),
               after.seg_oldkey[g] == old_key,
               after.seg_removed[g] == removed,
               after.seg_destroyed[g] == If(born, FALSE, Or(
                   before.seg_destroyed[g], And(z3.ULT(g, before.nsegs), removed, Not(attached)))),
               after.seg_size[g] == If(born, args.size, before.seg_size[g])]
    return cs


def threads_after(view: StepView, effects: dict, dies: list, after: SymState) -> list:
    """Threads and processes: fork and spawn bind the next thread (fork in a new process);
    thread_exit ends the thread, exit and a fatal signal the process, exec the other threads
    (R29, C04). ``t_pproc`` and ``t_ended`` follow the program's processes, as validate does."""
    before, args, scope = view.before, view.args, view.scope
    binds_thread = Or(effects["fork"].binds_thread, effects["spawn"].binds_thread)
    actor_pproc = select(before.t_pproc, args.actor)
    # a new thread's process, and its process in the program (fork: the next ones)
    process = If(view.live, If(view.is_op["fork"], before.nprocs, view.pid), num(0))
    program_process = If(view.is_op["fork"], before.npprocs, actor_pproc)
    cs = []
    for t in range(scope.threads):
        binds = And(binds_thread, before.nthreads == t)
        dies_t = Or([And(before.t_proc[t] == p, dies[p]) for p in range(scope.processes)])
        execed_away = And(view.performs["exec"], before.t_proc[t] == view.pid, args.actor != t)
        exits = And(view.performs["thread_exit"], args.actor == t)
        same_program_process = And(z3.ULT(t, before.nthreads), before.t_pproc[t] == actor_pproc)
        cs += [after.t_alive[t] == If(binds, view.live, And(before.t_alive[t], Not(dies_t),
                                                            Not(execed_away), Not(exits))),
               after.t_proc[t] == If(binds, process, before.t_proc[t]),
               after.t_pproc[t] == If(binds, program_process, before.t_pproc[t]),
               after.t_ended[t] == Or(before.t_ended[t], And(view.is_op["thread_exit"], args.actor == t),
                                      And(view.is_op["exit"], same_program_process),
                                      And(view.is_op["exec"], same_program_process, args.actor != t))]
    cs.append(after.nthreads == If(binds_thread, before.nthreads + 1, before.nthreads))
    cs.append(after.nprocs == If(view.performs["fork"], before.nprocs + 1, before.nprocs))
    cs.append(after.npprocs == If(view.is_op["fork"], before.npprocs + 1, before.npprocs))
    for p in range(scope.processes):
        cs.append(after.p_alive[p] == If(effects["fork"].child_is[p], TRUE,
                                         And(before.p_alive[p], Not(dies[p]))))
    return cs
