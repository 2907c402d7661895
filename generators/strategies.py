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
from typing import Callable, NamedTuple, Optional

from hypothesis import reject
from hypothesis import strategies as st

from sharespec.model.case import Case
from sharespec.model.ops import (
    MADVICES, PAGE_SIZE, Close, Exec, Exit, Fork, Ftruncate, Madvise, Mmap, Mprotect,
    Mremap, Munmap, Open, Place, PosixMadvise, Pread, Pwrite, Read, Seal, ShmAt, ShmCtl, ShmDt,
    ShmGet, ShmUnlink, Spawn, Step, ThreadExit, Write,
)
from sharespec.model.oracle import StateExplosion, allowed_per_step
from sharespec.model.profiles import Profile, get_profile
from sharespec.model.scope import DEFAULT, Scope
from sharespec.model.semantics import NotApplicable

# The symbolic names a program may use for SysV keys and for shm/file objects: two of each,
# so that programs can both share (same name) and not share (another name).
KEYS = ("private", "K1")
OBJECT_NAMES = ("obj", "other")


class StepChoice(NamedTuple):
    """One drawn step before interpretation: ``kind`` picks the operation (an index into
    ``KIND_TABLE``), ``actor`` which live thread performs it, and ``arg`` packs four argument
    digits ``a, b, c, d`` (base 256, ``a`` the lowest) whose meaning depends on the kind.
    Every field shrinks towards 0, the simplest alternative. (Three integers, not six: the
    shrinker deletes and simplifies narrow list elements far faster.)

    >>> builder = ProgramBuilder(Scope(), "linux")
    >>> builder.interpret(StepChoice(KIND_TABLE.index("mmap"), 0, 0))
    Step(thread='T0', op=Mmap(shared=True, prot='rw', length=4096, fd=None, offset=0, at=None, fixed='none'), bind='M0')
    >>> builder.interpret(StepChoice(KIND_TABLE.index("write"), 0, 0))
    Step(thread='T0', op=Write(at=Place(mapping='M0', page=0, offset=0), value=1), bind=None)
    >>> builder.interpret(StepChoice(KIND_TABLE.index("shmdt"), 0, 0))  # M0 is the newest mapping
    Step(thread='T0', op=ShmDt(at=Place(mapping='M0', page=0, offset=0)), bind=None)
    """
    kind: int
    actor: int = 0
    arg: int = 0

    # The digits are interleaved bit by bit (a has bits 0, 4, 8, ...; b bits 1, 5, 9, ...), so
    # that the small integers Hypothesis favours still vary every digit, and the smallest
    # ``arg`` with some meaning has every digit that does not matter at 0.
    @property
    def a(self) -> int:
        return _digit(self.arg, 0)

    @property
    def b(self) -> int:
        return _digit(self.arg, 1)

    @property
    def c(self) -> int:
        return _digit(self.arg, 2)

    @property
    def d(self) -> int:
        return _digit(self.arg, 3)


def _digit(arg: int, k: int) -> int:
    return sum((arg >> (4 * i + k) & 1) << i for i in range(8))


def pack(a: int = 0, b: int = 0, c: int = 0, d: int = 0) -> int:
    """The ``arg`` of a StepChoice with these digits (each 0..255).

    >>> StepChoice(0, 0, pack(a=5, d=200)).d
    200
    """
    arg = 0
    for k, digit in enumerate((a, b, c, d)):
        for i in range(8):
            arg |= (digit >> i & 1) << (4 * i + k)
    return arg


def step_choices(kinds: Optional[tuple] = None) -> st.SearchStrategy[StepChoice]:
    """The strategy for one ``StepChoice`` (over ``kind_table(kinds)``)."""
    # sampled_from: uniform over the table when generating, towards index 0 when shrinking.
    return st.builds(StepChoice, st.sampled_from(range(len(kind_table(kinds)))), st.integers(0, 7),
                     st.integers(0, 2 ** 32 - 1))


@dataclass
class ProgramBuilder:
    """Interprets step choices one by one against what the program has bound so far.

    It tracks, as ``validate`` does, each handle's kind and which threads have certainly ended;
    ``interpret`` returns the next ``Step`` (and records it in ``steps``) or None when the
    choice does not apply. It never consults the semantics: a step that will fail (an
    unmapped read, a second IPC_RMID) is as good a step as any.
    """
    scope: Scope = DEFAULT
    profile: "str | Profile" = "linux"
    steps: list = field(default_factory=list)
    threads: list = field(default_factory=lambda: ["T0"])
    process_of: dict = field(default_factory=lambda: {"T0": 0})
    processes: int = 1
    ended: set = field(default_factory=set)
    mappings: list = field(default_factory=list)
    segments: list = field(default_factory=list)
    fds: list = field(default_factory=list)
    written: list = field(default_factory=list)
    kinds: Optional[tuple] = None

    def __post_init__(self):
        self.profile = get_profile(self.profile)
        self.table = kind_table(self.kinds)

    # -- what is alive, and where the scope stops

    def live_threads(self) -> list:
        return [t for t in self.threads if t not in self.ended]

    def live_processes(self) -> int:
        return len({self.process_of[t] for t in self.live_threads()})

    def full(self) -> bool:
        """True when no further step can be added (the length bound, or nobody is alive)."""
        return len(self.steps) >= self.scope.steps or not self.live_threads()

    # -- interpretation

    def interpret(self, choice: StepChoice) -> Optional[Step]:
        if self.full():
            return None
        live = self.live_threads()
        actor = live[choice.actor % len(live)]
        kind = self.table[choice.kind % len(self.table)]
        made = _MAKERS[kind](self, choice)
        if made is None and FALLBACK.get(kind) in self.table:
            made = _MAKERS[FALLBACK[kind]](self, choice)
        if made is None:
            return None
        op, bind = made
        st_ = Step(actor, op, bind)
        self._record(st_)
        return st_

    def _record(self, st_: Step) -> None:
        op, actor = st_.op, st_.thread
        process = self.process_of[actor]
        match op:
            case Fork():
                self.threads.append(st_.bind)
                self.process_of[st_.bind] = self.processes
                self.processes += 1
            case Spawn():
                self.threads.append(st_.bind)
                self.process_of[st_.bind] = process
            case ThreadExit():
                self.ended.add(actor)
            case Exit():
                self.ended.update(t for t in self.threads if self.process_of[t] == process)
            case Exec():
                self.ended.update(t for t in self.threads
                                  if self.process_of[t] == process and t != actor)
            case ShmGet():
                self.segments.append(st_.bind)
            case Open():
                self.fds.append(st_.bind)
            case Write(at=at) if at not in self.written:
                self.written.insert(0, at)  # the newest first: the simplest choice
            case _ if st_.bind is not None:
                self.mappings.append(st_.bind)
        self.steps.append(st_)

    # -- the domains of the arguments, each a pick by an integer that shrinks to the simplest

    @property
    def linux(self) -> bool:
        return self.profile.linux_interfaces

    def can_map(self) -> bool:
        return len(self.mappings) < self.scope.mappings

    def new_mapping(self) -> str:
        return f"M{len(self.mappings)}"

    def length(self, n: int) -> int:
        return PAGE_SIZE * (1 + n % max(1, self.scope.pages))

    def page_index(self, p: int) -> int:
        """Page 0 half the time (where the other steps are), else any page up to one past
        the scope's pages (the page after a mapping is how faults are reached)."""
        return 0 if p % 2 == 0 else p // 2 % (self.scope.pages + 1)

    @staticmethod
    def prot(n: int) -> str:
        """Mostly "rw": a mapping that faults at its first access ends its process early."""
        return ("rw", "rw", "rw", "r", "none")[n % 5]

    def mapping(self, m: int) -> str:
        """The newest mapping half the time (what the steps just before were about), else any."""
        return self.mappings[-1] if m % 2 == 0 else self.mappings[m // 2 % len(self.mappings)]

    def place(self, m: int, p: int, o: int) -> Place:
        """Any byte: a mapping, a page up to one past the scope's pages, an offset of the scope."""
        offsets = self.scope.offsets
        return Place(self.mapping(m), self.page_index(p), offsets[o % len(offsets)])

    def page(self, m: int, p: int) -> Place:
        """A page-aligned place (what munmap, mprotect, madvise, shmdt want)."""
        return Place(self.mapping(m), self.page_index(p))

    def value(self, n: int) -> int:
        return self.scope.values[n % len(self.scope.values)]

    def file_offset(self, n: int) -> int:
        offsets = self.scope.offsets
        return PAGE_SIZE * (n // len(offsets) % max(1, self.scope.pages)) + offsets[n % len(offsets)]


# --- one maker per kind: (op, bind) or None when the choice does not apply --------------------

Made = Optional[tuple]


def _mmap(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.can_map():
        return None
    return Mmap(shared=c.a % 2 == 0, prot=b.prot(c.b), length=b.length(c.c)), b.new_mapping()


def _write(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings:
        return None
    return Write(b.place(c.a, c.b, c.c), b.value(c.d)), None


def _read(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings:
        return None
    if b.written and c.d % 2 == 0:  # half the reads look where something was written
        return Read(b.written[c.d // 2 % len(b.written)]), None
    return Read(b.place(c.a, c.b, c.c)), None


def _fork(b: ProgramBuilder, c: StepChoice) -> Made:
    if len(b.threads) >= b.scope.threads or b.live_processes() >= b.scope.processes:
        return None
    return Fork(), f"T{len(b.threads)}"


def _spawn(b: ProgramBuilder, c: StepChoice) -> Made:
    if len(b.threads) >= b.scope.threads:
        return None
    return Spawn(), f"T{len(b.threads)}"


def _shmget(b: ProgramBuilder, c: StepChoice) -> Made:
    if len(b.segments) >= b.scope.segments:
        return None
    sizes = (PAGE_SIZE, 100, PAGE_SIZE * max(1, b.scope.pages))
    flags = c.c % 3  # 0: IPC_CREAT, 1: IPC_CREAT|IPC_EXCL, 2: neither
    return (ShmGet(KEYS[c.a % 2], sizes[c.b % 3], creat=flags != 2, excl=flags == 1),
            f"S{len(b.segments)}")


def _shmat(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.segments or not b.can_map():
        return None
    segment = b.segments[c.a % len(b.segments)]
    where = c.c % 4 if b.mappings else 0  # 0: the system's choice; 1: at a page; 2: SHM_RND; 3: SHM_REMAP
    if where == 3 and not b.linux:
        where = 1
    at = None
    if where:
        at = b.page(c.d, c.d // 3)
        if where == 2:
            at = b.place(c.d, c.d // 3, 1 + c.d)
    return (ShmAt(segment, at=at, rdonly=c.b % 2 == 1, rnd=where == 2, remap=where == 3),
            b.new_mapping())


def _open(b: ProgramBuilder, c: StepChoice) -> Made:
    if len(b.fds) >= b.scope.objects:
        return None
    kinds = ("shm", "file", "memfd") if b.linux else ("shm", "file")
    kind = kinds[c.a % len(kinds)]
    flags = c.c % 3  # 0: O_CREAT, 1: O_CREAT|O_EXCL, 2: neither
    name = "" if kind == "memfd" else OBJECT_NAMES[c.b % 2]
    creat, excl = (False, False) if kind == "memfd" else (flags != 2, flags == 1)
    return Open(kind, name, creat=creat, excl=excl, rdonly=c.d % 4 == 3), f"F{len(b.fds)}"


def _fd(b: ProgramBuilder, n: int) -> Optional[str]:
    return b.fds[n % len(b.fds)] if b.fds else None


def _ftruncate(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.fds:
        return None
    lengths = (PAGE_SIZE, 0, 100, PAGE_SIZE * max(1, b.scope.pages))
    return Ftruncate(_fd(b, c.a), lengths[c.b % 4]), None


def _pwrite(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.fds:
        return None
    return Pwrite(_fd(b, c.a), b.file_offset(c.b), b.value(c.c)), None


def _pread(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.fds:
        return None
    return Pread(_fd(b, c.a), b.file_offset(c.b)), None


def _munmap(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings:
        return None
    return Munmap(b.page(c.a, c.b), b.length(c.c)), None


def _mprotect(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings:
        return None
    return Mprotect(b.page(c.a, c.b), b.length(c.c), ("r", "none", "rw")[c.d % 3]), None


def _shmdt(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings:
        return None
    return ShmDt(b.page(c.a, c.b)), None


def _shmctl(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.segments:
        return None
    return ShmCtl(b.segments[c.a % len(b.segments)], ("rmid", "stat")[c.b % 2]), None


def _mmap_fd(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.fds or not b.can_map():
        return None
    return (Mmap(shared=c.b % 2 == 0, prot=b.prot(c.c), length=b.length(c.d),
                 fd=_fd(b, c.a), offset=PAGE_SIZE * (c.d // 2 % 2)), b.new_mapping())


def _mmap_fixed(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings or not b.can_map():
        return None
    fixed = "noreplace" if b.linux and c.d % 2 else "replace"
    return (Mmap(shared=c.c % 2 == 0, prot="rw", length=b.length(c.c // 2), at=b.page(c.a, c.b),
                 fixed=fixed), b.new_mapping())


def _madvise(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings or not b.linux:
        return None
    return Madvise(b.page(c.a, c.b), b.length(c.c), MADVICES[c.d % len(MADVICES)]), None


def _posix_madvise(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings:
        return None
    return PosixMadvise(b.page(c.a, c.b), b.length(c.c)), None


def _mremap(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.mappings or not b.linux:
        return None
    mode = ("grow", "move", "alias")[c.d % 3]
    at = b.page(c.a, 0)
    if mode == "grow":
        return Mremap(at, b.length(c.b), b.length(c.b) + PAGE_SIZE, "grow"), None
    if not b.can_map():
        return None
    old = 0 if mode == "alias" else b.length(c.b)
    return Mremap(at, old, b.length(c.c), mode), b.new_mapping()


def _close(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.fds:
        return None
    return Close(_fd(b, c.a)), None


def _shm_unlink(b: ProgramBuilder, c: StepChoice) -> Made:
    return ShmUnlink(OBJECT_NAMES[c.a % 2]), None


def _seal(b: ProgramBuilder, c: StepChoice) -> Made:
    if not b.fds or not b.linux:
        return None
    return Seal(_fd(b, c.a)), None


def _thread_exit(b: ProgramBuilder, c: StepChoice) -> Made:
    return ThreadExit(), None


def _exit(b: ProgramBuilder, c: StepChoice) -> Made:
    return Exit(), None


def _exec(b: ProgramBuilder, c: StepChoice) -> Made:
    return Exec(), None


_MAKERS: dict[str, Callable[[ProgramBuilder, StepChoice], Made]] = {
    "mmap": _mmap, "write": _write, "read": _read, "fork": _fork, "shmget": _shmget,
    "shmat": _shmat, "spawn": _spawn, "open": _open, "ftruncate": _ftruncate, "pwrite": _pwrite,
    "pread": _pread, "munmap": _munmap, "mprotect": _mprotect, "shmdt": _shmdt,
    "shmctl": _shmctl, "mmap_fd": _mmap_fd, "mmap_fixed": _mmap_fixed, "madvise": _madvise,
    "posix_madvise": _posix_madvise, "mremap": _mremap, "close": _close,
    "shm_unlink": _shm_unlink, "seal": _seal, "thread_exit": _thread_exit, "exit": _exit,
    "exec": _exec,
}
# Simplest first (the shrinker lowers a choice's kind towards index 0), each kind repeated by
# how often it should be drawn: accesses often, the steps that end threads rarely (they also
# end the program early, as every later choice for a dead thread is skipped).
KIND_WEIGHTS: dict[str, int] = {
    "mmap": 3, "write": 5, "read": 5, "fork": 3, "shmget": 2, "shmat": 3, "spawn": 2, "open": 2,
    "ftruncate": 2, "pwrite": 1, "pread": 1, "munmap": 1, "mprotect": 1, "shmdt": 1, "shmctl": 2,
    "mmap_fd": 2, "mmap_fixed": 1, "madvise": 1, "posix_madvise": 1, "mremap": 1, "close": 1,
    "shm_unlink": 1, "seal": 1, "thread_exit": 1, "exit": 1, "exec": 1,
}
# A choice of a kind that needs a handle not bound yet makes that handle instead (a read
# before any mapping is an mmap), so that few choices are wasted; when the fallback does not
# apply either (the scope's mappings are used up), the choice is skipped.
FALLBACK: dict[str, str] = {
    **dict.fromkeys(("write", "read", "munmap", "mprotect", "shmdt", "mmap_fixed", "madvise",
                     "posix_madvise", "mremap"), "mmap"),
    **dict.fromkeys(("shmat", "shmctl"), "shmget"),
    **dict.fromkeys(("ftruncate", "pwrite", "pread", "mmap_fd", "close", "seal"), "open"),
}
KINDS: tuple[str, ...] = tuple(_MAKERS)
KIND_TABLE: tuple[str, ...] = tuple(k for k in KINDS for _ in range(KIND_WEIGHTS[k]))


def kind_table(kinds: Optional[tuple] = None) -> tuple:
    """KIND_TABLE restricted to ``kinds`` (names from ``KINDS``; None: all of them)."""
    if kinds is None:
        return KIND_TABLE
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {sorted(unknown)} (known: {', '.join(KINDS)})")
    return tuple(k for k in KIND_TABLE if k in kinds)


def interpret(choices, scope: Scope = DEFAULT, profile="linux", kinds: Optional[tuple] = None) -> tuple:
    """The program a list of step choices means (choices that do not apply are skipped).

    >>> from sharespec.generators.strategies import StepChoice, KIND_TABLE, interpret, pack
    >>> k = KIND_TABLE.index
    >>> program = interpret([StepChoice(k("read")),          # nothing mapped yet: an mmap instead
    ...                      StepChoice(k("fork")),
    ...                      StepChoice(k("write"), 1, pack(d=1)),  # by the 2nd live thread, T1
    ...                      StepChoice(k("read"))])
    >>> [(s.thread, s.op.OP, s.bind) for s in program]
    [('T0', 'mmap', 'M0'), ('T0', 'fork', 'T1'), ('T1', 'write', None), ('T0', 'read', None)]
    """
    builder = ProgramBuilder(scope, profile, kinds=kinds)
    for choice in choices:
        builder.interpret(choice)
    return tuple(builder.steps)


def programs(scope: Scope = DEFAULT, profile="linux", min_steps: int = 1,
             kinds: Optional[tuple] = None):
    """A strategy for valid programs (tuples of ``Step``) within ``scope`` under ``profile``.

    Programs have between ``min_steps`` and ``scope.steps`` steps; under a profile without
    the Linux interfaces (``posix``) they never use madvise, mremap, memfd, seals,
    SHM_REMAP or MAP_FIXED_NOREPLACE. ``kinds`` restricts the vocabulary to some of
    ``KINDS`` (e.g. ``("mmap", "write", "read", "fork")``).

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
    one = st.lists(step_choices(kinds), max_size=longest)
    choices = st.tuples(one, one).map(lambda halves: halves[0] + halves[1])
    return (choices.map(lambda cs: interpret(cs, scope, profile, kinds))
            .filter(lambda program: len(program) >= min_steps))


@st.composite
def _cases(draw, scope: Scope, profile: str, name: str, kinds: Optional[tuple]):
    program = draw(programs(scope, profile, kinds=kinds))
    try:
        allowed = tuple(allowed_per_step(program, profile))
    except (StateExplosion, NotApplicable):
        reject()
    return Case(name=name, profile=profile, rules=(), origin="hypothesis",
                description="a program drawn by Hypothesis", steps=program, allowed=allowed)


def cases(scope: Scope = DEFAULT, profile="linux", name: str = "hypothesis",
          kinds: Optional[tuple] = None):
    """A strategy for ``Case`` objects: a program from ``programs(scope, profile, kinds=...)``
    with the results the profile allows at each step (``oracle.allowed_per_step``). Programs
    whose nondeterminism exceeds the oracle's bound are rejected, not returned without results.

    >>> from hypothesis import find
    >>> from sharespec.model.results import Value
    >>> case = find(cases(), lambda c: Value(2) in c.allowed[-1])
    >>> [(s.op.OP, sorted(map(str, a))) for s, a in zip(case.steps, case.allowed)]
    [('mmap', ['ok']), ('write', ['ok']), ('read', ['2'])]
    """
    kind_table(kinds)
    return _cases(scope, str(get_profile(profile)), name, kinds)
