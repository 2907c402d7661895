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
menu. A menu is a scope (model/scope.py) over the model's one action menu (model/actions.py):
which operation families, how many handles, which argument classes. Every menu is searched to
the same length before any searches further, so across menus the first hit is still a shortest
program. Small menus keep the search fast (a mixed menu of every operation grows ~10x per
step); the areas are chosen so that every named variant parts from linux within 6 steps. Each
menu acts by every live thread; handles are named by count (T1, M0, S0, F0), as in the
exhaustive enumerator. Unless said otherwise an area has one process, thread and mapping, one
page per mapping, the value 1 at byte 0, and the first class of every argument (``_area``):

- ``anon``: mmap (shared|private, rw, one page; two mappings), write, read, munmap,
  mprotect(r), madvise(dontneed), mmap at a fixed place, mremap alias.
- ``sysv-keys``: shmget of a key (one page or two; creat, creat|excl, neither; three segment
  handles), shmat, shmctl(stat|rmid).
- ``objects``: open(shm, creat) (one descriptor), ftruncate (0, one page), mmap of it (shared|
  private), pwrite, pread, shm_unlink, write, read.
- ``sysv``: two processes and threads; fork, exit, shmget(private, two pages), shmat (and
  SHM_RDONLY; two mappings), shmctl, write, read, shmdt and mprotect(r|rw) of the first or
  the last page (rw of a SHM_RDONLY attach: R24, unspecified under POSIX).
- ``threads``: two threads; spawn, mmap, write, read.
- ``fork``: two processes; fork, mmap, write (1|2), read, madvise(dontfork|wipeonfork).
- ``slack``: shmget(private, 100 bytes or two pages), shmat, open(shm), ftruncate(1 byte or
  a page: growth while mapped, R07),
  mmap(shared) of it, write and read of byte 2048, munmap of the last page: the bytes past a
  segment's size or a file's end, and part of an attach (where POSIX leaves more open).
- ``grandchild``: three processes; fork, mmap(private), write, read, madvise(wipeonfork).
- ``credentials``: two processes; fork, setuid and setgid (to other), shmget and open(shm,
  creat|rdonly) with mode 0600 or 0644, shmat (and SHM_RDONLY), shmctl (stat, rmid, set),
  shm_unlink (C07).

Steps that one side does not cover (a Linux-only call under posix: ``NotApplicable``) are
left out of the search, and counted.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from sharespec.model.actions import actions
from sharespec.model.scope import CLASSES, Scope
from sharespec.model.ops import Step
from sharespec.model.profiles import Profile
from sharespec.model.results import Result
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import State, initial
from sharespec.model.variants import VARIANT_BY_NAME, resolve_profile

from .canonical import canonical_state



@dataclass(frozen=True)
class Menu:
    """One area of the search: a name and a scope, whose bounds say how many processes,
    threads and handles, which operation families and which argument classes of the model's
    action menu (model/actions.py) a program may use. Data."""
    name: str
    scope: Scope

    def steps(self, state: State, fds_bound: int, live_threads: Sequence[str]) -> list:
        """Every step this menu offers from ``state``, in a fixed order."""
        return [a.step for a in actions(state, self.scope, fds_bound=fds_bound,
                                        actors=live_threads)]


def _area(name: str, families: tuple, **bounds) -> Menu:
    """An area: one process, one thread, one mapping, nothing else and the first class of every
    argument (model/scope.CLASSES), unless ``bounds`` say otherwise. By default an area maps
    shared and private, remaps by alias and opens POSIX shm objects."""
    narrow = dict(processes=1, threads=1, mappings=1, segments=0, objects=0, pages=1,
                  values=(1,), offsets=(0,))
    narrow |= {argument: classes[:1] for argument, classes in CLASSES.items()}
    narrow |= dict(sharing=("shared", "private"), remaps=("alias",), object_kinds=("shm",),
                   shmctl_cmds=("stat", "rmid"))   # the commands POSIX and Linux share
    return Menu(name, Scope(**(narrow | bounds), families=families))


MENUS: tuple[Menu, ...] = (
    _area("anon", ("mmap", "write", "read", "munmap", "mprotect", "madvise", "mmap_fixed",
                   "mremap"), mappings=2),
    _area("sysv-keys", ("shmget", "shmat", "shmctl"), segments=3, pages=2, keys=("K1",),
          shm_sizes=("page", "pages"), shm_flags=("creat", "excl", "none")),
    _area("objects", ("open", "ftruncate", "mmap_fd", "pwrite", "pread", "shm_unlink", "read",
                      "write"), objects=1, truncates=("zero", "page")),
    _area("sysv", ("fork", "exit", "shmget", "shmat", "shmctl", "read", "write", "shmdt",
                   "mprotect"), processes=2, threads=2, mappings=2, segments=1, pages=2,
          shm_sizes=("pages",), attaches=("slot", "rdonly"), range_pages=("start", "last"),
          prots=("r", "rw")),       # rw: mprotect(PROT_WRITE) of a SHM_RDONLY attach (R24)
    _area("threads", ("spawn", "mmap", "read", "write"), threads=2),
    _area("fork", ("fork", "mmap", "read", "write", "madvise"), processes=2, threads=2,
          values=(1, 2), advices=("dontfork", "wipeonfork")),
    _area("slack", ("shmget", "shmat", "open", "ftruncate", "mmap_fd", "read", "write", "munmap"),
          segments=1, objects=1, pages=2, shm_sizes=("unaligned", "pages"),
          truncates=("unaligned", "page"),     # page: growth while mapped (R07)
          sharing=("shared",), offsets=(2048,), range_pages=("last",)),
    _area("grandchild", ("fork", "mmap", "read", "write", "madvise"), processes=3, threads=3,
          sharing=("private",), advices=("wipeonfork",)),
    _area("credentials", ("fork", "setuid", "setgid", "shmget", "shmat", "shmctl", "open",
                          "shm_unlink"), processes=2, threads=2, segments=1, objects=1,
          attaches=("slot", "rdonly"), modes=("owner", "read"), opens=("creat", "rdonly"),
          shmctl_cmds=("stat", "rmid", "set")),
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
        fds = node.fds + (st.op.BINDS == "fd")   # open, dup, reopen
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
    "read_may_lag_shared_stores": "R12",
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
