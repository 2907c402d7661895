"""Credentials and permission bits (C07): who a process is, and what the mode bits let it do.

The case language knows two users and two groups: ``root`` (uid 0, gid 0) and ``other``, an
unprivileged uid and gid the implementation picks (the bundled one: 65534, nobody/nogroup).
Every case starts as root, with no supplementary groups. A process keeps its credentials
across fork and exec (credentials(7): a child inherits its parent's; execve of a program
without set-user-ID bits or file capabilities keeps the ids, and a process whose uids are
all nonzero gains no capability). Credentials are a process's, not a thread's: the kernel's
setuid(2) changes the calling thread only, but glibc's setuid/setgid apply the change to
every thread of the process (nptl(7), "the set*id functions"; POSIX requires it), which is
the call a C program makes. So a step by any thread changes them for all its threads.

Capabilities follow the uid: a process whose uid is root holds every capability; setuid
to a nonzero uid from root sets the real, effective and saved uids, which clears the
permitted and effective capabilities (capabilities(7), "Effect of user ID changes on
capabilities"). With two users that is all there is to know: ``privileged`` is ``uid ==
"root"``.

The checks, each as the kernel makes it:

- SysV (ipc/util.c ipcperms): the owner's bits if the caller's euid is the segment's uid or
  creator uid (cuid), else the group's if its egid is the segment's gid or cgid, else the
  others'; a bit asked for and not granted is EACCES unless the caller has CAP_IPC_OWNER.
  shmget of an existing key asks for the bits of its own mode argument (``(flg >> 6) |
  (flg >> 3) | flg``), shmat for read (SHM_RDONLY) or read and write, IPC_STAT for read.
- IPC_RMID and IPC_SET (ipc/util.c ipcctl_obtain_check): the caller's euid is the creator's
  or the owner's, or it has CAP_SYS_ADMIN; else EPERM. IPC_SET sets the owner uid and gid
  and the 9 permission bits (ipc_update_perm); the creator ids never change.
- Files and POSIX shm objects (fs/namei.c generic_permission): the owner's bits if the
  caller's fsuid is the object's uid, else the group's, else the others'; O_RDONLY asks for
  read, O_RDWR for read and write; CAP_DAC_OVERRIDE (root) passes. The checks are made at
  open only: a descriptor, a mapping and an attach keep what they were granted (so mmap and
  mprotect depend on the uid only through the descriptor's access mode, C01, R24).
- A new object's owner is the creator's euid and egid, its mode the mode argument (the
  implementation clears its umask; shmget's mode is never masked).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .ops import DEFAULT_MODE, USERS  # noqa: F401  (USERS: the uids, and the gids of those names)
READ, WRITE = 4, 2             # the permission bits of one class (S_IROTH, S_IWOTH)


@dataclass(frozen=True)
class Creds:
    """A process's user and group (real = effective = saved: the language never splits them)."""
    uid: str = "root"
    gid: str = "root"

    @property
    def privileged(self) -> bool:
        """Every capability (CAP_IPC_OWNER, CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_SETUID,
        CAP_SETGID, CAP_FOWNER): the uid is root (C07)."""
        return self.uid == "root"


@dataclass(frozen=True)
class Perm:
    """An object's permission: its mode bits, owner, and (SysV) creator (kern_ipc_perm).
    Files and POSIX shm objects have no creator ids: theirs stay equal to the owner's."""
    mode: int = DEFAULT_MODE
    uid: str = "root"
    gid: str = "root"
    cuid: str = "root"
    cgid: str = "root"


ROOT = Creds()


def created_by(creds: Creds, mode: int) -> Perm:
    """The permission of an object a process makes (newseg: mode & S_IRWXUGO; ipc_addid and
    inode_init_owner: the euid and egid)."""
    return Perm(mode=mode & 0o777, uid=creds.uid, gid=creds.gid, cuid=creds.uid, cgid=creds.gid)


def _class_bits(perm: Perm, creds: Creds, owners: tuple, groups: tuple) -> int:
    if creds.uid in owners:
        return (perm.mode >> 6) & 7
    if creds.gid in groups:
        return (perm.mode >> 3) & 7
    return perm.mode & 7


def ipc_permits(perm: Perm, creds: Creds, wanted: int) -> bool:
    """ipc/util.c ipcperms: C07 (root passes by CAP_IPC_OWNER)."""
    granted = _class_bits(perm, creds, (perm.cuid, perm.uid), (perm.cgid, perm.gid))
    return not (wanted & ~granted & 7) or creds.privileged


def shmget_wants(mode: int) -> int:
    """The bits shmget of an existing key asks for: its flag's, folded (ipcperms)."""
    return ((mode >> 6) | (mode >> 3) | mode) & 7


def shmat_wants(rdonly: bool) -> int:
    """do_shmat: S_IRUGO for SHM_RDONLY, S_IRUGO | S_IWUGO otherwise."""
    return READ if rdonly else READ | WRITE


def may_change_ipc(perm: Perm, creds: Creds) -> bool:
    """ipcctl_obtain_check (IPC_RMID, IPC_SET): the creator, the owner, or CAP_SYS_ADMIN."""
    return creds.uid in (perm.cuid, perm.uid) or creds.privileged


def ipc_set(perm: Perm, mode, uid, gid) -> Perm:
    """ipc_update_perm: the owner ids and the permission bits; None keeps a field as it is."""
    return replace(perm, mode=perm.mode if mode is None else mode & 0o777,
                   uid=perm.uid if uid is None else uid, gid=perm.gid if gid is None else gid)


def file_permits(perm: Perm, creds: Creds, rdonly: bool, wronly: bool = False) -> bool:
    """fs/namei.c generic_permission for an open: C07 (root passes by CAP_DAC_OVERRIDE). An
    O_WRONLY open asks for write only, O_RDONLY for read only."""
    wanted = READ if rdonly else WRITE if wronly else READ | WRITE
    granted = _class_bits(perm, creds, (perm.uid,), (perm.gid,))
    return not (wanted & ~granted) or creds.privileged


def sticky_create_may_refuse(perm: Perm, creds: Creds) -> bool:
    """O_CREAT of an existing object in a sticky, world-writable directory owned by root
    (/dev/shm) that neither the caller nor the directory's owner owns: fs.protected_regular,
    a host setting (fs/namei.c may_create_in_sticky, no capability passes it), may refuse it
    with EACCES. The model allows both."""
    return perm.uid not in (creds.uid, "root")


def may_unlink_in_sticky(perm: Perm, creds: Creds) -> bool:
    """shm_unlink in /dev/shm (sticky, owned by root): the object's owner or CAP_FOWNER
    (fs/namei.c check_sticky); anyone else gets EPERM, which glibc's shm_unlink reports as
    EACCES."""
    return perm.uid == creds.uid or creds.privileged


# --- the steps that change credentials ----------------------------------------------------

def changed_uid(creds: Creds, uid: str):
    """setuid(2): with CAP_SETUID the real, effective and saved uids all become ``uid`` (from
    root to other: the capabilities go); without it only the real or saved uid is allowed,
    which here is the uid it has; anything else is EPERM. The new creds, or None (EPERM)."""
    if creds.privileged or uid == creds.uid:
        return replace(creds, uid=uid)
    return None


def changed_gid(creds: Creds, gid: str):
    """setgid(2): the same with CAP_SETGID (held while the uid is root) and the gids."""
    if creds.privileged or gid == creds.gid:
        return replace(creds, gid=gid)
    return None
