"""The observation tail (generators/observation_tail.py) and the generators that end their cases
with it (random walks, Hypothesis cases, exhaustive cases).

    pytest tests/host/test_observation_tail.py
"""
from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path


from sharespec.generators.observation_tail import mapped_probe, observation_tail, observed
from sharespec.generators.random_programs import Usage, random_cases, random_program
from sharespec.model.case_text import case_from_text
from sharespec.model.oracle import allowed_per_step
from sharespec.model.ops import (Fork, Fstat, Mprotect, Open, Place, Pread, Pwrite, Read, Seals,
                                 SetUid, ShmCtl, ShmDt, Write)
from sharespec.model.profiles import LINUX
from sharespec.model.results import DEAD, Fault
from sharespec.model.scope import DEFAULT
from sharespec.model.semantics import step
from sharespec.model.state import initial

WITNESSES = Path(__file__).resolve().parents[1] / "host" / "mutant_cases"
# Witnesses whose last step is not an observation the tail makes: an effect that fails by
# itself (its result is the observation), or a step of another thread's own choosing.
NOT_AN_OBSERVATION = {
                      # an access below a growsdown mapping is the growth itself (the tail
                      # probes unmapped pages with mprotect, which grows nothing: R50)
                      "growsdown-ignored", "growsdown-guard-gap-ignored",
                      "fixed-noreplace-replaces", "free-accepts-shared", "memfd-without-sealing",
                      "mmap-offset-rounded-down", "mremap-alias-refused", "mremap-refused",
                      "open-excl-ignored", "removed-key-still-found", "seal-busy-ignored",
                      "shm-remap-dropped", "shm-unlink-ignored", "shmat-refuses-removed",
                      "shmat-rnd-ignored", "shmget-creat-implied", "shmget-excl-ignored",
                      "shmget-key-ignored", "shmget-size-unchecked", "open-rdonly-ignored",
                      # the madvise advice's own result, and mremap over the pieces of a private
                      # mapping (EFAULT or not: the tail does not probe record boundaries)
                      "invalid-advice-accepted", "normal-keeps-readahead", "dodump-ignored",
                      "unmergeable-ignored", "exec-dropped",
                      # the shmctl command's own result (SHM_STAT by index, SHM_INFO, an invalid
                      # command)
                      "shm-stat-returns-index", "shm-stat-wants-id", "info-refused",
                      "invalid-shmctl-accepted",
                      # a descriptor call's own result (a seal, a store through a dup or a
                      # reopen into an empty object, memfd_create's arguments, a mapping of a
                      # write-only fd, a store that would grow a sealed object)
                      "dup-read-only",
                      "future-write-as-write", "memfd-always-sealable", "memfd-flags-masked",
                      "memfd-name-truncated", "open-wronly-as-rdwr", "reopen-mode-ignored",
                      "reopen-unchecked",
                      "seal-grow-ignored", "seal-seal-ignored", "seal-shrink-ignored",
                      # mremap to a chosen place refused by itself
                      "fixed-implies-maymove",
                      # mmap with neither MAP_SHARED nor MAP_PRIVATE: its own EINVAL
                      "neither-treated-as-private",
                      # C07: a permission check's own result (shmat, shmget, open, shmctl,
                      # setuid) by the program's own thread; the tail asks as the other user
                      # in a fork child of its own (_as_other), with IPC_STAT and opens only
                      "setuid-ignored", "setuid-one-thread", "setuid-keeps-saved-root",
                      "uid-not-inherited-by-fork", "setgid-ignored", "shmget-mode-ignored",
                      "open-mode-ignored", "open-mode-masked-by-umask", "ipc-set-ignored",
                      "ipc-set-keeps-owner", "shmat-rdonly-asks-write",
                      # the IPC namespace's figures (model/residency.py): the tail does not
                      # observe them, as a case with one runs in an IPC namespace of its own
                      "used-ids-is-highest-index", "shm-tot-in-bytes", "removed-leaves-used-ids",
                      "rss-misses-read-faults", "stat-any-count-from-one",
                      # an address-range check's own result at an absolute address
                      # (model/absolute_addresses.py): the tail reads the slots, not page 0
                      "munmap-outside-user-space", "nil-page-unprivileged", "shm-rnd-rounds-up",
                      # model/locking.py: a refusal's own result (madvise of locked memory,
                      # msync, MAP_SHARED_VALIDATE), and VmLck, which the tail does not read
                      "dontneed-on-locked", "msync-ignores-hole", "msync-invalidate-locked",
                      "validate-accepts-unknown", "fork-inherits-mlock", "munlock-ignored",
                      # huge pages: the call's own result (memfd_create, ftruncate, pwrite of
                      # a hugetlb memfd, shmget with SHM_HUGETLB)
                      "mfd-huge-size-ignored", "hugetlb-write-accepted",
                      "hugetlb-ftruncate-rounded", "shm-hugetlb-ignored",
                      # the program break: brk's and shmat's own result (model/brk.py)
                      "brk-raise-page-short", "brk-refusal-ignored",
                      # a segment's times (model/shm_times.py): wall-clock seconds, which the
                      # tail never asks (every generated case with a segment would hang on the
                      # host's clock: a flakiness risk on emulators and loaded hosts); each
                      # witness ends with its own shmctl(S0, times), and the action menu offers
                      # it (tests/host/test_generator_reach_times.py)
                      "ctime-not-set-at-creation", "atime-not-set-at-shmat",
                      "dtime-set-at-shmat"}


def _witnesses():
    for path in sorted(WITNESSES.glob("*.case")):
        yield path.stem, case_from_text(path.read_text(), str(path))


# Witnesses whose observation the tail makes another way: the shrunk memfd's new end (EOF at
# 4096) rather than a byte in the middle of the cut part.
OBSERVED_OTHERWISE = {"ftruncate-shrink-ignored": Pread("F0", 4096)}


def _same_observation(last, tail) -> bool:
    """The tail makes the witness's last observation (by any thread: a fork child of the same
    process sees the same inheritance; a write probe writes a value of its own; the read of a
    page unmapped in every state is made as its mapped_probe, which must fail with ENOMEM)."""
    def same(op):
        if isinstance(op, Write) and isinstance(last.op, Write):
            return op.at == last.op.at
        if isinstance(op, Pwrite) and isinstance(last.op, Pwrite):   # a write-back of its own
            return (op.fd, op.offset) == (last.op.fd, last.op.offset)
        if isinstance(last.op, Read) and isinstance(op, Mprotect):
            return op == mapped_probe(last.thread, last.op.at).op
        if isinstance(last.op, ShmCtl) and last.op.cmd in ("stat", "stat_full"):
            # the tail's IPC_STAT shows the four fields and, under linux, the rest
            return op == ShmCtl(last.op.segment, "stat_full")
        return op == last.op
    return any(same(st.op) for st in tail)


def test_the_tail_makes_the_last_observation_of_every_mutant_witness():
    """Cut the observation that kills each mutant (tests/host/mutant_cases/): the tail makes it
    again, so a generator only has to reach the effect."""
    missed = []
    for name, case in _witnesses():
        if name in NOT_AN_OBSERVATION:
            continue
        *program, last = case.steps
        tail = observation_tail(program)
        if name in OBSERVED_OTHERWISE:
            found = OBSERVED_OTHERWISE[name] in [st.op for st in tail]
        else:
            found = _same_observation(last, tail)
        if not found:
            missed.append(name)
    assert missed == []


def test_the_tail_observes_closed_descriptors_segments_and_inheritance():
    text = """case t
profile linux
origin test

T0: F0 = open(memfd)
T0: close(F0)
T0: S0 = shmget(private, 4096, creat)
T0: M0 = mmap(anon, private, rw, 4096)
T0: madvise(M0, 4096, dontfork)
"""
    tail = observation_tail(case_from_text(text, "<t>").steps)
    ops = [st.op for st in tail]
    assert Pread("F0", 0) in ops and ShmCtl("S0", "stat_full") in ops
    # the fork probe's child (the first fork's child becomes the other user, _as_other)
    as_other = {st.thread for st in tail if isinstance(st.op, SetUid)}
    forks = [i for i, st in enumerate(tail) if isinstance(st.op, Fork) and st.bind not in as_other]
    child = tail[forks[0]].bind
    # the child looks at the MADV_DONTFORK page: not mapped there (ENOMEM, no fault)
    assert mapped_probe(child, Place("M0", 0)) in tail[forks[0]:]


def _dead_or_faulted_before_end(program) -> bool:
    """True if a step of the program acts in a process the model says is dead (DEAD allowed),
    i.e. something was observed after a fault ended its process."""
    return any(DEAD in allowed for allowed in allowed_per_step(program, "linux"))


def test_faulting_observations_come_last_in_their_process():
    rng = random.Random(11)
    checked = faulted = 0
    for _ in range(60):
        program = tuple(random_program(rng, DEFAULT))
        if _dead_or_faulted_before_end(program):
            continue
        tail = observation_tail(program)
        allowed = allowed_per_step(program + tail, "linux")[len(program):]
        assert all(DEAD not in a for a in allowed), program
        faulted += any(isinstance(r, Fault) for a in allowed for r in a)
        checked += 1
    assert checked >= 30 and faulted >= 5   # not vacuous


def test_a_protection_is_probed_by_a_write_that_faults():
    text = """case t
profile linux
origin test

T0: M0 = mmap(anon, private, rw, 4096)
T0: mprotect(M0, 4096, r)
"""
    tail = observation_tail(case_from_text(text, "<t>").steps)
    writes = [st for st in tail if isinstance(st.op, Write)]
    assert writes and writes[-1] == tail[-1]
    state = initial()
    for st in case_from_text(text, "<t>").steps + tail[:-1]:
        state = step(state, st, LINUX)[0][0]
    assert all(isinstance(r, Fault) for _, r in step(state, tail[-1], LINUX))


def test_random_walks_rarely_end_before_their_last_step():
    """A step that would leave no thread alive is drawn again: without that, 59% of the
    default scope's random programs ended every thread early (and were shorter)."""
    from sharespec.generators.walk import Walk
    rng = random.Random(3)
    ended = 0
    for _ in range(100):
        program = random_program(rng, DEFAULT)
        states = [initial()]
        for i, st in enumerate(program[:-1]):
            states = [s2 for s in states for s2, _ in step(s, st, LINUX)]
            ended += Walk.ends_everything(states)
    assert ended <= 10


def _labels(program) -> set:
    from sharespec.model.actions import classify
    states, out = [initial()], set()
    for st in program:
        here = next((s for s in states if st.thread in s.threads and s.threads[st.thread].alive),
                    states[0])
        out.add(classify(here, st).label)
        states = [s2 for s in states for s2, _ in step(s, st, LINUX)][:64]
    return out


def test_the_least_used_labels_are_drawn_first():
    """With the corpus's usage counted, 150 programs draw more distinct action labels than
    the same walks without it."""
    # the advices this was measured with: with every hint and guard advice the labels are too
    # many for 150 programs to meet most of them either way, and the gain shrinks to 8%; and
    # no absolute address (its family came later, with 24 labels of its own)
    scope = replace(DEFAULT, advices=("dontneed", "remove", "dontfork", "dofork", "wipeonfork",
                                      "keeponfork", "free"), posix_advices=("dontneed",),
                    absolutes=())

    def distinct(usage):
        rng, seen = random.Random(7), set()
        for _ in range(150):
            seen |= _labels(random_program(rng, scope, usage=usage))
        return len(seen)
    assert distinct(Usage()) > 1.1 * distinct(None)


def test_least_used_keeps_the_ties():
    from sharespec.model.actions import actions
    acts = actions(initial(), DEFAULT)
    usage = Usage({acts[0].label: 2, acts[1].label: 1})
    assert acts[0] not in usage.least_used(acts) and acts[2] in usage.least_used(acts)


def test_random_cases_end_with_the_tail():
    # five cases, not one: a program whose every thread ended (a fault at its last step) has
    # nothing left to observe, and which program comes first depends on the action menu
    cases = list(random_cases(0, 5))
    bares = list(random_cases(0, 5, observe=False))
    assert all(case.steps == observed(bare.steps) for case, bare in zip(cases, bares))
    assert any(len(case.steps) > len(bare.steps) for case, bare in zip(cases, bares))


def _tail_of(text: str) -> tuple:
    return observation_tail(case_from_text("case t\nprofile linux\norigin test\n\n" + text, "<t>").steps)


def test_exit_probes_follow_an_attach_with_a_stat():
    """A fork child that exits, one whose only thread ends, each followed by IPC_STAT: the
    child's attach must be gone both ways (R28)."""
    from sharespec.model.ops import Exit, ThreadExit
    tail = _tail_of("T0: S0 = shmget(private, 4096, creat)\nT0: A0 = shmat(S0)\n")
    ops = [st.op for st in tail]
    for ending in (Exit(), ThreadExit()):
        i = ops.index(ending)
        assert isinstance(ops[i - 1], Fork) and ops[i + 1] == ShmCtl("S0", "stat_full")
    # nothing to end without an attach
    assert Exit() not in [st.op for st in _tail_of("T0: S0 = shmget(private, 4096, creat)\n")]


def test_the_fork_probe_writes_what_the_parent_reads_again():
    """The fork probe's child writes every place it read, then the parent reads them: a
    private page must keep the parent's byte, a shared one shows the child's."""
    for sharing, expected in (("private", "1"), ("shared", "3")):
        program = case_from_text(f"case t\nprofile linux\norigin test\n\n"
                                 f"T0: M0 = mmap(anon, {sharing}, rw, 4096)\n"
                                 f"T0: write(M0, 1)\n", "<t>").steps
        tail = observation_tail(program)
        fork = next(i for i, st in enumerate(tail) if isinstance(st.op, Fork))
        child = tail[fork].bind
        write = next(i for i, st in enumerate(tail) if st.thread == child
                     and isinstance(st.op, Write))
        again = next(i for i, st in enumerate(tail) if i > write and st.thread == "T0"
                     and st.op == Read(tail[write].op.at))
        allowed = allowed_per_step(tuple(program) + tail, "linux")[len(program) + again]
        assert {str(r) for r in allowed} == {expected}


def test_a_handle_inside_another_slot_ends_with_that_slot():
    """M2 placed at M0[1] reaches no further than M0's slot: the menu once offered
    mremap(M2[128], 524288, ...), a range into the next slot that the case format refuses."""
    from sharespec.model.actions import actions, extent
    from sharespec.model.validate import validate_program
    text = """T0: M0 = mmap(anon, shared, rw, 8192)
T0: M1 = mmap(anon, shared, r, 4096)
T0: M2 = mmap(anon, private, rw, 4096, at=M0[1], replace)
"""
    program = case_from_text("case t\nprofile linux\norigin test\n\n" + text, "<t>").steps
    state = initial()
    for st in program:
        state = step(state, st, LINUX)[0][0]
    assert extent(state, state.processes[0], "M2") == 1
    for action in actions(state, DEFAULT):
        validate_program(tuple(program) + (action.step,))


def test_room_is_kept_for_the_faulting_observations():
    """Three processes and three mappings fill the tail with reads; the PROT_NONE second page
    of M0 (mprotect of 4097 bytes protects two pages) is still read at the end. (An unmapped
    page needs no room there: its mapped_probe fails with ENOMEM and faults nothing.)"""
    from sharespec.generators.observation_tail import LIMIT
    text = """T0: M0 = mmap(anon, private, rw, 8192)
T0: M1 = mmap(anon, shared, rw, 8192)
T0: M2 = mmap(anon, private, rw, 8192)
T0: write(M1[1], 1)
T0: T1 = fork()
T0: T2 = fork()
T0: mprotect(M0, 4097, none)
"""
    tail = _tail_of(text)
    assert len(tail) <= LIMIT
    t0 = {"T0"} | {st.bind for st in tail if st.thread == "T0" and isinstance(st.op, Fork)}
    assert any(st.thread in t0 and st.op == Read(Place("M0", 1)) for st in tail)
    unmapped = _tail_of(text.replace("mprotect(M0, 4097, none)", "munmap(M0, 4097)"))
    assert mapped_probe("T0", Place("M0", 1)) in unmapped


def test_the_tail_asks_every_held_descriptor_for_its_size_seals_and_a_write_back():
    """fstat, F_GET_SEALS and a pwrite of the byte already there, through each descriptor,
    dup'd or reopened ones too: a dup that lost its write access, a seal ignored or a size
    miscounted shows even when the program never asked (the write-back changes no byte)."""
    text = """case t
profile linux
origin test

T0: F0 = open(memfd)
T0: ftruncate(F0, 4096)
T0: F1 = dup(F0)
T0: F2 = reopen(F0, rdonly)
"""
    tail = observation_tail(case_from_text(text, "<t>").steps)
    ops = [st.op for st in tail]
    for fd in ("F0", "F1", "F2"):
        assert Fstat(fd) in ops and Seals(fd) in ops and Pwrite(fd, 0, 0) in ops, fd
    allowed = allowed_per_step(case_from_text(text, "<t>").steps + tail, "linux")[4:]
    results = {op: a for op, a in zip(ops, allowed)}
    assert {str(r) for r in results[Pwrite("F1", 0, 0)]} == {"ok"}
    assert {str(r) for r in results[Pwrite("F2", 0, 0)]} == {"EBADF"}


def test_the_tail_asks_as_the_other_user_for_every_segment_and_named_object():
    """C07: a fork child becomes the other user and asks IPC_STAT of every segment and opens
    every named file read-only and read-write: an IPC_SET or a mode that was ignored shows
    (mutants ipc-set-keeps-owner, open-mode-ignored) without the program asking."""
    text = """case t
profile linux
origin test

T0: S0 = shmget(private, 4096, creat, mode=0600)
T0: shmctl(S0, set, uid=other)
T0: F0 = open(file, f, creat, mode=0640)
"""
    program = case_from_text(text, "<t>").steps
    tail = observation_tail(program)
    child = next(st.thread for st in tail if isinstance(st.op, SetUid))
    mine = [st for st in tail if st.thread == child]
    assert mine[0].op == SetUid("other")
    assert ShmCtl("S0", "stat_full") in [st.op for st in mine]
    opens = [st for st in mine if isinstance(st.op, Open)]
    assert [(o.op.name, o.op.rdonly) for o in opens] == [("f", True), ("f", False)]
    assert len({o.bind for o in opens}) == 2 and "F0" not in {o.bind for o in opens}
    allowed = allowed_per_step(program + tail, "linux")[len(program):]
    got = {st: {str(r) for r in a} for st, a in zip(tail, allowed)}
    assert got[mine[1]] == {"stat(nattch=0,segsz=4096,dest=0,key=private,locked=0,cpid=T0,lpid=-)"} \
        or all("EACCES" not in r for r in got[mine[1]])   # the new owner may read it
    # 0640: the child kept gid root (setuid alone), so the group's read is granted, not write
    assert [got[o] for o in opens] == [{"ok"}, {"EACCES"}]


def test_the_tail_detaches_in_a_fork_child_and_asks_who_detached_last():
    """A fork child shmdt's every attach of the first process, then IPC_STAT: the last
    detacher (lpid) and the attach count after an explicit shmdt show, not only after an
    exit (mutants lpid-kept-at-shmdt, shmdt-first-piece-only)."""
    text = """case t
profile linux
origin test

T0: S0 = shmget(private, 8192, creat)
T0: A0 = shmat(S0)
"""
    program = case_from_text(text, "<t>").steps
    tail = observation_tail(program)
    detachers = [st.thread for st in tail if isinstance(st.op, ShmDt)]
    assert detachers and all(d != "T0" for d in detachers)
    child = detachers[0]
    allowed = allowed_per_step(program + tail, "linux")[len(program):]
    stats = [a for st, a in zip(tail, allowed)
             if st.thread == child and isinstance(st.op, ShmCtl)]
    assert stats and {str(r) for r in stats[0]} == {
        f"stat(nattch=1,segsz=8192,dest=0,key=private,locked=0,cpid=T0,lpid={child})"}


def test_a_fork_child_asks_for_the_stat_so_a_pid_that_names_the_caller_shows():
    """The tail's other IPC_STATs are made by the creator, where a shm_cpid that names the
    caller looks right (mutant cpid-is-caller, R28): the fork probe's child asks too, and the
    model says the creator is T0 there."""
    text = """case t
profile linux
origin test

T0: S0 = shmget(private, 4096, creat)
"""
    program = case_from_text(text, "<t>").steps
    tail = observation_tail(program)
    allowed = allowed_per_step(program + tail, "linux")[len(program):]
    by_others = [a for st, a in zip(tail, allowed)
                 if st.thread != "T0" and isinstance(st.op, ShmCtl)]
    # (the other user's child gets EACCES: mode 0600)
    assert {"EACCES"} in [{str(r) for r in a} for a in by_others]
    assert {"stat(nattch=0,segsz=4096,dest=0,key=private,locked=0,cpid=T0,lpid=none)"} in [
        {str(r) for r in a} for a in by_others]


def test_the_tail_never_names_a_handle_bound_at_an_absolute_place():
    """An attach at the program break (@brk) binds a handle no later step may name (validate):
    the tail's shmdt probe leaves it alone, and the case stays valid (CI: the exhaustive
    corpus met it once the brk family joined)."""
    from sharespec.model.validate import validate_program
    text = """case t
profile linux
origin test

T0: S0 = shmget(private, 4096, creat)
T0: M0 = shmat(S0, at=@brk)
"""
    program = case_from_text(text, "<t>").steps
    tail = observation_tail(program)
    assert not any(isinstance(st.op, ShmDt) for st in tail)
    validate_program(program + tail)


# The mutants that get IPC_RMID of an attached segment wrong (sharespec/mutants): no generator
# but the default suite killed them before the tail made the removal itself (5.)
REMOVAL_MUTANTS = ("rmid-immediate", "rmid-forgets-identifier", "stat-dest-never-set",
                   "stat-key-kept-after-rmid", "removed-key-still-found", "shmat-refuses-removed")


def test_the_tails_removal_kills_the_ipc_rmid_mutants_and_passes_on_the_host():
    from sharespec.model.case import Case
    from sharespec.runner import resolve_impl, run_cases
    body = case_from_text("case body\nprofile linux\norigin test\n\n"
                          "T0: S0 = shmget(K1, 4096, creat)\nT0: M0 = shmat(S0)\n"
                          "T0: write(M0, 7)\n").steps
    steps = observed(body)
    case = Case(name="removal", profile="linux", rules=(), origin="test",
                description="a keyed segment attached, and its tail", steps=steps,
                allowed=tuple(allowed_per_step(steps, "linux")))
    assert [r.verdict for r in run_cases([case])] == ["PASS"]
    survived = [name for name in REMOVAL_MUTANTS
                if next(run_cases([case], impl=resolve_impl(f"mutant:{name}"))).verdict != "FAIL"]
    assert survived == []
