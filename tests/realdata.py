"""Where the real public files are (``../shared/realdata`` from the repository root, or from
any folder above it, so a git worktree finds the checkout's copy; SPATIALVIZ_REALDATA
overrides), and a skip with the reason when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def realdata_dir() -> Path | None:
    env = os.environ.get("SPATIALVIZ_REALDATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    for parent in REPO_ROOT.parents:
        candidate = parent / "shared" / "realdata"
        if candidate.is_dir():
            return candidate
    return None


def realdata(name: str) -> Path:
    """The path of a real file, or skip the test saying why."""
    folder = realdata_dir()
    if folder is None:
        pytest.skip(
            "real-data files absent: expected ../shared/realdata beside the repository "
            "(or SPATIALVIZ_REALDATA)"
        )
    path = folder / name
    if not path.is_file():
        pytest.skip(f"real-data file {name} absent from {folder}")
    return path
