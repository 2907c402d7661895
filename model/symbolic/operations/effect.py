"""What an operation's twin returns: its result code as a table, and named terms."""
from __future__ import annotations

from types import SimpleNamespace


class Effect(SimpleNamespace):
    """One operation's part of a step.

    ``code``: rows of (condition, result name); the first row whose condition holds gives the
    result code, the last row is the default (terms.code_table). ``alternatives``: conditions
    under which the step may take its allowed alternative outcome (``SymArgs.alternative``;
    elsewhere the choice is fixed, so that a model means one outcome). The other attributes
    are named terms that transition.py builds the next state from (``ok``: the operation
    happened and succeeded).
    """

    def __init__(self, code: list, alternatives: tuple = (), **terms):
        super().__init__(code=code, alternatives=list(alternatives), **terms)
