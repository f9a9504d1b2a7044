"""The package's import graph has no cycle, lazy imports (inside functions) included."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every ptlab module ``path`` imports, at any depth of the file (functions included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in modules:  # "ptlab.models.SWITCHES" -> "ptlab.models"
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def import_graph() -> dict[str, set[str]]:
    files = sorted(SRC.rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, modules) for f in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def edges_without_packages(graph):
    """A package's __init__ re-exports its modules; an edge module -> its own package (e.g.
    ptlab.models.model -> ptlab.models) would make every re-export a cycle, so such edges are
    resolved to what the package re-exports only when the module is not inside that package."""
    return {m: {n for n in deps if not m.startswith(n + ".")} for m, deps in graph.items()}


def test_the_package_has_no_import_cycle_lazy_imports_included():
    cycle = find_cycle(edges_without_packages(import_graph()))
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_lazy_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("src", ["def f():\n    from ptlab.models.model import PTLM\n"])
def test_imports_inside_functions_count(tmp_path, src):
    pkg = tmp_path / "src" / "ptlab"
    pkg.mkdir(parents=True)
    f = pkg / "x.py"
    f.write_text(src)
    global SRC
    old, SRC = SRC, tmp_path / "src"
    try:
        assert imports_of(f, {"ptlab.x", "ptlab.models.model", "ptlab.models"}) == {
            "ptlab.models.model"
        }
    finally:
        SRC = old
