"""Distinguishing programs: the shortest program on which two profiles allow different results.

Two profiles A and B (``linux``, ``posix``, or a named variant such as
``linux+shmdt-keeps-mapping``, model/variants.py) *part* on a program when, for some sequence
of results observed on its first steps that both allow, the sets of results they allow for the
next step differ: some outcome allowed under one is impossible under the other. Where a side
is nondeterministic (posix, MADV_FREE) this is an exists-forall question (there is an observed
prefix such that for all the states it leaves each side in, the next step's allowed sets
differ), so the search carries, for every observed prefix, the *pair* of state sets (A's, B's)
consistent with it, exactly as the oracle does for one side (model/oracle.py).

The search is breadth-first over programs, one length at a time, so the first program found is
a shortest one within the menus searched. A search node is (A's states, B's states) after an
observed prefix; nodes equal up to renaming of internal ids (generators/canonical.py, each side
renamed on its own, which is sound because no result names an internal id) are explored once.

Menus
-----
The operations come from small *menus*, one per area of the semantics; a program uses one
menu. Every menu is searched to the same length before any searches further, so across menus
the first hit is still a shortest program. Small menus keep the search fast (a mixed menu of
every operation grows ~10x per step); the areas are chosen so that every named variant parts
from linux within 6 steps. Each menu acts by every live thread; handles are named by count
(T1, M0, S0, F0), as in the exhaustive enumerator.

- ``anon``: one process; ``mmap(anon, shared|private, rw, 4096)`` (two mappings),
  ``write(M+0, 1)``, ``read(M+0)``, ``munmap(M, 4096)``, ``mprotect(M, 4096, r)``,
  ``madvise(M, 4096, dontneed)``, ``mmap(anon, private, rw, 4096, at=M0, fixed)``,
  ``mremap(M, 0, 4096, alias)``.
- ``threads``: one process, two threads; ``spawn``, ``mmap(anon, shared|private, rw, 4096)``
  (one mapping), ``write(M+0, 1)``, ``read(M+0)``.
- ``fork``: two processes; ``fork``, ``mmap(anon, shared|private, rw, 4096)`` (one mapping),
  ``write(M+0, 1|2)``, ``read(M+0)``, ``madvise(M, 4096, dontfork|wipeonfork)``.
- ``slack``: one thread; ``shmget(private, 1|8192, creat)`` (one segment), ``shmat(S)``,
  ``open(shm, o, creat)``, ``ftruncate(F, 1|4096)``, ``mmap(F, shared, rw, 4096)`` (one mapping),
  ``read(M+1)``, ``write(M+1, 1)``, ``munmap(M[1], 4096)``: the bytes past a segment's size or
  a file's end, its growth while mapped (R07), and part of an attach (where POSIX leaves more
  open than Linux does).
- ``grandchild``: three processes; ``fork``, ``mmap(anon, private, rw, 4096)`` (one mapping),
  ``write(M+0, 1)``, ``read(M+0)``, ``madvise(M, 4096, wipeonfork)``.
- ``sysv``: up to two processes and threads; ``shmget(private, 8192, creat)`` (one segment),
  ``shmat(S)``, ``shmat(S, rdonly)`` (two mappings), ``shmdt(M)``, ``shmctl(S, rmid|stat)``,
  ``fork``, ``exit``, ``write(M+0, 1)``, ``read(M+0)``, ``mprotect(M[1], 4096, r)``,
  ``mprotect(M, 4096, rw)`` (a SHM_RDONLY attach: R24, unspecified under POSIX).
- ``sysv-keys``: one thread; ``shmget(k, 4096, creat)``, ``shmget(k, 4096, creat, excl)``,
  ``shmget(k, 4096)``, ``shmget(k, 8192)`` (three segment handles), ``shmat(S)`` (one
  mapping), ``shmctl(S, rmid|stat)``.
- ``objects``: one thread; ``open(shm, o, creat)`` (one descriptor), ``ftruncate(F, 0|4096)``,
  ``mmap(F, shared|private, rw, 4096)`` (one mapping), ``pwrite(F, 0, 1)``, ``pread(F, 0)``,
  ``shm_unlink(o)``, ``write(M+0, 1)``, ``read(M+0)``.

Steps that one side does not cover (a Linux-only call under posix: ``NotApplicable``) are
left out of the search, and counted.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from sharespec.model.ops import (PAGE_SIZE, Exit, Fork, Ftruncate, Madvise, Mmap, Mprotect, Mremap,
                                 Munmap, Open, Place, Pread, Pwrite, Read, ShmAt, ShmCtl, ShmDt,
                                 ShmGet, ShmUnlink, Spawn, Step, Write)
from sharespec.model.profiles import Profile
from sharespec.model.results import Result
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import State, initial
from sharespec.model.variants import VARIANT_BY_NAME, resolve_profile

from .canonical import canonical_state

OBJECT_NAME = "o"
KEY = "k"


@dataclass(frozen=True)
class Menu:
    """The operations a search may use, and the bounds on what it may create. Data."""
    name: str
    processes: int = 1
    threads: int = 1
    mappings: int = 1
    segments: int = 0
    fds: int = 0
    fork: bool = False
    spawn: bool = False
    exit: bool = False
    shmgets: tuple = ()               # ShmGet operations offered while segment handles remain
    segment_ops: tuple = ()           # of "shmat", "shmat-rdonly", "rmid", "stat"
    mmaps: tuple = ()                 # anonymous Mmap operations offered while mappings remain
    mapping_ops: tuple = ()           # of "read", "write", "munmap", "mprotect", "mprotect-page1",
                                      # "mprotect-rw",
                                      # "shmdt", "dontneed", "dontfork", "wipeonfork", "alias",
                                      # "fixed"
    opens: tuple = ()                 # Open operations offered while descriptors remain
    fd_ops: tuple = ()                # of "truncate0", "truncate1", "mmap-shared",
                                      # "mmap-private", "pread", "pwrite"
    unlinks: tuple = ()               # shm names offered to shm_unlink

    def steps(self, state: State, fds_bound: int, live_threads: Sequence[str]) -> list:
        """Every step this menu offers from ``state``, in a fixed order."""
        processes = {state.threads[h].process for h in live_threads}
        thread_name = f"T{len(state.threads)}"
        mapping_name = f"M{len(state.mapping_handles)}"
        room_for_mapping = len(state.mapping_handles) < self.mappings
        out = []
        for actor in live_threads:
            pid = state.threads[actor].process
            ops: list = []
            if len(state.threads) < self.threads:
                if self.fork and len(processes) < self.processes:
                    ops.append((Fork(), thread_name))
                if self.spawn:
                    ops.append((Spawn(), thread_name))
            if self.exit:
                ops.append((Exit(), None))
            if len(state.segment_handles) < self.segments:
                name = f"S{len(state.segment_handles)}"
                ops.extend((op, name) for op in self.shmgets)
            for seg in state.segment_handles:
                if room_for_mapping and "shmat" in self.segment_ops:
                    ops.append((ShmAt(seg), mapping_name))
                if room_for_mapping and "shmat-rdonly" in self.segment_ops:
                    ops.append((ShmAt(seg, rdonly=True), mapping_name))
                if "rmid" in self.segment_ops:
                    ops.append((ShmCtl(seg, "rmid"), None))
                if "stat" in self.segment_ops:
                    ops.append((ShmCtl(seg, "stat"), None))
            if room_for_mapping:
                ops.extend((op, mapping_name) for op in self.mmaps)
            if fds_bound < self.fds:
                ops.extend((op, f"F{fds_bound}") for op in self.opens)
            if pid >= 0 and 0 <= pid < len(state.processes):
                for fd in state.processes[pid].fds:
                    ops.extend(self._fd_steps(fd, mapping_name if room_for_mapping else None))
            ops.extend((ShmUnlink(name), None) for name in self.unlinks)
            for m in state.mapping_handles:
                ops.extend(self._mapping_steps(m, mapping_name if room_for_mapping else None))
            out.extend(Step(actor, op, bind) for op, bind in ops)
        return out

    def _fd_steps(self, fd: str, new_mapping: Optional[str]) -> Iterable:
        for what in self.fd_ops:
            if what == "truncate0":
                yield Ftruncate(fd, 0), None
            elif what == "truncate1":
                yield Ftruncate(fd, PAGE_SIZE), None
            elif what == "truncate-byte":
                yield Ftruncate(fd, 1), None
            elif what == "pread":
                yield Pread(fd, 0), None
            elif what == "pwrite":
                yield Pwrite(fd, 0, 1), None
            elif what in ("mmap-shared", "mmap-private") and new_mapping:
                yield Mmap(what == "mmap-shared", "rw", PAGE_SIZE, fd=fd), new_mapping

    def _mapping_steps(self, m: str, new_mapping: Optional[str]) -> Iterable:
        at = Place(m)
        for what in self.mapping_ops:
            if what == "read":
                yield Read(at), None
            elif what == "write":
                yield Write(at, 1), None
            elif what == "write2":
                yield Write(at, 2), None
            elif what == "read-byte1":
                yield Read(Place(m, 0, 1)), None
            elif what == "write-byte1":
                yield Write(Place(m, 0, 1), 1), None
            elif what == "munmap-page1":
                yield Munmap(Place(m, 1), PAGE_SIZE), None
            elif what == "munmap":
                yield Munmap(at, PAGE_SIZE), None
            elif what == "mprotect":
                yield Mprotect(at, PAGE_SIZE, "r"), None
            elif what == "mprotect-rw":
                yield Mprotect(at, PAGE_SIZE, "rw"), None
            elif what == "mprotect-page1":
                yield Mprotect(Place(m, 1), PAGE_SIZE, "r"), None
            elif what == "shmdt":
                yield ShmDt(at), None
            elif what in ("dontneed", "dontfork", "wipeonfork"):
                yield Madvise(at, PAGE_SIZE, what), None
            elif what == "alias" and new_mapping:
                yield Mremap(at, 0, PAGE_SIZE, "alias"), new_mapping
            elif what == "fixed" and new_mapping:
                yield Mmap(False, "rw", PAGE_SIZE, at=at, fixed="replace"), new_mapping


_ANON = (Mmap(True, "rw", PAGE_SIZE), Mmap(False, "rw", PAGE_SIZE))

MENUS: tuple[Menu, ...] = (
    Menu("anon", mappings=2, mmaps=_ANON,
         mapping_ops=("read", "write", "munmap", "mprotect", "dontneed", "fixed", "alias")),
    Menu("sysv-keys", segments=3, shmgets=(ShmGet(KEY, PAGE_SIZE, creat=True),
                                           ShmGet(KEY, PAGE_SIZE, creat=True, excl=True),
                                           ShmGet(KEY, PAGE_SIZE), ShmGet(KEY, 2 * PAGE_SIZE)),
         segment_ops=("shmat", "rmid", "stat")),
    Menu("objects", fds=1, opens=(Open("shm", OBJECT_NAME, creat=True),),
         fd_ops=("truncate0", "truncate1", "mmap-shared", "mmap-private", "pwrite", "pread"),
         unlinks=(OBJECT_NAME,), mapping_ops=("read", "write")),
    Menu("sysv", processes=2, threads=2, mappings=2, segments=1, fork=True, exit=True,
         shmgets=(ShmGet("private", 2 * PAGE_SIZE, creat=True),),
         segment_ops=("shmat", "shmat-rdonly", "rmid", "stat"),
         mapping_ops=("read", "write", "shmdt", "mprotect-page1", "mprotect-rw")),
    Menu("threads", threads=2, mappings=1, spawn=True, mmaps=_ANON, mapping_ops=("read", "write")),
    Menu("fork", processes=2, threads=2, mappings=1, fork=True, mmaps=_ANON,
         mapping_ops=("read", "write", "write2", "dontfork", "wipeonfork")),
    Menu("slack", mappings=1, segments=1, fds=1,
         shmgets=(ShmGet("private", 1, creat=True), ShmGet("private", 2 * PAGE_SIZE, creat=True)),
         segment_ops=("shmat",), opens=(Open("shm", OBJECT_NAME, creat=True),),
         fd_ops=("truncate-byte", "truncate1", "mmap-shared"),
         mapping_ops=("read-byte1", "write-byte1", "munmap-page1")),
    Menu("grandchild", processes=3, threads=3, mappings=1, fork=True, mmaps=_ANON[1:],
         mapping_ops=("read", "write", "wipeonfork")),
)
MENU_BY_NAME = {m.name: m for m in MENUS}


@dataclass(frozen=True)
class Distinction:
    """A program on which A and B part at its last step, after the observed prefix."""
    program: tuple                    # the steps
    observed: tuple                   # results observed on every step but the last
    allowed_a: frozenset              # what A allows at the last step after that prefix
    allowed_b: frozenset
    menu: str

    @property
    def only_a(self) -> frozenset:
        return self.allowed_a - self.allowed_b

    @property
    def only_b(self) -> frozenset:
        return self.allowed_b - self.allowed_a

    def kind(self) -> tuple:
        """What kind of difference: the operation and the results only one side allows."""
        return (self.program[-1].op.OP, tuple(sorted(map(str, self.only_a))),
                tuple(sorted(map(str, self.only_b))))


@dataclass
class Search:
    """The result of a search, with its figures."""
    a: Profile
    b: Profile
    bound: int
    menus: tuple
    distinctions: list = field(default_factory=list)
    complete: bool = True             # False when stopped at the first hit or by max_nodes
    nodes: int = 0                    # distinct search nodes
    steps_tried: int = 0
    not_applicable: int = 0           # steps left out because a side does not cover them
    deepest: int = 0                  # program length searched completely
    seconds: float = 0.0

    @property
    def found(self) -> Optional[Distinction]:
        return self.distinctions[0] if self.distinctions else None


def _successors(states, st: Step, profile: Profile) -> dict:
    by_result: dict = {}
    for s in states:
        for nxt, res in step(s, st, profile):
            by_result.setdefault(res, set()).add(nxt)
    return by_result


@dataclass
class _Node:
    a: frozenset
    b: frozenset
    fds: int
    program: tuple
    observed: tuple


def distinguish(a, b, bound: int = 8, menus: Optional[Sequence] = None,
                all_differences: bool = False, max_nodes: Optional[int] = None,
                group=None) -> Search:
    """Search programs of at most ``bound`` steps, shortest first, for one on which profiles
    ``a`` and ``b`` part. Stops at the first such program, unless ``all_differences``: then
    it searches every program up to the bound and keeps the first (shortest) program of each
    group of differences (``group(distinction)``, by default ``Distinction.kind``)."""
    pa = a if isinstance(a, Profile) else resolve_profile(a)
    pb = b if isinstance(b, Profile) else resolve_profile(b)
    chosen = tuple(MENUS if menus is None else
                   (MENU_BY_NAME[m] if isinstance(m, str) else m for m in menus))
    search = Search(pa, pb, bound, tuple(m.name for m in chosen))
    t0 = time.perf_counter()
    start = _Node(frozenset({initial()}), frozenset({initial()}), 0, (), ())
    frontiers = {m.name: [start] for m in chosen}
    seen = {m.name: set() for m in chosen}
    kinds: dict = {}
    canonical_of: dict = {}   # id(raw state) -> (raw state, canonical form); most steps reuse states

    def canon(s: State) -> State:
        hit = canonical_of.get(id(s))
        if hit is None:
            hit = canonical_of[id(s)] = (s, canonical_state(s))
        return hit[1]

    for depth in range(bound):
        for menu in chosen:
            nxt = []
            for node in frontiers[menu.name]:
                for hit, child in _expand(node, menu, pa, pb, search):
                    if hit is not None:
                        if not all_differences:
                            search.distinctions.append(hit)
                            search.complete = False
                            search.seconds = time.perf_counter() - t0
                            return search
                        key = (group or Distinction.kind)(hit)
                        if key not in kinds:
                            kinds[key] = hit
                            search.distinctions.append(hit)
                        continue
                    if depth + 1 == bound:
                        continue   # no need to keep what will never be expanded
                    key = (frozenset(map(canon, child.a)), frozenset(map(canon, child.b)),
                           child.fds)
                    if key in seen[menu.name]:
                        continue
                    seen[menu.name].add(key)
                    search.nodes += 1
                    nxt.append(child)
                    if max_nodes is not None and search.nodes >= max_nodes:
                        search.complete = False
                        search.seconds = time.perf_counter() - t0
                        return search
            frontiers[menu.name] = nxt
        search.deepest = depth + 1
    search.seconds = time.perf_counter() - t0
    return search


def _expand(node: _Node, menu: Menu, pa: Profile, pb: Profile, search: Search):
    """(distinction, None) for a step on which the sides part, else (None, child) per result."""
    rep = next(iter(node.a))
    live = sorted({h for s in node.a | node.b for h, t in s.threads.items() if t.alive},
                  key=lambda h: int(h[1:]))
    for st in menu.steps(rep, node.fds, [h for h in live if h in rep.threads]):
        search.steps_tried += 1
        try:
            ra = _successors(node.a, st, pa)
            rb = _successors(node.b, st, pb)
        except NotApplicable:
            search.not_applicable += 1
            continue
        fds = node.fds + isinstance(st.op, Open)
        if ra.keys() != rb.keys():
            yield Distinction(node.program + (st,), node.observed, frozenset(ra), frozenset(rb),
                              menu.name), None
        for result in ra.keys() & rb.keys():
            yield None, _Node(frozenset(ra[result]), frozenset(rb[result]), fds,
                              node.program + (st,), node.observed + (result,))


def rule_of(profile: Profile) -> Optional[str]:
    """The catalogue rule a named variant changes (None for a plain profile)."""
    _, plus, name = profile.name.partition("+")
    variant = VARIANT_BY_NAME.get(name) if plus else None
    return variant.rule if variant else None


def distinction_case(d: Distinction, profile="linux", name: str = "distinguish",
                     description: str = "", rules: Sequence[str] = ()):
    """The program of ``d`` as a Case judged under ``profile`` (a plain profile: linux or
    posix), with that profile's allowed results at every step. ``rules``: the catalogue ids it
    is about (default: those its last operation can bring into play)."""
    from sharespec.model.case import Case
    from sharespec.model.oracle import allowed_per_step
    from sharespec.model.rules import rules_for_step

    rules = tuple(sorted(set(rules or rules_for_step(d.program[-1]))))
    return Case(name=name, profile=str(profile), rules=rules, origin="distinguish",
                description=description or f"distinguishing program, {len(d.program)} steps",
                steps=d.program, allowed=tuple(allowed_per_step(d.program, profile)))


def _results(results: Iterable[Result]) -> str:
    from sharespec.model.case import in_written_order
    return " | ".join(map(str, in_written_order(results))) or "(nothing)"


def describe(d: Distinction, a: Profile, b: Profile) -> str:
    """The program in the case text form (results allowed under A at every step, or under
    linux when A is a variant), with both sides' allowed results at the step where they part."""
    from sharespec.model.case_text import case_to_text
    from sharespec.model.profiles import PROFILES

    base = str(a) if str(a) in PROFILES else (str(b) if str(b) in PROFILES else "linux")
    rule = rule_of(a) or rule_of(b)
    case = distinction_case(d, base, description=f"{a} and {b} part at step {len(d.program)}"
                            + (f" ({rule})" if rule else ""), rules=(rule,) if rule else ())
    lines = [case_to_text(case).rstrip("\n"), ""]
    if d.observed:
        lines.append("# after observing: " + ", ".join(map(str, d.observed)))
    n = len(d.program)
    lines.append(f"# step {n}: {a} allows {_results(d.allowed_a)}")
    lines.append(f"# step {n}: {b} allows {_results(d.allowed_b)}")
    return "\n".join(lines)


# Which rule each profile field stands for (model/profiles.py), for grouping differences.
FIELD_RULES = {
    "linux_interfaces": "Linux-only calls",
    "nattch_counts_fragments": "R30",
    "attach_removed_segment": "R19",
    "removed_stat_may_fail": "R17",
    "segment_slack_may_fault": "R04",
    "file_slack_may_read_zero": "R07",
    "private_copy_beyond_eof_may_survive": "R08",
    "private_file_may_snapshot": "R13",
    "partial_shm_munmap_may_fail": "R31",
    "shm_mprotect_unspecified": "R24",
    "private_copy_may_follow_object": "R13",
    "slack_zero_filled_when_mapped": "R07",
    "shm_rmid_forced": "R45",
}


def parts_on(program: Sequence[Step], observed: Sequence[Result], a: Profile, b: Profile) -> bool:
    """Whether ``a`` and ``b`` allow different results at the last step of ``program`` after the
    ``observed`` results of the steps before it (False if that prefix is impossible)."""
    sa, sb = {initial()}, {initial()}
    try:
        for st, obs in zip(program, observed):
            sa = _successors(sa, st, a).get(obs, set())
            sb = _successors(sb, st, b).get(obs, set())
            if not sa or not sb:
                return False
        return _successors(sa, program[-1], a).keys() != _successors(sb, program[-1], b).keys()
    except NotApplicable:
        return False


def responsible(d: Distinction, a: Profile, b: Profile) -> tuple:
    """The rules behind a difference: each field (or variant) in which ``b`` differs from ``a``
    whose change back to ``a``'s value alone makes the sides agree on ``d``."""
    from dataclasses import fields, replace
    from itertools import combinations

    differing = [f.name for f in fields(Profile)
                 if f.name != "name" and getattr(a, f.name) != getattr(b, f.name)]

    def rule(name: str) -> str:
        if name == "deviations":
            return rule_of(b) or rule_of(a) or "variant"
        return FIELD_RULES.get(name, name)

    # Single fields first; where none alone explains it, the smallest pairs that do.
    for size in (1, 2):
        out = []
        for group in combinations(differing, size):
            back = replace(b, **{name: getattr(a, name) for name in group})
            if not parts_on(d.program, d.observed, a, back):
                out.append("+".join(sorted(rule(name) for name in group)))
        if out:
            return tuple(out)
    return ()


def where_they_part(a, b, bound: int = 6, menus: Optional[Sequence] = None) -> tuple:
    """The search, and (rules, distinction) for each kind of difference between two profiles up to ``bound``:
    every program up to the bound is searched, and differences are grouped by the rules
    behind them (``responsible``), or by ``Distinction.kind`` when no single rule is; the
    shortest program of each group is kept."""
    pa = a if isinstance(a, Profile) else resolve_profile(a)
    pb = b if isinstance(b, Profile) else resolve_profile(b)
    # Grouping every hit by its rules would replay each one; group by (menu, kind) while
    # searching, then by the rules behind the shortest program of each such group.
    search = distinguish(pa, pb, bound, menus, all_differences=True,
                         group=lambda d: (d.menu, d.kind()))
    groups: dict = {}
    for d in search.distinctions:
        key = responsible(d, pa, pb) or ("?",) + d.kind()
        if key not in groups or len(d.program) < len(groups[key].program):
            groups[key] = d
    return search, sorted(groups.items(), key=lambda kv: (len(kv[1].program), kv[0]))
