"""The host features the implementation uses beyond plain POSIX and Linux calls, probed once.

A wrapper (an emulator such as qemu-user, a sandbox, an old kernel) may lack some of them. Each
is probed once, in the executor, before the zygote is forked (so that every process of the
implementation inherits the answers), and a missing one is replaced by a plainer way of doing
the same; only a case that truly needs a missing feature gets status "error", naming it.

- ``subreaper``: prctl(PR_SET_CHILD_SUBREAPER). The executor, the zygote and each first process
  adopt the orphans below them, so that no pid of a case is reaped (and reused) before its
  segments are removed. Without it orphans go to init, which reaps them: the implementation
  reaps only its own children (hygiene.reap_case stops when none is left); when it must
  search the segment table (a shmget cut short) a segment whose creator init has reaped is
  the case's only if it has one of the case's keys, else it is left and reported
  (segments.py); and an exit status that init took first is an error naming the feature
  (hygiene.ending).
- ``pdeathsig``: prctl(PR_SET_PDEATHSIG). The zygote and the first processes die with their
  parent. Without it they end at end-of-file on their command pipe or socket, as they do
  anyway; a case process stuck in a step is ended by the executor's clean-up (or by the
  runner's sweep of the ledger if the executor itself is killed).
- ``pidfd``: pidfd_open and pidfd_send_signal. The executor watches the processes it did not
  fork (the case's, the first processes) through pidfds: readable when the process ends, a
  signal that reaches that process or none. Without them it names a process by its pid and
  start time and polls /proc/PID/stat for its end (processes.Watch).
- ``pidfd_getfd`` (needs ``pidfd``): recycling a first process whose case forked takes the
  executor's ends of new pipes with pidfd_getfd. Without it such a first process is not
  recycled but killed, and a new one forked.
- ``scm_rights``: descriptors passed over a SOCK_SEQPACKET socket pair, to the zygote
  (zygote.py), which forks the first processes so that the executor never forks. Without it
  the executor forks them itself (Zygote.serve_here): slower, the same otherwise.
- ``pagemap``: /proc/PID/pagemap gives the frames of a process's pages (the ``frames`` step).
  Nothing can replace it: a case with a frames step gets status "error" naming it.

SHARESPEC_IMPL_DISABLE=name,name,... (read once, here) makes the named features count as
missing whatever the host offers: a switch for tests and diagnosis (docs/protocol.md).
Standard library only.
"""
import ctypes
import os
import signal

from . import syscalls

DISABLE_VARIABLE = "SHARESPEC_IMPL_DISABLE"
NAMES = ("subreaper", "pdeathsig", "pidfd", "pidfd_getfd", "scm_rights", "pagemap")
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
        if name == "pidfd_getfd" and "pidfd" in MISSING:
            why = "it needs a pidfd"    # (not probed: its probe opens a pidfd)
        else:
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


def tie_to_parent(parent):
    """In a process the implementation forks to serve it (the zygote, a first process): die
    with `parent` (pdeathsig) and adopt the orphans below (subreaper), each where the host
    offers it. False if `parent` has ended already: the caller is to exit at once."""
    if has("pdeathsig"):
        syscalls.set_death_signal(signal.SIGKILL)
    if os.getppid() != parent:      # after the prctl: a parent ending later kills this one
        return False
    if has("subreaper"):
        syscalls.set_child_subreaper()
    return True


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


def _probe_pidfd_getfd():
    """A duplicate of one of this process's own descriptors, through a pidfd of itself."""
    read_end, write_end = os.pipe()
    pidfd = copy = None
    try:
        pidfd = os.pidfd_open(os.getpid())
        copy = syscalls.pidfd_getfd(pidfd, read_end)
        if os.fstat(copy).st_ino != os.fstat(read_end).st_ino:
            return "pidfd_getfd gave another file"
    except (OSError, AttributeError) as error:
        return _reason(error)
    finally:
        for fd in (read_end, write_end, pidfd, copy):
            if fd is not None:
                os.close(fd)
    return ""


def _probe_scm_rights():
    """One descriptor sent over a SOCK_SEQPACKET socket pair must arrive as the same file."""
    import socket
    read_end, write_end = os.pipe()
    got = []
    try:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with ours, theirs:
            ours.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                   read_end.to_bytes(4, "little", signed=True))])
            _, ancillary, _, _ = theirs.recvmsg(1, socket.CMSG_SPACE(4))
            for level, kind, payload in ancillary:
                if (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                    got += [int.from_bytes(payload[i:i + 4], "little", signed=True)
                            for i in range(0, len(payload) - len(payload) % 4, 4)]
        if len(got) != 1 or os.fstat(got[0]).st_ino != os.fstat(read_end).st_ino:
            return "SCM_RIGHTS did not carry the descriptor"
    except OSError as error:
        return _reason(error)
    finally:
        for fd in [read_end, write_end] + got:
            os.close(fd)
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


def _reason(error):
    if isinstance(error, OSError) and error.errno:
        return "%s: %s" % (error.strerror or error, syscalls.errno_name(error.errno))
    return str(error)


PROBES = {"subreaper": _probe_subreaper, "pdeathsig": _probe_pdeathsig, "pidfd": _probe_pidfd,
          "pidfd_getfd": _probe_pidfd_getfd, "scm_rights": _probe_scm_rights,
          "pagemap": _probe_pagemap}
DESCRIPTIONS = {
    "subreaper": "prctl(PR_SET_CHILD_SUBREAPER)",
    "pdeathsig": "prctl(PR_SET_PDEATHSIG)",
    "pidfd": "pidfd_open and pidfd_send_signal",
    "pidfd_getfd": "pidfd_getfd",
    "scm_rights": "SCM_RIGHTS over a SOCK_SEQPACKET socket pair",
    "pagemap": "/proc/PID/pagemap (frame identity)",
}
