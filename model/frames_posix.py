"""Frames under ``posix``: every report that the values of a state allow (FramesByValues).

Under ``posix`` frame identity is unspecified beyond what the values imply. POSIX has no
interface that shows frames, and its text speaks of mappings and memory objects, never of the memory behind them: mmap "shall establish a mapping between an address
space of a process and a memory object"; with MAP_SHARED "write references shall change the
underlying object", with MAP_PRIVATE modifications "shall be visible only to the calling
process" (POSIX mmap, DESCRIPTION); its RATIONALE expects implementations "that do not use a
paged architecture" to "simply allocate a common memory region"; a fork child is a copy of
its parent (POSIX fork). What a frames step may report is then every report that *some*
assignment of frames holding the state's values could produce. Part by part:

- Sameness is never implied. Places that read the same bytes, even forever (R09, R10, R14: one
  shared object seen at two pages or from two processes), may be two frames kept coherent by
  copying each store (a distributed or MMU-less implementation; Linux's own nommu mmap copies
  private file mappings), and R11's "the child sees pre-fork data" holds with a copy made at
  fork. So no class is ever required, not even for one page seen through two threads of one
  process (R15 speaks of writes being seen, which copies also achieve): every place may be a
  class of its own.
- Difference is implied: a frame holds one content at a time, so a class may join only places
  that hold the same bytes in the state (R11: once one side of a fork wrote, its page and the
  other side's are two frames; before, they may be one or two).
- A place with no memory reaches no frame: its thread has ended, nothing is mapped there
  (R32), or the page lies wholly past the end of its object (R06, R08, R43). It must be
  reported "-", which makes it a class of its own, as under linux.
- Presence is unspecified: nothing obliges an implementation to hold a frame for a page before
  it is touched, or to keep it resident (only pages under mlock "shall ... be memory-resident",
  POSIX mlock). "-" is allowed at every place.
- The flags are Linux's words; POSIX constrains none of them, so only what a report itself
  says binds them: "z" (the zero page) holds zeros, so a place reported "z" must hold only
  zeros (R01, R02 under posix); flags describe the frame, so the places of one class carry
  the same flags; "e" (mapped exactly once) cannot describe a frame the same report shows at
  two different pages (threads of one process see one page; R15). Nothing else: "e" and "f"
  alone are free, and two "z" places may be two frames (some machines have several zero
  pages).
- Where POSIX leaves a value open, any of its values will do: the slack past EOF may read 0
  (R07), a private copy past a shrunk EOF may survive (R08), an unwritten private file page may
  have snapshotted its object (R13, a choice the states already carry).

The allowed set is a predicate (FramesByValues.admits), not a list: the partitions of n
places alone are the Bell numbers (26 places: about 5e19). The oracle asks this module for it
(oracle.outcomes): semantics.step still calls the step not applicable under posix, since step
lists results and these cannot be listed. It is an observation, so the state is unchanged. A
report whose frame numbers were hidden is judged on its flags; it is left unjudged (the run
INCONCLUSIVE) only when the hidden part could change the verdict: two or more present places
(they might share a frame), or one present place that cannot hold zeros (it might be "z").
Presence is therefore tracked only under profiles with Linux interfaces.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional

from .frames import LETTERS, MAX_PLACES, where_is
from .ops import PAGE_SIZE, Frames
from .results import FrameReport
from .state import Contents, State

VALUES_PREFIX = "frames(values:"
_BYTE = re.compile(r"([1-9][0-9]{0,2})@([0-9]{1,4})\Z")


@dataclass(frozen=True)
class Held:
    """What one place holds in one state: its nonzero bytes ((offset, byte), ... sorted), the
    offset from which every byte may also read 0 (R07 under posix: the slack past EOF; None:
    no such bytes), and the earlier place (index) that is the same page, seen through another
    thread of its process (None: none)."""
    nonzero: Contents = ()
    zero_from: Optional[int] = None
    same_page_as: Optional[int] = None

    def values_at(self, offset: int) -> set:
        value = dict(self.nonzero).get(offset, 0)
        if self.zero_from is not None and offset >= self.zero_from:
            return {value, 0}
        return {value}

    def may_be_zeros(self) -> bool:
        return all(0 in self.values_at(offset) for offset, _ in self.nonzero)

    def text(self) -> str:
        if not self.nonzero:
            return "zeros"
        bytes_ = "+".join(f"{value}@{offset}" for offset, value in self.nonzero)
        return bytes_ + (f"~{self.zero_from}" if self.zero_from is not None else "")

    def words(self) -> str:
        if not self.nonzero:
            return "only zeros"
        said = ", ".join(f"byte {offset} = {value}" for offset, value in self.nonzero)
        if self.zero_from is not None:
            said += f" (from byte {self.zero_from} on, 0 is also allowed: R07)"
        return said


def _held(nonzero: Contents, zero_from: Optional[int]) -> Held:
    """Canonical: slack only where a nonzero byte lies in it."""
    if zero_from is not None and not any(offset >= zero_from for offset, _ in nonzero):
        zero_from = None
    return Held(tuple(nonzero), zero_from)


def held_at(state: State, place, profile) -> Optional[Held]:
    """What a place holds in a state (contents only: the same page is filled in by the caller),
    or None where it has no memory: the thread has ended, nothing is mapped there (R32), or
    the page lies wholly past its object's end (R06, R08, R43)."""
    where = where_is(state, place)
    if where is None:
        return None
    pid, vpn = where
    proc = state.processes[pid]
    vma = proc.vma_at(vpn)
    if vma is None:
        return None
    private = not vma.shared and vpn in proc.private
    obj = None if vma.obj is None else state.objects[vma.obj]
    if obj is not None and vma.object_page(vpn) >= obj.page_count() \
            and not (private and profile.private_copy_beyond_eof_may_survive):   # R08 (POSIX)
        return None
    if private:
        # C05: a page under MADV_FREE may have been reclaimed and read 0 (Linux-only).
        return _held(state.frames[proc.private[vpn]], 0 if vpn in proc.lazyfree else None)
    if obj is None:
        return Held()                                                 # R02
    index = vma.object_page(vpn)
    fid = obj.pages.get(index)
    nonzero = () if fid is None else state.frames[fid]
    zero_from = None
    if profile.file_slack_may_read_zero and vma.segment is None \
            and obj.kind in ("file", "shm", "memfd") and obj.size < (index + 1) * PAGE_SIZE:
        zero_from = max(0, obj.size - index * PAGE_SIZE)   # R07 (POSIX: the slack is zero)
    return _held(nonzero, zero_from)


@dataclass(frozen=True)
class FramesByValues:
    """The frames reports one state allows under posix: every report whose classes join only
    places holding the same bytes, with the places that have no memory "-", "z" only where
    zeros are held, one set of flags per class, and no "e" on a frame shown at two pages (the
    module text gives the reasons). ``held`` has one entry per place: a Held, or None where
    the place has no memory. Its text, ``frames(values:A=1@0,B=A,C=zeros,D=none)``, lists what
    each place holds: nonzero bytes as value@offset joined by "+" (then "~N": from byte N on a
    byte may also read 0), "zeros", "none" (no memory), or an earlier letter (the same page
    as that place, through another thread)."""
    held: tuple

    def __str__(self) -> str:
        items = []
        for i, h in enumerate(self.held):
            if h is None:
                items.append(f"{LETTERS[i]}=none")
            elif h.same_page_as is not None:
                items.append(f"{LETTERS[i]}={LETTERS[h.same_page_as]}")
            else:
                items.append(f"{LETTERS[i]}={h.text()}")
        return VALUES_PREFIX + ",".join(items) + ")"

    def admits(self, report: FrameReport) -> bool:
        return not self.problems(report)

    def problems(self, report: FrameReport, places=()) -> list:
        """Why the report is not one of these, in words naming the places and their values
        ([] if it is one)."""
        return [text for _, text in self._violations(report, places)]

    def wrong_places(self, report: FrameReport) -> set:
        """The places (indices) the report's problems are about."""
        return {i for members, _ in self._violations(report) for i in members}

    def _violations(self, report: FrameReport, places=()) -> list:
        """(the places, why) for every rule the report breaks (the module text's rules)."""
        if len(report.flags) != len(self.held):
            return [(range(len(report.flags)),
                     f"{len(report.flags)} places reported, the step names {len(self.held)}")]

        def name(i: int) -> str:
            if i < len(places):
                p = places[i]
                return f"{LETTERS[i]} ({p.thread}:{p.mapping}[{p.page}])"
            return LETTERS[i]

        out = []
        for i, (h, flags) in enumerate(zip(self.held, report.flags)):
            if h is None and flags != "-":
                out.append(((i,), f"{name(i)} has no memory there (its thread ended, nothing is "
                                  f"mapped, or the page is past its object's end) but is reported "
                                  f"present ({flags})"))
            elif h is not None and "z" in flags and not h.may_be_zeros():
                out.append(((i,), f"{name(i)} is reported as the zero page ({flags}) but holds "
                                  f"{h.words()}"))
        for members in report.classes or ():
            helds = [self.held[i] for i in members]
            if len(members) < 2 or any(h is None for h in helds):
                continue                                 # a place with no memory: above
            joined = " and ".join(name(i) for i in members)
            if not _one_content(helds):
                said = "; ".join(f"{LETTERS[i]} holds {self.held[i].words()}" for i in members)
                out.append((members, f"{joined} are reported as one frame, but a frame holds one "
                                     f"content: {said}"))
            if len({report.flags[i] for i in members}) > 1:
                out.append((members, f"{joined} are reported as one frame with different flags "
                                     f"({', '.join(report.flags[i] for i in members)}): flags "
                                     f"describe the frame"))
            elif "e" in report.flags[members[0]] and len(self._pages(members)) > 1:
                out.append((members, f"{joined} are reported as one frame at "
                                     f"{len(self._pages(members))} pages, yet exclusive (e: "
                                     f"mapped exactly once)"))
        return out

    def _pages(self, members) -> set:
        """The distinct pages among the places (threads of one process see one page)."""
        return {i if self.held[i].same_page_as is None else self.held[i].same_page_as
                for i in members}

    def hidden_part_matters(self, report: FrameReport) -> bool:
        """For a report whose frame numbers were hidden (no partition, no "z"): whether some
        partition or zero-page flag it might hide would change the verdict. It would with two
        present places (joined, with "z" on one only, they break a rule; apart they do not), or
        with one present place that cannot hold zeros (it might be "z"); never otherwise."""
        present = [i for i, flags in enumerate(report.flags) if flags != "-"]
        if len(present) >= 2:
            return True
        return any(self.held[i] is not None and not self.held[i].may_be_zeros() for i in present)


def _one_content(helds) -> bool:
    """Whether some page content is allowed for every place (each byte in every place's set)."""
    offsets = {offset for h in helds for offset, _ in h.nonzero}
    for offset in offsets:
        common = set(helds[0].values_at(offset))
        for h in helds[1:]:
            common &= h.values_at(offset)
        if not common:
            return False
    return True


def by_values(state: State, op: Frames, profile) -> FramesByValues:
    """The reports a frames step allows in a state under posix (the step changes nothing)."""
    held, first_at = [], {}
    for i, place in enumerate(op.places):
        h = held_at(state, place, profile)
        where = where_is(state, place)
        if h is not None:
            if where in first_at:
                h = replace(held[first_at[where]], same_page_as=first_at[where])
            else:
                first_at[where] = i
        held.append(h)
    return FramesByValues(tuple(held))


def parse_values(text: str) -> FramesByValues:
    """The FramesByValues a ``frames(values:...)`` string names; ValueError otherwise."""
    body = text.replace(" ", "")
    if not body.startswith(VALUES_PREFIX) or not body.endswith(")"):
        raise ValueError(f"not a frames(values:...) result: {text!r}")
    items = body[len(VALUES_PREFIX):-1].split(",")
    held: list = []
    for i, item in enumerate(items):
        letter, _, value = item.partition("=")
        if i >= MAX_PLACES or letter != LETTERS[i]:
            raise ValueError(f"frames(values:...): the places are A, B, C... in order, not {item!r}")
        if value == "none":
            held.append(None)
        elif value == "zeros":
            held.append(Held())
        elif len(value) == 1 and value in LETTERS[:i]:
            same = LETTERS.index(value)
            if held[same] is None or held[same].same_page_as is not None:
                raise ValueError(f"frames(values:...): {letter}={value}: {value} must be a page "
                                 f"named by its contents")
            held.append(replace(held[same], same_page_as=same))
        else:
            held.append(_parse_bytes(letter, value))
    return FramesByValues(tuple(held))


def _parse_bytes(letter: str, value: str) -> Held:
    bytes_, tilde, slack = value.partition("~")
    nonzero = []
    for item in bytes_.split("+"):
        m = _BYTE.match(item)
        if m is None or int(m.group(1)) > 255 or int(m.group(2)) >= PAGE_SIZE:
            raise ValueError(f"frames(values:...): {letter} holds none, zeros, an earlier letter or "
                             f"bytes VALUE@OFFSET joined by + (1..255 @ 0..4095), not {value!r}")
        nonzero.append((int(m.group(2)), int(m.group(1))))
    if [o for o, _ in nonzero] != sorted({o for o, _ in nonzero}):
        raise ValueError(f"frames(values:...): {letter}'s bytes must be in increasing offsets, "
                         f"each once: {value!r}")
    zero_from = None
    if tilde:
        if not slack.isdigit() or int(slack) >= PAGE_SIZE:
            raise ValueError(f"frames(values:...): {letter}: ~ takes an offset 0..4095, not {slack!r}")
        zero_from = int(slack)
    held = _held(tuple(nonzero), zero_from)
    if held.zero_from != zero_from:
        raise ValueError(f"frames(values:...): {letter}: ~{slack} covers no nonzero byte; leave it out")
    return held
