"""R12 under POSIX: read(2) of a file may lag the stores made through a MAP_SHARED mapping.

POSIX mmap says MAP_SHARED write references change the underlying object, but only msync
says when read(2) must see them: before it, what pread returns of a byte stored through a
mapping is unspecified (the store may or may not have reached the file yet). Linux has one
page cache, so read(2) sees the store at once. The case language has no msync, so under a
profile with ``read_may_lag_shared_stores`` a byte stored through a shared mapping keeps,
besides its new value, the value read(2) may still show (``MemObject.unsynced``).

The model is "the store reaches the file at some point": a store may reach the file at once
or not; a later store may leave the file at any value the byte had since it was last in
sync; a pread shows either the file's (older) value, or the current one, after which the
byte is in sync and older values are gone. A pwrite, a truncation past the byte and a hole
punched over it are file operations, after which the file and the mappings agree again.
"""
from __future__ import annotations

from dataclasses import replace

from .ops import PAGE_SIZE
from .profiles import Profile
from .state import State, contents_get

READABLE_KINDS = ("file", "shm", "memfd")   # objects read(2) reads; SysV and anon have no fd


def may_lag(state: State, oid: int, index: int, offset: int, profile: Profile) -> bool:
    obj = state.objects[oid]
    return (profile.read_may_lag_shared_stores and obj.kind in READABLE_KINDS
            and index * PAGE_SIZE + offset < obj.size)


def file_value(state: State, oid: int, index: int, offset: int) -> int:
    """The byte read(2) would show if the file lags: its unsynced value, else the current one."""
    obj = state.objects[oid]
    if (index, offset) in obj.unsynced:
        return obj.unsynced[(index, offset)]
    fid = obj.pages.get(index)
    return 0 if fid is None else contents_get(state.frames[fid], offset)


def after_mapped_store(before: State, stored: list, oid: int, index: int, offset: int,
                       value: int, profile: Profile) -> list:
    """The states a store of ``value`` through a shared mapping allows (``stored``: Linux's),
    each with the file in sync at that byte or still showing what it showed before."""
    if not may_lag(before, oid, index, offset, profile):
        return stored
    old = file_value(before, oid, index, offset)
    out = []
    for s in stored:
        out.append(in_sync(s, oid, lambda i, o: (i, o) == (index, offset)))
        if old != value:
            obj = s.objects[oid]
            out.append(s.with_object(oid, replace(obj, unsynced=obj.unsynced.set((index, offset), old))))
    return out


def pread_choices(state: State, oid: int, index: int, offset: int, current: int) -> list:
    """(state, byte) pairs a pread allows: the current byte (the file is then in sync there),
    or the value the file still shows."""
    obj = state.objects[oid]
    if (index, offset) not in obj.unsynced:
        return [(state, current)]
    synced = in_sync(state, oid, lambda i, o: (i, o) == (index, offset))
    return [(synced, current), (state, obj.unsynced[(index, offset)])]


def in_sync(state: State, oid: int, where) -> State:
    """The object with its bytes ``where(index, offset)`` in sync (no lagging value kept)."""
    obj = state.objects[oid]
    gone = [k for k in obj.unsynced if where(*k)]
    if not gone:
        return state
    return state.with_object(oid, replace(obj, unsynced=obj.unsynced.remove(*gone)))
