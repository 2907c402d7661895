"""The few kinds of z3 term the encoding is made of: narrow bit-vectors and ``If`` chains.

Widths are as small as the scope's limits allow (core.SymbolicScope: at most 7 of anything,
at most 15 object pages), because the solver bit-blasts every term: a narrower vector is a
smaller formula.
"""
from __future__ import annotations

import z3

from .core import R

INDEX_BITS = 4        # an index or a count
BYTE_BITS = 8         # a byte stored in a page
COUNT_BITS = 8        # an attach count (IPC_STAT's shm_nattch)
OP_BITS = 5           # an operation code (core.OP_NAMES)
KIND_BITS = 3         # a slot kind (core.KIND_NAMES)
CODE_BITS = 5         # a result code (core.RESULT_NAMES)
# which anon_vma a record holds: a fork's, the page where the record began at the fork (< 6);
# one a first write made, slot * 6 + a number free in the slot (< 7 * 6)
AVID_BITS = 6

TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)


def bv(name: str, bits: int = INDEX_BITS):
    return z3.BitVec(name, bits)


def num(n: int, bits: int = INDEX_BITS):
    return z3.BitVecVal(n, bits)


def select(items: list, index, default=None):
    """items[index] for a symbolic index (an If chain); ``default`` beyond the end (the last
    item when not given), so an empty list (a scope without segments, say) gives ``default``."""
    if default is None:
        default = items[-1]
    out = default
    for i in reversed(range(len(items))):
        out = z3.If(index == i, items[i], out)
    return out


def first_true(conditions: list):
    """The index of the first condition that holds (len(conditions) if none)."""
    out = num(len(conditions))
    for i in reversed(range(len(conditions))):
        out = z3.If(conditions[i], num(i), out)
    return out


def count(conditions: list):
    """How many of the conditions hold (an attach count)."""
    if not conditions:
        return num(0, COUNT_BITS)
    return z3.Sum([z3.If(c, num(1, COUNT_BITS), num(0, COUNT_BITS)) for c in conditions])


def result_code(name: str):
    """The code of a result name (core.RESULT_NAMES)."""
    return num(R[name], CODE_BITS)


def code_table(rows: list):
    """A result code from a table of (condition, result name) rows: the first row whose
    condition holds gives the code; the last row is the default (its condition is ignored)."""
    *guarded, (_, default) = rows
    out = result_code(default)
    for condition, name in reversed(guarded):
        out = z3.If(condition, result_code(name), out)
    return out
