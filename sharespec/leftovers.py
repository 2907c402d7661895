"""What an implementation under test leaves behind: SysV segments and /dev/shm objects that
its processes made during a case and that are still there once it has ended.

An implementation is another's program: what it leaves is reported, never removed (it may
not even be its to remove), and only what can be seen to be its is blamed, never another
run's or another user's. So an object is a candidate only if it is new since the case began
and, when the case ends, is seen to be the implementation's:
- a segment whose creator (cpid) is a process of the implementation's session (each
  implementation runs in a session of its own, runner.ImplementationProcess) that started
  with it or after;
- a /dev/shm object that a process of that session holds open or has mapped.
A creator that ended before the case did cannot be seen, and its objects are not blamed.
An implementation may clean up after it has answered (the bundled one does, to answer
sooner), so a candidate is left behind only if it is still there once the implementation
has ended (LeftoverWatch.left, from ImplementationProcess.stop), its whole session ended
too; each is charged to the case during which it appeared.
"""
from __future__ import annotations

import os
from typing import Optional

from sharespec import process_tree

SHM_DIR = "/dev/shm"
SYSV_TABLE = "/proc/sysvipc/shm"


def sysv_segments() -> "Optional[dict[int, tuple[int, int]]]":
    """{shmid: (creator pid, size in bytes)} of every SysV segment of this IPC namespace;
    None if the table cannot be read. (The evidence for a refusal counts them too.)"""
    try:
        with open(SYSV_TABLE) as table:
            rows = [line.split() for line in table.readlines()[1:]]
        return {int(r[1]): (int(r[4]), int(r[3])) for r in rows}
    except (OSError, ValueError, IndexError):
        return None


def _segments() -> "dict[int, int]":
    """{shmid: cpid} of every SysV segment."""
    return {ident: cpid for ident, (cpid, _) in (sysv_segments() or {}).items()}


def _objects() -> "set[str]":
    try:
        return set(os.listdir(SHM_DIR))
    except OSError:
        return set()


def _held_objects(pids) -> "set[str]":
    """The /dev/shm names these processes hold open or have mapped."""
    prefix = SHM_DIR + "/"
    held = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith(prefix):
                    held.add(target[len(prefix):].split("/", 1)[0].removesuffix(" (deleted)"))
            with open(f"/proc/{pid}/maps") as maps:
                for line in maps:
                    path = line.split(None, 5)[5].strip() if line.count(" ") >= 5 else ""
                    if path.startswith(prefix):
                        held.add(path[len(prefix):].split("/", 1)[0].removesuffix(" (deleted)"))
        except (OSError, IndexError):
            continue
    return held


class LeftoverWatch:
    """The candidates of an implementation (its process: session ``sid``, started at
    ``since``, set by attach when it starts)."""

    def __init__(self):
        self.sid, self.since = 0, 0
        self.before: Optional[tuple] = None
        self.segments: "dict[int, tuple]" = {}    # shmid -> (cpid, case)
        self.objects: "dict[str, str]" = {}       # name -> case

    def attach(self, sid: int, since: int) -> None:
        self.sid, self.since = sid, since

    def case_began(self) -> None:
        self.before = (set(_segments()), _objects())

    def case_ended(self, case: str) -> None:
        if self.before is None or not self.sid:
            return
        old_segments, old_objects = self.before
        self.before = None
        new_segments = {i: cpid for i, cpid in _segments().items() if i not in old_segments}
        new_objects = _objects() - old_objects
        if not new_segments and not new_objects:
            return        # nothing new: no need to scan /proc for the session's processes
        members = set(process_tree.session_members(self.sid, self.since)) | {self.sid}
        for ident, cpid in new_segments.items():
            if cpid in members:
                self.segments.setdefault(ident, (cpid, case))
        if new_objects:
            for name in new_objects & _held_objects(members):
                self.objects.setdefault(name, case)

    def left(self) -> "dict[str, dict]":
        """Once the implementation has ended: {case: {"segments": [...], "objects": [...]}}
        of the candidates still there (a segment still made by the same pid)."""
        now = _segments()
        found: dict = {}
        for ident, (cpid, case) in sorted(self.segments.items()):
            if now.get(ident) == cpid:
                found.setdefault(case, {"segments": [], "objects": []})["segments"].append(ident)
        objects = _objects()
        for name, case in sorted(self.objects.items()):
            if name in objects:
                found.setdefault(case, {"segments": [], "objects": []})["objects"].append(name)
        self.segments, self.objects = {}, {}
        return found


def describe(left: dict) -> str:
    parts = []
    if left["segments"]:
        parts.append(f"{len(left['segments'])} SysV segment{'s' * (len(left['segments']) != 1)} "
                     f"(shmid {', '.join(map(str, left['segments']))})")
    if left["objects"]:
        parts.append(f"{len(left['objects'])} /dev/shm object{'s' * (len(left['objects']) != 1)} "
                     f"({', '.join(left['objects'])})")
    return " and ".join(parts)
