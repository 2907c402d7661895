"""Which pages of a SysV segment are resident, and the IPC namespace's figures built on them:
what SHM_INFO (used_ids, shm_tot, shm_rss, shm_swp), a count of the indexes SHM_STAT_ANY
answers, and /proc/sysvipc/shm report.

Sources: ipc/shm.c ``newseg`` (``ns->shm_tot += numpages``, the requested size rounded up to
pages), ``shm_destroy`` (``ns->shm_tot -= numpages``), ``shmctl_shm_info`` (``used_ids =
shm_ids(ns).in_use``), ``shm_get_stat`` and ``shm_add_rss_swap`` (rss: the pages in the
segment's page cache, ``i_mapping->nrpages``; swap: ``shmem_inode_info.swapped``),
``sysvipc_shm_proc_show`` (size in bytes as shm_segsz, rss and swap in bytes); LTP
``testcases/kernel/syscalls/shmctl/shmctl04.c`` (SHM_INFO's figures against a count of
SHM_STAT_ANY's indexes and against the sums of /proc/sysvipc/shm).

Figures are the whole IPC namespace's: on a shared host other processes change them between
any two calls, so a case that observes them runs in a fresh IPC namespace of its own
(docs/case-format.md, "IPC figures"), where every segment is the case's and the model's
figures are exact.

Residency (checked on Linux 6.18 with small probes, in a fresh namespace):

- A segment starts with no page: shmget allocates nothing, and neither does shmat (shm_rss 0
  after both). R01: the pages read zero all the same.
- The first fault on a page, a load as well as a store, allocates it (shmem_fault: shmem has
  no zero page to map), whichever process faults and whatever the attach (a SHM_RDONLY one
  too). The model's linux profile already gives a read fault its page-cache frame
  (model/frames.py ``_populate``), so a resident page is exactly a page of the segment's
  object that holds a frame (``MemObject.pages``).
- Fault-around maps neighbours only if they are already resident: it allocates nothing.
- MADV_DONTNEED (R36), MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT, SHM_LOCK and SHM_UNLOCK (C09),
  fork, mprotect and shmdt of one of several attaches free nothing and allocate nothing
  (WILLNEED on shmem only swaps in what is swapped out: shmem_swapin_range).
- MADV_REMOVE (R39) punches a hole: the range's pages are freed.
- IPC_RMID of an attached segment keeps it, with its pages, in the table (R17: still counted
  in used_ids and shm_tot, listed in /proc/sysvipc/shm, found by SHM_STAT_ANY); its
  destruction, at IPC_RMID with nattch 0 (R20) or at the last detach, frees them all.
- shm_swp is 0 and no page leaves: there is no swap (an empty /proc/swaps). With swap,
  MADV_PAGEOUT or memory pressure could move a page from shm_rss to shm_swp: the model does
  not allow for it, and an implementation reports such a host as unsuited (the bundled one:
  feature ``ipc_namespace``, docs/protocol.md). Likewise shmem huge pages (transparent
  hugepages for shmem, ``shmem_enabled`` other than never or deny) could make a fault allocate
  512 pages at once: also unsuited.

Pure: functions of a state.
"""
from __future__ import annotations

from typing import Iterable

from .ops import PAGE_SIZE
from .state import Segment, State


def resident_pages(state: State, sid: int) -> frozenset:
    """The page indexes of segment ``sid`` that hold memory (R01, R36, R39: page-cache pages,
    allocated by the first load or store through any attach, freed by MADV_REMOVE)."""
    seg: Segment = state.segments[sid]
    obj = state.objects[seg.obj]
    return frozenset(index for index in obj.pages if index < obj.page_count())


def pages_of(size: int) -> int:
    """shm_segsz rounded up to whole pages (newseg's numpages; R04)."""
    return -(-size // PAGE_SIZE)


def live_segments(state: State) -> Iterable[int]:
    """The segments in the namespace's table: created and not yet destroyed, removed ones still
    attached included (R17)."""
    return [sid for sid, seg in enumerate(state.segments) if not seg.destroyed]


def shm_info_counts(state: State) -> tuple:
    """SHM_INFO's (used_ids, shm_tot, shm_rss, shm_swp), the last three in pages."""
    live = live_segments(state)
    return (len(live),
            sum(pages_of(state.segments[sid].size) for sid in live),
            sum(len(resident_pages(state, sid)) for sid in live),
            0)                                   # no swap (module docstring)


def stat_any_count(state: State) -> int:
    """How many of the indexes 0..SHM_INFO's highest SHM_STAT_ANY answers: one per segment in
    the table (every segment's index is at most the highest; no permission is checked)."""
    return len(live_segments(state))


def sysvipc_summary(state: State) -> tuple:
    """/proc/sysvipc/shm summed: (rows, sum of size, sum of rss, sum of swap), in bytes; size
    is shm_segsz as requested (not rounded), rss and swap whole pages."""
    live = live_segments(state)
    return (len(live),
            sum(state.segments[sid].size for sid in live),
            sum(len(resident_pages(state, sid)) for sid in live) * PAGE_SIZE,
            0)
