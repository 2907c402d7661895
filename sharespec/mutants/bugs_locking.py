"""Mutants of memory locks, MAP_POPULATE, MAP_SHARED_VALIDATE and msync (model/locking.py):
a lock a fork child keeps, a lock that faults nothing in, a refusal answered "ok", a flag
dropped. Each patches one function of impl.syscalls (or the worker's fork) in the case
processes."""
from .patching import constant, replace
from .registry import mutant, vma_flags, vmas, worker_fork


def _call_replaced(impl, name, params, make):
    replace(impl.syscalls, name, make, params)


@mutant("fork-inherits-mlock", "C03", "c03-mlock-not-inherited")
def _fork_inherits_mlock(impl):
    """The fork child keeps its parent's memory locks (as if dup_mmap kept VM_LOCKED): the
    child locks again every mapping that was locked in the parent."""
    libc = impl.syscalls.libc

    def make(fork):
        def patched(command):
            flags = vma_flags()
            locked = [(v.start, v.end) for v in vmas() if "lo" in flags.get(v.start, ())]
            result, pid = fork(command)
            if result == "ok" and pid == 0:
                for start, end in locked:
                    libc.mlock(start, end - start)
            return result, pid
        return patched
    worker_fork(impl, make)


@mutant("mlock-faults-nothing", "C09 R13", "c09-mlock-faults-pages-in")
def _mlock_faults_nothing(impl):
    """mlock locks without faulting the pages in (as mlock2's MLOCK_ONFAULT does): a private
    writable file mapping keeps showing later changes of the file."""
    libc = impl.syscalls.libc
    mlock2, onfault = 325, 1          # x86-64 __NR_mlock2, MLOCK_ONFAULT

    def make(mlock):
        def patched(addr, length):
            if libc.syscall(mlock2, impl.syscalls.ctypes.c_void_p(addr),
                            impl.syscalls.ctypes.c_size_t(length), onfault) == 0:
                return "ok"
            return impl.syscalls._failed()
        return patched
    _call_replaced(impl, "mlock", ("addr", "length"), make)


@mutant("populate-ignored", "C09 R13", "c09-mlock-faults-pages-in")
def _populate_ignored(impl):
    """mmap drops MAP_POPULATE: nothing is faulted in, so a private writable file mapping
    keeps showing later changes of the file."""
    populate = constant(impl.syscalls, "MAP_POPULATE")

    def make(mmap):
        return lambda addr, length, prot, flags, fd, offset: mmap(
            addr, length, prot, flags & ~populate, fd, offset)
    _call_replaced(impl, "mmap", ("addr", "length", "prot", "flags", "fd", "offset"), make)


@mutant("dontneed-on-locked", "C09", "c09-locked-refuses-dontneed")
def _dontneed_on_locked(impl):
    """MADV_DONTNEED of locked memory is done instead of refused (EINVAL): the range is
    unlocked, advised and locked again, so private pages read 0."""
    dontneed = constant(impl.syscalls, "MADVICES")["dontneed"]
    libc = impl.syscalls.libc

    def make(madvise):
        def patched(addr, length, advice):
            result = madvise(addr, length, advice)
            if result == "EINVAL" and advice == dontneed:
                libc.munlock(addr, length)
                result = madvise(addr, length, advice)
                libc.mlock(addr, length)
            return result
        return patched
    _call_replaced(impl, "madvise", ("addr", "length", "advice"), make)


@mutant("munlock-ignored", "C09", "c03-mlock-not-inherited")
def _munlock_ignored(impl):
    """munlock answers "ok" and unlocks nothing: VmLck stays."""
    _call_replaced(impl, "munlock", ("addr", "length"),
                   lambda munlock: lambda addr, length: "ok")


@mutant("msync-ignores-hole", "C08", "c08-msync-arguments")
def _msync_ignores_hole(impl):
    """msync of a range with an unmapped hole answers "ok" (the kernel syncs the mapped parts
    but says ENOMEM)."""
    _msync_answers_ok_for(impl, "ENOMEM")


@mutant("msync-invalidate-locked", "C08", "c08-msync-arguments")
def _msync_invalidate_locked(impl):
    """MS_INVALIDATE of locked memory answers "ok" instead of EBUSY."""
    _msync_answers_ok_for(impl, "EBUSY")


def _msync_answers_ok_for(impl, errno):
    """The two msync mutants: the real call, but "ok" where it says ``errno``."""
    def make(msync):
        def patched(addr, length, flags):
            result = msync(addr, length, flags)
            return "ok" if result == errno else result
        return patched
    _call_replaced(impl, "msync", ("addr", "length", "flags"), make)


@mutant("validate-accepts-unknown", "C01", "c01-map-shared-validate")
def _validate_accepts_unknown(impl):
    """MAP_SHARED_VALIDATE takes flags it does not know for MAP_SHARED would (ignores them)
    instead of refusing them with EOPNOTSUPP."""
    validate = constant(impl.syscalls, "MAP_SHARED_VALIDATE")
    unknown = constant(impl.syscalls, "MAP_UNKNOWN_FLAG")

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            if flags & 3 == validate:
                flags &= ~unknown
            return mmap(addr, length, prot, flags, fd, offset)
        return patched
    _call_replaced(impl, "mmap", ("addr", "length", "prot", "flags", "fd", "offset"), make)
