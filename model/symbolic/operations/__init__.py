"""The symbolic twins of the operations, one per operation (twins.py lists them); this
package only re-exports (the z3 corpus key follows modules, not package __init__ files)."""
from .twins import OUTSIDE_CORE, TWINS, effects_of

__all__ = ["TWINS", "OUTSIDE_CORE", "effects_of"]
