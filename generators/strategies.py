"""Hypothesis strategies for programs and cases: ``programs(scope, profile)``, ``cases(...)``.

Every program drawn is valid in the sense of ``model.validate.validate_program``: each handle
is bound before it is used, every step is performed by a thread that has not certainly ended
(by its own ``thread_exit``, or by ``exit`` or ``exec`` in its process), and every argument
comes from the scope's domains (``scope.values``, ``scope.offsets``, page counts up to
``scope.pages``, at most ``scope.mappings`` mapping handles, and so on).

How it shrinks. A program is drawn as a list of *step choices*, small tuples of integers
(``StepChoice``), and each choice is then *interpreted* against the handles bound so far; a
choice that does not apply (a ``read`` before any mapping exists, a ``fork`` beyond the scope's
processes) is skipped, not redrawn. So Hypothesis's shrinker can delete any choice and the
others keep their meaning, and it can lower any integer towards 0, which always means the
simpler alternative: the earlier operation kinds in ``KINDS`` (``mmap`` before ``write``
before ``fork`` ... before ``exec``), the first handle, the first live thread (``T0``), page 0,
the first value of the scope, the default flags. A failing program found by a test therefore
shrinks to a few steps of the plainest operations, e.g.::

    T0: S0 = shmget(private, 4096, creat)
    T0: M0 = shmat(S0)
    T0: write(M0, 7)
    T0: T1 = fork()
    T1: read(M0)                  # -> 7

Example, in a test::

    from hypothesis import given
    from sharespec.generators import programs, cases
    from sharespec.model.scope import Scope

    @given(programs(Scope(steps=6, values=(7,))))
    def test_the_model_never_gets_stuck(program):
        ...

    @given(cases(profile="posix"))
    def test_every_step_allows_something(case):
        assert all(case.allowed)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from hypothesis import reject
from hypothesis import strategies as st

from sharespec.model.actions import FAMILIES, FAMILY_WEIGHTS, NEEDS, by_family
from sharespec.model.case import Case
from sharespec.model.ops import MADVICES, Read, Step, Write
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.profiles import Profile, get_profile
from sharespec.model.scope import DEFAULT, Scope
from sharespec.model.semantics import NotApplicable

from .observation_tail import observed
from .walk import CASES_SCOPE, NO_SWARM, Swarm, Walk, range_pages



class StepChoice(NamedTuple):
    """One drawn step before interpretation: ``kind`` picks the operation (an index into
    ``KIND_TABLE``), ``actor`` which live thread performs it, and ``arg`` packs four digits
    (each 0..255): the classes of the action's first three arguments (``first_class``,
    ``second_class``, ``third_class``) and the pick among the actions left (``rest``).
    Every field shrinks towards 0, the simplest alternative. (Three integers, not six: the
    shrinker deletes and simplifies narrow list elements far faster.)

    >>> builder = ProgramBuilder(Scope(), "linux")
    >>> builder.interpret(StepChoice(KIND_TABLE.index("mmap"), 0, 0))
    Step(thread='T0', op=Mmap(shared=True, prot='rw', length=4096, fd=None, offset=0, at=None, fixed='none', locked=False, populate=False, validate=False, unknown=False, growsdown=False, neither=False), bind='M0')
    >>> builder.interpret(StepChoice(KIND_TABLE.index("write"), 0, 0))
    Step(thread='T0', op=Write(at=Place(mapping='M0', page=0, offset=0), value=1), bind=None)
    >>> builder.interpret(StepChoice(KIND_TABLE.index("shmdt"), 0, 0))  # M0 is the newest mapping
    Step(thread='T0', op=ShmDt(at=Place(mapping='M0', page=0, offset=0)), bind=None)
    """
    kind: int
    actor: int = 0
    arg: int = 0

    # The digits are interleaved bit by bit (first_class has bits 0, 4, 8, ...; second_class
    # bits 1, 5, 9, ...), so that the small integers Hypothesis favours still vary every digit,
    # and the smallest ``arg`` with some meaning has every digit that does not matter at 0.
    @property
    def first_class(self) -> int:
        return _digit(self.arg, 0)

    @property
    def second_class(self) -> int:
        return _digit(self.arg, 1)

    @property
    def third_class(self) -> int:
        return _digit(self.arg, 2)

    @property
    def rest(self) -> int:
        return _digit(self.arg, 3)


def _digit(arg: int, k: int) -> int:
    return sum((arg >> (4 * i + k) & 1) << i for i in range(8))


def pack(first_class: int = 0, second_class: int = 0, third_class: int = 0, rest: int = 0) -> int:
    """The ``arg`` of a StepChoice with these digits (each 0..255).

    >>> StepChoice(0, 0, pack(first_class=5, rest=200)).rest
    200
    """
    arg = 0
    for k, digit in enumerate((first_class, second_class, third_class, rest)):
        for i in range(8):
            arg |= (digit >> i & 1) << (4 * i + k)
    return arg


def step_choices(kinds: Optional[tuple] = None) -> st.SearchStrategy[StepChoice]:
    """The strategy for one ``StepChoice`` (over ``kind_table(kinds)``)."""
    # sampled_from: uniform over the table when generating, towards index 0 when shrinking.
    return st.builds(StepChoice, st.sampled_from(range(len(kind_table(kinds)))), st.integers(0, 7),
                     ARGS)


# ``arg`` as four uniform bytes, not ``st.integers(0, 2 ** 32 - 1)``: Hypothesis draws a wide
# integer from a small bit size most of the time (below 2 ** 16 about four times in five), which
# leaves every digit below 16, so an argument's classes past the fourth (most madvise advices,
# shmctl commands, mremap kinds) came up about 0.5% of the time each instead of about 3.5%.
# Bytes shrink towards zero as the integer did.
ARGS = st.binary(min_size=4, max_size=4).map(lambda raw: int.from_bytes(raw, "big"))


@dataclass
class ProgramBuilder:
    """Interprets step choices one by one against the states the program so far may reach.

    ``interpret`` returns the next ``Step`` (and records it in ``steps``) or None when the
    choice does not apply. The step is one of the model's action menu (model/actions.py) from a
    state where the acting thread is alive (``walk.Walk``): ``choice.kind`` picks the operation
    family, ``choice.arg`` one of its actions (0: the first, simplest class of every argument).
    A step that will fail (an unmapped read, a second IPC_RMID) is as good a step as any.
    """
    scope: Scope = DEFAULT
    profile: "str | Profile" = "linux"
    written: list = field(default_factory=list)
    kinds: Optional[tuple] = None
    swarm: Swarm = NO_SWARM

    MAX_STATES = 64   # the states kept to draw the menu from (the oracle keeps them all)

    def __post_init__(self):
        self.last_family: Optional[str] = None   # the family of the last step taken
        self.walk = Walk(self.scope, self.profile, self.swarm)
        self.profile = self.walk.profile
        # a swarm's families only, so that no choice is spent on a family it leaves out
        self.table = (tuple(k for k in kind_table(self.kinds) if k not in self.swarm.left_out)
                      or kind_table(self.kinds))

    @property
    def steps(self) -> list:
        return self.walk.steps

    def full(self) -> bool:
        """True when no further step can be added (the length bound, or nobody is alive)."""
        return len(self.steps) >= self.scope.steps or not self.walk.live_threads()

    # -- interpretation

    def _focused(self, actor: str, kind: str, options: list) -> list:
        """The options of half the choices (the other half: all of them): a write where a
        store succeeds (four of mmap's six protections refuse one, and a store that faults
        ends the process), a call on memory over the newest page written (``_covers``); all
        of them when none is."""
        if kind == "write":
            focused = [a for a in options if self.walk.stores(actor, a.step.op.at)]
        elif kind in ON_MEMORY and self.written:
            focused = [a for a in options if _covers(a.step.op, self.written[0])]
        else:
            focused = []
        return focused or options

    def interpret(self, choice: StepChoice) -> Optional[Step]:
        if self.full():
            return None
        live = self.walk.live_threads()
        actor = live[choice.actor % len(live)]
        families = by_family(self.walk.menu(actor))
        kind = self.table[choice.kind % len(self.table)]
        if kind == AGAIN:
            kind = self.last_family   # (None before the first step: the choice is skipped)
        if kind not in families and FALLBACK.get(kind) in self.table:
            kind = FALLBACK[kind]   # a read before any mapping is an mmap
        if kind not in families:
            return None
        options = families[kind]
        if kind == "read" and self.written and choice.rest % 2 == 0:
            # half the reads look where something was written
            st_ = Step(actor, Read(self.written[choice.third_class % len(self.written)]))
        else:
            if choice.rest % 2 == 0:
                options = self._focused(actor, kind, options)
            st_ = _pick(options, choice, choice.rest // 2).step
        nxt = self.walk.successors(st_)
        if nxt is None:
            return None
        if self.walk.ends_everything(nxt) and len(self.steps) < self.scope.steps - 1:
            return None   # the program would end before its last step: nothing could follow
        if isinstance(st_.op, Write) and st_.op.at not in self.written and \
                self.walk.stores(actor, st_.op.at):
            self.written.insert(0, st_.op.at)  # the newest first: the simplest choice
        self.walk.take(st_, nxt[:self.MAX_STATES])
        self.last_family = kind
        return st_


# Many wrong effects show only as a written byte read back after one call on its page: an
# advice (MADV_DONTNEED on shared or locked memory, MADV_PAGEOUT, guard pages), an mprotect
# that drops MADV_DONTFORK, a grown or moved mremap, msync's MS_INVALIDATE, a MAP_FIXED
# over it. A uniform pick seldom aims such a call at the written page (it must draw the
# mapping, then the page), so half the calls on memory are aimed there: relative to the
# program, as AGAIN is, so a shrunk program keeps its meaning when an unrelated step goes.
# The families aimed there: the calls that change memory already mapped. Not those that make
# a mapping (mmap, shmat: aimed at a written page, most become a MAP_FIXED or an address that
# fails, and the plain attach that IPC_RMID's bugs need grows rare) nor shmdt (it takes an
# attach's address: aimed at a written page of an mmap it is EINVAL).
# Measured (benchmarks/mutation.py --sources hypothesis --no-shrink, 1000 distinct cases, one
# run each, the same hour): 147 of 173 mutants killed against 139 without the focus; aimed at
# every family but read (mmap and shmat too), 145. Of the 21 mutants the strategies missed
# before it, 8 die. One run's figure moves by about 6 from run to run (a single rare program
# kills the five IPC_RMID mutants together): compare runs made side by side.
ON_MEMORY = frozenset({"munmap", "mprotect", "madvise", "posix_madvise", "mremap", "msync",
                       "mlock", "munlock", "mmap_fixed"})


def _covers(op, place) -> bool:
    """Whether a call's range, rounded to pages as the kernel rounds it (``walk.range_pages``,
    the pages the random walk's heat counts too), holds ``place``."""
    return getattr(op, "at", None) is not None and (place.mapping, place.page) in range_pages(op)


def _pick(options: list, choice: StepChoice, rest: Optional[int] = None):
    """One of a family's actions: the digits ``first_class``, ``second_class``, ``third_class``
    pick the class of its first three arguments (uniformly; digit 0 is the first class, the
    simplest), ``rest`` one of the actions left (the handle, the value, the remaining classes).
    So every argument varies on its own, and each shrinks to its simplest class.

    (The first class used to come up a quarter of the time. With the classes drawn uniformly,
    and the kind AGAIN, 600 distinct programs reach 678 labels against 642 before, one run of
    ``python benchmarks/label_coverage.py`` each; random walks reach 1034.)

    (Weighing the actions left by how much they follow up the program, as random walks do
    (``Walk.heat``), was measured and dropped: against the mutants it killed 6 that this pick
    misses and missed 8 that it kills, on the first 102.)"""
    left = options
    for i, digit in enumerate((choice.first_class, choice.second_class, choice.third_class)):
        values = list(dict.fromkeys(a.classes[i] for a in left if len(a.classes) > i))
        if not values:
            break
        chosen = values[digit % len(values)]
        left = [a for a in left if len(a.classes) > i and a.classes[i] == chosen]
    return left[(choice.rest if rest is None else rest) % len(left)]


# A choice of a family that needs a handle not bound yet makes that handle instead, so that few
# choices are wasted; when the fallback does not apply either, the choice is skipped.
FALLBACK: dict[str, str] = {family: {"mapping": "mmap", "segment": "shmget", "fd": "open"}[need]
                            for family, need in NEEDS.items()}
KINDS: tuple[str, ...] = FAMILIES
# A kind that means "the family of the last step again", with another class drawn: many wrong
# effects show only in a pair of one family's calls on one object (IPC_RMID then IPC_STAT or
# shmat, SHM_LOCK then SHM_UNLOCK, IPC_SET then IPC_STAT, two seals, an mprotect that splits
# what a second one should re-merge), and a uniform draw lines two calls of a family of weight 2
# up about once in 500 steps. Random walks reach such pairs by their heat (Walk.heat: recent
# handles) and by drawing the least used labels first, which a strategy cannot do (each
# example is a pure function of its choices). Last in the table, so that a shrunk choice
# becomes a plain family; after deleting the step before it, it repeats another one.
AGAIN = "again"
AGAIN_SHARE = 1 / 7   # of a table's entries: about one choice in seven


def _table(families) -> tuple:
    """Simplest first (the shrinker lowers a choice's kind towards index 0), each family
    repeated by how often it should be drawn (model/actions.FAMILY_WEIGHTS), then AGAIN, its
    share of the whole."""
    entries = tuple(k for k in KINDS if k in families for _ in range(FAMILY_WEIGHTS[k]))
    return entries + (AGAIN,) * max(1, round(len(entries) * AGAIN_SHARE / (1 - AGAIN_SHARE)))


KIND_TABLE: tuple[str, ...] = _table(KINDS)


def kind_table(kinds: Optional[tuple] = None) -> tuple:
    """KIND_TABLE restricted to ``kinds`` (names from ``KINDS``; None: all of them)."""
    if kinds is None:
        return KIND_TABLE
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {sorted(unknown)} (known: {', '.join(KINDS)})")
    return _table(kinds)


def interpret(choices, scope: Scope = DEFAULT, profile="linux", kinds: Optional[tuple] = None,
              swarm: Swarm = NO_SWARM) -> tuple:
    """The program a list of step choices means (choices that do not apply are skipped).

    >>> from sharespec.generators.strategies import StepChoice, KIND_TABLE, interpret, pack
    >>> k = KIND_TABLE.index
    >>> program = interpret([StepChoice(k("read")),          # nothing mapped yet: an mmap instead
    ...                      StepChoice(k("fork")),
    ...                      StepChoice(k("write"), 1, pack(rest=1)),  # by the 2nd live thread, T1
    ...                      StepChoice(k("read"))])
    >>> [(s.thread, s.op.OP, s.bind) for s in program]
    [('T0', 'mmap', 'M0'), ('T0', 'fork', 'T1'), ('T1', 'write', None), ('T0', 'read', None)]
    """
    builder = ProgramBuilder(scope, profile, kinds=kinds, swarm=swarm)
    for choice in choices:
        builder.interpret(choice)
    return tuple(builder.steps)


def programs(scope: Scope = DEFAULT, profile="linux", min_steps: int = 1,
             kinds: Optional[tuple] = None, min_choices: int = 0):
    """A strategy for valid programs (tuples of ``Step``) within ``scope`` under ``profile``.

    Programs have between ``min_steps`` and ``scope.steps`` steps; under a profile without
    the Linux interfaces (``posix``) they never use madvise, mremap, memfd, seals,
    SHM_REMAP or MAP_FIXED_NOREPLACE. ``kinds`` restricts the vocabulary to some of
    ``KINDS`` (e.g. ``("mmap", "write", "read", "fork")``). ``min_choices``: at least that many
    step choices are drawn (some may be skipped), for longer programs that shrink less far.

    >>> from hypothesis import find
    >>> from sharespec.model.ops import Fork
    >>> find(programs(), lambda p: any(isinstance(s.op, Fork) for s in p))
    (Step(thread='T0', op=Fork(), bind='T1'),)
    """
    kind_table(kinds)  # reject unknown kinds now, not at the first draw
    longest = 2 * max(1, scope.steps)
    # Two lists, concatenated: Hypothesis keeps a list's average length near 6 whatever its
    # bound, and some choices are skipped, so one list would rarely reach scope.steps steps.
    # Each half shrinks (deletes elements) on its own.
    # ``min_choices`` holds the first half at that many choices at least: Hypothesis draws
    # short lists often (a seventh of the programs had one step), and a short program reaches
    # few of the menu's classes; the price is a shrinking floor of that many choices.
    first = st.lists(step_choices(kinds), min_size=min_choices,
                     max_size=max(longest, min_choices))
    one = st.lists(step_choices(kinds), max_size=longest)
    choices = st.tuples(first, one).map(lambda halves: halves[0] + halves[1])
    return (st.tuples(choices, swarms()).map(lambda drawn: interpret(drawn[0], scope, profile, kinds,
                                                                     drawn[1]))
            .filter(lambda program: len(program) >= min_steps))


def swarms() -> st.SearchStrategy[Swarm]:
    """Half the time no swarm (the whole menu), else one that leaves out each family and each
    madvise advice with a fair coin (walk.Swarm). Shrinks to no swarm: every coin to False."""
    coins = st.lists(st.booleans(), min_size=len(FAMILIES) + len(MADVICES),
                     max_size=len(FAMILIES) + len(MADVICES))
    return st.one_of(st.just(NO_SWARM),
                     coins.map(lambda flips: Swarm.drawn(iter(flips).__next__)))


@st.composite
def _cases(draw, scope: Scope, profile: str, name: str, kinds: Optional[tuple], observe: bool,
           min_choices: int):
    program = draw(programs(scope, profile, kinds=kinds, min_choices=min_choices))
    try:
        if observe:
            program = observed(program, profile)
        allowed = tuple(allowed_per_step(program, profile))
    except (StateExplosion, NotApplicable):
        reject()
    return Case(name=name, profile=profile, rules=(), origin="hypothesis",
                description="a program drawn by Hypothesis", steps=program, allowed=allowed)


def cases(scope: Scope = CASES_SCOPE, profile="linux", name: str = "hypothesis",
          kinds: Optional[tuple] = None, observe: bool = True, min_choices: Optional[int] = None):
    """A strategy for ``Case`` objects: a program from ``programs(scope, profile, kinds=...)``
    with the results the profile allows at each step (``oracle.allowed_per_step``). Programs
    whose nondeterminism exceeds the oracle's bound are rejected, not returned without results.
    ``observe``: the program is followed by its observation tail (observation_tail.py: reads
    of everything it touched, so that a wrong effect shows), computed from the program, so it
    shrinks with it. ``min_choices`` (default: three quarters of the scope's steps) is ``programs``'s: cases
    are drawn to find wrong implementations, where a longer program finds more.

    >>> from hypothesis import find
    >>> from sharespec.model.scope import Scope
    >>> case = find(cases(Scope(steps=3), kinds=("mmap", "write", "read"), observe=False,
    ...                   min_choices=0), lambda c: c.steps[-1].op.OP == "read")
    >>> [st.op.OP for st in case.steps], [sorted(map(str, a)) for a in case.allowed]
    (['mmap', 'read'], [['ok'], ['0']])

    (The simplest such case: a fresh page reads 0. A rarer condition, such as a load of a value
    stored before, may be missed by ``find``'s budget: the doctest would fail now and then.)
    """
    kind_table(kinds)
    if min_choices is None:
        min_choices = 3 * scope.steps // 4
    return _cases(scope, str(get_profile(profile)), name, kinds, observe, min_choices)
