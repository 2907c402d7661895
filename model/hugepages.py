"""Huge-page objects: memfd_create with MFD_HUGETLB, shmget with SHM_HUGETLB (issue 16, item 6).

A hugetlb object lives on hugetlbfs, not tmpfs, and its memory comes from the host's huge page
pools, one pool per huge page size ("hstate"). Two things about that are the host's, not the
kernel's, and the model answers both as sets or as an assumption:

- Which huge page sizes exist. x86-64 registers 2 MiB and, with gbpages, 1 GiB; arm64 has
  64 KiB, 2 MiB, 32 MiB and 1 GiB; a size with no hstate is refused. The model allows both
  outcomes for every size a step names (as LTP memfd_create04.c does: "succeeds or gives
  ENODEV"), and lets the default size (no size flag) be 2 MiB or 1 GiB (default_hugepagesz=,
  x86-64). What a run observes picks the branch: a memfd made with huge=2mb has 2 MiB pages.
- How many huge pages are free. The model assumes an EMPTY pool (no free page, no
  overcommit: HugePages_Free 0 and nr_overcommit_hugepages 0 for every size), the default of
  a host that nobody configured. Then every reservation fails, so no hugetlb mapping or
  segment ever exists, and no case needs a mapping longer than a slot. An implementation on a
  host with huge pages cannot decide such cases: the bundled one reports the feature
  ``hugepages_empty`` (impl/features.py) and answers status "error" for every case that makes
  a hugetlb object, which the runner judges INCONCLUSIVE, never FAIL.

What follows, call by call (the kernel's functions named; no catalogue rule names huge pages,
the ordinary checks they build on cite theirs in model/semantics.py):

- memfd_create (mm/memfd.c): a size flag without MFD_HUGETLB is an unknown flag, EINVAL,
  checked before the name; with MFD_HUGETLB, hugetlb_file_setup (fs/hugetlbfs/inode.c)
  gives ENODEV for a size with no hstate; the inode is VM_NORESERVE, so nothing is reserved
  and the call succeeds with an empty pool. MFD_ALLOW_SEALING is allowed since 4.16 (seals
  as for any memfd, R47).
- ftruncate (hugetlbfs_setattr): a length that is not a multiple of the huge page size is
  EINVAL, checked before the seals (EPERM, R47).
- pwrite / write: hugetlbfs has no write_iter, so vfs_write refuses with EINVAL once the
  descriptor is open for writing (else EBADF); the write seal is never reached (LTP
  memfd_create03.c test_write_protect).
- pread: hugetlbfs_read_iter reads holes as zeros up to the size; nothing can ever store a
  byte (no write, no mapping), so every byte reads 0 (the ordinary model says so).
- fallocate mode 0 (hugetlbfs_fallocate): the range is rounded to whole huge pages and each
  absent page is allocated: ENOSPC from an empty pool, after the size (EFBIG) and F_SEAL_GROW
  (EPERM) checks; the size does not change. A punched hole frees nothing and succeeds.
- mmap (ksys_mmap_pgoff rounds the length up to the huge page size; hugetlb_get_unmapped_area
  refuses an address that is not huge-page aligned, EINVAL, before the descriptor checks of
  do_mmap; hugetlbfs_file_mmap refuses an offset that is not, EINVAL, then reserves the pages:
  ENOMEM from an empty pool, LTP memfd_create03.c test_max_hugepages). Where a slot lies is
  the implementation's, so EINVAL is always allowed; a MAP_FIXED_NOREPLACE (the bundled
  implementation's way of placing at a slot) whose rounded range meets another mapping is
  EEXIST. So a call the ordinary model lets succeed answers EINVAL | ENOMEM | EEXIST, and
  one it refuses answers its error or EINVAL (EBADF, length 0 and an unaligned offset stay
  alone: they come first). fixed=replace is refused by the validator (model/validate.py,
  check_hugetlb): MAP_FIXED would unmap whatever the rounded range covers past the slot.
- shmget with SHM_HUGETLB (ipc/shm.c newseg): only a call that creates a segment looks at
  the flag (an existing key's segment is returned as before, R21); a size flag naming no
  hstate is EINVAL; hugetlb_file_setup then refuses a caller without CAP_IPC_LOCK outside
  vm.hugetlb_shm_group (EPERM: the group is the host's, so a non-root caller may get either),
  then reserves the segment's huge pages: ENOMEM from an empty pool (R23 lists the other
  creation errors). A size flag without SHM_HUGETLB is ignored. SHM_NORESERVE is not in the
  language: its segment would exist, and its attach map a whole huge page past the slot.
"""
from __future__ import annotations

from dataclasses import replace

from .ops import Fallocate, Ftruncate, Mmap, Open, Pwrite, ShmGet
from .results import OK, Errno, SegmentId

EINVAL, ENODEV, ENOMEM, EEXIST, EPERM, EBADF, ENOSPC = (
    Errno(n) for n in ("EINVAL", "ENODEV", "ENOMEM", "EEXIST", "EPERM", "EBADF", "ENOSPC"))

KIB = 1024
# HUGE_SIZES (model/ops.py) in bytes; "default" is not a size (DEFAULT_SIZES)
SIZE_BYTES = {"16kb": 16 * KIB, "64kb": 64 * KIB, "512kb": 512 * KIB, "1mb": KIB ** 2,
              "2mb": 2 * KIB ** 2, "8mb": 8 * KIB ** 2, "16mb": 16 * KIB ** 2,
              "32mb": 32 * KIB ** 2, "256mb": 256 * KIB ** 2, "512mb": 512 * KIB ** 2,
              "1gb": KIB ** 3, "2gb": 2 * KIB ** 3, "16gb": 16 * KIB ** 3}
# default_hugepagesz on x86-64: 2 MiB unless the boot line chose 1 GiB
DEFAULT_SIZES = (2 * KIB ** 2, KIB ** 3)


def page_sizes(huge: str) -> tuple:
    """The huge page sizes an object made with ``huge`` may have."""
    return DEFAULT_SIZES if huge == "default" else (SIZE_BYTES[huge],)


def uses_hugetlb(op) -> bool:
    """Whether a step asks for huge pages (the Linux-only part of the language)."""
    return isinstance(op, (Open, ShmGet)) and (op.hugetlb or op.huge != "default")


def object_of(state, pid: int, handle):
    """The hugetlb object a descriptor handle of process ``pid`` names, or None."""
    fd = state.processes[pid].fds.get(handle) if handle is not None else None
    if fd is None:
        return None
    obj = state.objects[fd.obj]
    return obj if obj.huge_page else None


# --- the calls -------------------------------------------------------------------------

def memfd_create(ordinary, state, pid, st, profile) -> list:
    """memfd_create with MFD_HUGETLB and/or a size flag (mm/memfd.c, hugetlb_file_setup)."""
    op = st.op
    if not op.hugetlb:
        return [(state, EINVAL)]  # the size bits are unknown flags without MFD_HUGETLB
    made = [(s, r) for s, r in ordinary(state, pid, st, profile)]
    if op.invalid != "none":
        return made               # the flag and name checks come first
    outcomes = []
    for size in page_sizes(op.huge):
        for s, r in made:
            oid = s.processes[pid].fds[st.bind].obj
            outcomes.append((s.with_object(oid, replace(s.objects[oid], huge_page=size)), r))
    if op.huge != "default":
        outcomes.append((state, ENODEV))  # no hstate of that size (LTP memfd_create04.c)
    return outcomes


def shmget(ordinary, state, pid, st, profile) -> list:
    """shmget with SHM_HUGETLB: only a creation looks at it (ipc/shm.c newseg)."""
    op = st.op
    outcomes = ordinary(state, pid, st, profile)
    if not op.hugetlb:
        return outcomes           # SHM_HUGE_* without SHM_HUGETLB: ignored
    # the handle names no segment, as after any failed shmget (model/semantics.py)
    failed_state = replace(state, segment_handles=state.segment_handles.set(st.bind, -1))
    errors = [ENOMEM]             # hugetlb_reserve_pages from an empty pool (R23's ENOSPC kin)
    if op.huge != "default":
        errors.append(EINVAL)     # hstate_sizelog: no hstate of that size
    if not state.processes[pid].creds.privileged:
        errors.append(EPERM)      # can_do_hugetlb_shm: no CAP_IPC_LOCK; the group is the host's
    result = []
    for s, r in outcomes:
        if r == SegmentId():      # "new": a creation, which fails
            result.extend((failed_state, e) for e in errors)
        else:
            result.append((s, r))
    return result


def ftruncate(ordinary, state, pid, st, profile) -> list:
    obj = object_of(state, pid, st.op.fd)
    outcomes = ordinary(state, pid, st, profile)
    if obj is None or st.op.length % obj.huge_page == 0:
        return outcomes
    # hugetlbfs_setattr: a size that is not whole huge pages, before the seals
    return [(state, EINVAL) if r in (OK, EPERM) else (s, r) for s, r in outcomes]


def pwrite(ordinary, state, pid, st, profile) -> list:
    if object_of(state, pid, st.op.fd) is None:
        return ordinary(state, pid, st, profile)
    fd = state.processes[pid].fds[st.op.fd]
    return [(state, EBADF if fd.rdonly else EINVAL)]  # vfs_write: no write_iter on hugetlbfs


def fallocate(ordinary, state, pid, st, profile) -> list:
    outcomes = ordinary(state, pid, st, profile)
    if object_of(state, pid, st.op.fd) is None or st.op.punch:
        return outcomes
    return [(state, ENOSPC) if r == OK else (s, r) for s, r in outcomes]  # an empty pool


def mmap(ordinary, state, pid, st, profile) -> list:
    op = st.op
    obj = object_of(state, pid, op.fd)
    outcomes = ordinary(state, pid, st, profile)
    if obj is None:
        return outcomes
    failed = state.bind_mapping(st.bind)
    if op.length == 0 or op.offset % obj.huge_page:
        return [(failed, EINVAL)]   # C01's length check; hugetlbfs_file_mmap's vm_pgoff check
    results = {r for _, r in outcomes}
    allowed = {EINVAL}              # hugetlb_get_unmapped_area: a slot not huge-page aligned
    for r in results:
        allowed |= {ENOMEM, EEXIST} if r == OK else {r}
    return [(failed, r) for r in sorted(allowed, key=str)]


WRAPPED = {Open: memfd_create, ShmGet: shmget, Ftruncate: ftruncate, Pwrite: pwrite,
           Fallocate: fallocate, Mmap: mmap}


def wrapped(op_type, handler, require_linux):
    """``handler`` (model/semantics.py HANDLERS) with hugetlb objects taken care of: a step that
    asks for huge pages (uses_hugetlb), or touches a descriptor of a hugetlb object, goes
    through this module; every other step is the handler's alone. Huge pages are Linux-only:
    ``require_linux(profile, what)`` raises the semantics' NotApplicable elsewhere."""
    around = WRAPPED.get(op_type)
    if around is None:
        return handler

    def handle(state, pid, st, profile):
        if op_type in (Open, ShmGet):
            if not uses_hugetlb(st.op):
                return handler(state, pid, st, profile)
            require_linux(profile, "huge pages (MFD_HUGETLB, SHM_HUGETLB)")
        return around(handler, state, pid, st, profile)

    handle.__name__ = handler.__name__
    handle.__qualname__ = getattr(handler, "__qualname__", handler.__name__)
    handle.__doc__ = handler.__doc__
    handle.__wrapped__ = handler
    return handle
