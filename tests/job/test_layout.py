"""The job package's modules import each other without a circle (read from the source with
``ast``, imports under TYPE_CHECKING and inside functions included): the runner's parts can
be read, and changed, from the leaves (errors, states) up to the adapters (tasks,
embedded)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "spatialviz.job"
ROOT = Path(__file__).resolve().parents[2] / "src" / "spatialviz" / "job"


def _graph() -> dict[str, set[str]]:
    modules = {path.stem for path in ROOT.glob("*.py") if path.stem != "__init__"}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name in modules:
        tree = ast.parse((ROOT / f"{name}.py").read_text())
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                targets = [(node.module or "").rsplit(".", 1)[1]]
            elif isinstance(node, ast.Import):
                targets = [
                    alias.name.rsplit(".", 1)[1]
                    for alias in node.names
                    if alias.name.startswith(f"{PACKAGE}.")
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_circle_in_the_job_package() -> None:
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_the_leaves_import_nothing_of_the_runner() -> None:
    graph = _graph()
    assert graph["errors"] == set()
    assert graph["states"] == set()
    assert "runtime" not in graph["context"]
    assert "registry" not in graph["context"]
