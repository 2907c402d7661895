"""Frame observations for generated programs: ``frames`` steps inserted at the points where the
page tables say something the values cannot (model/frames.py, docs/case-format.md "frames").

    from sharespec.generators.frame_observations import with_frame_observations
    case = with_frame_observations(case)      # the same program, observed; expectations redone

Values show sharing only indirectly: after ``fork`` a private page reads the same in parent and
child whether they share one frame (copy on write not yet broken, R11) or hold two copies, and
an untouched private page reads 0 whether it maps the zero page (R02) or nothing at all. A
``frames`` step reads the page tables and tells them apart. Both generators (exhaustive.py and
z3_coverage.py) pass their cases through here.

Which places are observed. The *places of interest* are the pages the program reads or writes
anywhere (``read``/``write`` of ``M[p]+o`` touches page ``p + o // 4096`` of mapping ``M``),
in the order of their first touch. At a point of interest a frames step observes every such
page whose mapping handle is bound at that point, through every thread alive there (in every
state the model allows: a thread that may have died is left out), threads in the order they
were created, pages in first-touch order. Observing through each live thread, not one per
process, also checks that threads of a process read one page table (R15). At most 26 places
fit a step (letters A..Z); past that the later threads' places are dropped.

The points of interest, after which a frames step is inserted:

- every ``fork`` (what the child's page table holds: copied private entries of a written
  record, none of a shared one; R09, R10, R11, R41);
- the first ``write`` after each fork (who got the copy, who kept the frame; R11);
- the end of the program (the final sharing, zero page and presence included; R02).

Points that coincide give one step; a point with no place gives none. The acting thread is the
step's own thread if it is alive in every state there, else the first such thread (a frames
step performs nothing, so who reads does not change the result). The expectations of the whole
case are recomputed with ``model.oracle.allowed_per_step`` (the inserted steps change nothing
but MADV_FREE reclaim, C05, which the oracle accounts for).

Under ``posix`` the same points are observed: there a frames step checks only what the values
imply (model/frames_posix.py, FramesByValues: no class joins places holding different bytes; a
place with no memory is "-"). A program the profile does not cover (a Linux-only call under posix)
is returned unchanged: its case is NOT_APPLICABLE anyway.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from sharespec.model.case import Case
from sharespec.model.frames import MAX_PLACES
from sharespec.model.ops import PAGE_SIZE, Fork, FramePlace, Frames, Read, Step, Write
from sharespec.model.oracle import allowed_per_step
from sharespec.model.profiles import get_profile
from sharespec.model.semantics import NotApplicable, step as model_step
from sharespec.model.state import initial


def touched_pages(steps) -> list:
    """(mapping, page) of every read and write, in the order of first touch."""
    pages: list = []
    for st in steps:
        if isinstance(st.op, (Read, Write)):
            at = st.op.at
            page = (at.mapping, at.page + at.offset // PAGE_SIZE)
            if page not in pages:
                pages.append(page)
    return pages


def points_of_interest(steps) -> list:
    """The indices of the steps after which the page tables are observed (sorted, distinct)."""
    points, after_fork = set(), False
    for i, st in enumerate(steps):
        if isinstance(st.op, Fork):
            points.add(i)
            after_fork = True
        elif isinstance(st.op, Write) and after_fork:
            points.add(i)
            after_fork = False
    if steps:
        points.add(len(steps) - 1)
    return sorted(points)


def _states_after(steps, profile) -> list:
    """For each step, the set of states the model allows after it (every outcome)."""
    states, out = {initial()}, []
    for st in steps:
        states = {nxt for s in states for nxt, _ in model_step(s, st, profile)}
        out.append(states)
    return out


def live_everywhere(states) -> list:
    """Thread handles alive in every state, in the order they were created."""
    first = next(iter(states))
    return [h for h in first.threads
            if all(h in s.threads and s.threads[h].alive for s in states)]


def frames_step(states, pages, actor: str) -> Optional[Step]:
    """The frames step observing ``pages`` through every live thread, or None (no place)."""
    bound = [(m, p) for m, p in pages   # bound, and in a slot (not at an absolute address)
             if all(s.slot_base(m) is not None for s in states)]
    threads = live_everywhere(states)
    places = tuple(FramePlace(t, m, p) for t in threads for m, p in bound)[:MAX_PLACES]
    if not places:
        return None
    if actor not in threads:
        actor = threads[0]
    return Step(actor, Frames(places))


def observe_program(steps, profile="linux") -> tuple:
    """The program with frames steps inserted (the module text says where and what)."""
    steps = tuple(steps)
    pages = touched_pages(steps)
    if not pages:
        return steps
    after = _states_after(steps, get_profile(profile))
    inserted = {}
    for i in points_of_interest(steps):
        observation = frames_step(after[i], pages, steps[i].thread)
        if observation is not None:
            inserted[i] = observation
    out = []
    for i, st in enumerate(steps):
        out.append(st)
        if i in inserted:
            out.append(inserted[i])
    return tuple(out)


def with_frame_observations(case: Case) -> Case:
    """The case with frames steps added and its expectations recomputed by the oracle;
    unchanged if the profile does not cover the program, or if nothing was read or written,
    or if the case already observes frames (hand-written choices are kept)."""
    if any(isinstance(st.op, Frames) for st in case.steps):
        return case
    try:
        steps = observe_program(case.steps, case.profile)
    except NotApplicable:
        return case
    if len(steps) == len(case.steps):
        return case
    return replace(case, steps=steps, allowed=tuple(allowed_per_step(steps, case.profile)))
