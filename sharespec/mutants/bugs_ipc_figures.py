"""Mutants of the IPC namespace's figures (model/residency.py): SHM_INFO's used_ids, shm_tot
and shm_rss, the indexes SHM_STAT_ANY answers, and /proc/sysvipc/shm's sums, each as an
implementation (or a kernel) could plausibly get it wrong.

Each changes the worker's answer to a figure command in the case processes only
(``worker_call``); the figures of a case come from its own IPC namespace
(impl/ipc_namespace.py, which the worker imports: reached as ``impl.worker.ipc_namespace``).
What a mutant remembers lives in the case process that performs the steps."""
import ctypes

from .registry import is_sysv, mutant, syscall, vma_at, worker_call

PAGE = 4096


def _figures_changed(impl, change):
    """The worker's shmctl command, with ``change(command, value) -> value`` applied to a
    figure command's successful answer."""
    def make(shmctl):
        def patched(c):
            result, value = shmctl(c)
            if result == "ok" and c["cmd"] in ("shm_info_counts", "stat_any_count", "sysvipc"):
                value = change(c, value)
            return result, value
        return patched
    worker_call(impl, "shmctl", make)


def _counts_changed(impl, change):
    """SHM_INFO's counts [used_ids, shm_tot, shm_rss, shm_swp], with ``change(counts)``."""
    def changed(c, value):
        if c["cmd"] == "shm_info_counts":
            value = dict(value, counts=change(list(value["counts"])))
        return value
    _figures_changed(impl, changed)


def _highest_index(impl):
    buf = ctypes.create_string_buffer(256)
    return impl.syscalls.libc.shmctl(0, impl.syscalls.SHM_INFO, buf)


def _removed_segments(impl):
    """How many segments of the namespace carry SHM_DEST (removed, still attached)."""
    found = 0
    for index in range(_highest_index(impl) + 1):
        result, fields = impl.syscalls.shmctl_shm_stat(index, True)
        if result == "ok" and fields["mode"] & impl.syscalls.SHM_DEST:
            found += 1
    return found


@mutant("used-ids-is-highest-index", "R20", "r20-ipc-figures-shm-info")
def _used_ids_is_highest_index(impl):
    """SHM_INFO's used_ids is the highest index in use plus one, as if indexes had no holes:
    one too many once a segment below the highest is destroyed."""
    _counts_changed(impl, lambda counts: [_highest_index(impl) + 1] + counts[1:])


@mutant("shm-tot-in-bytes", "R04", "r20-ipc-figures-shm-info")
def _shm_tot_in_bytes(impl):
    """SHM_INFO's shm_tot adds each segment's size in bytes (shm_segsz) instead of its pages
    rounded up."""
    def change(counts):
        result, sums = impl.worker.ipc_namespace.sysvipc_sums()
        return counts[:1] + [sums[1] if result == "ok" else counts[1]] + counts[2:]
    _counts_changed(impl, change)


@mutant("removed-leaves-used-ids", "R17", "r17-ipc-figures-removed-attached")
def _removed_leaves_used_ids(impl):
    """A segment removed while attached (SHM_DEST) is no longer counted in used_ids, though it
    stays in the table until its last detach."""
    _counts_changed(impl, lambda counts: [counts[0] - _removed_segments(impl)] + counts[1:])


READ_ONLY = {}      # (segment id, page) -> True for pages this process loaded, never stored


@mutant("rss-misses-read-faults", "R01", "r39-ipc-figures-resident-pages")
def _rss_misses_read_faults(impl):
    """shm_rss (and /proc/sysvipc/shm's rss) counts only pages that were written, as if a read
    fault mapped a zero page: a page only ever read is missed."""
    def page_of(addr):
        v = vma_at(addr)
        if v is None or not is_sysv(v):
            return None
        return v.inode, (addr - v.start + v.offset) // PAGE

    def make_load(load):
        def patched(addr):
            page = page_of(addr)
            if page is not None:
                READ_ONLY.setdefault(page, True)
            return load(addr)
        return patched

    def make_store(store):
        def patched(addr, value):
            page = page_of(addr)
            if page is not None:
                READ_ONLY[page] = False
            return store(addr, value)
        return patched
    syscall(impl, "load", make_load)
    syscall(impl, "store", make_store)

    def missed():
        live = {ident for ident in {p[0] for p in READ_ONLY}
                if impl.syscalls.shmctl_stat(ident)[0] == "ok"}
        return sum(1 for (ident, _), only_read in READ_ONLY.items() if only_read and ident in live)

    def change(c, value):
        if c["cmd"] == "shm_info_counts":
            counts = list(value["counts"])
            counts[2] -= missed()
            return dict(value, counts=counts)
        if c["cmd"] == "sysvipc":
            return value[:2] + [value[2] - missed() * PAGE] + value[3:]
        return value
    _figures_changed(impl, change)


@mutant("stat-any-count-from-one", "R20", "r20-ipc-figures-shm-info")
def _stat_any_count_from_one(impl):
    """The count of indexes SHM_STAT_ANY answers starts at index 1: the segment at index 0
    (the first of a fresh namespace) is missed."""
    def change(c, value):
        if c["cmd"] == "stat_any_count":
            buf = ctypes.create_string_buffer(256)
            if impl.syscalls.libc.shmctl(0, impl.syscalls.SHM_STAT_ANY, buf) != -1:
                value -= 1
        return value
    _figures_changed(impl, change)
