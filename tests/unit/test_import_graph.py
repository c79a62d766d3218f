"""The package's modules import one way: no cycle, the page client below the stream.

Every import counts, also those only for type checking: a reader who follows a
name follows it whatever guards it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tap_contactship

PACKAGE = Path(tap_contactship.__file__).parent


def imports_of(path: Path) -> set[str]:
    """The package's modules that `path` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "tap_contactship":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("tap_contactship."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tap_contactship."):
                    found.add(alias.name.split(".")[1])
    return found


def graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in PACKAGE.glob("*.py")}
    return {name: imports_of(path) & set(modules) for name, path in modules.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for target in sorted(edges[name]):
            found = visit(target, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    for name in sorted(edges):
        found = visit(name, [])
        if found:
            return found
    return None


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in edges[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_package_has_no_import_cycle():
    assert cycle(graph()) is None


def test_the_page_client_and_the_fetcher_know_nothing_of_the_stream():
    edges = graph()
    for module in ("transport", "fetcher", "reader"):
        assert not reachable(edges, module) & {"client", "streams", "tap"}, module


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
