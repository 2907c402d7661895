"""The shape of the model that keeps it readable (issue 15, item 2): Linux's rules are stated
as Linux does them, each variant's change lives in model/variants.py, and the modules of
model/ import each other without a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

from sharespec.model import profiles, semantics, variants
from sharespec.model.ops import Fork, ShmDt, Write

MODEL = Path(__file__).resolve().parents[2] / "model"


def test_semantics_asks_no_profile_whether_it_deviates():
    tree = ast.parse((MODEL / "semantics.py").read_text())
    named = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "deviates" not in named and "deviations" not in named
    assert not hasattr(profiles.Profile, "deviates")


def test_every_operation_has_one_linux_handler_and_variants_change_only_operations():
    from sharespec.model.ops import Op
    operations = {cls for cls in vars(__import__("sharespec.model.ops", fromlist=["Op"])).values()
                  if isinstance(cls, type) and issubclass(cls, Op) and cls is not Op}
    assert set(semantics.HANDLERS) == operations
    for changes in variants.CHANGES.values():
        assert all(c.op in operations for c in changes)


def test_a_replacement_and_a_transform_of_one_operation_compose():
    """Two variants of fork at once (as tests/host/test_failures.py's two-bug fake has):
    the replacement runs, then the transform, so that both changes show."""
    from dataclasses import replace
    prof = replace(profiles.LINUX, name="two", deviations=frozenset(
        {"wipeonfork-ignored", "shared-anon-copied-on-fork"}))
    fork = variants.handler(Fork, prof, semantics.HANDLERS)
    assert fork is not semantics.HANDLERS[Fork]
    two = replace(profiles.LINUX, name="two", deviations=frozenset(
        {"wipeonfork-ignored", "dontfork-ignored"}))
    try:
        variants.handler(Fork, two, semantics.HANDLERS)
    except ValueError as e:
        assert "two variants replace fork" in str(e)
    else:
        raise AssertionError("two replacements of one operation must be refused")
    assert variants.handler(ShmDt, profiles.LINUX, semantics.HANDLERS) is semantics.HANDLERS[ShmDt]
    assert variants.handler(Write, profiles.POSIX, semantics.HANDLERS) is semantics.HANDLERS[Write]


def test_posix_widenings_name_a_profile_field_and_a_rule_and_only_add_outcomes():
    from dataclasses import fields
    from sharespec.model import posix
    from sharespec.model.oracle import allowed_per_step
    from sharespec.model.ops import Munmap, Place, ShmAt, ShmGet, Step
    from sharespec.model.rules import OBSERVABLE_RULES
    names = {f.name for f in fields(profiles.Profile)}
    for field, widening in posix.WIDENINGS.items():
        assert field in names and getattr(profiles.POSIX, field) and not getattr(profiles.LINUX, field)
        assert widening.rule in OBSERVABLE_RULES
    # R31: munmap of the middle of an attach: linux unmaps; posix may also refuse
    program = (Step("T0", ShmGet("private", 3 * 4096, creat=True), "S0"),
               Step("T0", ShmAt("S0"), "M0"),
               Step("T0", Munmap(Place("M0", 1), 4096)))
    assert {str(r) for r in allowed_per_step(program, "linux")[-1]} == {"ok"}
    assert {str(r) for r in allowed_per_step(program, "posix")[-1]} == {"ok", "EINVAL"}


def _imports(path: Path, package: str) -> set:
    """The modules of ``package`` a file imports, at any depth (a function-level import is a
    cycle as much as one at the top). Imports under ``if TYPE_CHECKING:`` do not run."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    here = path.relative_to(MODEL.parent).with_suffix("").parts
    if here[-1] == "__init__":
        here = here[:-1]
    base = here[:-1] if path.name != "__init__.py" else here
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                root = base[:len(base) - (node.level - 1)]
                mod = root + tuple(node.module.split(".")) if node.module else root
            elif node.module and node.module.startswith("sharespec.model"):
                mod = ("model",) + tuple(node.module.split(".")[2:])
            else:
                continue
            names = [a.name for a in node.names]
            for name in names:    # ``from . import frames`` names a module
                sub = mod + (name,)
                if (MODEL.parent.joinpath(*sub).with_suffix(".py")).exists():
                    out.add(".".join(sub))
                    continue
                out.add(".".join(mod))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("sharespec.model"):
                    out.add(".".join(("model",) + tuple(a.name.split(".")[2:])))
    return {m for m in out if m != "model" and m != ".".join(here)}


def import_graph(under: Path) -> dict:
    graph = {}
    for path in sorted(under.rglob("*.py")):
        name = ".".join(path.relative_to(MODEL.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        graph[name] = _imports(path, "model")
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_model_has_no_import_cycle():
    graph = {m: deps for m, deps in import_graph(MODEL).items() if not m.startswith("model.symbolic")}
    assert "model.semantics" in graph and "model.variants" in graph["model.semantics"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
