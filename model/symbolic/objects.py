"""Backing objects in the flat encoding: the object table (files, memfds, POSIX shm objects)
and every process's descriptors, for ``open``, ``close``, ``ftruncate``, ``pread``, ``pwrite``,
``shm_unlink``, ``seal`` and ``mmap`` of a descriptor (semantics.py's functions of the same
names; the rules cite the catalogue as they do there).

The state (encoding.SymState), all of it booleans and narrow bit-vectors:

- ``nfds`` descriptor handles bound, ``nobjs`` objects made (an object is made only by an
  ``open``, so ``nobjs <= nfds <= scope.objects``);
- per handle ``fd_obj`` (its object, or ``scope.objects`` when the open failed or was not
  performed) and ``fd_rdonly``; ``fd_open[p][h]``: process p has the descriptor open (fork
  copies the descriptors; exit, a fatal signal and exec close them: the case format opens
  descriptors close-on-exec);
- per object ``obj_kind`` (core.OBJECT_KINDS), ``obj_named`` (its name finds it: a file always,
  a POSIX shm object until ``shm_unlink`` (R46), a memfd never), ``obj_size`` in pages (core.py:
  with byte-0 accesses and whole-page lengths an object's size is exactly its page count),
  ``obj_sealed`` (F_SEAL_WRITE, R47) and ``obj_page[o][q]``, byte 0 of its page q: 0 at and
  past the size, because truncation throws those pages away and growth adds zeros (R03, R08).

A slot that maps an object (core.KIND_OBJ_SHARED, KIND_OBJ_PRIVATE) names it in ``slot_obj``.
A private object page reads the object's page until it is written (R13: it keeps following the
object), then its own copy (the cell's ``cow`` and ``val``, R11, R12) until MADV_DONTNEED (R37)
or a truncation past it (R08) throws the copy away. ``object_step`` gives the guards and values
of one step; ``object_constraints`` ties the next state's object table and descriptors to them.
The cells' side (private copies) stays in encoding.transition, which owns the cells.
"""
from __future__ import annotations

from dataclasses import dataclass

import z3

from ..profiles import Profile
from .core import KIND_OBJ_SHARED, OBJ_MEMFD, OBJ_SHM, R, SymbolicScope

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If

IDX, VAL, RC = 4, 8, 5     # bits of an index, a byte, a result code (as encoding.py)


def _num(n, bits=IDX):
    return z3.BitVecVal(n, bits)


def _select(items: list, index, default):
    out = default
    for i in reversed(range(len(items))):
        out = If(index == i, items[i], out)
    return out


def object_value(s, sc: SymbolicScope, obj, page):
    """Byte 0 of page ``page`` of object ``obj`` (0 past the table)."""
    return _select([_select([s.obj_page[o][q] for o in range(sc.objects)], obj, _num(0, VAL))
                    for q in range(sc.pages)], page, _num(0, VAL))


def writably_mapped(s, sc: SymbolicScope, obj):
    """Some live process maps the object shared with write permission (VM_SHARED|VM_MAYWRITE):
    what makes F_SEAL_WRITE fail with EBUSY (R47). Only live processes map anything."""
    return Or([And(s.cells[p][k][q].mapped, s.slot_kind[k] == KIND_OBJ_SHARED, s.slot_obj[k] == obj,
                   Not(s.slot_rdonly[k]))
               for p in range(sc.processes) for k in range(sc.mappings) for q in range(sc.pages)])


@dataclass
class ObjectStep:
    """The terms of one step that concern descriptors and objects."""
    fd_obj: z3.BitVecRef         # the object of the step's descriptor handle (none: objects)
    fd_rdonly: z3.BoolRef
    fd_open: z3.BoolRef          # the descriptor is open in the acting process
    open_found: z3.BoolRef       # open found an existing object by its name
    open_create: z3.BoolRef      # open made a new object
    open_ok: z3.BoolRef
    open_obj: z3.BitVecRef
    close_ok: z3.BoolRef
    trunc_ok: z3.BoolRef
    trunc_shrinks: z3.BoolRef
    trunc_drops: z3.BoolRef      # the truncation throws away private copies past the new end
    pwrite_ok: z3.BoolRef
    unlink_ok: z3.BoolRef
    unlink_obj: z3.BitVecRef
    seal_ok: z3.BoolRef
    map_ok: z3.BoolRef           # mmap of the descriptor succeeds
    map_nowrite: z3.BoolRef      # ... and the mapping may never be made writable
    store: z3.BoolRef            # a byte is stored into an object page (a mapping or pwrite)
    store_obj: z3.BitVecRef
    store_page: z3.BitVecRef
    value: z3.BitVecRef          # what a pread returns
    code: dict                   # result code of each descriptor operation (and mmap of an fd)


def object_step(s, a, sc: SymbolicScope, profile: Profile, *, pid, L: dict, map_store,
                map_store_obj, map_store_page) -> ObjectStep:
    """The guards and values of step ``a`` from ``s`` for the object operations. ``map_store``:
    the step stores through a shared object mapping, into ``map_store_obj``'s page
    ``map_store_page`` (encoding.transition works that out with the other accesses)."""
    P, O = sc.processes, sc.objects
    F_ = z3.BoolVal(False)
    NONE = _num(O)
    fd_obj = _select(s.fd_obj, a.fd, NONE)
    fd_rdonly = _select(s.fd_rdonly, a.fd, F_)
    fd_open = _select([_select([s.fd_open[p][h] for p in range(P)], pid, F_) for h in range(O)],
                      a.fd, F_)
    obj_kind = _select(s.obj_kind, fd_obj, _num(0, 2))
    size = _select(s.obj_size, fd_obj, _num(0))
    sealed = _select(s.obj_sealed, fd_obj, F_)

    # open (R46): a memfd is always new; a file or POSIX shm object is found by its name
    memfd = a.okind == OBJ_MEMFD
    named = [And(z3.ULT(o, s.nobjs), s.obj_named[o], s.obj_kind[o] == a.okind) for o in range(O)]
    found = And(Not(memfd), Or(named)) if O else F_
    existing = _first(named)       # the one named object of the kind (O: none)
    enoent = And(Not(found), Not(memfd), Not(a.creat))
    eexist = And(found, a.creat, a.excl)
    open_ok = And(L["open"], Not(enoent), Not(eexist))
    open_create = And(open_ok, Not(found))

    # ftruncate (R03, R08): EBADF, EINVAL on a read-only descriptor; a shrink throws the pages
    # past the new end away, and the private copies of them too (POSIX: those may survive)
    trunc_ok = And(L["ftruncate"], fd_open, Not(fd_rdonly))
    shrinks = z3.ULT(a.length, size)
    keep_copies = a.nd if profile.private_copy_beyond_eof_may_survive else F_
    trunc_drops = And(trunc_ok, shrinks, Not(keep_copies))

    # pwrite (R12, R47): EBADF on a read-only descriptor, EPERM once write-sealed
    pw_ebadf = Or(Not(fd_open), fd_rdonly)
    pw_eperm = And(Not(pw_ebadf), sealed)
    pwrite_ok = And(L["pwrite"], Not(pw_ebadf), Not(pw_eperm))

    # shm_unlink (R46): the name goes, the object stays for whoever maps or holds it
    shm_named = [And(z3.ULT(o, s.nobjs), s.obj_named[o], s.obj_kind[o] == OBJ_SHM) for o in range(O)]
    unlink_found = Or(shm_named) if O else F_
    unlink_obj = _first(shm_named)

    # seal (R47): only a memfd (files and POSIX shm objects carry F_SEAL_SEAL) through a
    # writable descriptor; EBUSY while a shared writable mapping of it exists
    sl_eperm = And(fd_open, Or(obj_kind != OBJ_MEMFD, fd_rdonly))
    sl_ebusy = And(fd_open, Not(sl_eperm), writably_mapped(s, sc, fd_obj))
    seal_ok = And(L["seal"], fd_open, Not(sl_eperm), Not(sl_ebusy))

    # mmap of a descriptor (C01, R47): a shared writable mapping needs a writable descriptor
    # (EACCES) and an unsealed object (EPERM); a shared mapping that cannot write never may
    writable = a.prot == 0
    mm_eacces = And(fd_open, a.shared, fd_rdonly, writable)
    mm_eperm = And(fd_open, a.shared, sealed, writable, Not(fd_rdonly))
    map_ok = And(L["mmap"], a.fdmap, fd_open, Not(mm_eacces), Not(mm_eperm))

    store = Or(map_store, pwrite_ok)
    code = {
        "open": If(enoent, _rc("ENOENT"), If(eexist, _rc("EEXIST"), _rc("ok"))),
        "close": If(fd_open, _rc("ok"), _rc("EBADF")),
        "ftruncate": If(Not(fd_open), _rc("EBADF"), If(fd_rdonly, _rc("EINVAL"), _rc("ok"))),
        "pread": If(Not(fd_open), _rc("EBADF"), If(z3.UGE(a.page, size), _rc("eof"), _rc("value"))),
        "pwrite": If(pw_ebadf, _rc("EBADF"), If(pw_eperm, _rc("EPERM"), _rc("ok"))),
        "shm_unlink": If(unlink_found, _rc("ok"), _rc("ENOENT")),
        "seal": If(Not(fd_open), _rc("EBADF"), If(sl_eperm, _rc("EPERM"),
                                                  If(sl_ebusy, _rc("EBUSY"), _rc("ok")))),
        "mmap": If(Not(fd_open), _rc("EBADF"), If(mm_eacces, _rc("EACCES"),
                                                  If(mm_eperm, _rc("EPERM"), _rc("ok")))),
    }
    return ObjectStep(
        fd_obj=fd_obj, fd_rdonly=fd_rdonly, fd_open=fd_open, open_found=found,
        open_create=open_create, open_ok=open_ok, open_obj=If(found, existing, s.nobjs),
        close_ok=And(L["close"], fd_open), trunc_ok=trunc_ok, trunc_shrinks=shrinks,
        trunc_drops=trunc_drops, pwrite_ok=pwrite_ok,
        unlink_ok=And(L["shm_unlink"], unlink_found), unlink_obj=unlink_obj, seal_ok=seal_ok,
        map_ok=map_ok, map_nowrite=And(a.shared, Or(fd_rdonly, sealed)),
        store=store, store_obj=If(pwrite_ok, fd_obj, map_store_obj),
        store_page=If(pwrite_ok, a.page, map_store_page),
        value=object_value(s, sc, fd_obj, a.page), code=code)


def _rc(name: str):
    return _num(R[name], RC)


def _first(conds: list):
    """The index of the first true condition (len(conds) if none), as an If chain."""
    out = _num(len(conds))
    for i in reversed(range(len(conds))):
        out = If(conds[i], _num(i), out)
    return out


def object_constraints(s, a, n, sc: SymbolicScope, os: ObjectStep, *, is_: dict, pid, pid_eq: list,
                       child_here: list, closes: list, punched) -> list:
    """The next state's descriptors and object table. ``child_here[p]``: process p is the
    child this step forks; ``closes[p]``: process p loses its descriptors (exit, a fatal
    signal, exec); ``punched(o, q)``: MADV_REMOVE punches page q of object o (R39)."""
    P, O, Q = sc.processes, sc.objects, sc.pages
    T_, F_ = z3.BoolVal(True), z3.BoolVal(False)
    NONE = _num(O)
    cs = [n.nfds == If(is_["open"], s.nfds + 1, s.nfds),
          n.nobjs == If(os.open_create, s.nobjs + 1, s.nobjs)]
    for h in range(O):
        bound = And(is_["open"], s.nfds == h)     # a failed or dead open binds a handle too
        cs += [n.fd_obj[h] == If(bound, If(os.open_ok, os.open_obj, NONE), s.fd_obj[h]),
               n.fd_rdonly[h] == If(bound, And(os.open_ok, a.rdonly), s.fd_rdonly[h]),
               n.fd_byname[h] == If(bound, And(os.open_ok, os.open_found), s.fd_byname[h])]
        parent = _select([s.fd_open[p][h] for p in range(P)], pid, F_)   # a fork child's
        for p in range(P):
            cs.append(n.fd_open[p][h] == If(
                closes[p], F_, If(child_here[p], parent,
                                  If(And(bound, os.open_ok, pid_eq[p]), T_,
                                     If(And(os.close_ok, pid_eq[p], a.fd == h), F_, s.fd_open[p][h])))))
    grows_to = a.page + 1
    for o in range(O):
        born = And(os.open_create, s.nobjs == o)
        truncated = And(os.trunc_ok, os.fd_obj == o)
        pwritten = And(os.pwrite_ok, os.fd_obj == o)
        cs += [n.obj_kind[o] == If(born, a.okind, s.obj_kind[o]),
               n.obj_named[o] == If(born, a.okind != OBJ_MEMFD,
                                    And(s.obj_named[o], Not(And(os.unlink_ok, os.unlink_obj == o)))),
               n.obj_sealed[o] == If(born, F_, Or(s.obj_sealed[o], And(os.seal_ok, os.fd_obj == o))),
               n.obj_size[o] == If(born, _num(0), If(truncated, a.length,
                                   If(And(pwritten, z3.UGE(a.page, s.obj_size[o])), grows_to,
                                      s.obj_size[o])))]
        for q in range(Q):
            stored = And(os.store, os.store_obj == o, os.store_page == q)
            # R03, R08: the pages at and past the new size go (past the old one there are none)
            gone = Or(punched(o, q), And(truncated, z3.UGE(q, a.length)))
            cs += [n.obj_page[o][q] == If(born, _num(0, VAL), If(stored, a.value,
                                          If(gone, _num(0, VAL), s.obj_page[o][q]))),
                   n.obj_by_fd[o][q] == If(born, F_, If(stored, is_["pwrite"],
                                           If(gone, F_, s.obj_by_fd[o][q])))]
    return cs
