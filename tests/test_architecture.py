"""The layout enforces the design:

- the engine packages (geodesy/, formats/, tiling/, spatialindex/, styling/, signing/,
  blobhttp/, writers/) import nothing from the web, database or job layers, so they can be
  tested, benchmarked and reused alone;
- the packages of ``spatialviz`` import each other without a cycle, so each can be read
  (and changed) knowing only the ones below it;
- no module imports a project module inside a function unless that import breaks a cycle
  between modules of one package, listed below with its reason.

Imports are read from the source with ``ast`` (deferred imports inside functions included),
so a forbidden edge fails here before anyone has to notice it in review."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "spatialviz"

# Engine package -> the project packages it may import (itself always allowed).
ENGINE_ALLOWED: dict[str, frozenset[str]] = {
    "geodesy": frozenset(),
    "formats": frozenset({"geodesy"}),
    # lifeline: the process-lifetime helper (a module of the standard library's kind).
    "tiling": frozenset({"formats", "geodesy", "lifeline"}),
    # tiling: its Morton codes, one encoder for the whole project.
    "spatialindex": frozenset({"tiling"}),
    "styling": frozenset(),
    "signing": frozenset(),
    "blobhttp": frozenset(),
    # tiling: the GLB encoder and sRGB decoding the exports share with the tiles.
    "writers": frozenset({"tiling"}),
}
# Third-party libraries of the web, database and job layers.
SERVICE_LIBRARIES = frozenset(
    {
        "fastapi",
        "starlette",
        "sqlalchemy",
        "alembic",
        "celery",
        "kombu",
        "redis",
        "asyncpg",
        "aiosqlite",
        "uvicorn",
        "gunicorn",
        "structlog",
        "prometheus_client",
        "boto3",
    }
)


def _modules(package: str) -> list[Path]:
    return sorted((PACKAGE_ROOT / package).rglob("*.py"))


def _imported_names(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # Relative imports stay inside the package unless they climb out of it.
            relative_parts = path.relative_to(PACKAGE_ROOT).parts[: -node.level]
            target = ".".join(("spatialviz", *relative_parts, *(node.module or "").split(".")))
            yield node.lineno, target.rstrip(".")


def _forbidden(parts: list[str], allowed: frozenset[str]) -> bool:
    if parts[0] == "spatialviz":
        # The package root holds only the version string; anything below it is checked.
        return len(parts) >= 2 and parts[1] not in allowed
    return parts[0] in SERVICE_LIBRARIES


def _violations(package: str, allowed: frozenset[str]) -> list[str]:
    found = []
    for path in _modules(package):
        for line, name in _imported_names(path):
            if _forbidden(name.split("."), allowed):
                found.append(f"{path.relative_to(PACKAGE_ROOT)}:{line} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(ENGINE_ALLOWED))
def test_engine_packages_import_no_web_db_or_job_code(package: str) -> None:
    assert _violations(package, ENGINE_ALLOWED[package] | {package}) == []


def test_the_rule_bites_on_a_service_package() -> None:
    """The same rule applied to a web package must report its FastAPI and SQLAlchemy
    imports: a walker that saw nothing would pass the engines vacuously."""
    scene_edges = _violations("scene", allowed=frozenset({"scene"}))
    assert any("imports fastapi" in edge for edge in scene_edges)
    assert any("imports sqlalchemy" in edge for edge in scene_edges)


# --- the package graph ----------------------------------------------------------------------

#: Deferred (function-level) imports of project modules that break a cycle between two
#: modules of one package: ``(importing module, imported module) -> why``.
CYCLE_BREAKERS: dict[tuple[str, str], str] = {
    # Not cycles: the API process imports only the job queue its mode uses.
    ("job/dispatch.py", "spatialviz.job.celery_app"): "Celery only in services mode",
    ("job/dispatch.py", "spatialviz.job.embedded"): "the process pool only in embedded mode",
}

#: Modules that import on use by design, each for a stated reason (not a cycle).
LAZY_MODULES: dict[str, str] = {
    # Spawned tiling workers import the console script again: whatever it imports at the
    # top is paid per worker (the web app cost ~3.4 s of CPU each); and the worker command
    # must set PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported.
    "cli.py": "each command imports what it runs",
    # gunicorn imports the app in each worker after the fork, not in the arbiter.
    "server.py": "the app is loaded per gunicorn worker",
    # A reader (and its library: laspy, plyfile, ...) is loaded for the format at hand only.
    "formats/registry.py": "readers loaded per detected format",
}


def _package_of(path: Path) -> str:
    """The top-level package (or module) of ``spatialviz`` a source file belongs to."""
    return path.relative_to(PACKAGE_ROOT).parts[0].removesuffix(".py")


def _project_imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, imported project module, whether the import is inside a function)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    deferred_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    deferred_lines.add(inner.lineno)
    for line, name in _imported_names(path):
        parts = name.split(".")
        if parts[0] == "spatialviz" and len(parts) >= 2:
            yield line, name, line in deferred_lines


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        source = _package_of(path)
        graph[source]  # every package is a node, even one importing nothing
        for _, name, _ in _project_imports(path):
            target = name.split(".")[1]
            if target != source:
                graph[source].add(target)
    return graph


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _edges_within(graph: Mapping[str, set[str]], component: list[str]) -> list[str]:
    return [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]


def test_packages_import_each_other_without_a_cycle() -> None:
    graph = _package_graph()
    assert {"scene", "auth", "workspace", "kit", "models", "tiling"} <= graph.keys()
    cycles = {" ".join(c): _edges_within(graph, c) for c in _cycles(graph)}
    assert cycles == {}


def test_the_cycle_finder_sees_a_cycle() -> None:
    """A finder that never reports anything would pass the real graph vacuously."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _deferred_imports() -> list[tuple[str, str, int]]:
    found = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        module = str(path.relative_to(PACKAGE_ROOT))
        for line, name, deferred in _project_imports(path):
            if deferred:
                found.append((module, name, line))
    return found


def test_no_deferred_import_of_a_project_module_without_a_listed_cycle() -> None:
    unlisted = [
        f"{module}:{line} imports {name} inside a function"
        for module, name, line in _deferred_imports()
        if (module, name) not in CYCLE_BREAKERS and module not in LAZY_MODULES
    ]
    assert unlisted == []


def test_every_listed_deferred_import_is_within_one_package() -> None:
    """A deferred import across packages would hide a package cycle from the graph test's
    reader; within a package it breaks a cycle between two of its modules."""
    for module, name in CYCLE_BREAKERS:
        assert module.split("/")[0] == name.split(".")[1], (module, name)


# --- the test modules -------------------------------------------------------------------------

TESTS_ROOT = Path(__file__).resolve().parent


def _test_module_imports(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import of ``path`` (a file under the ``tests``
    package ``root``), nested ones included; ``from tests.x import test_y`` is also
    reported as ``tests.x.test_y``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = path.relative_to(root.parent).parts[: -node.level]
                module = ".".join((*package, *(node.module or "").split(".")))
            else:
                module = node.module or ""
            module = module.rstrip(".")
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def _imports_of_test_modules(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("test_*.py")):
        for line, name in _test_module_imports(path, root):
            parts = name.split(".")
            if parts[0] == "tests" and any(p.startswith("test_") for p in parts[1:]):
                found.append(f"{path.relative_to(root.parent)}:{line} imports {name}")
    return sorted(set(found))


def test_no_test_module_imports_another_test_module() -> None:
    """A helper one test module takes from another ties the two together: moving, renaming
    or deleting a test breaks an unrelated one, and pytest imports the other module's tests
    (and fixtures) into the importer's namespace. Shared helpers live in modules not named
    ``test_*`` (``helpers.py``)."""
    assert _imports_of_test_modules(TESTS_ROOT) == []


def test_the_test_import_rule_bites(tmp_path: Path) -> None:
    """The walker must see absolute, nested and relative imports of a ``test_*`` module,
    and must not flag a helper module: a walker that saw nothing would pass vacuously."""
    package = tmp_path / "tests" / "pkg"
    package.mkdir(parents=True)
    (package / "helpers.py").write_text("")
    (package / "test_a.py").write_text("X = 1\n")
    (package / "test_b.py").write_text(
        "from tests.pkg.test_a import X\n"
        "from tests.pkg.helpers import Y\n"
        "def f():\n    from . import test_a\n"
        "import tests.pkg.test_a\n"
    )
    assert _imports_of_test_modules(tmp_path / "tests") == [
        "tests/pkg/test_b.py:1 imports tests.pkg.test_a",
        "tests/pkg/test_b.py:1 imports tests.pkg.test_a.X",
        "tests/pkg/test_b.py:4 imports tests.pkg.test_a",
        "tests/pkg/test_b.py:5 imports tests.pkg.test_a",
    ]
