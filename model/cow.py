"""Copy-on-write (R11, R16, R34): what fork shares, and what a later store breaks.

At fork the child's private pages reach the parent's frames: neither side copies anything.
The first store through either side gives that side a frame of its own; the other keeps the
old frame, now used once, and its next store writes that frame in place. Linux copies the
page table entries at fork only for private records that have an anon_vma (vma_needs_copy):
the child reaches the parent's frames through those at once, and faults the rest in later.

Both halves are here so that the rule is read in one place: ``fork_child`` (the sharing) and
``store_private`` (the break).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from .address_space import fork_anon_vmas
from .state import Contents, FrozenMap, Process, State, Thread, contents_set


def frame_references(state: State, fid: int) -> int:
    """How many private pages of live processes and object pages use a frame."""
    refs = 0
    for p in state.processes:
        if p.alive:
            refs += sum(1 for f in p.private.values() if f == fid)
    for o in state.objects:
        refs += sum(1 for f in o.pages.values() if f == fid)
    return refs


def fork_child(state: State, pid: int, child_thread: str, vmas, copied, profile) -> State:
    """Add the fork child of ``pid``, with mapping records ``vmas`` and thread ``child_thread``.
    The private pages of the records in ``copied`` are shared with the parent (the frames,
    not their contents); the other records start without private pages (R11, R41). The
    child inherits the descriptors (R16). With frames observable (Linux), the child's page
    table entries are the parent's present entries in private records with an anon_vma
    (vma_needs_copy), MADV_WIPEONFORK records excepted. Guard markers are copied in every
    inherited record but MADV_WIPEONFORK ones (R49; observed, Linux 6.18). Each record with
    an anon_vma gets one of its own (address_space.fork_anon_vmas, R30)."""
    state, vmas = fork_anon_vmas(state, vmas)
    parent = state.processes[pid]
    private = {vpn: parent.private[vpn] for v in copied for vpn in range(v.start, v.end)
               if vpn in parent.private}
    child = Process(alive=True, vmas=tuple(vmas), private=FrozenMap(private),
                    lazyfree=frozenset(v for v in parent.lazyfree if v in private),
                    guarded=frozenset(vpn for v in vmas if not v.wipeonfork
                                      for vpn in range(v.start, v.end) if vpn in parent.guarded),
                    fds=parent.fds, creds=parent.creds,  # C07: the child has its parent's ids
                    brk=parent.brk)                      # and its break (model/brk.py)
    if profile.linux_interfaces:
        child = replace(child, present=frozenset(
            vpn for vpn in parent.present for v in (child.vma_at(vpn),)
            if v is not None and not v.shared and v.anon_vma and not v.wipeonfork))
    state = replace(state, processes=state.processes + (child,))
    cid = len(state.processes) - 1
    return replace(state, threads=state.threads.set(child_thread, Thread(cid)))


def store_private(state: State, pid: int, vpn: int, fid: Optional[int], base: Contents,
                  offset: int, value: int) -> State:
    """A store into a private page whose contents are ``base``: into its frame ``fid`` in place
    when nothing else uses that frame, else (shared since fork, or no frame yet: the zero page
    or the object's page) into a new frame of its own (R11)."""
    contents = contents_set(base, offset, value)
    if fid is not None and frame_references(state, fid) == 1:
        return state.with_frame(fid, contents)
    state, new = state.new_frame(contents)
    proc = state.processes[pid]
    return state.with_process(pid, replace(proc, private=proc.private.set(vpn, new)))

