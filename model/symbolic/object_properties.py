"""The properties' clauses about backing objects (files, memfds, POSIX shm objects) and their
descriptors, in the form induction.py proves: a step property is a function of a window of
steps from any well-formed state, giving (hypothesis, conclusion); a witness is a goal over an
unrolling from the initial state at step i.

- visibility between a descriptor and a mapping (R12, R13): what pwrite stores, a mapping of
  the page reads; what a shared mapping stores, pread reads;
- zero fill by ftruncate (R03): pages a truncation adds read 0, through a mapping or pread;
- exec closes every descriptor (the case format opens them close-on-exec);
- object lifetime (R46): after shm_unlink the name finds nothing and O_CREAT makes a new, empty
  object, while the old one stays shared by whoever maps it;
- sealing (R47): a write-sealed memfd's contents change only by truncation (which F_SEAL_WRITE
  does not forbid): pwrite, stores and MADV_REMOVE cannot reach it.
"""
from __future__ import annotations

import z3

from .core import KIND_OBJ_SHARED, OBJ_MEMFD, OBJ_SHM, OPS, R
from .terms import num, select
from .predicates import (fd_object, follows_object, holds_fd, is_value, object_page, readable)

And, Or, Not, Implies, If = z3.And, z3.Or, z3.Not, z3.Implies, z3.If
F_ = z3.BoolVal(False)


def _alive(s, actor):
    return select(s.t_alive, actor)


def sp_visibility_descriptor(w):
    """R12, R13: after pwrite of v, a read through a page that reaches the object's page
    returns v; after a store of v through a shared object mapping, pread of the page returns v."""
    sc, s0, s1 = w.sc, w.states[0], w.states[1]
    a0, a1 = w.args
    pwritten = And(a0.op == OPS["pwrite"], w.results[0].code == R["ok"], a1.op == OPS["read"],
                   follows_object(s1, sc, w.pid(1), a1.slot, a1.page, fd_object(s0, sc, a0.fd)),
                   object_page(s1, a1.slot, a1.page) == a0.page,
                   readable(s1, sc, w.pid(1), a1.slot, a1.page), _alive(s1, a1.actor))
    stored = And(a0.op == OPS["write"], w.results[0].code == R["ok"], w.kind(0) == KIND_OBJ_SHARED,
                 a1.op == OPS["pread"], holds_fd(s1, sc, w.pid(1), a1.fd),
                 fd_object(s1, sc, a1.fd) == select(s0.slot_obj, a0.slot),
                 a1.page == object_page(s0, a0.slot, a0.page), _alive(s1, a1.actor))
    return Or(pwritten, stored), is_value(w.results[1], a0.value)


def sp_zero_fill_truncate(w):
    """R03: the pages ftruncate adds to an object read 0, through a mapping that reaches them
    or through pread."""
    sc, s0, s1 = w.sc, w.states[0], w.states[1]
    a0, a1 = w.args
    obj = fd_object(s0, sc, a0.fd)
    old_size = select(s0.obj_size, obj, num(0))
    added = lambda page: And(z3.UGE(page, old_size), z3.ULT(page, a0.length))
    by_mapping = And(a1.op == OPS["read"], follows_object(s1, sc, w.pid(1), a1.slot, a1.page, obj),
                     added(object_page(s1, a1.slot, a1.page)),
                     readable(s1, sc, w.pid(1), a1.slot, a1.page))
    by_pread = And(a1.op == OPS["pread"], holds_fd(s1, sc, w.pid(1), a1.fd),
                   fd_object(s1, sc, a1.fd) == obj, added(a1.page))
    hyp = And(a0.op == OPS["ftruncate"], w.results[0].code == R["ok"], Or(by_mapping, by_pread),
              _alive(s1, a1.actor))
    return hyp, is_value(w.results[1], num(0, 8))


def sp_exec_closes_descriptors(w):
    """R29, C04: after exec the process holds no descriptor: a call on one fails with EBADF."""
    s0 = w.states[0]
    a0, a1 = w.args
    uses_fd = Or([a1.op == OPS[op] for op in ("close", "ftruncate", "pread", "pwrite", "seal")] +
                 [And(a1.op == OPS["mmap"], a1.fdmap)])
    hyp = And(a0.op == OPS["exec"], _alive(s0, a0.actor), a1.actor == a0.actor, uses_fd)
    return hyp, w.results[1].code == R["EBADF"]


def _shm_named(s, sc):
    """For each object: it is the POSIX shm object the core's name finds."""
    return [And(z3.ULT(o, s.nobjs), s.obj_named[o], s.obj_kind[o] == OBJ_SHM)
            for o in range(sc.objects)]


def sp_unlink_name_gone(w):
    """R46: after shm_unlink, opening the name without O_CREAT fails with ENOENT, and with
    O_CREAT makes a new object of size 0 (not the unlinked one)."""
    sc, s0, s2 = w.sc, w.states[0], w.states[2]
    a0, a1 = w.args
    hyp = And(a0.op == OPS["shm_unlink"], w.results[0].code == R["ok"], a1.op == OPS["open"],
              a1.okind == OBJ_SHM, _alive(w.states[1], a1.actor))
    fresh = fd_object(s2, sc, a1.fd)
    unlinked = _shm_named(s0, sc)
    return hyp, If(a1.creat,
                   And(w.results[1].code == R["ok"], select(s2.obj_size, fresh, num(1)) == 0,
                       And([Implies(unlinked[o], fresh != o) for o in range(sc.objects)])),
                   w.results[1].code == R["ENOENT"])


def sp_unlink_stays_shared(w):
    """R46: after shm_unlink the object stays fully usable: a store through one process's
    shared mapping is read through another's."""
    sc, s1, s2 = w.sc, w.states[1], w.states[2]
    a0, a1, a2 = w.args
    hyp = And(a0.op == OPS["shm_unlink"], w.results[0].code == R["ok"],
              a1.op == OPS["write"], w.results[1].code == R["ok"], w.kind(1) == KIND_OBJ_SHARED,
              a2.op == OPS["read"], w.pid(2) != w.pid(1), _alive(s2, a2.actor),
              follows_object(s2, sc, w.pid(2), a2.slot, a2.page, select(s1.slot_obj, a1.slot)),
              object_page(s2, a2.slot, a2.page) == object_page(s1, a1.slot, a1.page),
              readable(s2, sc, w.pid(2), a2.slot, a2.page))
    return hyp, is_value(w.results[2], a1.value)


def sp_sealed_unchanged(w):
    """R47: a step other than ftruncate never changes a write-sealed memfd's contents or size
    (pwrite and shared writable mappings are refused, so neither stores nor MADV_REMOVE reach
    it)."""
    sc, s0, s1 = w.sc, w.states[0], w.states[1]
    sealed = [s0.obj_sealed[o] for o in range(sc.objects)]
    hyp = And(Or(sealed) if sealed else F_, w.args[0].op != OPS["ftruncate"])
    same = [Implies(sealed[o], And([s0.obj_page[o][q] == s1.obj_page[o][q] for q in range(sc.pages)]
                                   + [s0.obj_size[o] == s1.obj_size[o]]))
            for o in range(sc.objects)]
    return hyp, And(same) if same else z3.BoolVal(True)


def sp_sealed_refuses(w):
    """R47: on a write-sealed memfd, pwrite fails with EPERM, and so does a shared writable
    mmap of it (through a descriptor the process holds)."""
    sc, s0 = w.sc, w.states[0]
    a0 = w.args[0]
    obj = fd_object(s0, sc, a0.fd)
    held = And(holds_fd(s0, sc, w.pid(0), a0.fd), select(s0.obj_sealed, obj, F_), _alive(s0, a0.actor))
    hyp = And(held, Or(a0.op == OPS["pwrite"],
                       And(a0.op == OPS["mmap"], a0.fdmap, a0.shared, a0.prot == 0)))
    return hyp, w.results[0].code == R["EPERM"]


# --- witnesses -------------------------------------------------------------------------------

def _pid(u, i):
    return select(u.states[i].t_proc, u.args[i].actor)


def w_unlink(u, i):
    """after shm_unlink, another process still reads the object's data through its mapping."""
    if i + 1 >= len(u.args):
        return F_
    a0, a1 = u.args[i], u.args[i + 1]
    s1 = u.states[i + 1]
    slot_obj = select(s1.slot_obj, a1.slot)
    return And(a0.op == OPS["shm_unlink"], u.results[i].code == R["ok"], a1.op == OPS["read"],
               select(s1.slot_kind, a1.slot) == KIND_OBJ_SHARED,
               select(s1.obj_kind, slot_obj) == OBJ_SHM, _pid(u, i + 1) != _pid(u, i),
               u.results[i + 1].code == R["value"], u.results[i + 1].arg != 0)


def w_sealed(u, i):
    """a write-sealed memfd holding data is mapped shared (read-only) and read."""
    a = u.args[i]
    s = u.states[i]
    obj = select(s.slot_obj, a.slot)
    return And(a.op == OPS["read"], select(s.slot_kind, a.slot) == KIND_OBJ_SHARED,
               select(s.obj_kind, obj) == OBJ_MEMFD, select(s.obj_sealed, obj, F_),
               u.results[i].code == R["value"], u.results[i].arg != 0)
