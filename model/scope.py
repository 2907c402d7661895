"""A scope: the bounds within which programs are generated or explored. Data, not code.

Two kinds of bound:

- *how many*: processes, threads, pages, mapping/segment/descriptor handles, program steps;
- *which classes of each argument* the action menu (model/actions.py) offers: protections,
  lengths, places in a mapping, madvise advices, mremap kinds, object kinds, ... Each is a tuple
  of class names (the first is the simplest: generators that shrink go towards it); the names a
  bound may hold are listed in ``CLASSES``. The default scope offers every class.

Every engine takes one: the explicit enumerator, the random walk, the Hypothesis strategies
and the distinguishing search (each of its areas is a scope).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .ops import MADVICES, MSYNC_FLAGS, OBJECT_KINDS, POSIX_MADVICES, SHMCTL_COMMANDS

# Operation families, simplest first (a Hypothesis choice shrinks towards the first). A family
# is an operation, or a distinct use of one (mmap of anonymous memory, of an object, at a
# fixed place). model/actions.py offers the steps of each.
FAMILIES = ("mmap", "write", "read", "fork", "shmget", "shmat", "spawn", "open", "ftruncate",
            "pwrite", "pread", "munmap", "mprotect", "shmdt", "shmctl", "mmap_fd", "mmap_fixed",
            "madvise", "posix_madvise", "mremap", "close", "shm_unlink", "seal", "thread_exit",
            "exit", "exec", "setuid", "setgid", "seals", "dup", "reopen", "fallocate", "fstat",
            "absolute",
            # model/locking.py
            "mlock", "munlock", "msync", "vmlck", "mmap_flags",
            # model/brk.py
            "brk",
            # model/growsdown.py
            "growsdown",
            # model/map_type.py
            "mmap_neither")

# Every class an argument bound may name, in order, simplest first (model/actions.py says what
# each one means for a step).
CLASSES: dict = {
    # mmap's protection; w is PROT_WRITE alone, x PROT_EXEC alone, rx PROT_READ|PROT_EXEC
    "map_prots": ("rw", "r", "none", "w", "x", "rx"),
    "prots": ("r", "none", "rw", "w", "x", "rx"),  # mprotect's new protection
    "sharing": ("shared", "private"),              # MAP_SHARED / MAP_PRIVATE
    "map_lengths": ("page", "pages", "unaligned"),  # mmap: one page, scope.pages, a page + 1 byte
    # munmap, mprotect, madvise, posix_madvise: one page, the rest of the mapping (at least
    # two pages), one page and one byte, and the rest of the mapping and one page past its end
    "lengths": ("page", "pages", "unaligned", "past_end"),
    "range_pages": ("start", "middle", "last"),    # the page a range or shmdt starts at
    "place_pages": ("start", "middle", "last", "past"),  # the page a read or write touches
    "advices": MADVICES,
    "posix_advices": POSIX_MADVICES,               # posix_madvise's advice
    # mremap: grow in place, shrink, move whole (MREMAP_MAYMOVE|MREMAP_FIXED), move to a new
    # size, alias (old_size 0), each of the record at the place; MREMAP_FIXED to a place of
    # another mapping (over it), without MREMAP_MAYMOVE, to an unaligned place, overlapping
    # the old range; MREMAP_DONTUNMAP to the new handle's slot and to another mapping
    "remaps": ("grow", "shrink", "move", "move_resize", "alias", "fixed", "fixed_nomaymove",
               "fixed_unaligned", "fixed_overlap", "dontunmap", "fixed_dontunmap"),
    # shmat: at its slot, SHM_RDONLY, at a page of another mapping, SHM_RND of an unaligned
    # place, SHM_REMAP over another mapping
    "attaches": ("slot", "rdonly", "at", "rnd", "remap"),
    "shm_sizes": ("page", "pages", "unaligned"),
    "keys": ("private", "K1"),
    "shm_flags": ("creat", "excl", "none"),
    "object_kinds": OBJECT_KINDS,
    # O_CREAT, O_CREAT|O_EXCL, neither, O_RDONLY, O_WRONLY (a file only)
    "opens": ("creat", "excl", "none", "rdonly", "wronly"),
    # memfd_create: MFD_ALLOW_SEALING, without it, a NULL name, a too long name, unknown flags
    "memfd_opens": ("sealing", "nosealing", "null_name", "long_name", "flags",
                    # MFD_HUGETLB of the default size, with a size flag (the menu: 64 KiB, no
                    # hstate on x86-64), a size flag alone (EINVAL): model/hugepages.py
                    "hugetlb", "hugetlb_sized", "huge_size_only"),
    "seal_sets": ("write", "shrink", "grow", "seal", "future_write", "none"),  # F_ADD_SEALS
    "reopens": ("rdwr", "rdonly", "wronly", "trunc"),  # /proc/self/fd; trunc: O_RDWR|O_TRUNC
    # fallocate: a page past the end (grows), within the size, a hole of a page, a hole from
    # byte 1 (partial pages at both ends), length 0
    "fallocates": ("extend", "inside", "punch", "punch_unaligned", "zero"),
    "object_names": ("obj", "other"),
    "truncates": ("page", "zero", "unaligned", "pages"),
    "file_offsets": ("start", "page", "unaligned"),  # mmap's offset into an object
    "io_offsets": ("start", "middle", "last", "end"),  # pread/pwrite: bytes of the object
    "fixed": ("replace", "noreplace"),             # MAP_FIXED, MAP_FIXED_NOREPLACE
    # shmctl's command (model/shmctl_commands.py): IPC_STAT first, as the menu always offered
    # ("set", IPC_SET, is offered with the mode and owner classes users and modes below)
    "shmctl_cmds": ("stat", "rmid") + SHMCTL_COMMANDS[2:],
    # C07: the user setuid/setgid switch to, and IPC_SET gives a segment
    "users": ("other", "root"),
    # C07: the mode shmget and open(creat) make with, and IPC_SET sets: 0600 (the default),
    # 0644 (others may read), 0666 (anyone may read and write), 0000 (only root)
    "modes": ("owner", "read", "all", "none"),
    # model/absolute_addresses.py: the places outside every slot that mmap fixed, munmap,
    # mprotect, shmat and shmdt take: @kernel (above every user space), @high (1 << 53: past
    # 4-level paging's user space), @zero (the nil page, below mmap_min_addr) and @zero+1 (its
    # unaligned byte 1, which SHM_RND rounds down to 0)
    "absolutes": ("kernel", "high", "zero", "zero_unaligned"),
    # shmget's huge pages (model/hugepages.py): none, SHM_HUGETLB, with a size (64 KiB), a
    # size flag alone (ignored); offered with creat and the default mode only
    "shm_huges": ("none", "hugetlb", "hugetlb_sized", "size_only"),
}
CLASSES.update({
    # mmap's other flags (model/locking.py): MAP_LOCKED, MAP_POPULATE, MAP_SHARED_VALIDATE
    # alone and with a bit no kernel knows, and that bit under MAP_SHARED or MAP_PRIVATE
    "map_flags": ("locked", "populate", "validate", "validate_unknown", "unknown"),
    "msync_flags": MSYNC_FLAGS,                    # msync's flags, the invalid ones included
})
MODE_BITS = {"owner": 0o600, "read": 0o644, "all": 0o666, "none": 0o000}


@dataclass(frozen=True)
class Scope:
    processes: int = 3       # processes alive at once, the first included
    threads: int = 4         # threads in all
    pages: int = 2           # pages per mapping (and page indices a place may name: one more)
    mappings: int = 3        # mapping handles bound
    segments: int = 2        # segment handles bound
    objects: int = 2         # descriptors opened
    aliases: int = 1         # descriptors made from another (dup, reopen) beyond ``objects``
    steps: int = 8           # program length
    values: tuple = (1, 2)   # bytes written
    offsets: tuple = (0, 1, 4095)  # byte offsets in a page: the start, near it, the last byte
    # which classes of each argument (CLASSES); None for ``families``: every operation family
    map_prots: tuple = CLASSES["map_prots"]
    prots: tuple = CLASSES["prots"]
    sharing: tuple = CLASSES["sharing"]
    map_lengths: tuple = CLASSES["map_lengths"]
    lengths: tuple = CLASSES["lengths"]
    range_pages: tuple = CLASSES["range_pages"]
    place_pages: tuple = CLASSES["place_pages"]
    advices: tuple = CLASSES["advices"]
    posix_advices: tuple = CLASSES["posix_advices"]
    remaps: tuple = CLASSES["remaps"]
    attaches: tuple = CLASSES["attaches"]
    shm_sizes: tuple = CLASSES["shm_sizes"]
    keys: tuple = CLASSES["keys"]
    shm_flags: tuple = CLASSES["shm_flags"]
    object_kinds: tuple = CLASSES["object_kinds"]
    opens: tuple = CLASSES["opens"]
    memfd_opens: tuple = CLASSES["memfd_opens"]
    seal_sets: tuple = CLASSES["seal_sets"]
    reopens: tuple = CLASSES["reopens"]
    fallocates: tuple = CLASSES["fallocates"]
    object_names: tuple = CLASSES["object_names"]
    truncates: tuple = CLASSES["truncates"]
    file_offsets: tuple = CLASSES["file_offsets"]
    io_offsets: tuple = CLASSES["io_offsets"]
    fixed: tuple = CLASSES["fixed"]
    shmctl_cmds: tuple = CLASSES["shmctl_cmds"]
    users: tuple = CLASSES["users"]
    modes: tuple = CLASSES["modes"]
    absolutes: tuple = CLASSES["absolutes"]
    map_flags: tuple = CLASSES["map_flags"]
    msync_flags: tuple = CLASSES["msync_flags"]
    shm_huges: tuple = CLASSES["shm_huges"]
    families: tuple = None   # the operation families offered (FAMILIES; None: all)

    def __post_init__(self):
        for name in ("processes", "threads", "pages", "mappings", "segments", "objects", "aliases",
                     "steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"scope: {name} must be a whole number >= 0, not {value!r}")
        if self.processes < 1 or self.threads < 1:
            raise ValueError("scope: at least one process and one thread")
        if self.pages > 255:
            raise ValueError("scope: pages must be below 256 (the slot size)")
        if not self.values or any(not (0 <= v <= 255) for v in self.values):
            raise ValueError("scope: values are bytes, 0..255")
        if not self.offsets or any(not (0 <= o < 4096) for o in self.offsets):
            raise ValueError("scope: offsets lie in a page, 0..4095")
        for name, known in CLASSES.items():
            value = getattr(self, name)
            if not isinstance(value, tuple) or set(value) - set(known):
                raise ValueError(f"scope: {name} holds classes of {known}, not {value!r}")
        if self.families is not None:
            if not isinstance(self.families, tuple) or set(self.families) - set(FAMILIES):
                raise ValueError(f"scope: families are some of {FAMILIES}, not {self.families!r}")


# The exhaustive enumerator's scope: every operation family, each argument narrowed to the
# classes that tell the most apart, so that bounds 3 and 4 stay small (figures: benchmarks/
# enumeration.py). Every family, exec, close, thread_exit, shmdt and seals included: they add
# about 40% to bound 4 (7,888 -> 10,907 programs) and reach the wrong implementations that
# only they show (benchmarks/mutation.py); a wider class of any argument multiplies the
# programs instead (every class at bound 3 alone: 56,690).
SMALL = Scope(processes=2, threads=2, pages=2, mappings=2, segments=1, objects=1, steps=4, values=(1,),
              offsets=(0,), map_prots=("rw",), prots=("r",), sharing=("shared", "private"),
              map_lengths=("pages",), lengths=("page", "pages"), range_pages=("start",),
              place_pages=("start", "last"), advices=("dontneed", "dontfork"),
              posix_advices=("dontneed",),
              remaps=("grow", "move"), attaches=("slot",), shm_sizes=("page",),
              keys=("private",), shm_flags=("creat",), object_kinds=("memfd",), opens=("none",),
              truncates=("page",), file_offsets=("start",), io_offsets=("start",),
              fixed=("replace",), shmctl_cmds=("stat", "rmid"), users=("other",),
              modes=("owner",), memfd_opens=("sealing",), seal_sets=("write",),
              reopens=("rdonly",), fallocates=("punch",), absolutes=("kernel",),
              map_flags=("locked",), msync_flags=("invalidate",), shm_huges=("none",),
              families=None)
DEFAULT = Scope()


def parse_scope(text: str) -> Scope:
    """``processes=2,pages=1,steps=6`` -> Scope; ValueError naming the bad part."""
    counted = {f.name for f in fields(Scope) if f.type in ("int", int)}
    given = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ValueError(f"scope: expected NAME=NUMBER, got {part!r}")
        name, value = (s.strip() for s in part.split("=", 1))
        if name not in counted:
            raise ValueError(f"scope: unknown bound {name!r}")
        try:
            given[name] = int(value)
        except ValueError:
            raise ValueError(f"scope: {name} must be a number, not {value!r}") from None
    return Scope(**given)
