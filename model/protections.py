"""What each protection of the case format lets a load or a store do, and which calls may refuse
it (C01, R24, R33). The protections are ``rw``, ``r``, ``none``, ``w`` (PROT_WRITE alone),
``x`` (PROT_EXEC alone) and ``rx`` (PROT_READ|PROT_EXEC).

Linux on x86-64 (mmap(2), NOTES; arch/x86/mm/pgprot.c's protection_map): a page table entry
cannot be writable without being readable, so PROT_WRITE alone reads too; PROT_EXEC alone
reads too, except where the CPU has protection keys (OSPKE): then mprotect/mmap give a
PROT_EXEC-only range the execute-only key (arch_override_mprotect_pkey, execute_only_pkey) and
a load faults. Which of the two a host does is not in the case, so an ``x`` load may read or
raise SIGSEGV. The VMA keeps the flags asked for (``-w-p``, ``--xp`` in /proc/PID/maps), so
records of different protections never merge (R30).

POSIX (mmap, "Description"): a write-only or execute-only range may or may not be readable
("an implementation may permit accesses other than those specified by prot"), but a store
into a range without PROT_WRITE never succeeds.

Refusals with a descriptor (C01; mm/mmap.c do_mmap, mm/mprotect.c): a shared mapping asking
for PROT_WRITE needs a descriptor open for writing (EACCES, and mprotect of such a mapping to a
writable protection is EACCES: no VM_MAYWRITE); PROT_EXEC of a file on a file system mounted
noexec is EPERM for mmap and EACCES for mprotect (no VM_MAYEXEC). The bundled implementation
keeps files and POSIX shm objects under /dev/shm, which a host may mount noexec (Docker
does), so for those two kinds the refusal is allowed beside success; a memfd lives on the
kernel's internal shm mount, which is never noexec, and anonymous memory has no file.
"""
from __future__ import annotations

WRITABLE = frozenset({"rw", "w"})
EXECUTABLE = frozenset({"x", "rx"})
# Object kinds (state.MemObject.kind) whose files live where the host chooses the mount flags.
ON_A_HOST_MOUNT = frozenset({"file", "shm"})


def allows_store(prot: str) -> bool:
    """A store succeeds only with PROT_WRITE (C01, R24, R33)."""
    return prot in WRITABLE


def load_always_faults(prot: str) -> bool:
    return prot == "none"   # R33


def load_may_fault(prot: str, linux_interfaces: bool) -> bool:
    """A load that may raise SIGSEGV although it may also read: PROT_EXEC alone (execute-only
    memory with protection keys), and under POSIX PROT_WRITE alone."""
    return prot == "x" or (prot == "w" and not linux_interfaces)


def exec_may_be_refused(kind) -> bool:
    """Whether PROT_EXEC of a mapping of an object of this kind may meet a noexec mount."""
    return kind in ON_A_HOST_MOUNT
