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
from spatialviz.tiling.glb import read_glb
from tests.tiling.sources import ParquetPoints, make_cloud, parquet_source


@pytest.mark.parametrize(
    ("flags", "extension"),
    [
        ([], "EXT_meshopt_compression"),  # the default: a codec CesiumJS reads for points
        (["--compression", "none"], None),
        (["--compression", "meshopt"], "EXT_meshopt_compression"),
        (["--compression", "draco"], "KHR_draco_mesh_compression"),
    ],
)
def test_tile_command_writes_a_tileset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], extension: str | None
) -> None:
    src = tmp_path / "in.parquet"
    parquet_source(make_cloud(4_000), src)

    def fake_open(path: Path, wanted: frozenset[str] | None = None) -> PointReader:
        return ParquetPoints(path, 1_000, None)

    monkeypatch.setattr(tiling_cli, "open_source", fake_open)
    out = tmp_path / "tiles"
    result = CliRunner().invoke(
        app, ["tile", str(src), str(out), "--jobs", "1", "--memory-budget", "256M", *flags]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["points"] == 4_000
    assert (out / "tileset.json").exists()
    tiles = sorted(p for p in (out / "tiles").glob("*.glb") if not p.name.endswith(".attrs.glb"))
    assert tiles
    for path in tiles:
        required = read_glb(path.read_bytes())[0]["extensionsRequired"]
        compressed = [name for name in required if "compression" in name]
        assert compressed == ([extension] if extension else [])


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [("--compression", "zip", "none, meshopt, draco"), ("--memory-budget", "lots", "lots")],
)
def test_tile_command_refuses_bad_options(
    tmp_path: Path, option: str, value: str, says: str
) -> None:
    src = tmp_path / "in.parquet"
    src.write_bytes(b"x")
    result = CliRunner().invoke(app, ["tile", str(src), str(tmp_path / "o"), option, value])
    assert result.exit_code != 0
    assert says in result.output
    assert not (tmp_path / "o").exists()


def test_the_reader_is_asked_for_the_columns_the_tiles_carry() -> None:
    assert tiling_cli.wanted_columns("all") is None
    assert tiling_cli.wanted_columns("rgb") == frozenset({"red", "green", "blue"})
    assert tiling_cli.wanted_columns(("intensity",)) == frozenset(
        {"red", "green", "blue", "intensity"}
    )
