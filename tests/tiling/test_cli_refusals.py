"""`spatialviz tile` answers like the server (one line, the refusal code, status 2) and
never deletes what it did not write: the input, a folder holding it, a user's folder."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from spatialviz.cli import app
from spatialviz.formats import FormatError
from spatialviz.tiling.output_guard import MARKER
from tests.realdata import realdata


def _csv(path: Path, n: int = 200) -> Path:
    rng = np.random.default_rng(1)
    rows = "\n".join(f"{x:.3f},{y:.3f},{z:.3f}" for x, y, z in rng.uniform(0, 50, (n, 3)))
    path.write_text("x,y,z\n" + rows + "\n")
    return path


def _lying_las(path: Path) -> Path:
    """A 600-byte LAS declaring 1,073,741,824 VLRs (laspy walked them for minutes)."""
    import laspy

    las = laspy.LasData(laspy.LasHeader(point_format=3, version="1.2"))
    las.x, las.y, las.z = np.arange(10.0), np.arange(10.0), np.arange(10.0)
    las.write(str(path))
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 100, 1_073_741_824)
    path.write_bytes(bytes(data))
    return path


def _tile(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["tile", *map(str, args), "--jobs", "1"])


def _one_error_line(result: Result, code: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {code}: "), lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("names.csv", b"name,comment\nfoo,bar\n", "no_numeric_columns"),
        ("bomb.las", None, "count_exceeds_file"),
        ("deep.geojson", b"[" * 5000 + b"]" * 5000, "unknown_format"),
    ],
)
def test_a_refused_input_is_one_line_and_status_2(
    tmp_path: Path, name: str, content: bytes | None, code: str
) -> None:
    src = tmp_path / name
    if content is None:
        _lying_las(src)
    else:
        src.write_bytes(content)
    result = _tile(src, tmp_path / "out")
    _one_error_line(result, code)
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    src = _lying_las(tmp_path / "bomb.las")
    result = _tile(src, tmp_path / "out", "--debug")
    assert isinstance(result.exception, FormatError)
    assert result.exception.code == "count_exceeds_file"


def test_a_missing_input_is_one_line(tmp_path: Path) -> None:
    _one_error_line(_tile(tmp_path / "nope.las", tmp_path / "out"), "input_not_found")
    _one_error_line(_tile(tmp_path, tmp_path / "out"), "input_not_a_file")


def test_the_console_script_prints_no_traceback(tmp_path: Path) -> None:
    src = _lying_las(tmp_path / "bomb.las")
    done = subprocess.run(
        [sys.executable, "-m", "spatialviz", "tile", str(src), str(tmp_path / "o"), "-j", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        line for line in done.stderr.strip().splitlines() if line.startswith("error: ")
    ]
    assert done.stderr.startswith("error: count_exceeds_file: ")


@pytest.mark.parametrize("force", [False, True])
def test_output_that_is_the_input_is_refused_even_with_force(tmp_path: Path, force: bool) -> None:
    src = _csv(tmp_path / "a.csv")
    before = src.read_bytes()
    flags = ["--force"] if force else []
    _one_error_line(_tile(src, src, *flags), "output_is_input")
    _one_error_line(_tile(src, tmp_path / "x" / ".." / "a.csv", *flags), "output_is_input")
    assert src.read_bytes() == before


@pytest.mark.parametrize("force", [False, True])
def test_output_holding_the_input_is_refused_even_with_force(tmp_path: Path, force: bool) -> None:
    data = tmp_path / "data"
    (data / "deep").mkdir(parents=True)
    src = _csv(data / "deep" / "a.csv")
    flags = ["--force"] if force else []
    _one_error_line(_tile(src, data, *flags), "output_holds_input")
    _one_error_line(_tile(src, data / "deep", *flags), "output_holds_input")
    assert src.exists()
    assert sorted(p.name for p in data.rglob("*")) == ["a.csv", "deep"]


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    src = _csv(tmp_path / "a.csv")
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    _one_error_line(_tile(src, other, "--force"), "output_not_a_folder")
    assert other.read_text() == "mine"


def test_a_users_folder_is_replaced_only_with_force(tmp_path: Path) -> None:
    src = _csv(tmp_path / "a.csv")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    _one_error_line(_tile(src, folder), "output_not_empty")
    assert (folder / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]

    forced = _tile(src, folder, "--force")
    assert forced.exit_code == 0, forced.output
    assert (folder / "tileset.json").is_file()
    assert (folder / MARKER).is_file()
    assert not (folder / "notes.txt").exists()


def test_its_own_tileset_and_an_empty_folder_need_no_force(tmp_path: Path) -> None:
    src = _csv(tmp_path / "a.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    first = _tile(src, empty)
    assert first.exit_code == 0, first.output
    assert (empty / MARKER).is_file()
    again = _tile(src, empty)  # re-tiling into the same place: ours, so replaced
    assert again.exit_code == 0, again.output
    assert (empty / "tileset.json").is_file()


def test_real_extrabytes_file_tiles_with_every_point(tmp_path: Path) -> None:
    """Refused as truncated_file before: its Colors (u16 x 3) reached pyarrow as 2-D."""
    import json

    import laspy

    src = realdata("extrabytes.las")  # skips, saying why, when the real-file sample is absent
    result = _tile(src, tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["points"] == laspy.read(str(src)).header.point_count
