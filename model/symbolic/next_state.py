"""The next state's memory objects, slots, segments, descriptors, threads and processes, from
the operations' twins (the cells are next_cells.py's).

Each function returns the constraints tying one part of ``after`` to the step: a variable
changes only where an operation says so, and keeps its value otherwise (the frame condition).
"""
from __future__ import annotations

from types import SimpleNamespace

import z3

from .core import (KIND_ANON, KIND_NONE, KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, KIND_SYSV, OBJ_MEMFD)
from .encoding import SymState
from .step_view import StepView
from .terms import BYTE_BITS, KIND_BITS, num, select

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If
TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)


def binds_slot(v: StepView):
    """The step binds the next mapping handle (mmap, shmat, mremap move and alias)."""
    is_op = v.is_op
    return And(Not(is_op["nop"]), Or(is_op["mmap"], is_op["shmat"],
                                     And(is_op["mremap"], Not(v.args.mode == 0))))


def holes(v: StepView) -> list:
    """holes[o]: object page o is in the range of the step (where MADV_REMOVE punches, R39)."""
    pages = v.scope.pages
    return [Or([And(v.in_range[q], v.here[q].mapped, v.pgoff + q == o) for q in range(pages)])
            for o in range(pages)]


def memory_objects_after(v: StepView, e: dict, after: SymState) -> list:
    """Shared anonymous objects and segments: new ones are zero (R01, R02), a store changes a
    page, MADV_REMOVE punches a hole (R39)."""
    s, a, sc = v.before, v.args, v.scope
    pages = sc.pages
    punch = holes(v)
    zero = num(0, BYTE_BITS)
    cs = []
    for k in range(sc.mappings):
        fresh = And(binds_slot(v), s.nslots == k)
        mine = And(v.kind == KIND_ANON, v.anon_obj == k)
        for o in range(pages):
            hit = And(e["write"].ok, mine, v.acc_opg == o)
            punched = And(e["madvise"].removes, mine, punch[o])
            cs.append(after.anon[k][o] == If(fresh, zero, If(hit, a.value,
                                                             If(punched, zero, s.anon[k][o]))))
    for g in range(sc.segments):
        born = And(e["shmget"].creates, s.nsegs == g)
        mine = And(v.kind == KIND_SYSV, v.slot_seg == g)
        for o in range(pages):
            hit = And(e["write"].ok, mine, v.acc_opg == o)
            punched = And(e["madvise"].removes, mine, punch[o])
            cs.append(after.seg_page[g][o] == If(born, zero, If(hit, a.value,
                                                                If(punched, zero, s.seg_page[g][o]))))
    return cs


def descriptors_after(v: StepView, e: dict, closes: list, after: SymState) -> list:
    """The descriptor handles and which process holds each: open binds the next handle (also
    when it fails); fork copies the descriptors; exit, a fatal signal and exec (``closes``)
    close them; close closes one."""
    s, a, sc = v.before, v.args, v.scope
    opened = e["open"]
    cs = [after.nfds == If(v.is_op["open"], s.nfds + 1, s.nfds)]
    for h in range(sc.objects):
        bound = And(v.is_op["open"], s.nfds == h)
        cs += [after.fd_obj[h] == If(bound, If(opened.ok, opened.object, v.no_object), s.fd_obj[h]),
               after.fd_rdonly[h] == If(bound, And(opened.ok, a.rdonly), s.fd_rdonly[h]),
               after.fd_byname[h] == If(bound, And(opened.ok, opened.found), s.fd_byname[h])]
        parent = select([s.fd_open[p][h] for p in range(sc.processes)], v.pid, FALSE)
        for p in range(sc.processes):
            cs.append(after.fd_open[p][h] == If(
                closes[p], FALSE, If(e["fork"].child_is[p], parent,
                                     If(And(bound, opened.ok, v.pid_eq[p]), TRUE,
                                        If(And(e["close"].ok, v.pid_eq[p], a.fd == h), FALSE,
                                           s.fd_open[p][h])))))
    return cs


def backing_objects_after(v: StepView, e: dict, store, after: SymState) -> list:
    """The object table: open makes an object, shm_unlink takes its name (R46), seal seals it
    (R47), ftruncate sets its size and drops the pages past it (R03, R08), a store changes a
    page and pwrite past the end grows it; MADV_REMOVE punches a hole (R39). ``store``: the
    step stores into an object page (transition.py)."""
    s, a, sc = v.before, v.args, v.scope
    zero = num(0, BYTE_BITS)
    punch = holes(v)
    removes_shared = And(e["madvise"].removes, v.kind == KIND_OBJ_SHARED)
    cs = [after.nobjs == If(e["open"].creates, s.nobjs + 1, s.nobjs)]
    for o in range(sc.objects):
        born = And(e["open"].creates, s.nobjs == o)
        truncated = And(e["ftruncate"].ok, v.fd_obj == o)
        pwritten = And(e["pwrite"].ok, v.fd_obj == o)
        unlinked = And(e["shm_unlink"].ok, e["shm_unlink"].object == o)
        cs += [after.obj_kind[o] == If(born, a.okind, s.obj_kind[o]),
               after.obj_named[o] == If(born, a.okind != OBJ_MEMFD, And(s.obj_named[o], Not(unlinked))),
               after.obj_sealed[o] == If(born, FALSE,
                                         Or(s.obj_sealed[o], And(e["seal"].ok, v.fd_obj == o))),
               after.obj_size[o] == If(born, num(0), If(truncated, a.length,
                                       If(And(pwritten, z3.UGE(a.page, s.obj_size[o])), a.page + 1,
                                          s.obj_size[o])))]
        for q in range(sc.pages):
            stored = And(store.happens, store.object == o, store.page == q)
            # R03, R08: the pages at and past the new size go (past the old one there are none)
            gone = Or(And(removes_shared, v.slot_obj == o, punch[q]),
                      And(truncated, z3.UGE(q, a.length)))
            cs += [after.obj_page[o][q] == If(born, zero, If(stored, a.value,
                                                             If(gone, zero, s.obj_page[o][q]))),
                   after.obj_by_fd[o][q] == If(born, FALSE, If(stored, v.is_op["pwrite"],
                                                               If(gone, FALSE, s.obj_by_fd[o][q])))]
    return cs


def slots_after(v: StepView, e: dict, after: SymState) -> list:
    """What the slot a step binds maps (mmap, shmat, mremap move and alias), and the ghosts
    coverage reads: who mapped it, through a key or a name, a second time, after IPC_RMID."""
    s, a, sc = v.before, v.args, v.scope
    mmapped, attach, remap = e["mmap"], e["shmat"], e["mremap"]
    new_kind = If(mmapped.ok, mmapped.kind, If(attach.ok, num(KIND_SYSV, KIND_BITS),
                                              If(remap.binds_ok, v.kind, num(KIND_NONE, KIND_BITS))))
    # ghost: the process already maps the segment, or the object, elsewhere (R14)
    cells = [(k, v.mine[k][q]) for k in range(sc.mappings) for q in range(sc.pages)]
    segment_again = Or([And(c.mapped, s.slot_kind[k] == KIND_SYSV, s.slot_seg[k] == v.sid)
                        for k, c in cells])
    object_again = Or([And(c.mapped, Or(s.slot_kind[k] == KIND_OBJ_SHARED,
                                        s.slot_kind[k] == KIND_OBJ_PRIVATE),
                           s.slot_obj[k] == v.fd_obj) for k, c in cells])
    by_name = select(s.fd_byname, a.fd, FALSE)
    by_key = select(s.handle_bykey, a.handle, FALSE) if sc.segments else FALSE
    cs = []
    for k in range(sc.mappings):
        b = And(binds_slot(v), s.nslots == k)
        cs += [after.slot_kind[k] == If(b, new_kind, s.slot_kind[k]),
               after.slot_seg[k] == If(b, If(attach.ok, v.sid, If(And(remap.binds_ok, v.kind == KIND_SYSV),
                                                                  v.slot_seg, num(0))), s.slot_seg[k]),
               after.slot_rdonly[k] == If(b, Or(And(attach.ok, a.rdonly),
                                                And(mmapped.maps_object, mmapped.never_writes),
                                                And(remap.binds_ok, v.rdonly)), s.slot_rdonly[k]),
               after.slot_obj[k] == If(b, If(mmapped.maps_object, v.fd_obj,
                                             If(And(remap.binds_ok, v.maps_object), v.slot_obj, num(0))),
                                       s.slot_obj[k]),
               after.slot_pgoff[k] == If(b, If(remap.binds_ok, v.pgoff + a.page, num(0)), s.slot_pgoff[k]),
               after.slot_anon[k] == If(b, If(And(remap.binds_ok, v.kind == KIND_ANON), v.anon_obj,
                                              If(mmapped.makes_anon, num(k), num(0))), s.slot_anon[k]),
               after.anon_size[k] == If(b, If(mmapped.makes_anon, a.length, num(0)), s.anon_size[k]),
               after.slot_remap[k] == If(b, remap.binds_ok,
                                         Or(s.slot_remap[k], And(remap.grow_ok, a.slot == k))),
               after.slot_thread[k] == If(b, a.actor, s.slot_thread[k]),
               after.slot_bykey[k] == If(b, Or(And(attach.ok, by_key), And(mmapped.maps_object, by_name)),
                                         s.slot_bykey[k]),
               after.slot_rmid[k] == If(b, And(attach.ok, v.sid_removed), s.slot_rmid[k]),
               after.slot_alias[k] == If(b, Or(And(attach.ok, segment_again),
                                               And(mmapped.maps_object, object_again)), s.slot_alias[k])]
    cs.append(after.nslots == If(binds_slot(v), s.nslots + 1, s.nslots))
    return cs


def segments_after(v: StepView, e: dict, after: SymState) -> list:
    """Segment handles and segments: shmget binds the next handle (R21, R22); IPC_RMID removes
    the key (R17, R18); a removed segment is destroyed at its last detach (R20)."""
    s, a, sc = v.before, v.args, v.scope
    get, removes = e["shmget"], e["shmctl"].removes
    cs = []
    for h in range(sc.segments):
        b = And(v.is_op["shmget"], s.nhandles == h)
        cs += [after.handle_seg[h] == If(b, If(v.live, get.segment, v.no_segment), s.handle_seg[h]),
               after.handle_bykey[h] == If(b, get.found_by_key, s.handle_bykey[h])]
    cs.append(after.nhandles == If(v.is_op["shmget"], s.nhandles + 1, s.nhandles))
    cs.append(after.nsegs == If(get.creates, s.nsegs + 1, s.nsegs))
    for g in range(sc.segments):
        born = And(get.creates, s.nsegs == g)
        removed_now = And(removes, v.sid == g)
        removed = If(born, FALSE, Or(s.seg_removed[g], removed_now))
        attached = Or([And(after.cells[p][k][q].mapped, after.slot_kind[k] == KIND_SYSV,
                           after.slot_seg[k] == g)
                       for p in range(sc.processes) for k in range(sc.mappings) for q in range(sc.pages)])
        # the key before IPC_RMID, which POSIX's IPC_STAT may still show (R17)
        old_key = (If(born, FALSE, Or(s.seg_oldkey[g], And(removed_now, s.seg_key[g])))
                   if v.profile.removed_stat_may_fail else FALSE)
        cs += [after.seg_key[g] == If(born, a.key, And(s.seg_key[g], Not(removed_now))),
               after.seg_oldkey[g] == old_key,
               after.seg_removed[g] == removed,
               after.seg_destroyed[g] == If(born, FALSE, Or(s.seg_destroyed[g],
                                                            And(z3.ULT(g, s.nsegs), removed, Not(attached)))),
               after.seg_size[g] == If(born, a.size, s.seg_size[g])]
    return cs


def threads_after(v: StepView, e: dict, dies: list, after: SymState) -> list:
    """Threads and processes: fork and spawn bind the next thread (fork in a new process);
    thread_exit ends the thread, exit and a fatal signal the process, exec the other threads
    (R29, C04). ``t_pproc`` and ``t_ended`` follow the program's processes, as validate does."""
    s, a, sc = v.before, v.args, v.scope
    binds_thread = And(Not(v.is_op["nop"]), Or(e["fork"].binds_thread, e["spawn"].binds_thread))
    actor_pproc = select(s.t_pproc, a.actor)
    cs = []
    for t in range(sc.threads):
        b = And(binds_thread, s.nthreads == t)
        dies_t = Or([And(s.t_proc[t] == p, dies[p]) for p in range(sc.processes)])
        execed_away = And(v.performs["exec"], s.t_proc[t] == v.pid, a.actor != t)   # R29, C04
        same_program_process = And(z3.ULT(t, s.nthreads), s.t_pproc[t] == actor_pproc)
        cs += [after.t_alive[t] == If(b, v.live, And(s.t_alive[t], Not(dies_t), Not(execed_away),
                                                    Not(And(v.performs["thread_exit"], a.actor == t)))),
               after.t_proc[t] == If(b, If(v.live, If(v.is_op["fork"], s.nprocs, v.pid), num(0)),
                                     s.t_proc[t]),
               after.t_pproc[t] == If(b, If(v.is_op["fork"], s.npprocs, actor_pproc), s.t_pproc[t]),
               after.t_ended[t] == Or(s.t_ended[t], And(v.is_op["thread_exit"], a.actor == t),
                                      And(v.is_op["exit"], same_program_process),
                                      And(v.is_op["exec"], same_program_process, a.actor != t))]
    cs.append(after.nthreads == If(binds_thread, s.nthreads + 1, s.nthreads))
    cs.append(after.nprocs == If(v.performs["fork"], s.nprocs + 1, s.nprocs))
    cs.append(after.npprocs == If(v.is_op["fork"], s.npprocs + 1, s.npprocs))
    for p in range(sc.processes):
        cs.append(after.p_alive[p] == If(e["fork"].child_is[p], TRUE, And(s.p_alive[p], Not(dies[p]))))
    return cs
