"""Symmetry reduction: one representative for every class of states equal up to renaming.

What may be renamed, and why
----------------------------
A state names things of two sorts.

- *Observable names*: thread handles (``T0``, ``T1`` ...), mapping handles with their slot
  addresses, segment and fd handles, key and object names. Later steps of a program name them,
  so two states that differ in them are different states: ``T1`` alone in a process is not
  ``T2`` alone in a process, because the program that follows says which one acts.
- *Internal numbers*: process ids, frame ids, object ids, segment ids and the ``origin``
  counter that tells the pieces of one mapping call apart. No program and no result names
  them (a ``shmget`` result names the first *handle* bound to a segment, not its id), so any
  bijective renaming of them gives a state with the same futures.

``canonical_state`` renames the internal numbers in a fixed traversal order that only looks at
observable names (first occurrence, as TLC renames model values after fixing a permutation),
and drops what no future step can reach: dead processes, frames and objects that nothing
refers to. Because every live process holds at least one live thread (the last thread's exit
ends its process), ordering processes by their first live thread's handle fixes the process
permutation outright; no search over permutations is needed.

Soundness does not rest on the traversal being clever: the result is always a renaming of the
input (plus garbage removal), so equal canonical forms mean truly symmetric states. Ring-shaped
and pair-shaped sharing stay apart (tests/model/test_exhaustive.py). ``same_up_to_renaming`` is an
independent check by exact graph isomorphism (networkx), used to confirm merges in tests; a
Weisfeiler-Lehman hash (``wl_bucket``) is offered only as a bucket key, never as an identity.

Order is kept where the semantics reads it: ``segment_handles`` is iterated in binding order
to find the first handle of a segment (the ``=S0`` result), so FrozenMaps are rebuilt in
their original iteration order, never sorted.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:      # networkx itself is imported where a graph is made: it is slow to load
    import networkx

from sharespec.model.state import FrozenMap, Fd, MemObject, Process, Segment, State, Thread, Vma


class _Renaming:
    """Numbers in order of first occurrence: old id -> new id."""

    def __init__(self):
        self.new: dict[int, int] = {}

    def see(self, old) -> None:
        if old is not None and old >= 0 and old not in self.new:
            self.new[old] = len(self.new)

    def __call__(self, old):
        if old is None:
            return None
        if old < 0:
            return old
        return self.new[old]


def canonical_state(state: State) -> State:
    """The representative of ``state``'s class: internal ids renamed, garbage dropped."""
    # Processes: in the order of their first live thread (thread handles are observable).
    pids = _Renaming()
    for t in state.threads.values():
        if t.alive:
            pids.see(t.process)
    for pid, proc in enumerate(state.processes):   # alive without a thread: should not happen
        if proc.alive:
            pids.see(pid)
    order = sorted(pids.new, key=pids.new.get)
    procs = [state.processes[p] for p in order]

    # Segments: handles in binding order, then attaches, then the rest (keyed segments are
    # reachable through their key, so none is dropped).
    sids = _Renaming()
    for sid in state.segment_handles.values():
        sids.see(sid)
    for proc in procs:
        for v in proc.vmas:
            sids.see(v.segment)
    for sid in range(len(state.segments)):
        sids.see(sid)

    # Objects: what processes map and hold open, then segments, then names.
    oids = _Renaming()
    for proc in procs:
        for v in proc.vmas:
            oids.see(v.obj)
        for fd in proc.fds.values():
            oids.see(fd.obj)
    for sid in sorted(sids.new, key=sids.new.get):
        oids.see(state.segments[sid].obj)
    for oid in list(state.file_names.values()) + list(state.shm_names.values()):
        oids.see(oid)

    # Frames: private pages by process and address, then object pages.
    fids = _Renaming()
    for proc in procs:
        for vpn in sorted(proc.private):
            fids.see(proc.private[vpn])
    for oid in sorted(oids.new, key=oids.new.get):
        pages = state.objects[oid].pages
        for index in sorted(pages):
            fids.see(pages[index])

    # Origins: only compared for equality (which pieces may merge back).
    origins = _Renaming()
    for proc in procs:
        for v in proc.vmas:
            origins.see(v.origin)

    def vma(v: Vma) -> Vma:
        return replace(v, obj=oids(v.obj), segment=sids(v.segment), origin=origins(v.origin))

    def process(p: Process) -> Process:
        return Process(alive=p.alive, vmas=tuple(vma(v) for v in p.vmas),
                       private=FrozenMap((vpn, fids(f)) for vpn, f in p.private.items()),
                       lazyfree=p.lazyfree, guarded=p.guarded, present=p.present,
                       fds=FrozenMap((h, Fd(oids(fd.obj), fd.rdonly)) for h, fd in p.fds.items()),
                       creds=p.creds, brk=p.brk)   # the break (model/brk.py)

    def thread(t: Thread) -> Thread:
        # A dead thread never acts again (its steps are "dead"): where it ran is forgotten.
        return Thread(pids(t.process), True) if t.alive else Thread(-1, False)

    def segment(s: Segment) -> Segment:
        last = None if s.last_pid is None else pids.new.get(s.last_pid, -1)   # as the creator
        return replace(s, obj=oids(s.obj), creator=pids.new.get(s.creator, -1), last_pid=last)

    def mem_object(o: MemObject) -> MemObject:
        return replace(o, pages=FrozenMap((i, fids(f)) for i, f in o.pages.items()))

    frames = [None] * len(fids.new)
    for old, new in fids.new.items():
        frames[new] = state.frames[old]
    return State(
        processes=tuple(process(p) for p in procs),
        threads=FrozenMap((h, thread(t)) for h, t in state.threads.items()),
        frames=tuple(frames),
        objects=tuple(mem_object(state.objects[o]) for o in sorted(oids.new, key=oids.new.get)),
        segments=tuple(segment(state.segments[s]) for s in sorted(sids.new, key=sids.new.get)),
        segment_handles=FrozenMap((h, sids(s)) for h, s in state.segment_handles.items()),
        mapping_handles=state.mapping_handles,
        file_names=FrozenMap((n, oids(o)) for n, o in state.file_names.items()),
        shm_names=FrozenMap((n, oids(o)) for n, o in state.shm_names.items()),
        origins=len(origins.new),
    )


# --- an independent check: the state as a labelled graph ------------------------------------

def state_graph(state: State, anonymous_threads: bool = False) -> "networkx.DiGraph":
    """Every fact of ``state`` as a labelled graph in which internal ids appear only as node
    identities, never as labels; two states are equal up to renaming of internal ids exactly
    when their graphs are isomorphic with labels matched. ``anonymous_threads`` also hides the
    thread handles (for showing what a hash cannot tell apart)."""
    import networkx as nx      # here, not at the top: every run fingerprints cases (above)
    g = nx.DiGraph()

    def node(key, label):
        g.add_node(key, label=label)

    def edge(a, b, label=""):
        g.add_edge(a, b, label=label)

    for name, t in state.threads.items():
        node(("t", name), "thread" if anonymous_threads else f"thread {name} alive={t.alive}")
        if t.alive:
            edge(("t", name), ("p", t.process), "runs in")
    for pid, p in enumerate(state.processes):
        if not p.alive:
            continue
        node(("p", pid), f"process lazyfree={sorted(p.lazyfree)} guarded={sorted(p.guarded)} "
                             f"creds={p.creds} brk={p.brk}")
        for i, v in enumerate(p.vmas):
            node(("v", pid, i), f"vma {v.start}-{v.end} {v.prot} shared={v.shared} "
                                f"pgoff={v.pgoff} w={v.may_write} df={v.dontfork} "
                                f"wof={v.wipeonfork} shm={v.segment is not None} "
                                f"hints={v.advice_flags()[2:]}")
            edge(("p", pid), ("v", pid, i), "maps")
            if v.obj is not None:
                edge(("v", pid, i), ("o", v.obj), "backed by")
            if v.segment is not None:
                edge(("v", pid, i), ("s", v.segment), "attach of")
            node(("origin", v.origin), "origin")
            edge(("v", pid, i), ("origin", v.origin), "made by")
        for vpn, fid in p.private.items():
            edge(("p", pid), ("f", fid), f"private page {vpn}")
        for h, fd in p.fds.items():
            edge(("p", pid), ("o", fd.obj), f"fd {h} rdonly={fd.rdonly}")
    for sid, s in enumerate(state.segments):
        node(("s", sid), f"segment key={s.key} size={s.size} removed={s.removed} "
                         f"destroyed={s.destroyed} attached={s.ever_attached} locked={s.locked} "
                         f"perm={s.perm}")
        edge(("s", sid), ("o", s.obj), "backed by")
        if ("p", s.creator) in g:
            edge(("s", sid), ("p", s.creator), "created by")
        if s.last_pid is not None and ("p", s.last_pid) in g:
            edge(("s", sid), ("p", s.last_pid), "last attached or detached by")
    for h, sid in state.segment_handles.items():
        node(("sh", h), f"segment handle {h}")
        if sid >= 0:
            edge(("sh", h), ("s", sid), "names")
    for h, base in state.mapping_handles.items():
        node(("mh", h), f"mapping handle {h} at {base}")
    for kind, names in (("file", state.file_names), ("shm", state.shm_names)):
        for n, oid in names.items():
            node((kind, n), f"{kind} name {n}")
            edge((kind, n), ("o", oid), "names")
    for oid, o in enumerate(state.objects):
        if ("o", oid) in g:
            node(("o", oid), f"object {o.kind} size={o.size} sealed={o.write_sealed} "
                                  f"perm={o.perm}")
            for index, fid in o.pages.items():
                edge(("o", oid), ("f", fid), f"page {index}")
    for n in list(g.nodes):
        if n[0] == "f":
            g.nodes[n]["label"] = f"frame {state.frames[n[1]]}"
    return g


def _same_label(a: dict, b: dict) -> bool:
    return a.get("label") == b.get("label")


def same_up_to_renaming(a: State, b: State) -> bool:
    """Exact check: an isomorphism of the labelled state graphs (slow; for confirmation)."""
    import networkx as nx
    ga, gb = state_graph(a), state_graph(b)
    return nx.is_isomorphic(ga, gb, node_match=_same_label, edge_match=_same_label)


def wl_bucket(state: State, anonymous_threads: bool = False) -> str:
    """A Weisfeiler-Lehman hash: equal for symmetric states, but also for some that are not
    (see the ring-versus-pairs test), so it may only choose a bucket to compare within."""
    import warnings

    import networkx as nx
    with warnings.catch_warnings():   # networkx 3.5 notes that directed hashes changed
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(state_graph(state, anonymous_threads),
                                               node_attr="label", edge_attr="label", iterations=4)


# --- programs: handles renamed by first occurrence -------------------------------------------

# Which arguments of each operation name a handle, and of which kind (docs/case-format.md).
_HANDLE_ARGUMENTS = {"segment": "segment", "fd": "fd"}
_PREFIX = {"thread": "T", "mapping": "M", "segment": "S", "fd": "F"}


def canonical_program(steps) -> tuple:
    """``steps`` with every handle renamed by kind and first occurrence (T0 stays T0: it is
    the given thread): T0, T1, ... for threads, M0, ... for mappings, S0, ... for segments,
    F0, ... for descriptors. Two programs that differ only in handle names get equal forms."""
    from sharespec.model.ops import Place, Step
    from sharespec.model.validate import ARGUMENT_KINDS

    names: dict[tuple, str] = {("thread", "T0"): "T0"}
    counts = {"thread": 1, "mapping": 0, "segment": 0, "fd": 0}

    def rename(kind: str, handle):
        if handle is None:
            return None
        key = (kind, handle)
        if key not in names:
            names[key] = f"{_PREFIX[kind]}{counts[kind]}"
            counts[kind] += 1
        return names[key]

    out = []
    for st in steps:
        thread = rename("thread", st.thread)
        changes = {}
        for arg, kind in ARGUMENT_KINDS[st.op.OP].items():
            value = getattr(st.op, arg)
            if kind in ("place", "place?") and value is not None:
                # an absolute place (@kernel, @brk) is no handle: it keeps its name
                mapping = value.mapping if value.mapping.startswith("@") else \
                    rename("mapping", value.mapping)
                changes[arg] = Place(mapping, value.page, value.offset)
            elif isinstance(kind, str) and kind.rstrip("?") in _HANDLE_ARGUMENTS:
                changes[arg] = rename(_HANDLE_ARGUMENTS[kind.rstrip("?")], value)
        op = replace(st.op, **changes) if changes else st.op
        binds = st.op.BINDS if st.bind is not None else None
        out.append(Step(thread, op, rename(binds, st.bind) if binds else None))
    return tuple(out)


def case_fingerprint(case) -> str:
    """A content hash of a case's program and profile, the same after any renaming of
    handles; the description, name, rules and expectations do not count."""
    import hashlib
    import json

    from sharespec.model.case import Case
    from sharespec.model.case_json import case_to_json

    program = canonical_program(case.steps)
    bare = Case(name="x", profile=case.profile, rules=(), origin="x", description="",
                steps=program, allowed=None)
    body = case_to_json(bare)
    text = json.dumps([body["profile"], body["steps"]], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprinted_case(prefix: str, steps, profile: str, origin: str, description: str,
                       allowed=None):
    """A generated case named ``PREFIX-`` and the first 12 hex digits of its fingerprint, so
    that the same program (up to renaming) gets the same name in every corpus."""
    from sharespec.model.case import Case
    case = Case(name="x", profile=profile, rules=(), origin=origin, description=description,
                steps=tuple(steps), allowed=allowed)
    return replace(case, name=f"{prefix}-{case_fingerprint(case)[:12]}")
