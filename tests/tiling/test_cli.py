"""`spatialviz tile` end to end through typer (formats' open_reader swapped for a
Parquet source, so this test does not depend on the readers' branch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spatialviz.cli import app
from spatialviz.formats.base import PointReader
from spatialviz.tiling import cli as tiling_cli
from tests.tiling.sources import ParquetPoints, make_cloud, parquet_source


def test_tile_command_writes_a_tileset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.parquet"
    parquet_source(make_cloud(4_000), src)

    def fake_open(path: Path) -> PointReader:
        return ParquetPoints(path, 1_000, None)

    monkeypatch.setattr(tiling_cli, "open_source", fake_open)
    out = tmp_path / "tiles"
    result = CliRunner().invoke(
        app, ["tile", str(src), str(out), "--jobs", "1", "--memory-budget", "256M"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["points"] == 4_000
    assert (out / "tileset.json").exists()


def test_tile_command_rejects_bad_budget(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    src.write_bytes(b"x")
    result = CliRunner().invoke(
        app, ["tile", str(src), str(tmp_path / "o"), "--memory-budget", "lots"]
    )
    assert result.exit_code != 0
