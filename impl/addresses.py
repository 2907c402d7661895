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
        if mapping not in self.base:
            self.base[mapping] = slot_address(self.plan, mapping)
        return self.base[mapping]

    def place(self, place):
        return self.handle(place["mapping"]) + place["page"] * PAGE + place["offset"]

    def bind_at(self, mapping, address):
        self.base[mapping] = address

    def overlaps_arena(self, ranges):
        """Whether any [start, end) of ranges meets the case's slots."""
        start, end = arena_range(self.plan)
        return any(low < end and start < high for low, high in ranges)
