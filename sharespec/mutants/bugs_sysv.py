"""Mutants of System V shared memory: shmget, shmat, shmdt, shmctl (IPC_RMID, IPC_STAT).
Each wraps the real call of impl/syscalls.py; the few that need to remember something (a
removed segment's key) keep it in the process, where a fork child inherits it."""
from .patching import constant
from .registry import PAGE, clean_up_unremoved, is_sysv, mutant, syscall, vma_at, vmas


def _attach_runs(ident):
    """(pieces, runs) of this process's mappings of segment ``ident``: runs join pieces that
    are adjacent and continue each other in the segment (one attach split by mprotect)."""
    pieces = sorted((v for v in vmas() if is_sysv(v) and v.inode == ident), key=lambda v: v.start)
    runs = 0
    for i, v in enumerate(pieces):
        before = pieces[i - 1] if i else None
        if before is None or before.end != v.start or before.offset + (before.end - before.start) != v.offset:
            runs += 1
    return len(pieces), runs


def _stat_changed(impl, change):
    def make(stat):
        def patched(ident):
            result, fields = stat(ident)
            if result == "ok":
                fields = change(ident, dict(fields))
            return result, fields
        return patched
    syscall(impl, "shmctl_stat", make)


@mutant("stat-segsz-rounded", "R22 R04")
def _segsz_rounded(impl):
    """shmctl(IPC_STAT) reports the size rounded up to whole pages instead of the size asked."""
    _stat_changed(impl, lambda ident, f: dict(f, segsz=f["segsz"] + -f["segsz"] % PAGE))


@mutant("nattch-counts-attaches", "R30", variant="nattch-counts-attaches")
def _nattch_counts_attaches(impl):
    """shm_nattch counts attaches, not mapping pieces: an attach split by mprotect counts
    once (as POSIX words it; counted here in the calling process)."""
    def change(ident, fields):
        pieces, runs = _attach_runs(ident)
        return dict(fields, nattch=fields["nattch"] - (pieces - runs))
    _stat_changed(impl, change)


REMOVED = {}        # ident -> the key it had when this process removed it


def _remember_removed(impl):
    """shmctl(IPC_RMID) that records the segment's key in REMOVED first."""
    def make(rmid):
        def patched(ident):
            result, fields = impl.syscalls.shmctl_stat(ident)
            answer = rmid(ident)
            if answer == "ok" and result == "ok":
                REMOVED[ident] = fields["key"]
            return answer
        return patched
    syscall(impl, "shmctl_rmid", make)


def _stat_keeps_removed_key(impl):
    """IPC_STAT of a segment this process removed reports the key it had (REMOVED) instead
    of IPC_PRIVATE."""
    _remember_removed(impl)
    _stat_changed(impl, lambda ident, f: dict(f, key=REMOVED.get(ident, f["key"]))
                  if f["key"] == 0 else f)


@mutant("stat-key-kept-after-rmid", "R18")
def _key_kept(impl):
    """shmctl(IPC_STAT) of a removed, still attached segment reports the key it had instead
    of IPC_PRIVATE."""
    _stat_keeps_removed_key(impl)


@mutant("removed-key-still-found", "R18", variant="removed-key-still-found")
def _removed_key_found(impl):
    """IPC_RMID does not free the key: shmget of the key finds the removed segment while it
    lives (and IPC_STAT still reports the key)."""
    _stat_keeps_removed_key(impl)
    creat, excl = constant(impl.syscalls, "IPC_CREAT"), constant(impl.syscalls, "IPC_EXCL")

    def make(shmget):
        def patched(key, size, flags):
            for ident, old in REMOVED.items():
                if old == key and key != 0 and impl.syscalls.shmctl_stat(ident)[0] == "ok":
                    if flags & creat and flags & excl:
                        return "EEXIST", None
                    return "ok", ident
            return shmget(key, size, flags)
        return patched
    syscall(impl, "shmget", make)


@mutant("shmat-refuses-removed", "R19", variant="removed-segment-not-attachable")
def _refuses_removed(impl):
    """shmat of a removed (IPC_RMID) but still attached segment fails with EINVAL."""
    dest = constant(impl.syscalls, "SHM_DEST")

    def make(shmat):
        def patched(ident, addr, flags):
            result, fields = impl.syscalls.shmctl_stat(ident)
            if result == "ok" and fields["mode"] & dest:
                return "EINVAL", None
            return shmat(ident, addr, flags)
        return patched
    syscall(impl, "shmat", make)


GONE = set()        # segments this process removed, whose identifier it treats as gone


@mutant("rmid-forgets-identifier", "R17", variant="rmid-destroys-at-once")
def _rmid_forgets_identifier(impl):
    """IPC_RMID of an attached segment makes its identifier invalid at once (IPC_STAT, shmat
    and IPC_RMID of it fail with EINVAL), while the attaches keep their memory until they
    are detached (as POSIX words IPC_RMID; judged here in the removing process)."""
    def make_rmid(rmid):
        def patched(ident):
            if ident in GONE:
                return "EINVAL"
            result = rmid(ident)
            if result == "ok":
                GONE.add(ident)
            return result
        return patched
    syscall(impl, "shmctl_rmid", make_rmid)
    syscall(impl, "shmctl_stat", lambda stat: lambda ident:
            ("EINVAL", None) if ident in GONE else stat(ident))
    syscall(impl, "shmat", lambda shmat: lambda ident, addr, flags:
            ("EINVAL", None) if ident in GONE else shmat(ident, addr, flags))

    def make_shmget(shmget):
        def patched(key, size, flags):
            result, ident = shmget(key, size, flags)
            GONE.discard(ident)          # a new segment may get a freed identifier again
            return result, ident
        return patched
    syscall(impl, "shmget", make_shmget)


DEFERRED = set()    # segments this process "removed" while nobody had them attached


@mutant("rmid-unattached-deferred", "R20", variant="rmid-unattached-deferred")
def _rmid_deferred(impl):
    """IPC_RMID of a segment nobody has attached does not destroy it: the removal waits for
    an attach (and then for the last detach), and IPC_STAT shows it removed."""
    dest = constant(impl.syscalls, "SHM_DEST")

    def make_rmid(rmid):
        def patched(ident):
            result, fields = impl.syscalls.shmctl_stat(ident)
            if result == "ok" and fields["nattch"] == 0:
                DEFERRED.add(ident)
                return "ok"
            return rmid(ident)
        return patched
    syscall(impl, "shmctl_rmid", make_rmid)
    clean_up_unremoved(impl)

    def make_shmat(shmat):
        def patched(ident, addr, flags):
            result, got = shmat(ident, addr, flags)
            if result == "ok" and ident in DEFERRED:
                DEFERRED.discard(ident)
                impl.syscalls.libc.shmctl(ident, 0, None)      # the real IPC_RMID, now
            return result, got
        return patched
    syscall(impl, "shmat", make_shmat)
    _stat_changed(impl, lambda ident, f: dict(f, mode=f["mode"] | dest, key=0)
                  if ident in DEFERRED else f)


@mutant("shmat-rnd-ignored", "R26")
def _rnd_ignored(impl):
    """shmat ignores SHM_RND: an address that is not page aligned fails with EINVAL instead
    of being rounded down."""
    rnd = constant(impl.syscalls, "SHM_RND")
    syscall(impl, "shmat", lambda shmat: lambda ident, addr, flags: shmat(ident, addr, flags & ~rnd))


@mutant("shmget-creat-implied", "R23")
def _creat_implied(impl):
    """shmget creates a missing key even without IPC_CREAT instead of failing with ENOENT."""
    creat = constant(impl.syscalls, "IPC_CREAT")
    syscall(impl, "shmget", lambda shmget: lambda key, size, flags: shmget(key, size, flags | creat))


@mutant("shmdt-first-piece-only", "R25 R31")
def _shmdt_first_piece(impl):
    """shmdt of an attach split in pieces (by mprotect) unmaps only its first piece."""
    def make(shmdt):
        def patched(addr):
            vma = vma_at(addr)
            if vma is not None and is_sysv(vma) and vma.start == addr:
                after = vma_at(vma.end)
                if after is not None and is_sysv(after) and after.inode == vma.inode:
                    return "ok" if impl.syscalls.libc.munmap(addr, vma.end - addr) == 0 else "EINVAL"
            return shmdt(addr)
        return patched
    syscall(impl, "shmdt", make)
