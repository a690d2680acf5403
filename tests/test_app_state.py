"""digitnet/app/state.py's names for what a visitor's session keeps.

Every key of ``st.session_state`` the app reads or writes is a named constant of
``state`` (``*_KEY``): read from the source with :mod:`ast`, no module of the app
writes a key as a bare string (``st.session_state["x"]``, ``.get("x")``,
``st.session_state.x``, ``"x" in st.session_state``), and no two names share a key.
"""

from __future__ import annotations

import ast
from pathlib import Path

from digitnet.app import state

APP = Path(state.__file__).resolve().parent


def test_every_session_key_has_its_own_name():
    keys = {name: value for name, value in vars(state).items() if name.endswith("_KEY")}
    assert len(keys) >= 25
    assert all(isinstance(v, str) and v for v in keys.values())
    assert len(set(keys.values())) == len(keys), keys
    # what the reaper gives back when the page has gone: all named
    assert set(state.HELD_KEYS) <= set(keys.values())


def _session_state(node: ast.AST) -> bool:
    """``st.session_state`` (or ``ss``, the session state the reaper's thread holds)."""
    return (isinstance(node, ast.Attribute) and node.attr == "session_state") or (
        isinstance(node, ast.Name) and node.id == "ss"
    )


def raw_keys(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a key of the session state is written as a bare string or an attribute."""
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Attribute) and _session_state(node.value):
            if node.attr not in {"get", "pop", "setdefault", "clear", "keys", "items", "update"}:
                key = ast.Constant("." + node.attr)
        elif isinstance(node, ast.Subscript) and _session_state(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if _session_state(node.func.value) and node.args:
                key = node.args[0]
        elif isinstance(node, ast.Compare) and any(_session_state(c) for c in node.comparators):
            key = node.left
        if isinstance(key, ast.Constant):
            found.append((node.lineno, str(key.value)))
    return sorted(found)


def test_no_module_of_the_app_writes_a_session_key_as_a_bare_string():
    raw = {
        path.name: keys
        for path in sorted(APP.glob("*.py"))
        if (keys := raw_keys(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert raw == {}


def test_the_check_finds_bare_keys():
    code = (
        "st.session_state.pen = 3\n"
        "x = st.session_state.get('ex_page', 1)\n"
        "y = st.session_state['job']\n"
        "z = 'job' in st.session_state\n"
        "w = st.session_state.get(state.PEN_KEY)\n"
    )
    assert raw_keys(ast.parse(code)) == [(1, ".pen"), (2, "ex_page"), (3, "job"), (4, "job")]
