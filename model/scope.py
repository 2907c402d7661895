"""A scope: the bounds within which programs are generated or explored. Data, not code.

The explicit enumerator, the random generator and the Hypothesis strategies all take one.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    processes: int = 3       # processes alive at once, the first included
    threads: int = 4         # threads in all
    pages: int = 2           # pages per mapping (and page indices a place may name: one more)
    mappings: int = 3        # mapping handles bound
    segments: int = 2        # segment handles bound
    objects: int = 2         # descriptors opened
    steps: int = 8           # program length
    values: tuple = (1, 2)   # bytes written
    offsets: tuple = (0, 1)  # byte offsets in a page

    def __post_init__(self):
        for name in ("processes", "threads", "pages", "mappings", "segments", "objects", "steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"scope: {name} must be a whole number >= 0, not {value!r}")
        if self.processes < 1 or self.threads < 1:
            raise ValueError("scope: at least one process and one thread")
        if self.pages > 255:
            raise ValueError("scope: pages must be below 256 (the slot size)")
        if not self.values or any(not (0 <= v <= 255) for v in self.values):
            raise ValueError("scope: values are bytes, 0..255")
        if not self.offsets or any(not (0 <= o < 4096) for o in self.offsets):
            raise ValueError("scope: offsets lie in a page, 0..4095")


SMALL = Scope(processes=2, threads=2, pages=1, mappings=2, segments=1, objects=1, steps=4)
DEFAULT = Scope()


def parse_scope(text: str) -> Scope:
    """``processes=2,pages=1,steps=6`` -> Scope; ValueError naming the bad part."""
    fields = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ValueError(f"scope: expected NAME=NUMBER, got {part!r}")
        name, value = (s.strip() for s in part.split("=", 1))
        if name not in Scope.__dataclass_fields__ or name in ("values", "offsets"):
            raise ValueError(f"scope: unknown bound {name!r}")
        try:
            fields[name] = int(value)
        except ValueError:
            raise ValueError(f"scope: {name} must be a number, not {value!r}") from None
    return Scope(**fields)
