"""The one action menu (model/actions.py): every family and argument class is offered, the
classes it names are those ``classify`` finds, and the z3 encoding's argument domain
(symbolic/encoding.valid_args) accepts every action of its core. That every generator draws
from it is tests/host/test_generator_reach.py (statistical, slow).

    pytest tests/model/test_actions.py
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from sharespec.model.actions import FAMILIES, FAMILY_WEIGHTS, NEEDS, actions, by_family, classify
from sharespec.model.ops import PAGE_SIZE, Fork, Mprotect, Place, Step
from sharespec.model.profiles import LINUX
from sharespec.model.scope import CLASSES, DEFAULT, SMALL, Scope
from sharespec.model.semantics import step
from sharespec.model.state import initial

SETUP = """
T0: M0 = mmap(anon, private, rw, 12288)
T0: S0 = shmget(private, 8192, creat)
T0: F0 = open(file, obj, creat)
T0: ftruncate(F0, 8192)
T0: munmap(M0[1], 4096)
"""


def reach(text: str, state=None):
    """The first state the program reaches (the programs here are deterministic)."""
    from sharespec.model.case_text import case_from_text
    steps = case_from_text("case x\nprofile linux\norigin test\n\n" + text.strip() + "\n", "<t>").steps
    state = state or initial()
    for st in steps:
        state = step(state, st, LINUX)[0][0]
    return state


@pytest.fixture(scope="module")
def setup():
    return reach(SETUP)


def test_every_family_is_offered_once_its_handles_exist(setup):
    offered = by_family(actions(setup, DEFAULT, fds_bound=1))
    assert set(offered) == set(FAMILIES)
    assert set(FAMILY_WEIGHTS) == set(FAMILIES) and set(NEEDS) <= set(FAMILIES)


def test_every_argument_class_is_offered(setup):
    """For every class bound of the scope, every class it may hold appears in some action."""
    acts = actions(setup, DEFAULT, fds_bound=1)
    acts += actions(reach("T0: F1 = open(memfd)", setup), DEFAULT, fds_bound=2)
    seen = {}
    for a in acts:
        for arg, cls in a.classes:
            seen.setdefault((a.family, arg), set()).add(cls)
    wanted = {("mprotect", "prot"): "prots", ("madvise", "advice"): "advices",
              ("mremap", "remap"): "remaps", ("shmat", "attach"): "attaches",
              ("mmap", "sharing"): "sharing", ("mmap", "prot"): "map_prots",
              ("mmap", "length"): "map_lengths", ("munmap", "length"): "lengths",
              ("mprotect", "at"): "range_pages", ("read", "at"): "place_pages",
              ("shmget", "flags"): "shm_flags", ("shmget", "size"): "shm_sizes",
              ("open", "object"): "object_kinds", ("open", "open"): "opens",
              ("ftruncate", "length"): "truncates", ("mmap_fd", "offset"): "file_offsets",
              ("pread", "offset"): "io_offsets", ("mmap_fixed", "fixed"): "fixed",
              ("open", "memfd"): "memfd_opens", ("seal", "seal"): "seal_sets",
              ("reopen", "reopen"): "reopens", ("fallocate", "fallocate"): "fallocates",
              ("absolute", "address"): "absolutes"}
    for key, bound in wanted.items():
        assert seen[key] == set(CLASSES[bound]), (key, seen[key])


def test_actions_carry_the_classes_classify_finds(setup):
    forked = step(setup, Step("T0", Fork(), "T1"), LINUX)[0][0]
    forked = step(forked, Step("T1", Mprotect(Place("M0"), PAGE_SIZE, "r")), LINUX)[0][0]
    for state in (initial(), setup, forked):
        for a in actions(state, DEFAULT, fds_bound=1):
            assert classify(state, a.step) == a


def test_the_scope_bounds_the_classes(setup):
    narrow = replace(DEFAULT, prots=("none",), lengths=("unaligned",), range_pages=("last",))
    protects = by_family(actions(setup, narrow, fds_bound=1))["mprotect"]
    assert {a.classes for a in protects} == {(("at", "last"), ("length", "unaligned"),
                                              ("prot", "none"))}
    assert set(by_family(actions(setup, replace(DEFAULT, families=("read",))))) == {"read"}
    with pytest.raises(ValueError, match="prots"):
        Scope(prots=("rwx",))


def test_linux_only_families_are_left_out_for_posix(setup):
    offered = by_family(actions(setup, DEFAULT, fds_bound=1, linux=False))
    assert not {"madvise", "mremap", "seal"} & set(offered)
    assert not any(a.step.op.kind == "memfd" for a in offered["open"])


def test_the_exhaustive_scope_has_multi_page_ranges_and_the_calls_it_lacked():
    acts = actions(reach("T0: M0 = mmap(anon, shared, rw, 8192)"), SMALL)
    families = by_family(acts)
    assert {"mprotect", "madvise", "mremap", "munmap"} <= set(families)
    assert any(a.step.op.length > PAGE_SIZE for a in families["munmap"] + families["mprotect"])


def test_the_exhaustive_scope_offers_every_family(setup):
    """exec, close, thread_exit, shmdt, seals ... too: the wrong implementations that only they
    show (exec keeping descriptors, a close ignored) are reached by the enumeration."""
    acts = actions(initial(), SMALL) + actions(reach("T0: F1 = open(memfd)", setup), SMALL,
                                               fds_bound=1)
    # shm_unlink names a POSIX shm object, which the scope's object kinds (memfd) leave out
    assert set(by_family(acts)) == set(FAMILIES) - {"shm_unlink"}


# --- the z3 encoding's argument domain ---------------------------------------------------------

def test_every_core_action_is_a_valid_step_of_the_encoding():
    """From states along a few programs, every action the symbolic core covers is accepted by
    valid_args (the unrolling with the prefix and the action fixed is satisfiable)."""
    from sharespec.model.symbolic.core import OutsideCore, SymbolicScope, program_to_args
    from sharespec.model.symbolic.unrolling import Unrolling
    sym = SymbolicScope(processes=2, threads=2, mappings=2, pages=2, segments=1, objects=1, steps=4)
    u = Unrolling(sym, "linux", free_values=False)
    scope = Scope(processes=2, threads=2, pages=2, mappings=2, segments=1, objects=1,
                  offsets=(0,), keys=("private", "K1"), shm_sizes=("page", "pages"))
    prefixes = ["", "T0: M0 = mmap(anon, shared, rw, 8192)",
                "T0: S0 = shmget(private, 4096, creat)\nT0: M0 = shmat(S0)",
                "T0: F0 = open(shm, obj, creat)\nT0: ftruncate(F0, 8192)\nT0: M0 = mmap(F0, private, r, 8192)"]
    from sharespec.model.case_text import case_from_text
    checked = 0
    for text in prefixes:
        prefix = case_from_text("case x\nprofile linux\norigin t\n\n" + text + "\n", "<t>").steps \
            if text else ()
        state = initial()
        for st in prefix:
            state = step(state, st, LINUX)[0][0]
        fds = sum(1 for st in prefix if st.op.OP == "open")
        for a in actions(state, scope, fds_bound=fds):
            try:
                args = program_to_args(tuple(prefix) + (a.step,), sym)
            except OutsideCore:
                continue
            assert u.solver.check(*u.fix_program(args)).r == 1, a.label
            checked += 1
    assert checked > 100


def test_the_encodings_domains_are_the_menus_classes():
    """The other direction, by domain: every operation and every protection, advice, mremap
    mode and object kind the encoding chooses from is one the menu offers."""
    from sharespec.model.symbolic.core import ADVICES, MREMAP_MODES, OBJECT_KINDS, OP_NAMES, PROTS
    assert set(OP_NAMES) - {"nop"} <= set(FAMILIES)
    from sharespec.model.symbolic.core import PROTS_OUTSIDE
    assert set(PROTS) | set(PROTS_OUTSIDE) == set(CLASSES["map_prots"]) == set(CLASSES["prots"])
    assert not set(PROTS) & set(PROTS_OUTSIDE)
    from sharespec.model.symbolic.core import ADVICES_OUTSIDE
    assert set(ADVICES) | set(ADVICES_OUTSIDE) == set(CLASSES["advices"])
    assert not set(ADVICES) & set(ADVICES_OUTSIDE)
    assert set(OBJECT_KINDS) == set(CLASSES["object_kinds"])
    modes = {"grow": {"grow", "shrink"}, "move": {"move", "move_resize"}, "alias": {"alias"}}
    # mode fixed and MREMAP_DONTUNMAP are outside the core (core.MREMAP_OUTSIDE)
    outside = {"fixed", "fixed_nomaymove", "fixed_unaligned", "fixed_overlap", "dontunmap",
               "fixed_dontunmap"}
    assert set().union(*(modes[m] for m in MREMAP_MODES)) | outside == set(CLASSES["remaps"])
