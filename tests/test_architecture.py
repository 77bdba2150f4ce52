"""The layout enforces the design: the engine packages (geodesy/, formats/, tiling/) import
nothing from the web, database or job layers, so they can be tested, benchmarked and reused
alone.

Imports are read from the source with ``ast`` (deferred imports inside functions included),
so a forbidden edge fails here before anyone has to notice it in review."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "spatialviz"

# Engine package -> the project packages it may import (itself always allowed).
ENGINE_ALLOWED: dict[str, frozenset[str]] = {
    "geodesy": frozenset(),
    "formats": frozenset({"geodesy"}),
    # lifeline: the process-lifetime helper (a module of the standard library's kind).
    "tiling": frozenset({"formats", "geodesy", "lifeline"}),
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
