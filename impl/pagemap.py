"""Frame identity read from the page tables themselves: /proc/PID/pagemap (the `frames` step).

One 64-bit entry per virtual page (Documentation/admin-guide/mm/pagemap.rst): bit 63 present,
bit 62 swapped (also a migration entry), bit 61 file page or shared anonymous (shmem), bit 56
mapped exactly once (PM_MMAP_EXCLUSIVE), bits 0-54 the page frame number. Since Linux 4.2 the
PFN reads as 0 without CAP_SYS_ADMIN while the flags stay readable: a present page with PFN 0
means the PFN is hidden, so the partition of places into frame-sharing classes, and whether a
page is the zero page, cannot be told (the result then says "?" for the partition and never
claims "z"; the runner judges such a step on the flags alone, INCONCLUSIVE).

The result string is the case format's (docs/case-format.md, "Frame observations"):
``frames(A/B,C/D;A=pe,B=pf,C=pf,D=-)``: places lettered in the order given; classes separated
by "/", members of a class by ","; classes in order of their first member. A place that is not
present is a class of its own. Flags: "-" not present, else "p" followed by "e" (exclusive),
"f" (file or shared anonymous page), "z" (the shared zero page).

Things that change frames behind the program's back are reported in ``environment()``:
transparent huge pages, KSM, swap (reclaim of anonymous and shmem pages), and the entries read
as swapped or migrating (bit 62) during the step. Two reads of every place are compared and the
read repeated until they agree (a page migrated between the reads would split a class).

Standard library only.
"""
import os
import struct

from . import syscalls

PAGE = 4096
PRESENT = 1 << 63
SWAPPED = 1 << 62
FILE_OR_SHARED = 1 << 61
EXCLUSIVE = 1 << 56
PFN_MASK = (1 << 55) - 1
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STABLE_READS = 5         # how many times a pair of disagreeing reads is retried

_ZERO_PFN = []           # cached: [pfn or None]


class Entry:
    """One decoded pagemap entry."""

    def __init__(self, raw):
        self.raw = raw
        self.present = bool(raw & PRESENT)
        self.swapped = bool(raw & SWAPPED)
        self.file = bool(raw & FILE_OR_SHARED)
        self.exclusive = bool(raw & EXCLUSIVE)
        self.pfn = raw & PFN_MASK if self.present else 0

    def __repr__(self):
        return "Entry(present=%s, exclusive=%s, file=%s, swapped=%s, pfn=%#x)" % (
            self.present, self.exclusive, self.file, self.swapped, self.pfn)


def read_entry(pid, address):
    """The pagemap entry of the page holding ``address`` in process ``pid`` ("self" allowed).
    A process that is gone (or whose page table cannot be read) has no entry: None."""
    try:
        fd = os.open("/proc/%s/pagemap" % pid, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.pread(fd, 8, (address // PAGE) * 8)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) != 8:
        return None
    return Entry(struct.unpack("<Q", data)[0])


def zero_page_pfn():
    """The PFN of the shared zero page, or None if PFNs are hidden (or no zero page is used):
    read one byte of a fresh private anonymous page, which maps the zero page, and look it up.
    A second fresh page must give the same PFN and neither may be exclusive, else None."""
    if _ZERO_PFN:
        return _ZERO_PFN[0]
    pfns = []
    for _ in range(2):
        result, address = syscalls.mmap(None, PAGE, syscalls.PROT_READ | syscalls.PROT_WRITE,
                                        syscalls.MAP_PRIVATE | syscalls.MAP_ANONYMOUS, -1, 0)
        if result != "ok":
            return None
        try:
            syscalls.load(address)                   # a read fault: maps the zero page
            entry = read_entry("self", address)
        finally:
            syscalls.munmap(address, PAGE)
        ok = entry is not None and entry.present and not entry.exclusive and not entry.file
        pfns.append(entry.pfn if ok and entry.pfn else None)
    pfn = pfns[0] if pfns[0] is not None and pfns[0] == pfns[1] else None
    _ZERO_PFN.append(pfn)
    return pfn


def pfns_visible():
    """Whether this process sees PFNs (CAP_SYS_ADMIN): the zero page has a nonzero PFN."""
    return zero_page_pfn() is not None


def _read_all(places):
    return [None if pid is None else read_entry(pid, address) for pid, address in places]


def _same(first, second):
    return all((a is None and b is None) or (a is not None and b is not None and a.raw == b.raw)
               for a, b in zip(first, second))


def stable_entries(places):
    """The entries of every (pid, address) place, read until two reads in a row agree: a
    migration between the reads would otherwise show as two frames. (entries, stable)."""
    entries = _read_all(places)
    for _ in range(STABLE_READS):
        again = _read_all(places)
        if _same(entries, again):
            return entries, True
        entries = again
    return entries, False


def flags_of(entry, zero_pfn):
    if entry is None or not entry.present:
        return "-"
    flags = "p"
    if entry.exclusive:
        flags += "e"
    if entry.file:
        flags += "f"
    if zero_pfn is not None and entry.pfn == zero_pfn:
        flags += "z"
    return flags


def canonical(entries, zero_pfn):
    """The result string for the decoded entries of the places, in order."""
    letters = LETTERS[:len(entries)]
    visible = zero_pfn is not None
    flags = ["%s=%s" % (letter, flags_of(e, zero_pfn)) for letter, e in zip(letters, entries)]
    if not visible:
        return "frames(?;%s)" % ",".join(flags)
    classes, by_pfn = [], {}
    for letter, entry in zip(letters, entries):
        if entry is None or not entry.present:
            classes.append([letter])
        elif entry.pfn in by_pfn:
            by_pfn[entry.pfn].append(letter)
        else:
            by_pfn[entry.pfn] = [letter]
            classes.append(by_pfn[entry.pfn])
    return "frames(%s;%s)" % ("/".join(",".join(c) for c in classes), ",".join(flags))


def _setting(path):
    """The bracketed choice of a /sys setting ("[madvise]" -> "madvise"), or its content."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return "unknown"
    if "[" in text:
        return text.split("[", 1)[1].split("]", 1)[0]
    return text


def swap_in_use():
    try:
        with open("/proc/swaps") as f:
            return len(f.read().strip().splitlines()) > 1
    except OSError:
        return None


def environment():
    """What else could change frames behind a case's back, as one line for the detail:
    THP (anonymous and shmem), KSM, swap, and whether this process sees PFNs."""
    thp = _setting("/sys/kernel/mm/transparent_hugepage/enabled")
    shmem = _setting("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
    ksm = _setting("/sys/kernel/mm/ksm/run")
    swap = swap_in_use()
    return "pagemap: pfn=%s thp=%s shmem_thp=%s ksm=%s swap=%s" % (
        "visible" if pfns_visible() else "hidden", thp, shmem,
        {"0": "off", "1": "on", "2": "unmerge"}.get(ksm, ksm),
        {True: "on", False: "off", None: "unknown"}[swap])


def observe(places):
    """The `frames` result for [(pid or None, address)]: None is a place whose process is
    gone. Returns (result string, note): the note names what could not be ruled out."""
    zero = zero_page_pfn()
    entries, stable = stable_entries(places)
    notes = []
    if not stable:
        notes.append("pagemap entries kept changing between reads (migration?)")
    if any(e is not None and e.swapped for e in entries):
        notes.append("a place read as swapped or migrating")
    return canonical(entries, zero), "; ".join(notes)


# --- the executor's side: a `frames` step, resolved and performed without the case's threads ---

def check_places(plan, where, value, error):
    """protocol._check for a frames step's places: 1..26 of {thread, mapping, page}."""
    if not isinstance(value, list) or not 1 <= len(value) <= len(LETTERS):
        raise error("%s must be a list of 1 to %d frame places" % (where, len(LETTERS)))
    places = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"thread", "mapping", "page"}:
            raise error("%s: a frame place is {thread, mapping, page}" % where)
        if plan.kinds.get(item.get("thread")) != "thread":
            raise error("%s: %r is not a thread handle bound earlier" % (where, item.get("thread")))
        if plan.kinds.get(item.get("mapping")) != "mapping":
            raise error("%s: %r is not a mapping handle bound earlier" % (where, item.get("mapping")))
        page = item.get("page", 0)
        if not isinstance(page, int) or isinstance(page, bool) or not 0 <= page < 256:
            raise error("%s: a frame place's page must be in 0..255" % where)
        places.append({"thread": item["thread"], "mapping": item["mapping"], "page": page})
    return places


def _thread_ended(plan, thread, before):
    """Whether a thread has ended by the step ``before`` (its own thread_exit, or an exec by
    another thread of its process); its process's death is the executor's to know."""
    process = plan.process_of[thread]
    for step in plan.steps[:before]:
        if step.op == "thread_exit" and step.thread == thread:
            return True
        if step.op == "exec" and step.thread != thread and plan.process_of[step.thread] == process:
            return True
    return False


def perform(run, step):
    """A frames step, in the executor (which may read the case processes'
    /proc/PID/pagemap): a place of a thread that has ended, or of a process that is not alive,
    is not present. Notes go to the run's detail (run_detail)."""
    resolved = []
    for place in step.args["places"]:
        process = run.processes.get(run.plan.process_of[place["thread"]])
        if process is None or process.state != "alive" or \
                _thread_ended(run.plan, place["thread"], step.index):
            resolved.append((None, 0))
        else:
            address = run.places.handle(place["mapping"]) + place["page"] * PAGE
            resolved.append((process.pid, address))
    result, note = observe(resolved)
    if note:
        run.pagemap_notes.append("step %d: %s" % (step.index, note))
    return result


def run_detail(run):
    """The observation's detail for a case with frames steps: the environment, and any note."""
    if not any(step.op == "frames" for step in run.plan.steps):
        return ""
    return "; ".join([environment()] + run.pagemap_notes)
