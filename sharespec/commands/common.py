"""Shared by the commands: usage errors and profile checks."""
from __future__ import annotations


class UsageError(Exception):
    """Bad usage: the command line says something impossible. Exit status 2."""


def check_profile(name: str) -> str:
    from sharespec.model.profiles import PROFILES
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    return name
