"""sharespec.model.symbolic: the z3 encoding of the specification's core, and what is asked of it.

- ``core``: which programs the encoding covers (``program_to_args``, ``OutsideCore``) and the
  ``SymbolicScope`` bounds;
- ``encoding``: the flat encoding's variables (booleans and narrow bit-vectors per cell,
  ``terms``: If chains), the initial state and valid arguments; ``transition``: one step, from
  one twin per operation (``operations/``) over the step's view (``step_view``), the next
  state built part by part (``next_cells``, ``next_state``);
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
