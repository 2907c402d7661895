"""One symbolic twin per operation (model/symbolic/operations/): every operation of the
specification is encoded by a function named like its explicit handler, or listed as outside
the symbolic core with a reason; the twins stay small and state their result code as a table;
model/symbolic has no import cycle."""
import ast
import inspect
from pathlib import Path

import pytest

from sharespec.model import ops, semantics
from sharespec.model.ops import FramePlace, Frames, Place, PosixMadvise, Step
from sharespec.model.symbolic.core import (OP_NAMES, RESULT_NAMES, OutsideCore, SymbolicScope,
                                           program_to_args)
from sharespec.model.symbolic.operations import OUTSIDE_CORE, TWINS

SYMBOLIC = Path(__file__).resolve().parents[2] / "model" / "symbolic"
MAX_TWIN_LINES = 80


def operation_names() -> set:
    """Every operation of the specification (ops.ALL_OPS, by their OP names)."""
    return set(ops.OP_BY_NAME)


def test_every_operation_has_a_twin_or_a_reason():
    names = operation_names()
    assert names, "found no operation in model/ops.py"
    assert not set(TWINS) & set(OUTSIDE_CORE)
    assert names - set(TWINS) - set(OUTSIDE_CORE) == set(), "operations with no symbolic twin"
    assert set(TWINS) | set(OUTSIDE_CORE) <= names, "twins of operations that do not exist"
    assert all(len(reason.split()) >= 5 for reason in OUTSIDE_CORE.values())


def test_the_twins_are_the_encodings_operations():
    assert set(TWINS) == set(OP_NAMES) - {"nop"}


@pytest.mark.parametrize("name", sorted(TWINS))
def test_twin_is_named_like_the_explicit_handler(name):
    twin = TWINS[name]
    assert twin.__name__ in (name, name + "_"), f"{name}'s twin is called {twin.__name__}"
    explicit = getattr(semantics, name, None) or getattr(semantics, name + "_", None)
    if inspect.isfunction(explicit):
        assert twin.__name__ == explicit.__name__


@pytest.mark.parametrize("name", sorted(TWINS))
def test_twin_is_small(name):
    lines, _ = inspect.getsourcelines(TWINS[name])
    assert len(lines) <= MAX_TWIN_LINES, f"{name}'s twin has {len(lines)} lines"


@pytest.mark.parametrize("name", sorted(TWINS))
def test_twin_states_its_result_code_as_a_table(name):
    """Built on a small scope: the table's rows name results of the encoding, the last row is
    the default (and every twin returns the same kind of effect)."""
    from sharespec.model.profiles import LINUX
    from sharespec.model.symbolic.encoding import fresh_args, fresh_state
    from sharespec.model.symbolic.step_view import StepView
    scope = SymbolicScope(processes=2, threads=2, mappings=1, pages=1, segments=1, objects=1)
    view = StepView(fresh_state("s_", scope), fresh_args("a_", scope, LINUX), scope, LINUX)
    effect = TWINS[name](view)
    assert effect.code, f"{name}: an empty result table"
    assert all(result in RESULT_NAMES for _, result in effect.code)


@pytest.mark.parametrize("step", [
    Step("T0", PosixMadvise(Place("M0", 0), 4096, "dontneed")),
    Step("T0", Frames((FramePlace("T0", Place("M0", 0)),))),
], ids=["posix_madvise", "frames"])
def test_operations_outside_the_core_are_refused(step):
    assert step.op.OP in OUTSIDE_CORE
    with pytest.raises(OutsideCore, match="outside the encoded core"):
        program_to_args([step], SymbolicScope())


def _imports(path: Path, module: str) -> set:
    """The modules of model/symbolic that ``module`` imports (at any level of the file)."""
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            if node.module:
                out.add(".".join(base + node.module.split(".")))
            else:
                out.update(".".join(base + [alias.name]) for alias in node.names)
    return out


def test_no_import_cycle_in_model_symbolic():
    modules = {}
    for path in SYMBOLIC.rglob("*.py"):
        parts = list(path.relative_to(SYMBOLIC.parent.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    graph = {m: {d for d in _imports(p, m) if d in modules and d != m} for m, p in modules.items()}
    # a package's __init__ importing its own submodules is how a package re-exports them
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    seen, on_path = set(), []

    def visit(m):
        if m in on_path:
            cycle = on_path[on_path.index(m):] + [m]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if m in seen:
            return
        on_path.append(m)
        for d in sorted(graph[m]):
            visit(d)
        on_path.pop()
        seen.add(m)
    for m in sorted(graph):
        visit(m)
    assert "model.symbolic.transition" in graph   # the walk saw the encoding
