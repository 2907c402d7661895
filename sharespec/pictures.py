"""Pictures of a case at one step: the sharing graph before the step and after it, as the
specification expects, with the pages the step touches marked, and what was observed.

The graph is the model's networkx view (model/graph.py: threads, processes, virtual pages,
frames, segments, objects); DOT text is written by hand there, so a picture needs neither pydot
nor Graphviz. SVG and PNG are rendered by Graphviz's ``dot`` when it is installed
(GraphvizMissing otherwise, with what to do).

A ``frames`` step (model/frames.py) gets a third cluster, "frames": one node per observed place
(A, B, ... as in its result, with its flags), an edge between places the specification says
reach one frame and one between places observed to reach one frame. An edge both agree on is
black; a predicted-only edge is red and dashed, an observed-only edge red and solid; a place
whose class or flags differ is red (frame_disagreements). Under posix no partition is
predicted (any partition joining only places that hold the same values is allowed): the
cluster shows what each place holds and the observed classes, red where a rule is broken
(values_cluster).

Which state is drawn: the model's states consistent with every result observed before the step
(all of them allowed, or the step would not be the first deviation). When several remain (the
specification is nondeterministic, C05), the first in the model's own order is drawn and the
title says how many there were.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional, Sequence

import networkx as nx

from sharespec.model.graph import aliases, page_node, sharing_graph, to_dot
from sharespec.model.frames import LETTERS, matches
from sharespec.model.frames_posix import FramesByValues
from sharespec.model.ops import Frames, Place
from sharespec.model.results import FrameReport
from sharespec.model.profiles import get_profile
from sharespec.model.results import parse_result
from sharespec.model.oracle import outcomes as allowed_outcomes   # step(), and posix frames
from sharespec.model.state import initial

PAGE = 4096
FORMATS = ("dot", "svg", "png")


class GraphvizMissing(Exception):
    """SVG or PNG was asked for and Graphviz's ``dot`` is not on PATH."""


@dataclass(frozen=True)
class StepPicture:
    dot: str                   # the DOT text
    step: int                  # the step drawn, 0-based
    states_before: int         # how many model states were consistent before the step
    marked: int                # how many page nodes are marked
    # a frames step: the letters of the places whose observed frame or flags disagree
    frame_places_wrong: tuple = ()


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def states_before(case, index: int, observed: Sequence[str] = ()) -> list:
    """The model states in which step ``index`` runs: after the earlier steps, following the
    observed results where there are any (else every allowed result)."""
    profile = get_profile(case.profile)
    states = [initial()]
    for i, st in enumerate(case.steps[:index]):
        want = parse_result(observed[i]) if i < len(observed) else None
        states = _unique(nxt for s in states for nxt, res in allowed_outcomes(s, st, profile)
                         if want is None or matches(res, want))
        if not states:
            raise ValueError(f"step {i + 1}: the observed result {observed[i]} is not allowed "
                             f"there, so there is no state to draw at step {index + 1}")
    return states


def touched_pages(state, st) -> list:
    """Page nodes the step touches in its thread's process: its places and their lengths."""
    thread = state.threads.get(st.thread)
    if thread is None:
        return []
    pid = thread.process
    pages = []
    if isinstance(st.op, Frames):   # each place in its own thread's process
        for place in st.op.places:
            owner = state.threads.get(place.thread)
            if owner is not None and place.mapping in state.mapping_handles:
                pages.append(page_node(owner.process,
                                       state.mapping_handles[place.mapping] + place.page))
        return pages
    for f in fields(st.op):
        place = getattr(st.op, f.name)
        if not isinstance(place, Place) or place.mapping not in state.mapping_handles:
            continue
        first = state.mapping_handles[place.mapping] + place.page + place.offset // PAGE
        length = getattr(st.op, "length", None) or getattr(st.op, "old_length", None) or 1
        count = max(1, -(-(place.offset % PAGE + length) // PAGE))
        pages += [page_node(pid, vpn) for vpn in range(first, first + count)]
    return pages


def involved(g: nx.DiGraph, pages) -> set:
    """The touched pages present in the graph, and every page aliasing one of them."""
    present = [p for p in pages if p in g]
    marked = set(present)
    for n, data in g.nodes(data=True):
        if data.get("kind") == "page" and any(aliases(g, n, p) for p in present):
            marked.add(n)
    return marked


def _cluster(g: nx.DiGraph, prefix: str, marked: set, label: str) -> list:
    renamed = nx.relabel_nodes(g, lambda n: (prefix,) + tuple(n))
    body = to_dot(renamed, marked={(prefix,) + tuple(n) for n in marked}).splitlines()[3:-1]
    return [f"  subgraph cluster_{prefix} {{", f'    label="{_escape(label)}";'] + \
           ["  " + line for line in body] + ["  }"]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _class_of(report: FrameReport, i: int):
    for c in report.classes or ():
        if i in c:
            return frozenset(c)
    return None


def frame_disagreements(predicted: FrameReport, observed: FrameReport) -> set:
    """The places (indices) where an observed frames report differs from a predicted one: other
    flags, or another class (the set of places reaching its frame). A report whose partition
    was hidden is compared on the flags it could see (not the zero page), as the oracle does."""
    hidden = observed.classes is None
    out = set(range(len(predicted.flags), len(observed.flags)))
    for i, flags in enumerate(predicted.flags):
        want = flags.replace("z", "") if hidden else flags
        if i >= len(observed.flags) or observed.flags[i] != want:
            out.add(i)
        elif not hidden and _class_of(predicted, i) != _class_of(observed, i):
            out.add(i)
    return out


def _same_frame_pairs(report: Optional[FrameReport]) -> set:
    if report is None or report.classes is None:
        return set()
    return {(a, b) for c in report.classes for a in c for b in c if a < b}


def closest_prediction(allowed, observed: Optional[FrameReport]) -> Optional[FrameReport]:
    """The allowed report to draw against the observation: the one it matches, else the one
    with the fewest disagreeing places (several are allowed only under MADV_FREE, C05)."""
    reports = sorted((r for r in allowed if isinstance(r, FrameReport)), key=str)
    if not reports:
        return None
    if observed is None:
        return reports[0]
    for r in reports:
        if matches(r, observed):
            return r
    return min(reports, key=lambda r: len(frame_disagreements(r, observed)))


def _frames_cluster_start(legend: str, observed: Optional[FrameReport]) -> list:
    if observed is not None and observed.classes is None:
        legend += " (observed partition hidden: flags only)"
    return ["  subgraph cluster_frames {", f'    label="{_escape(legend)}";']


def _place_node(i: int, parts: list, wrong: bool) -> str:
    attrs = ['label="' + "\\n".join(_escape(p) for p in parts) + '"', "shape=box"]
    if wrong:
        attrs += ["color=red", "fontcolor=red", "penwidth=2"]
    return f'    "frames_{LETTERS[i]}" [{", ".join(attrs)}];'


def frames_cluster(places, predicted: Optional[FrameReport],
                   observed: Optional[FrameReport]) -> list:
    """DOT lines of the "frames" cluster: the places, predicted and observed same-frame edges,
    disagreeing places in red (see the module text)."""
    wrong = frame_disagreements(predicted, observed) if predicted and observed else set()
    pred_pairs, obs_pairs = _same_frame_pairs(predicted), _same_frame_pairs(observed)
    legend = "frames: black = same frame, predicted and observed; red dashed = predicted only; " \
             "red solid = observed only; red place = disagrees"
    lines = _frames_cluster_start(legend, observed)
    for i, place in enumerate(places):
        parts = [f"{LETTERS[i]}  {place.thread}:{place.mapping}[{place.page}]"]
        if predicted is not None and i < len(predicted.flags):
            parts.append(f"predicted {predicted.flags[i]}")
        if observed is not None and i < len(observed.flags):
            parts.append(f"observed {observed.flags[i]}")
        lines.append(_place_node(i, parts, i in wrong))
    for a, b in sorted(pred_pairs | obs_pairs):
        if (a, b) in pred_pairs and (a, b) in obs_pairs:
            style = 'label="predicted and observed same frame", color=black'
        elif (a, b) in pred_pairs:
            style = 'label="predicted same frame", color=red, style=dashed'
            if observed is None or observed.classes is None:   # nothing to disagree with
                style = 'label="predicted same frame", color=blue, style=dashed'
        else:
            style = 'label="observed same frame", color=red, style=solid'
        lines.append(f'    "frames_{LETTERS[a]}" -> "frames_{LETTERS[b]}" [dir=none, {style}];')
    return lines + ["  }"]


def values_cluster(places, allowed: FramesByValues, observed: Optional[FrameReport]) -> list:
    """DOT lines of the "frames" cluster under posix, where any partition joining only places
    that hold the same values is allowed: the places with what they hold, the observed
    same-frame edges, and in red the places and edges of a rule the observation breaks."""
    wrong = allowed.wrong_places(observed) if observed is not None else set()
    legend = "frames (posix: any partition joining only places that hold the same values): " \
             "black = observed same frame; red = breaks a rule"
    lines = _frames_cluster_start(legend, observed)
    for i, place in enumerate(places):
        held = allowed.held[i] if i < len(allowed.held) else None
        parts = [f"{LETTERS[i]}  {place.thread}:{place.mapping}[{place.page}]",
                 "no memory" if held is None else f"holds {held.text()}"]
        if observed is not None and i < len(observed.flags):
            parts.append(f"observed {observed.flags[i]}")
        lines.append(_place_node(i, parts, i in wrong))
    for a, b in sorted(_same_frame_pairs(observed)):
        colour = "red" if a in wrong and b in wrong else "black"
        lines.append(f'    "frames_{LETTERS[a]}" -> "frames_{LETTERS[b]}" '
                     f'[dir=none, label="observed same frame", color={colour}];')
    return lines + ["  }"]


def _allowed(outcomes, seen: str) -> bool:
    """Whether an observed result (its string) agrees with one of the allowed outcomes."""
    try:
        observed = parse_result(seen)
    except ValueError:
        return False
    return any(matches(res, observed) for res, _ in outcomes)


def step_text(st) -> str:
    from sharespec.model.case_text import _format_step
    return _format_step(st)


def step_picture(case, index: int, observed: Sequence[str] = ()) -> StepPicture:
    """The picture of step ``index`` (0-based): the state it runs in, the states the
    specification allows after it, and the observed result when there is one."""
    if not 0 <= index < len(case.steps):
        raise ValueError(f"step {index + 1}: the case has {len(case.steps)} steps")
    profile = get_profile(case.profile)
    st = case.steps[index]
    before = states_before(case, index, observed)
    state = before[0]
    g_before = sharing_graph(state)
    pages = touched_pages(state, st)
    marked_before = involved(g_before, pages)
    outcomes = _unique((res, nxt) for s in before for nxt, res in allowed_outcomes(s, st, profile))
    allowed = sorted({str(res) for res, _ in outcomes})
    seen = observed[index] if index < len(observed) else None
    verdict = ""
    if seen is not None:
        verdict = "as allowed" if _allowed(outcomes, seen) else "NOT ALLOWED"
    title = (f"{case.name}, step {index + 1}: {step_text(st)}  expected {' | '.join(allowed)}"
             + (f"; observed {seen} ({verdict})" if seen is not None else ""))
    if len(before) > 1:
        title += f"  [{len(before)} states consistent before the step; the first is drawn]"
    lines = ["digraph explain {", "  rankdir=LR; compound=true;",
             '  node [fontname="Helvetica", fontsize=10];',
             f'  label="{_escape(title)}"; labelloc=t;']
    lines += _cluster(g_before, "before", marked_before, f"before step {index + 1}")
    if outcomes:
        res, after = outcomes[0]
        g_after = sharing_graph(after)
        lines += _cluster(g_after, "expected", involved(g_after, pages),
                          f"after step {index + 1}, as the specification expects ({res})")
    wrong: tuple = ()
    if isinstance(st.op, Frames):
        seen_report = parse_result(seen) if seen is not None else None
        if not isinstance(seen_report, FrameReport):
            seen_report = None
        by_values = sorted((res for res, _ in outcomes if isinstance(res, FramesByValues)), key=str)
        if by_values:       # posix: no one prediction; the values decide (model/frames_posix.py)
            closest = by_values[0] if seen_report is None else \
                min(by_values, key=lambda v: len(v.wrong_places(seen_report)))
            lines += values_cluster(st.op.places, closest, seen_report)
            if seen_report is not None:
                wrong = tuple(LETTERS[i] for i in sorted(closest.wrong_places(seen_report)))
        else:
            predicted = closest_prediction([res for res, _ in outcomes], seen_report)
            lines += frames_cluster(st.op.places, predicted, seen_report)
            if predicted is not None and seen_report is not None:
                wrong = tuple(LETTERS[i] for i in sorted(frame_disagreements(predicted, seen_report)))
    lines.append("}")
    return StepPicture("\n".join(lines) + "\n", index, len(before), len(marked_before), wrong)


def failing_step(case, observed: Sequence[str]) -> Optional[int]:
    """The first step whose observed result the profile does not allow, or None."""
    from sharespec.model.oracle import judge
    results = [parse_result(r) for r in observed]
    verdict = judge(case.steps[:len(results)], results, case.profile)
    return verdict.step if verdict.verdict == "FAIL" else None


def graphviz() -> Optional[str]:
    return shutil.which("dot")


def write_picture(dot_text: str, path: "str | Path") -> Path:
    """Write DOT, or render SVG/PNG with Graphviz, by the file's suffix (atomically)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"{path}: unknown picture format {fmt!r} (use .dot, .svg or .png)")
    tmp = path.with_name(path.name + ".partial")
    if fmt == "dot":
        tmp.write_text(dot_text, encoding="utf-8")
    else:
        dot = graphviz()
        if dot is None:
            raise GraphvizMissing(f"{path}: rendering {fmt.upper()} needs Graphviz's `dot`, which "
                                  "is not installed (apt-get install graphviz, or brew install "
                                  "graphviz); write a .dot file instead")
        done = subprocess.run([dot, f"-T{fmt}", "-o", str(tmp)], input=dot_text.encode(),
                              capture_output=True, timeout=60)
        if done.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"dot failed on {path}: {done.stderr.decode(errors='replace')}")
    os.replace(tmp, path)
    return path


def write_failure_pictures(case, result, out_dir) -> dict:
    """In the failure's folder, beside its NAME.case: NAME.dot always, NAME.svg when Graphviz
    is installed, and NAME.observation.json (what was observed, which ``sharespec explain
    NAME.case`` reads). The picture is drawn under ``case.profile``, which must be the profile
    the failure was judged under (else an observation that profile refuses can be drawn "as
    allowed" by another). Returns {"observation", "dot"[, "svg"]} -> path; nothing when the
    failure has no step."""
    if result.verdict != "FAIL" or result.step is None:
        return {}
    picture = step_picture(case, result.step, list(result.results))
    from sharespec.model.validate import file_stem
    out = Path(out_dir)
    stem = file_stem(case.name)   # never a path: a name such as "../x" is escaped
    observation = {"format": "sharespec-observation", "version": 1, "case": case.name,
                   "status": "done", "results": list(result.results), "detail": ""}
    observed = out / f"{stem}.observation.json"
    tmp = observed.with_name(observed.name + ".partial")
    tmp.write_text(json.dumps(observation) + "\n", encoding="utf-8")
    os.replace(tmp, observed)
    paths = {"observation": observed, "dot": write_picture(picture.dot, out / f"{stem}.dot")}
    if graphviz():
        paths["svg"] = write_picture(picture.dot, out / f"{stem}.svg")
    return paths
