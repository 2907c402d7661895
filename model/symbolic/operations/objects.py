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
from ..predicates import file_value, object_value, writably_mapped
from ..step_view import StepView
from ..terms import FALSE, TRUE, first_true
from .effect import Effect

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If


def _named(view: StepView, kind) -> list:
    """named[o]: object o exists, of this kind, and has the core's one name (memfds have none)."""
    before = view.before
    return [And(z3.ULT(o, before.nobjs), before.obj_named[o], before.obj_kind[o] == kind)
            for o in range(view.scope.objects)]


def open_(view: StepView) -> Effect:
    """R46: a memfd is always new; a file or POSIX shm object is found by its name: ENOENT
    without it and O_CREAT, EEXIST with it and O_CREAT|O_EXCL. The descriptor binds the next
    handle even when the open fails."""
    before, args, objects = view.before, view.args, view.scope.objects
    memfd = args.okind == OBJ_MEMFD
    by_name = _named(view, args.okind)
    found = And(Not(memfd), Or(by_name)) if objects else FALSE
    enoent = And(Not(found), Not(memfd), Not(args.creat))
    eexist = And(found, args.creat, args.excl)
    ok = And(view.performs["open"], Not(enoent), Not(eexist))
    return Effect(code=[(enoent, "ENOENT"), (eexist, "EEXIST"), (TRUE, "ok")],
                  ok=ok, found=found, creates=And(ok, Not(found)),
                  object=If(found, first_true(by_name), before.nobjs))


def close(view: StepView) -> Effect:
    """EBADF unless the process holds the descriptor."""
    return Effect(code=[(Not(view.fd_open), "EBADF"), (TRUE, "ok")],
                  ok=And(view.performs["close"], view.fd_open))


def ftruncate(view: StepView) -> Effect:
    """R03, R08: EBADF, EINVAL on a read-only descriptor; a shrink throws the pages past the
    new end away, and the private copies of them too (R08 (POSIX): those may survive, the
    alternative)."""
    args, profile = view.args, view.profile
    ok = And(view.performs["ftruncate"], view.fd_open, Not(view.fd_rdonly))
    shrinks = z3.ULT(args.length, view.fd_obj_size)
    keeps_copies = args.alternative if profile.private_copy_beyond_eof_may_survive else FALSE
    alternatives = ([And(view.performs["ftruncate"], ok, shrinks)]
                    if profile.private_copy_beyond_eof_may_survive else [])
    return Effect(code=[(Not(view.fd_open), "EBADF"), (view.fd_rdonly, "EINVAL"), (TRUE, "ok")],
                  alternatives=alternatives, ok=ok,
                  drops_copies=And(ok, shrinks, Not(keeps_copies)))


def pread(view: StepView) -> Effect:
    """R12: byte 0 of the page; EBADF, or end of file at and past the size. Under posix, where
    the file lags a store through a shared mapping, the alternative reads the file's older
    byte; the other choice reads the page's, and the file is then in sync (model/read_lag.py)."""
    args = view.args
    past_end = z3.UGE(args.page, view.fd_obj_size)
    lag, lagging_value = file_value(view.before, view.scope, view.fd_obj, args.page)
    lags = And(view.performs["pread"], view.fd_open, Not(past_end), lag)
    stale = And(lags, args.alternative)
    return Effect(code=[(Not(view.fd_open), "EBADF"), (past_end, "eof"), (TRUE, "value")],
                  alternatives=[lags], syncs=And(lags, Not(args.alternative)),
                  value=If(stale, lagging_value,
                           object_value(view.before, view.scope, view.fd_obj, args.page)))


def pwrite(view: StepView) -> Effect:
    """R12, R47: EBADF on a read-only descriptor, EPERM once write-sealed; a store past the
    end grows the object."""
    ebadf = Or(Not(view.fd_open), view.fd_rdonly)
    eperm = And(Not(ebadf), view.fd_obj_sealed)
    return Effect(code=[(ebadf, "EBADF"), (eperm, "EPERM"), (TRUE, "ok")],
                  ok=And(view.performs["pwrite"], Not(ebadf), Not(eperm)))


def shm_unlink(view: StepView) -> Effect:
    """R46: the name goes (ENOENT without one), the object stays for whoever maps or holds it."""
    shm = _named(view, OBJ_SHM)
    found = Or(shm) if view.scope.objects else FALSE
    return Effect(code=[(Not(found), "ENOENT"), (TRUE, "ok")],
                  ok=And(view.performs["shm_unlink"], found), object=first_true(shm))


def seal(view: StepView) -> Effect:
    """R47: only a memfd (files and POSIX shm objects carry F_SEAL_SEAL) through a writable
    descriptor (else EPERM); EBUSY while a shared writable mapping of it exists."""
    eperm = And(view.fd_open, Or(view.fd_obj_kind != OBJ_MEMFD, view.fd_rdonly))
    ebusy = And(view.fd_open, Not(eperm), writably_mapped(view.before, view.scope, view.fd_obj))
    return Effect(code=[(Not(view.fd_open), "EBADF"), (eperm, "EPERM"), (ebusy, "EBUSY"),
                        (TRUE, "ok")],
                  ok=And(view.performs["seal"], view.fd_open, Not(eperm), Not(ebusy)))
