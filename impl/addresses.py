"""The slot arena: where each mapping handle's addresses are, and which descriptor number each
fd handle gets.

The k-th mapping handle of a case owns slot k, 256 pages (1 MiB) at ARENA_BASE + k MiB
(docs/case-format.md, "Places and addresses"). ARENA_BASE is 16 TiB: far above the heap and
libraries loaded low, and far below mmap_base (just under 128 TiB on x86-64), where the kernel
and the C library place the mappings they choose, so nothing else ever lands in a slot or in a
hole a case leaves there.

The k-th fd handle gets descriptor FD_BASE + k in every process (dup3 after open), so a handle
that was never opened in a process, or whose open failed, is a number that is not open there:
using it fails with EBADF as it would in C, and never touches the implementation's own pipes.
"""
PAGE = 4096
# The absolute places of a case (docs/case-format.md, "Absolute addresses"): the same address
# in every process of every host, outside the arena. @zero is the nil page; @high is 1 << 53
# (past user space with 4-level paging, inside it with 5-level); @kernel is the x86-64 kernel
# text, above every user space. Nothing the implementation or the C library maps lies at any
# of them (page 0 is below vm.mmap_min_addr, and the kernel chooses no address above 2^47
# unless asked), so a MAP_FIXED there that succeeds replaces nothing of the implementation's.
ABSOLUTE = {"@zero": 0, "@high": 1 << 53, "@kernel": 2 ** 64 - 2 ** 31}
MMAP_MIN_ADDR = "/proc/sys/vm/mmap_min_addr"
# The program break's places (docs/case-format.md, "The program break"): @brk[k] is k pages above
# the break the case process had at its first @brk step, known only inside that process, so the
# executor sends the offset and the case process adds its break (impl/worker.py, _break_base).
BRK = "@brk"


def nil_page_guarded():
    """Whether vm.mmap_min_addr keeps unprivileged callers off page 0, as the case format
    assumes of a case that names @zero (0: anyone may map it, and a case saying EPERM would
    fail for the host's setting, not for a bug)."""
    try:
        with open(MMAP_MIN_ADDR) as f:
            return int(f.read().strip() or "0") > 0
    except (OSError, ValueError):
        return True     # no /proc/sys: an emulator; the kernel default (4096 or more) holds
SLOT_PAGES = 256
SLOT_BYTES = SLOT_PAGES * PAGE
ARENA_BASE = 0x100000000000
SHMLBA = 4096
FD_BASE = 700


def slot_address(plan, mapping):
    return ARENA_BASE + plan.slots[mapping] * SLOT_BYTES


def slot_end(address):
    """The end of the slot an address of the arena lies in."""
    return ARENA_BASE + ((address - ARENA_BASE) // SLOT_BYTES + 1) * SLOT_BYTES


def arena_range(plan):
    """The [start, end) the case's slots cover."""
    return ARENA_BASE, ARENA_BASE + max(1, len(plan.slots)) * SLOT_BYTES


def fd_number(plan, fd_handle):
    return FD_BASE + plan.fd_numbers[fd_handle]


class Places:
    """The address each mapping handle means in this case.

    A handle bound with an explicit place (mmap with fixed, shmat with at) means that place's
    address (for shmat with rnd, rounded down to SHMLBA); every other handle means its slot.
    The executor records the explicit ones as their binding steps come (they are static too:
    they depend only on earlier handles' addresses).
    """

    def __init__(self, plan):
        self.plan = plan
        self.base = {}

    def handle(self, mapping):
        if mapping == BRK:
            return 0                  # an offset from the break: the case process adds it
        if mapping in ABSOLUTE:
            return ABSOLUTE[mapping]
        if mapping not in self.base:
            self.base[mapping] = slot_address(self.plan, mapping)
        return self.base[mapping]

    def place(self, place):
        return self.handle(place["mapping"]) + place["page"] * PAGE + place["offset"]

    def absolute(self, place):
        """Whether a place (a dict, or None) is at an absolute address: named so, or a handle
        bound at one (only page 0 of such a handle is a place)."""
        if place is not None and place["mapping"] == BRK:
            return False              # a handle bound at @brk is never used again (validated)
        return place is not None and (place["mapping"] in ABSOLUTE or
                                      self.handle(place["mapping"]) in ABSOLUTE.values())

    def bind_at(self, mapping, address):
        self.base[mapping] = address

    def overlaps_arena(self, ranges):
        """Whether any [start, end) of ranges meets the case's slots."""
        start, end = arena_range(self.plan)
        return any(low < end and start < high for low, high in ranges)
