"""What one step sees of the state before it: the terms every operation's twin reads.

The arguments name things by index (a thread, a slot and page, a segment handle, a descriptor
handle); ``StepView`` resolves them once, with ``If`` chains over the state's cells, so that the
operations (operations/) share one copy of each term instead of building their own.

Index names used throughout the encoding: ``p`` a process, ``t`` a thread, ``k`` a slot (a
mapping handle), ``q`` a page of a slot, ``g`` a segment, ``h`` a handle, ``o`` an object.
"""
from __future__ import annotations

import z3

from ..profiles import Profile
from .core import (KIND_ANON, KIND_OBJ_PRIVATE, KIND_OBJ_SHARED, KIND_PRIVATE, KIND_SYSV, OPS,
                   SymbolicScope)
from .encoding import CELL_FIELDS, Cell, SymArgs, SymState
from .predicates import held_fds, object_value, segment_pages
from .terms import BYTE_BITS, FALSE, TRUE, num, select

And, Or, Not, If = z3.And, z3.Or, z3.Not, z3.If


class StepView:
    """The step ``args`` from state ``before``: who acts, what it names, what it accesses."""

    def __init__(self, before: SymState, args: SymArgs, scope: SymbolicScope, profile: Profile):
        self.before, self.args, self.scope, self.profile = before, args, scope, profile
        processes, slots, pages = scope.processes, scope.mappings, scope.pages
        self.is_op = {name: args.op == i for name, i in OPS.items()}
        self.live = select(before.t_alive, args.actor)            # the acting thread is alive
        self.pid = select(before.t_proc, args.actor)              # the acting process
        self.dead = And(Not(self.is_op["nop"]), Not(self.live))
        self.performs = {name: And(self.live, c) for name, c in self.is_op.items()}
        self.pid_eq = [self.pid == p for p in range(processes)]
        self.slot_eq = [args.slot == k for k in range(slots)]

        # the slot the step names: what it maps, and the page range [page, end)
        self.kind = select(before.slot_kind, args.slot)
        self.slot_seg = select(before.slot_seg, args.slot)
        # the mapping may never write its memory
        self.rdonly = select(before.slot_rdonly, args.slot)
        self.slot_obj = select(before.slot_obj, args.slot)
        self.maps_object = Or(self.kind == KIND_OBJ_SHARED, self.kind == KIND_OBJ_PRIVATE)
        self.end = args.page + args.length
        self.in_range = [And(z3.ULE(args.page, q), z3.ULT(q, self.end)) for q in range(pages)]
        self.beyond = z3.UGT(self.end, pages)     # the range runs past the cells (unmapped)
        # the acting process's cells: of every slot (mine[k][q]), of the named slot (here[q])
        self.mine = [[Cell(*(select([getattr(before.cells[p][k][q], f) for p in range(processes)],
                                    self.pid) for f in CELL_FIELDS))
                      for q in range(pages)] for k in range(slots)]
        self.here = [Cell(*(select([getattr(self.mine[k][q], f) for k in range(slots)], args.slot)
                            for f in CELL_FIELDS))
                     for q in range(pages)]
        self.range_mapped = [And(self.in_range[q], self.here[q].mapped) for q in range(pages)]
        self.hole = Or(self.beyond, Or([And(self.in_range[q], Not(self.here[q].mapped))
                                        for q in range(pages)]))
        self._accessed_page()
        self._named_segment()
        self._named_descriptor()

    def _accessed_page(self):
        """The page ``args.page`` of the named slot: its cell, its object page, its value."""
        before, args, scope, here = self.before, self.args, self.scope, self.here
        slots, pages, segments = scope.mappings, scope.pages, scope.segments
        self.acc_mapped = And(z3.ULT(args.page, pages),
                              select([c.mapped for c in here], args.page, FALSE))
        self.acc_prot = select([c.prot for c in here], args.page, num(0, 2))
        self.acc_private = select([c.val for c in here], args.page, num(0, BYTE_BITS))
        self.acc_lazy = And(self.kind == KIND_PRIVATE,
                            select([c.lazy for c in here], args.page, FALSE))
        self.acc_cow = select([c.cow for c in here], args.page, FALSE)
        # the object page the accessed page maps (a slot maps its object from pgoff on)
        self.pgoff = select(before.slot_pgoff, args.slot)
        self.anon_obj = select(before.slot_anon, args.slot)
        self.acc_opg = self.pgoff + args.page
        zero = num(0, BYTE_BITS)
        acc_anon = select([select([before.anon[j][o] for j in range(slots)], self.anon_obj)
                           for o in range(pages)], self.acc_opg, zero)
        acc_seg = select([select([before.seg_page[g][o] for g in range(segments)], self.slot_seg, zero)
                          for o in range(pages)], self.acc_opg, zero) if segments else zero
        # an object page: the private copy once there is one (R11, R12), else the object's (R13)
        acc_object = If(And(self.kind == KIND_OBJ_PRIVATE, self.acc_cow), self.acc_private,
                        object_value(before, scope, self.slot_obj, self.acc_opg))
        self.acc_value = If(self.kind == KIND_PRIVATE, self.acc_private,
                            If(self.kind == KIND_ANON, acc_anon,
                               If(self.kind == KIND_SYSV, acc_seg, acc_object)))
        self.seg_size_of_slot = select(before.seg_size, self.slot_seg, num(0))
        obj_size_of_slot = select(before.obj_size, self.slot_obj, num(0))
        # past the end of the object: of a shared anonymous object or a segment (after mremap
        # grew the mapping, R43), of a backing object (R06, R08: also a private page)
        self.acc_beyond = Or(
            And(self.kind == KIND_ANON, z3.UGE(self.acc_opg, select(before.anon_size, self.anon_obj))),
            And(self.kind == KIND_SYSV, z3.UGE(self.acc_opg, segment_pages(self.seg_size_of_slot))),
            And(self.maps_object, z3.UGE(self.acc_opg, obj_size_of_slot)))

    def _named_segment(self):
        """The segment ``args.handle`` names (``no_segment``: none)."""
        before, segments = self.before, self.scope.segments
        self.no_segment = num(segments)
        self.sid = select(before.handle_seg, self.args.handle, self.no_segment)
        self.sid_live = And(self.sid != self.no_segment,
                            Not(select(before.seg_destroyed, self.sid, TRUE))) if segments else FALSE
        self.sid_removed = select(before.seg_removed, self.sid, FALSE)

    def _named_descriptor(self):
        """The descriptor ``args.fd`` names: its object (``no_object``: none), whether the acting
        process holds it, and the object's kind, size and seal."""
        before, args, scope = self.before, self.args, self.scope
        self.no_object = num(scope.objects)
        self.fd_obj = select(before.fd_obj, args.fd, self.no_object)
        self.fd_rdonly = select(before.fd_rdonly, args.fd, FALSE)
        self.held = held_fds(before, scope, self.pid)     # held[h]: the process holds handle h
        self.fd_open = select(self.held, args.fd, FALSE)
        self.fd_obj_kind = select(before.obj_kind, self.fd_obj, num(0, 2))
        self.fd_obj_size = select(before.obj_size, self.fd_obj, num(0))
        self.fd_obj_sealed = select(before.obj_sealed, self.fd_obj, FALSE)

    def continues(self, q: int):
        """Page q of the named slot carries on the mapping record of page q-1."""
        if q >= self.scope.pages:
            return FALSE
        return And(self.here[q].mapped, Not(self.here[q].start))
