"""sharespec.model.symbolic: the z3 encoding of the specification's core, and what is asked of it.

- ``core``: which programs the encoding covers (``program_to_args``, ``OutsideCore``) and the
  ``SymbolicScope`` bounds;
- ``encoding``: the flat encoding (booleans and narrow bit-vectors per cell, If chains);
  ``objects``: its part for files, memfds, POSIX shm objects and descriptors;
  ``unrolling``: K steps built once on one solver, questions as assumptions;
- ``decode``: back to ``Step``/``Result``; ``agreement``: explicit vs symbolic outcome sets;
- ``induction``: lemmas, the named properties, proofs, witnesses, bounded cross-check
  (``predicates``: what the properties say things with; ``object_properties``: their
  clauses about backing objects);
- ``coverage``: coverage goals and the shortest program reaching each.
"""
from .core import OutsideCore, SymbolicScope, parse_symbolic_scope, program_to_args
from .unrolling import Unrolling

__all__ = ["OutsideCore", "SymbolicScope", "parse_symbolic_scope", "program_to_args", "Unrolling"]
