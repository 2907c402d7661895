"""The sharing graph of a state (networkx): who reaches which frame.

Nodes: threads, processes, virtual pages, frames, SysV segments and backing objects.
Edges: a thread runs in a process; a process maps a page; a page reaches a frame; a page is
backed by an object; an object holds a frame for one of its pages; a segment is backed by an
object. Two virtual pages alias exactly when they reach the same frame, so visibility and
isolation are graph questions (properties.py).
"""
from __future__ import annotations

import networkx as nx

from .memory import frame_of_page
from .state import State


def thread_node(name: str) -> tuple:
    return ("thread", name)


def process_node(pid: int) -> tuple:
    return ("process", pid)


def page_node(pid: int, vpn: int) -> tuple:
    return ("page", pid, vpn)


def frame_node(fid: int) -> tuple:
    return ("frame", fid)


def segment_node(sid: int) -> tuple:
    return ("segment", sid)


def object_node(oid: int) -> tuple:
    return ("object", oid)


def sharing_graph(state: State) -> nx.DiGraph:
    g = nx.DiGraph()
    for name, t in state.threads.items():
        if t.alive:
            g.add_node(thread_node(name), kind="thread", label=name)
            g.add_edge(thread_node(name), process_node(t.process), kind="runs in")
    for pid, proc in enumerate(state.processes):
        if not proc.alive:
            continue
        g.add_node(process_node(pid), kind="process", label=f"P{pid}")
        for vma in proc.vmas:
            for vpn in range(vma.start, vma.end):
                page = page_node(pid, vpn)
                g.add_node(page, kind="page", label=f"P{pid}:{vpn}", prot=vma.prot,
                           shared=vma.shared, segment=vma.segment)
                g.add_edge(process_node(pid), page, kind="maps")
                if vma.obj is not None:
                    g.add_edge(page, object_node(vma.obj), kind="backed by",
                               object_page=vma.object_page(vpn))
                fid = frame_of_page(state, pid, vpn)
                if fid is not None:
                    g.add_edge(page, frame_node(fid), kind="reaches",
                               private=not vma.shared and vpn in proc.private)
    for oid, obj in enumerate(state.objects):
        g.add_node(object_node(oid), kind="object", label=f"{obj.kind} object {oid}",
                   object_kind=obj.kind, size=obj.size)
        for index, fid in obj.pages.items():
            g.add_edge(object_node(oid), frame_node(fid), kind="holds", object_page=index)
    for sid, seg in enumerate(state.segments):
        if not seg.destroyed:
            g.add_node(segment_node(sid), kind="segment", label=f"segment {sid}",
                       removed=seg.removed, key=seg.key)
            g.add_edge(segment_node(sid), object_node(seg.obj), kind="backed by")
    for n in list(g.nodes):
        if n[0] == "frame":
            g.nodes[n].update(kind="frame", label=f"frame {n[1]}")
    return g


def reached_frame(g: nx.DiGraph, page: tuple):
    for _, target, data in g.out_edges(page, data=True):
        if data.get("kind") == "reaches":
            return target
    return None


def aliases(g: nx.DiGraph, page_a: tuple, page_b: tuple) -> bool:
    """Two virtual pages alias iff they reach the same frame."""
    fa = reached_frame(g, page_a)
    return fa is not None and fa == reached_frame(g, page_b)


def pages_reaching(g: nx.DiGraph, frame: tuple) -> list:
    return [src for src, _, d in g.in_edges(frame, data=True) if d.get("kind") == "reaches"]


def to_dot(g: nx.DiGraph, marked=frozenset(), title: str = "") -> str:
    """DOT text for the graph; ``marked`` nodes (pages involved in a failure) drawn in red.
    Written by hand so that pictures need neither pydot nor Graphviz."""
    shapes = {"thread": "ellipse", "process": "box", "page": "box", "frame": "box3d",
              "segment": "hexagon", "object": "cylinder"}

    def ident(n) -> str:
        return '"' + "_".join(str(x) for x in n) + '"'

    lines = ["digraph sharing {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f'  label="{title}"; labelloc=t;')
    for n, d in g.nodes(data=True):
        kind = d.get("kind", n[0])
        attrs = [f'label="{d.get("label", n)}"', f"shape={shapes.get(kind, 'box')}"]
        if n in marked:
            attrs += ["color=red", "penwidth=2"]
        lines.append(f"  {ident(n)} [{', '.join(attrs)}];")
    for a, b, d in g.edges(data=True):
        style = "dashed" if d.get("kind") in ("backed by", "runs in") else "solid"
        lines.append(f'  {ident(a)} -> {ident(b)} [label="{d.get("kind", "")}", style={style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"
