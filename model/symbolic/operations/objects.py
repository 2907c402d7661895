"""The twins of the operations on backing objects and descriptors: open, close, ftruncate,
pread, pwrite, shm_unlink, seal (semantics.py's functions of the same names; mmap of a
descriptor is memory.mmap's).

The core has one file name and one POSIX shm name, memfds without flags, whole-page sizes and
byte-0 accesses, so an object's size is exactly its page count (core.py). A store into an
object page (pwrite, or a store through a shared mapping) is built in next_state.py.
"""
from __future__ import annotations

import z3

from ..core import OBJ_MEMFD, OBJ_SHM
from ..predicates import object_value, writably_mapped
from ..step_view import StepView
from ..terms import first_true
from .effect import Effect

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If
TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)


def open_(v: StepView) -> Effect:
    """R46: a memfd is always new; a file or POSIX shm object is found by its name: ENOENT
    without it and O_CREAT, EEXIST with it and O_CREAT|O_EXCL. The descriptor binds the next
    handle even when the open fails."""
    s, a, objects = v.before, v.args, v.scope.objects
    memfd = a.okind == OBJ_MEMFD
    named = [And(z3.ULT(o, s.nobjs), s.obj_named[o], s.obj_kind[o] == a.okind) for o in range(objects)]
    found = And(Not(memfd), Or(named)) if objects else FALSE
    enoent = And(Not(found), Not(memfd), Not(a.creat))
    eexist = And(found, a.creat, a.excl)
    ok = And(v.performs["open"], Not(enoent), Not(eexist))
    return Effect(code=[(enoent, "ENOENT"), (eexist, "EEXIST"), (TRUE, "ok")],
                  ok=ok, found=found, creates=And(ok, Not(found)),
                  object=If(found, first_true(named), s.nobjs))


def close(v: StepView) -> Effect:
    """EBADF unless the process holds the descriptor."""
    return Effect(code=[(Not(v.fd_open), "EBADF"), (TRUE, "ok")],
                  ok=And(v.performs["close"], v.fd_open))


def ftruncate(v: StepView) -> Effect:
    """R03, R08: EBADF, EINVAL on a read-only descriptor; a shrink throws the pages past the
    new end away, and the private copies of them too (R08 (POSIX): those may survive, the
    alternative)."""
    a, profile = v.args, v.profile
    ok = And(v.performs["ftruncate"], v.fd_open, Not(v.fd_rdonly))
    shrinks = z3.ULT(a.length, v.fd_obj_size)
    keeps_copies = a.alternative if profile.private_copy_beyond_eof_may_survive else FALSE
    alternatives = ([And(v.performs["ftruncate"], ok, shrinks)]
                    if profile.private_copy_beyond_eof_may_survive else [])
    return Effect(code=[(Not(v.fd_open), "EBADF"), (v.fd_rdonly, "EINVAL"), (TRUE, "ok")],
                  alternatives=alternatives, ok=ok,
                  drops_copies=And(ok, shrinks, Not(keeps_copies)))


def pread(v: StepView) -> Effect:
    """R12: byte 0 of the page; EBADF, or end of file at and past the size."""
    past_end = z3.UGE(v.args.page, v.fd_obj_size)
    return Effect(code=[(Not(v.fd_open), "EBADF"), (past_end, "eof"), (TRUE, "value")],
                  value=object_value(v.before, v.scope, v.fd_obj, v.args.page))


def pwrite(v: StepView) -> Effect:
    """R12, R47: EBADF on a read-only descriptor, EPERM once write-sealed; a store past the
    end grows the object."""
    ebadf = Or(Not(v.fd_open), v.fd_rdonly)
    eperm = And(Not(ebadf), v.fd_obj_sealed)
    return Effect(code=[(ebadf, "EBADF"), (eperm, "EPERM"), (TRUE, "ok")],
                  ok=And(v.performs["pwrite"], Not(ebadf), Not(eperm)))


def shm_unlink(v: StepView) -> Effect:
    """R46: the name goes (ENOENT without one), the object stays for whoever maps or holds it."""
    s, objects = v.before, v.scope.objects
    named = [And(z3.ULT(o, s.nobjs), s.obj_named[o], s.obj_kind[o] == OBJ_SHM) for o in range(objects)]
    found = Or(named) if objects else FALSE
    return Effect(code=[(Not(found), "ENOENT"), (TRUE, "ok")],
                  ok=And(v.performs["shm_unlink"], found), object=first_true(named))


def seal(v: StepView) -> Effect:
    """R47: only a memfd (files and POSIX shm objects carry F_SEAL_SEAL) through a writable
    descriptor (else EPERM); EBUSY while a shared writable mapping of it exists."""
    eperm = And(v.fd_open, Or(v.fd_obj_kind != OBJ_MEMFD, v.fd_rdonly))
    ebusy = And(v.fd_open, Not(eperm), writably_mapped(v.before, v.scope, v.fd_obj))
    return Effect(code=[(Not(v.fd_open), "EBADF"), (eperm, "EPERM"), (ebusy, "EBUSY"), (TRUE, "ok")],
                  ok=And(v.performs["seal"], v.fd_open, Not(eperm), Not(ebusy)))
