"""The host features the implementation uses beyond plain POSIX and Linux calls, probed once.

A wrapper (an emulator such as qemu-user, a sandbox, an old kernel) may lack some of them. Each
is probed once, in the executor, before its first case (so that every case process inherits
the answers), and a missing one is replaced by a plainer way of doing the same; only a case
that truly needs a missing feature gets status "error", naming it.

- ``subreaper``: prctl(PR_SET_CHILD_SUBREAPER). The executor adopts the orphans of its cases,
  so that no pid of a case is reaped (and reused) before its segments are removed. Without
  it orphans go to init, which reaps them: the executor reaps only its own children
  (hygiene.reap_case stops when none is left); when it must search the segment table (a
  shmget cut short) a segment whose creator init has reaped is the case's only if it has one
  of the case's keys, else it is left and reported (segments.py); and an exit status that
  init took first is an error naming the feature (hygiene.ending).
- ``pdeathsig``: prctl(PR_SET_PDEATHSIG). A first process dies with the executor. Without it
  it ends at end-of-file on its command pipe, as it does anyway; a case process stuck in a
  step is ended by the runner's sweep of the ledger if the executor itself is killed.
- ``pidfd``: pidfd_open and pidfd_send_signal. The executor watches the case's processes
  (which it did not fork, but for the first) through pidfds: readable when the process ends,
  a signal that reaches that process or none. Without them it names a process by its pid
  and start time and polls /proc/PID/stat for its end (processes.Watch).
- ``pagemap``: /proc/PID/pagemap gives the frames of a process's pages (the ``frames`` step).
  Nothing can replace it: a case with a frames step gets status "error" naming it.
- ``other_exec``: the unprivileged uid "other" (syscalls.USER_IDS) may execute this Python and
  read this package (every directory on the way searchable, the files readable, by others),
  so that a case process that setuid'd to other can exec (worker.execute). An interpreter
  under a private home (/root/.pyenv, say) is not: a case with an exec after setuid(other)
  then gets status "error" naming it.
- ``ipc_namespace``: a child may enter a fresh IPC namespace (unshare(CLONE_NEWIPC)), no swap
  is in use and shmem transparent hugepages are off (ipc_namespace.py). A case that observes
  the namespace's figures (shmctl shm_info_counts, stat_any_count, sysvipc) runs in one of its
  own: without it, such a case gets status "error" naming it.
- ``hugepages_empty``: the host's huge page pools are empty, of every size (free_hugepages and
  nr_overcommit_hugepages 0 in each /sys/kernel/mm/hugepages/hugepages-*), and hugetlbfs is
  there. The model assumes it (model/hugepages.py): every huge page reservation then fails.
  On a host with huge pages to give, a case that makes a hugetlb object (MFD_HUGETLB,
  SHM_HUGETLB or a size flag) gets status "error" naming it: such a host cannot decide it.
  The pools are read once, when probed; this implementation never changes them.

SHARESPEC_IMPL_DISABLE=name,name,... (read once, here) makes the named features count as
missing whatever the host offers: a switch for tests and diagnosis (docs/protocol.md).
Standard library only.
"""
import ctypes
import os
import signal

from . import syscalls

DISABLE_VARIABLE = "SHARESPEC_IMPL_DISABLE"
NAMES = ("subreaper", "pdeathsig", "pidfd", "pagemap", "other_exec", "ipc_namespace",
         "hugepages_empty")
HUGEPAGES = "/sys/kernel/mm/hugepages"
PR_GET_PDEATHSIG = 2

MISSING = {}            # feature -> why it is missing; filled once by probe()
_PROBED = []


class BadSwitch(ValueError):
    """SHARESPEC_IMPL_DISABLE names a feature that does not exist (a typo would otherwise
    test nothing, silently)."""


def disabled_by_switch():
    """The feature names in SHARESPEC_IMPL_DISABLE; BadSwitch for an unknown one."""
    names = [n.strip() for n in os.environ.get(DISABLE_VARIABLE, "").split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise BadSwitch("%s: unknown feature %s (known: %s)" % (
            DISABLE_VARIABLE, ", ".join(map(repr, unknown)), ", ".join(NAMES)))
    return set(names)


def probe():
    """Probe every feature once (the first call; later calls do nothing). Setting the
    subreaper attribute is its own probe: the executor wants it anyway. BadSwitch if
    SHARESPEC_IMPL_DISABLE names an unknown feature."""
    if _PROBED:
        return
    disabled = disabled_by_switch()
    _PROBED.append(True)
    for name in NAMES:
        if name in disabled:
            MISSING[name] = "disabled by %s" % DISABLE_VARIABLE
            continue
        why = PROBES[name]()
        if why:
            MISSING[name] = why


def has(name):
    probe()
    return name not in MISSING


def missing(name):
    """Why a feature is missing, in a few words for an observation's detail."""
    probe()
    return "%s is not available here (%s)" % (DESCRIPTIONS[name], MISSING.get(name, "?"))


def report():
    """One line per feature: available, or missing and why (``python -S -m impl --features``)."""
    probe()
    return ["%-12s %s" % (name, "missing: " + MISSING[name] if name in MISSING else "available")
            for name in NAMES]


def _probe_subreaper():
    try:
        syscalls.set_child_subreaper()
    except OSError as error:
        return _reason(error)
    return ""


def _probe_pdeathsig():
    """PR_GET_PDEATHSIG answers where PR_SET_PDEATHSIG works; the executor's own parent-death
    signal is left as it is."""
    value = ctypes.c_int(0)
    if syscalls.libc.prctl(PR_GET_PDEATHSIG, ctypes.addressof(value), 0, 0, 0) != 0:
        return "prctl(PR_GET_PDEATHSIG): %s" % syscalls.errno_name(ctypes.get_errno())
    return ""


def _probe_pidfd():
    """A pidfd of this process, and a null signal through it."""
    try:
        pidfd = os.pidfd_open(os.getpid())
    except (OSError, AttributeError) as error:
        return "pidfd_open: %s" % _reason(error)
    try:
        signal.pidfd_send_signal(pidfd, 0)
    except (OSError, AttributeError) as error:
        return "pidfd_send_signal: %s" % _reason(error)
    finally:
        os.close(pidfd)
    return ""


def _probe_pagemap():
    """A page of this process, written (so present), must read as present in
    /proc/self/pagemap. (Under an emulator the file may read, but the host's page tables at
    the guest's addresses.)"""
    from . import pagemap
    flags = syscalls.MAP_PRIVATE | syscalls.MAP_ANONYMOUS
    result, address = syscalls.mmap(None, pagemap.PAGE, syscalls.PROT_READ | syscalls.PROT_WRITE,
                                    flags, -1, 0)
    if result != "ok":
        return "mmap for the probe: %s" % result
    try:
        syscalls.store(address, 1)
        entry = pagemap.read_entry("self", address)
    finally:
        syscalls.munmap(address, pagemap.PAGE)
    if entry is None:
        return "/proc/self/pagemap cannot be read"
    if not entry.present:
        return "/proc/self/pagemap shows a page just written as not present"
    return ""


def _probe_other_exec():
    """By the permission bits for others (the strictest class "other" can fall in): the
    interpreter executable, this package's directory and files readable, and every directory
    above them searchable."""
    import sys
    package = os.path.dirname(os.path.abspath(__file__))
    wanted = [(os.path.realpath(sys.executable), 0o001), (package, 0o005)]
    wanted += [(os.path.join(package, name), 0o004) for name in os.listdir(package)
               if name.endswith(".py")]
    for path, bits in wanted:
        for directory in _parents(path):
            if not _others_may(directory, 0o001):
                return "%s is not searchable by others" % directory
        if not _others_may(path, bits):
            return "%s is not %s by others" % (path, "executable" if bits == 0o001 else "readable")
    return ""


def _probe_ipc_namespace():
    from . import ipc_namespace
    return ipc_namespace.probe()


def _probe_hugepages_empty():
    """Every huge page size's pool has no free page and may not overcommit (read-only)."""
    try:
        sizes = sorted(os.listdir(HUGEPAGES))
    except OSError as error:
        return "%s: %s" % (HUGEPAGES, _reason(error))
    if not sizes:
        return "%s lists no huge page size" % HUGEPAGES
    for size in sizes:
        for name in ("free_hugepages", "nr_overcommit_hugepages"):
            path = os.path.join(HUGEPAGES, size, name)
            try:
                with open(path) as counter:
                    value = int(counter.read().strip() or "0")
            except (OSError, ValueError) as error:
                return "%s: %s" % (path, _reason(error))
            if value:
                return "%s is %d (the model assumes empty pools)" % (path, value)
    return ""


def _parents(path):
    parents = []
    while os.path.dirname(path) != path:
        path = os.path.dirname(path)
        parents.append(path)
    return parents


def _others_may(path, bits):
    try:
        return os.stat(path).st_mode & bits == bits
    except OSError:
        return False


def _reason(error):
    if isinstance(error, OSError) and error.errno:
        return "%s: %s" % (error.strerror or error, syscalls.errno_name(error.errno))
    return str(error)


PROBES = {"subreaper": _probe_subreaper, "pdeathsig": _probe_pdeathsig, "pidfd": _probe_pidfd,
          "pagemap": _probe_pagemap, "other_exec": _probe_other_exec,
          "ipc_namespace": _probe_ipc_namespace,
          "hugepages_empty": _probe_hugepages_empty}
DESCRIPTIONS = {
    "subreaper": "prctl(PR_SET_CHILD_SUBREAPER)",
    "pdeathsig": "prctl(PR_SET_PDEATHSIG)",
    "pidfd": "pidfd_open and pidfd_send_signal",
    "pagemap": "/proc/PID/pagemap (frame identity)",
    "other_exec": "exec of this Python by the unprivileged uid of setuid(other)",
    "ipc_namespace": "a fresh IPC namespace with exact figures (unshare(CLONE_NEWIPC), no swap, "
                     "no shmem hugepages)",
    "hugepages_empty": "empty huge page pools (a huge page reservation must fail)",
}
