"""The named properties (isolation, visibility, thread sharing, copy-on-write, segment
lifetime, zero fill, exec, protection, attach accounting, object lifetime, sealing) hold in
every state and step the generators and the built-in suite reach, under both profiles; each
is named the same in its explicit and its symbolic form; a broken state or step is caught."""
import random
from dataclasses import replace

import pytest

from sharespec.generators.random_programs import random_program
from sharespec.model.ops import Exec, Fork, Mmap, Place, ShmUnlink, Step, Write
from sharespec.model.oracle import StateExplosion
from sharespec.model.profiles import LINUX, POSIX
from sharespec.model.properties import PROPERTIES, check_all, check_step
from sharespec.model.results import OK
from sharespec.model.scope import Scope
from sharespec.model.semantics import NotApplicable, step
from sharespec.model.state import initial
from sharespec.model.symbolic.induction import PROPERTIES as SYMBOLIC_PROPERTIES


def checked_run(steps, profile) -> int:
    """Every state and step of every path of the program keeps the properties; how many
    states and steps were checked."""
    states, checked = {initial()}, 0
    for st in steps:
        following = set()
        for s in states:
            assert check_all(s, profile) == {}, steps
            outcomes = step(s, st, profile)
            assert check_step(s, st, outcomes, profile) == {}, (steps, st)
            following.update(nxt for nxt, _ in outcomes)
            checked += 2
        states = following
    for s in states:
        assert check_all(s, profile) == {}, steps
        checked += 1
    return checked


@pytest.mark.parametrize("profile", [LINUX, POSIX], ids=["linux", "posix"])
def test_properties_hold_on_random_programs(profile):
    rng = random.Random(1234)
    scope = Scope(steps=10)
    checked = 0
    for _ in range(150):
        steps = random_program(rng, scope, profile)
        try:
            checked += checked_run(steps, profile)
        except (NotApplicable, StateExplosion):
            continue
    assert checked > 1000


def test_every_property_is_named_in_both_forms():
    """A property added to one form only (explicit, or symbolic/induction.py) fails here."""
    assert set(PROPERTIES) == {p.name for p in SYMBOLIC_PROPERTIES}
    assert set(PROPERTIES) == {
        "isolation", "visibility", "thread sharing", "copy-on-write (child writes)",
        "copy-on-write (parent writes)", "segment lifetime", "zero fill", "exec", "protection",
        "attach accounting", "object lifetime", "sealing"}
    assert all(p.state or p.step for p in PROPERTIES.values())


def test_builtin_suite_states_keep_the_properties():
    from sharespec.suite import builtin_cases
    for case in builtin_cases():
        try:
            checked_run(case.steps, LINUX)
        except NotApplicable:
            continue


def _forked_with_private_page():
    """T0 maps private anonymous memory, stores 1, forks T1: (state before fork, fork, outcomes)."""
    s = initial()
    for st in (Step("T0", Mmap(shared=False, prot="rw", length=4096), "M0"),
               Step("T0", Write(Place("M0", 0), 1))):
        (s, _), = step(s, st, LINUX)
    fork = Step("T0", Fork(), "T1")
    return s, fork, step(s, fork, LINUX)


def test_copy_on_write_catches_a_store_that_reaches_the_other_side(monkeypatch):
    from sharespec.model import memory, properties
    before, fork, outcomes = _forked_with_private_page()
    assert check_step(before, fork, outcomes) == {}
    assert PROPERTIES["copy-on-write (child writes)"].exercised(before, fork, outcomes[0][0])
    # a broken store: every process's store lands in the parent's page (P0)
    monkeypatch.setattr(properties, "write",
                        lambda state, pid, vpn, offset, value, profile:
                        memory.write(state, 0, vpn, offset, value, profile))
    assert set(check_step(before, fork, outcomes)) == {"copy-on-write (child writes)"}


def test_exec_catches_memory_kept_across_exec():
    before, _, _ = _forked_with_private_page()
    ex = Step("T0", Exec())
    outcomes = step(before, ex, LINUX)
    assert check_step(before, ex, outcomes) == {}
    kept = [(replace(s, processes=(replace(s.processes[0], vmas=before.processes[0].vmas),)
                     + s.processes[1:]), r) for s, r in outcomes]
    assert "exec" in check_step(before, ex, kept)


def test_object_lifetime_catches_a_name_kept_after_unlink():
    from sharespec.model.ops import Open
    s = initial()
    (s, _), = step(s, Step("T0", Open("shm", "obj", creat=True), "F0"), LINUX)
    unlink = Step("T0", ShmUnlink("obj"))
    outcomes = step(s, unlink, LINUX)
    assert check_step(s, unlink, outcomes) == {}
    assert PROPERTIES["object lifetime"].exercised(s, unlink, outcomes[0][0])
    assert "object lifetime" in check_step(s, unlink, [(s, OK)])   # the name still there
    ghost = replace(s, shm_names=s.shm_names.set("ghost", 7))
    assert "object lifetime" in check_all(ghost)


def test_sealing_catches_a_sealed_file():
    from sharespec.model.ops import Open
    s = initial()
    (s, _), = step(s, Step("T0", Open("file", "obj", creat=True), "F0"), LINUX)
    sealed = replace(s, objects=tuple(replace(o, write_sealed=True) for o in s.objects))
    assert "sealing" in check_all(sealed)


def test_visibility_treats_a_fault_as_no_read():
    """A page whose read faults (PROT_NONE is skipped; an unmapped one has no edge) is not a
    visibility violation: the state after mmap and a store keeps every property."""
    s = initial()
    for st in (Step("T0", Mmap(shared=True, prot="rw", length=4096), "M0"),
               Step("T0", Write(Place("M0", 0), 3))):
        (s, _), = step(s, st, LINUX)
    assert check_all(s) == {}
