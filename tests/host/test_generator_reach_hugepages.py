"""Every generator that draws from the action menu reaches the huge-page classes (issue 16,
item 6; model/hugepages.py): memfd_create with MFD_HUGETLB, with a size, a size flag alone,
shmget with SHM_HUGETLB, and calls on a hugetlb memfd. Statistical, so in the host tier
(tests/host/test_generator_reach.py is the same for the other classes). The scope offers
memfds only: among the dozens of file and POSIX shm opens of the default scope the three
memfd_create classes are drawn a few times in a thousand programs. The exhaustive scope
(model/scope.SMALL) leaves them out on purpose, as it narrows every other argument."""
from __future__ import annotations

import random

from sharespec.model.ops import Fallocate, Ftruncate, Mmap, Open, Pwrite, ShmGet
from sharespec.model.scope import Scope
from drawn_programs import drawn_programs

MEMFDS = Scope(object_kinds=("memfd",))

WANTED = {"memfd hugetlb", "memfd hugetlb sized", "memfd size alone", "shmget hugetlb",
          "shmget hugetlb sized", "shmget size alone", "call on a hugetlb memfd"}


def reached(programs) -> set:
    hits = set()
    for program in programs:
        huge_fds = set()
        for st in program:
            op = st.op
            if isinstance(op, (Open, ShmGet)) and (op.hugetlb or op.huge != "default"):
                what = "memfd" if isinstance(op, Open) else "shmget"
                hits.add(f"{what} hugetlb" + (" sized" if op.huge != "default" else "")
                         if op.hugetlb else f"{what} size alone")
                if isinstance(op, Open) and op.hugetlb:
                    huge_fds.add(st.bind)
            if isinstance(op, (Ftruncate, Pwrite, Fallocate, Mmap)) and op.fd in huge_fds:
                hits.add("call on a hugetlb memfd")
    return hits


def test_random_programs_reach_the_huge_page_classes():
    from sharespec.generators.random_programs import random_program
    rng = random.Random(16)
    assert reached(random_program(rng, MEMFDS) for _ in range(300)) == WANTED


def test_hypothesis_programs_reach_the_huge_page_classes():
    from sharespec.generators.strategies import programs
    # the families that make and use huge-page objects only: with every family (brk, growsdown,
    # ...) in the table, a sized SHM_HUGETLB shmget is drawn too rarely for 300 examples
    kinds = ("open", "shmget", "ftruncate", "pwrite", "fallocate", "mmap_fd")
    scope = Scope(steps=10, object_kinds=("memfd",), families=kinds)
    drawn = drawn_programs(programs(scope, kinds=kinds), 300)
    assert reached(drawn) == WANTED


def test_exhaustive_enumeration_reaches_the_huge_page_classes_given_a_scope_that_names_them():
    """The exhaustive scope SMALL leaves huge pages out, but the enumeration draws from the same
    menu: a scope that names the classes reaches them. Not the size flag alone of shmget: the
    kernel ignores it (model/hugepages.py), so it reaches the state and result of a plain
    shmget, and the enumeration keeps one program per state and result (exhaustive.explore)."""
    from sharespec.generators.exhaustive import explore
    scope = Scope(steps=2, processes=1, threads=1, object_kinds=("memfd",),
                  families=("open", "shmget", "ftruncate"),
                  memfd_opens=("hugetlb", "hugetlb_sized", "huge_size_only"),
                  shm_flags=("creat",), shm_huges=("hugetlb", "hugetlb_sized", "size_only"))
    assert reached(explore(scope).selected_programs()) == WANTED - {"shmget size alone"}
