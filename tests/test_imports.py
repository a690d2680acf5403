"""The package's import graph: a ladder without cycles, function-level imports included.

Read from the source with :mod:`ast` (nothing is imported): every ``import`` and
``from ... import`` of every module of ``digitnet``, at any depth -- inside
functions and methods too -- except under ``if TYPE_CHECKING:``, which never
runs. Run this file as a script to print the graph.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "digitnet"

#: What the bottom rungs may import: the math, the geometry and the BLAS limits
#: stand on their own (NumPy, threadpoolctl and the standard library), so that
#: anything can use them without a cycle.
STANDALONE = {
    "digitnet.functions": {"numpy", "collections", "dataclasses", "typing"},
    "digitnet.geometry": {"numpy", "math", "collections"},
    "digitnet.blas": {
        "contextlib",
        "operator",
        "threading",
        "collections",
        "functools",
        "typing",
        "threadpoolctl",
    },
}


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _runtime_imports(tree: ast.AST):
    """Every import node that can run: all of them but those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules ``name`` imports: digitnet's by full name, others by their top package."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
            continue
        base = package[: len(package) - node.level + 1] if node.level else []
        target = ".".join([*base, *([node.module] if node.module else [])])
        for alias in node.names:  # `from . import tta` imports the module digitnet.tta
            full = f"{target}.{alias.name}"
            found.add(full if full in modules else target)
    found.discard("__future__")
    return {m if m in modules else m.split(".")[0] for m in found} - {name}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as a path."""
    internal = {m: sorted(t for t in ts if t in graph) for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in internal[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while not group or w != v:
                w = stack.pop()
                group.add(w)
            if len(group) > 1:
                groups.append(group)

    for v in internal:
        if v not in index:
            visit(v)
    return [_path_back(min(group), group, internal) for group in groups]


def _path_back(start: str, group: set[str], graph: dict[str, list[str]]) -> list[str]:
    """The shortest path from ``start`` back to itself inside ``group`` (breadth first)."""
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for w in graph[path[-1]]:
            if w == start:
                return [*path, start]
            if w in group and w not in path:
                paths.append([*path, w])
    raise AssertionError("a strongly connected group always has a cycle")


GRAPH = import_graph()


def test_the_package_imports_without_cycles():
    found = cycles(GRAPH)
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_hidden_cycle():
    graph = {"a": {"b", "numpy"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_function_level_imports_count_and_type_checking_ones_do_not(tmp_path):
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "if TYPE_CHECKING:\n    from .c import C\n"
        "def f():\n    from .d import g\n    import numpy\n"
    )
    (tmp_path / "a.py").write_text(source)
    modules = {f"pkg.{n}": tmp_path / f"{n}.py" for n in "abcd"}
    assert imports_of("pkg.a", tmp_path / "a.py", modules) == {"typing", "pkg.b", "pkg.d", "numpy"}


@pytest.mark.parametrize("module", sorted(STANDALONE))
def test_the_bottom_rungs_import_nothing_of_digitnet(module):
    assert GRAPH[module] <= STANDALONE[module], GRAPH[module] - STANDALONE[module]


def test_the_training_loop_imports_the_model_only_for_type_checking():
    assert "digitnet.model" not in GRAPH["digitnet.train"]
    assert "digitnet.train" in GRAPH["digitnet.model"]  # MLP.fit drives the loop


def test_only_the_app_imports_streamlit():
    users = {
        m for m, targets in GRAPH.items() if {"streamlit", "streamlit_drawable_canvas"} & targets
    }
    assert users and all(m.startswith("digitnet.app.") for m in users)


if __name__ == "__main__":
    for name, targets in GRAPH.items():
        inside = sorted(t.removeprefix("digitnet.") for t in targets if t in GRAPH)
        print(f"{name.removeprefix('digitnet.') or 'digitnet'}: {', '.join(inside)}")
    print("cycles:", cycles(GRAPH) or "none")
    sys.exit(1 if cycles(GRAPH) else 0)


#: Test modules that still import another one's helpers (issues 10, 11, 13 and 14 wrote
#: them while this rule was made): moving those helpers into a helper module is left to
#: their authors. The list may only shrink: a new import fails, and so does a stale entry.
STILL_IMPORTING = {
    "tests/browser/test_deploy_browser.py imports test_app_browser",
    "tests/browser/test_i18n_browser.py imports test_app_browser",
    "tests/browser/test_live_browser.py imports test_app_browser",
    "tests/browser/test_teach_browser.py imports test_app_browser",
    "tests/test_cli.py imports test_pen_strokes",
    "tests/test_download.py imports test_data",
    "tests/test_hostile_cli.py imports test_cli",
    "tests/test_pen_strokes.py imports test_data",
}


def test_no_test_module_imports_another():
    """Tests share fixtures through conftest.py and helpers through helper modules
    (app_support.py, browser/harness.py), never by importing a test module."""
    found = set()
    for path in sorted(PACKAGE.parent.joinpath("tests").rglob("test_*.py")):
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for name in names:
                if name.split(".")[-1].startswith("test_"):
                    found.add(f"{path.relative_to(PACKAGE.parent).as_posix()} imports {name}")
    assert found <= STILL_IMPORTING, sorted(found - STILL_IMPORTING)
    assert found >= STILL_IMPORTING, f"no longer true, remove: {sorted(STILL_IMPORTING - found)}"
