"""Loads and stores through a page table: which frame a virtual page reaches, what a read
returns, what a write changes (copy-on-write, zero fill, faults)."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from . import cow, protections, read_lag
from .ops import PAGE_SIZE
from .profiles import Profile
from .results import Fault, OK, Value
from .state import Contents, State, Vma, contents_get, contents_set, contents_zero_from

SIGSEGV = Fault("SIGSEGV")
SIGBUS = Fault("SIGBUS")


def frame_of_page(state: State, pid: int, vpn: int) -> Optional[int]:
    """The frame a page table entry reaches, or None (not mapped, or untouched: zero page or
    an object page not yet in the cache)."""
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    if vma is None:
        return None
    if not vma.shared and vpn in proc.private:
        return proc.private[vpn]
    if vma.obj is None:
        return None
    return state.objects[vma.obj].pages.get(vma.object_page(vpn))


def object_page_contents(state: State, oid: int, index: int) -> Contents:
    fid = state.objects[oid].pages.get(index)
    return () if fid is None else state.frames[fid]


def punch_hole(state: State, vma: Vma, start: int, end: int) -> State:
    """The object pages that record ``vma`` shows within [start, end) thrown away: every
    mapping of the object reads zeros there (MADV_REMOVE, R39)."""
    obj = state.objects[vma.obj]
    gone = [vma.object_page(vpn) for vpn in range(max(vma.start, start), min(vma.end, end))]
    state = state.with_object(vma.obj, replace(obj, pages=obj.pages.remove(*gone)))
    return read_lag.in_sync(state, vma.obj, lambda index, offset: index in gone)


def beyond_object(state: State, vma: Vma, vpn: int) -> bool:
    """A page wholly past the end of the backing object: SIGBUS (R06, R08, R43)."""
    return vma.obj is not None and vma.object_page(vpn) >= state.objects[vma.obj].page_count()


def _slack_kind(state: State, vma: Vma, vpn: int, offset: int) -> Optional[str]:
    """Which unspecified-by-POSIX slack a byte lies in: past shm_segsz (R04) or past EOF (R07)."""
    if vma.obj is None or not (vma.shared or vma.obj is not None):
        return None
    obj = state.objects[vma.obj]
    byte = vma.object_page(vpn) * PAGE_SIZE + offset
    if vma.segment is not None:
        return "segment" if byte >= state.segments[vma.segment].size else None
    if obj.kind in ("file", "shm", "memfd") and byte >= obj.size:
        return "file"
    return None


def read(state: State, pid: int, vpn: int, offset: int, profile: Profile) -> list:
    """The (state, result) pairs a one-byte load allows."""
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    if vma is None or protections.load_always_faults(vma.prot) or vpn in proc.guarded:
        return [(state, SIGSEGV)]  # R32, R33, R49
    outcomes = _load(state, pid, vpn, offset, profile)
    if protections.load_may_fault(vma.prot, profile.linux_interfaces):
        outcomes.append((state, SIGSEGV))  # C01: execute-only memory (model/protections.py)
    return outcomes


def _load(state: State, pid: int, vpn: int, offset: int, profile: Profile) -> list:
    """What a load from a readable page allows."""
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    private_copy = not vma.shared and vpn in proc.private
    if beyond_object(state, vma, vpn):
        if private_copy and profile.private_copy_beyond_eof_may_survive:
            return [(state, SIGBUS), _read_private(state, pid, vpn, offset)]  # R08 (POSIX)
        return [(state, SIGBUS)]  # R06, R08, R43
    if private_copy:
        outcomes = [_read_private(state, pid, vpn, offset)]
        if vpn in proc.lazyfree:  # C05: the page may have been reclaimed
            dropped = replace(proc, private=proc.private.remove(vpn), lazyfree=proc.lazyfree - {vpn})
            outcomes.append((state.with_process(pid, dropped), Value(0)))
        return outcomes
    if vma.obj is None:
        return [(state, Value(0))]  # R02: untouched anonymous memory reads zero
    value = contents_get(object_page_contents(state, vma.obj, vma.object_page(vpn)), offset)
    outcomes = [(state, Value(value))]
    slack = _slack_kind(state, vma, vpn, offset)
    if slack == "segment" and profile.segment_slack_may_fault:
        outcomes.append((state, SIGSEGV))  # R04 (POSIX: only size bytes are promised)
    if slack == "file" and profile.file_slack_may_read_zero and value:
        outcomes.append((state, Value(0)))  # R07 (POSIX: the slack is zero-filled)
    return outcomes


def _read_private(state: State, pid: int, vpn: int, offset: int):
    fid = state.processes[pid].private[vpn]
    return state, Value(contents_get(state.frames[fid], offset))


def store_faults(proc, vpn: int) -> bool:
    """A store there is SIGSEGV: nothing mapped, no PROT_WRITE, or a guard page (R32, R33,
    R24, R49)."""
    vma = proc.vma_at(vpn)
    return vma is None or not protections.allows_store(vma.prot) or vpn in proc.guarded


def writes_reach_object(vma: Vma) -> bool:
    """A store through a shared mapping changes the object; through a private one, the
    process's own copy (R09, R10, R12, R14)."""
    return vma.shared


def write(state: State, pid: int, vpn: int, offset: int, value: int, profile: Profile, *,
          reaches_object: Callable[[Vma], bool] = writes_reach_object,
          store: Callable = cow.store_private) -> list:
    """The (state, result) pairs a one-byte store allows. ``reaches_object`` and ``store`` are
    Linux's rules; a variant (model/variants.py) may pass its own."""
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    if store_faults(proc, vpn):
        return [(state, SIGSEGV)]
    if beyond_object(state, vma, vpn):
        return [(state, SIGBUS)]  # R06, R43
    if reaches_object(vma):
        index = vma.object_page(vpn)
        stored = write_object_byte(state, vma.obj, index, offset, value, profile)
        return [(s, OK) for s in read_lag.after_mapped_store(
            state, stored, vma.obj, index, offset, value, profile)]  # R09, R10, R12, R14
    if vpn in proc.private:
        fid = proc.private[vpn]
        bases = [state.frames[fid]]
        if vpn in proc.lazyfree:
            bases.append(())  # C05: reclaimed before the write
        outcomes = []
        for base in bases:
            s = state.with_process(pid, replace(proc, lazyfree=proc.lazyfree - {vpn}))
            s = store(s, pid, vpn, fid, base, offset, value)  # R11
            outcomes.append((_mark_written(s, pid, vpn, offset, profile, first=False), OK))
        return outcomes
    base = () if vma.obj is None else object_page_contents(state, vma.obj, vma.object_page(vpn))
    s = store(state, pid, vpn, None, base, offset, value)
    return [(_mark_written(s, pid, vpn, offset, profile, first=True), OK)]  # R11, R13


def _mark_written(state: State, pid: int, vpn: int, offset: int, profile: Profile,
                  first: bool) -> State:
    """R13 (posix): remember which bytes of its private copy the process stored, since the
    others may still show the object's changes. ``first``: the copy is new (forget marks left
    by an earlier copy at this address)."""
    if not profile.private_copy_may_follow_object:
        return state
    proc = state.processes[pid]
    kept = _written_elsewhere(proc, vpn) if first else proc.written
    return state.with_process(pid, replace(proc, written=kept | {(vpn, offset)}))


def _written_elsewhere(proc, vpn: int) -> frozenset:
    """The process's marks of stored bytes (``Process.written``) but those at page ``vpn``:
    what is left when that page gets a fresh private copy."""
    return frozenset(w for w in proc.written if w[0] != vpn)


def write_object_byte(state: State, oid: int, index: int, offset: int, value: int,
                      profile: Profile) -> list:
    """A store into an object's page (through a shared mapping, or pwrite): every state it
    allows (one under Linux; under POSIX, private mappings may or may not keep following)."""
    results = []
    for s in private_snapshots(state, oid, index, profile):
        fid = s.objects[oid].pages.get(index)
        if fid is None:
            s, fid = s.new_frame()
            obj = s.objects[oid]
            s = s.with_object(oid, replace(obj, pages=obj.pages.set(index, fid)))
        results.append(s.with_frame(fid, contents_set(s.frames[fid], offset, value)))
    if profile.private_copy_may_follow_object:
        results = [r for s in results for r in private_copies_follow(s, oid, index, offset, value)]
    return results


def private_views(state: State, oid: int, index: int) -> list:
    """(pid, vpn) of every page of a live process's MAP_PRIVATE mapping of object ``oid``
    that shows the object's page ``index`` (at most one per mapping record)."""
    return [(pid, vpn) for pid, p in enumerate(state.processes) if p.alive
            for v in p.vmas if not v.shared and v.obj == oid
            for vpn in (v.start + index - v.pgoff,) if v.contains(vpn)]


def private_copies_follow(state: State, oid: int, index: int, offset: int, value: int) -> list:
    """R12, R13 (POSIX mmap: it is unspecified whether changes to the object made after a
    MAP_PRIVATE mapping is established are visible through it): a private copy this process
    made by writing some byte of the page may show the change at a byte it did not write.
    Bytes it wrote stay its own. (A copy taken without a write, private_snapshots, keeps its
    contents: a narrower choice than POSIX's, which the z3 encoding shares.)"""
    copies = [(pid, vpn) for pid, vpn in private_views(state, oid, index)
              for p in (state.processes[pid],)
              if vpn in p.private and (vpn, offset) not in p.written
              and any(w[0] == vpn for w in p.written)]
    states = [state]
    for pid, vpn in copies:
        more = []
        for s in states:
            p = s.processes[pid]
            if contents_get(s.frames[p.private[vpn]], offset) == value:
                continue
            s2, fid = s.new_frame(contents_set(s.frames[p.private[vpn]], offset, value))
            p = s2.processes[pid]
            more.append(s2.with_process(pid, replace(p, private=p.private.set(vpn, fid))))
        states += more
    return states


def private_snapshots(state: State, oid: int, index: int, profile: Profile) -> list:
    """R13: on Linux an unwritten MAP_PRIVATE page keeps following its object. POSIX leaves it
    unspecified, so before the object changes, each such page may take a private copy."""
    if not profile.private_file_may_snapshot:
        return [state]
    followers = [(pid, vpn) for pid, vpn in private_views(state, oid, index)
                 if vpn not in state.processes[pid].private]
    states = [state]
    for pid, vpn in followers:
        more = []
        for s in states:
            contents = object_page_contents(s, oid, index)
            s2, fid = s.new_frame(contents)
            p = s2.processes[pid]
            more.append(s2.with_process(pid, replace(p, private=p.private.set(vpn, fid),
                                                     written=_written_elsewhere(p, vpn))))
        states += more
    return states


def is_mapped_anywhere(state: State, oid: int) -> bool:
    """Whether a live process maps (shared or private) some page of the object."""
    return any(v.obj == oid for p in state.processes if p.alive for v in p.vmas)


def zero_slack(state: State, oid: int) -> State:
    """R07 (POSIX): the partial page at the end of the object with the bytes past its end
    zeroed, as a fresh mapping of it shows them (they were never written to the object)."""
    obj = state.objects[oid]
    index, offset = divmod(obj.size, PAGE_SIZE)
    fid = obj.pages.get(index) if offset else None
    if fid is None:
        return state
    zeroed = contents_zero_from(state.frames[fid], offset)
    return state if zeroed == state.frames[fid] else state.with_frame(fid, zeroed)


def slack_on_growth(state: State, oid: int, profile: Profile) -> list:
    """R07 before the object grows past its old end: the states the bytes stored into the old
    slack may be in. Linux keeps them (they become object data). POSIX: a mapped page's slack
    may or may not be flushed into the object (ftruncate: unspecified), and with nothing
    mapping it the slack was never written to the object, so it reads as zeros."""
    if not profile.slack_zero_filled_when_mapped:
        return [state]
    zeroed = zero_slack(state, oid)
    if is_mapped_anywhere(state, oid) and zeroed != state:
        return [state, zeroed]
    return [zeroed]
