"""Named predicates over encoded states and results, shared by the operations (operations/)
and the properties (induction.py, object_properties.py): what a page holds, whether it can be
read, which object page it maps, which descriptor a process holds."""
from __future__ import annotations

import z3

from .core import KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, R, SymbolicScope
from .encoding import SymState
from .terms import BYTE_BITS, num, select

And, Or, Not = z3.And, z3.Or, z3.Not
F_ = z3.BoolVal(False)


def is_value(r, v):
    return And(r.code == R["value"], r.arg == v)


def cell_field(s: SymState, sc, pid, slot, page, f):
    return select([select([select([getattr(s.cells[p][k][q], f) for p in range(sc.processes)], pid)
                           for k in range(sc.mappings)], slot) for q in range(sc.pages)], page)


def private_val(s: SymState, sc, pid, slot, page):
    return cell_field(s, sc, pid, slot, page, "val")


def readable(s: SymState, sc, pid, slot, page):
    """The page is mapped and not PROT_NONE (a read does not fault)."""
    return And(z3.ULT(page, sc.pages), cell_field(s, sc, pid, slot, page, "mapped"),
               cell_field(s, sc, pid, slot, page, "prot") != 2)


def object_page(s: SymState, slot, page):
    """The object page a page of a slot maps (its slot's offset: mremap move and alias)."""
    return select(s.slot_pgoff, slot) + page


def follows_object(s: SymState, sc, pid, slot, page, obj):
    """The page reaches object ``obj``'s page: a shared mapping of it, or a private one with
    no copy of its own yet (R13)."""
    kind = select(s.slot_kind, slot)
    return And(select(s.slot_obj, slot) == obj,
               Or(kind == KIND_OBJ_SHARED,
                  And(kind == KIND_OBJ_PRIVATE, Not(cell_field(s, sc, pid, slot, page, "cow")))))


def fd_object(s: SymState, sc, fd):
    """The object a descriptor handle names (scope.objects: none)."""
    return select(s.fd_obj, fd, z3.BitVecVal(sc.objects, 4))


def held_fds(s: SymState, sc, pid) -> list:
    """held_fds(...)[h]: process ``pid`` has descriptor handle h open."""
    return [select([s.fd_open[p][h] for p in range(sc.processes)], pid, F_)
            for h in range(sc.objects)]


def holds_fd(s: SymState, sc, pid, fd):
    """Process ``pid`` has descriptor ``fd`` open."""
    return select(held_fds(s, sc, pid), fd, F_)


def segment_pages(size_code):
    """Pages of a segment of this size code (code 0 is 100 bytes: one page)."""
    return z3.If(size_code == 0, num(1), size_code)


def object_cell(table: list, scope: SymbolicScope, obj, page, default):
    """``table[o][q]`` of object ``obj``, page ``page`` (``default`` past the table)."""
    return select([select([table[o][q] for o in range(scope.objects)], obj, default)
                   for q in range(scope.pages)], page, default)


def object_value(s: SymState, scope: SymbolicScope, obj, page):
    """Byte 0 of page ``page`` of object ``obj`` (0 past the table)."""
    return object_cell(s.obj_page, scope, obj, page, num(0, BYTE_BITS))


def file_value(s: SymState, scope: SymbolicScope, obj, page):
    """Byte 0 of page ``page`` of object ``obj`` as read(2) may show it: the value from before
    a store through a shared mapping while the file lags (R12, posix), else the page's."""
    lag = object_cell(s.obj_lag, scope, obj, page, z3.BoolVal(False))
    synced = object_cell(s.obj_synced, scope, obj, page, num(0, BYTE_BITS))
    return lag, z3.If(lag, synced, object_value(s, scope, obj, page))


def writably_mapped(s: SymState, scope: SymbolicScope, obj):
    """Some live process maps the object shared with write permission (VM_SHARED|VM_MAYWRITE):
    what makes F_SEAL_WRITE fail with EBUSY (R47). Only live processes map anything."""
    return Or([And(s.cells[p][k][q].mapped, s.slot_kind[k] == KIND_OBJ_SHARED,
                   s.slot_obj[k] == obj, Not(s.slot_rdonly[k]))
               for p in range(scope.processes) for k in range(scope.mappings)
               for q in range(scope.pages)])
