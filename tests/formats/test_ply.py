from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from plyfile import PlyData, PlyElement

from spatialviz.formats import FormatError, ReaderLimits, open_reader


def _write_ply(path: Path, n: int = 500, *, text: bool = False, float_color: bool = False,
               byte_order: str = "<", nan_rows: int = 0) -> Path:  # fmt: skip
    rng = np.random.default_rng(1)
    color = "f4" if float_color else "u1"
    dtype = [("x", "f4"), ("y", "f4"), ("z", "f4"), ("nx", "f4"),
             ("diffuse_red", color), ("diffuse_green", color), ("diffuse_blue", color)]  # fmt: skip
    v = np.zeros(n, dtype=dtype)
    for axis in ("x", "y", "z", "nx"):
        v[axis] = rng.uniform(-5, 5, n)
    for c in ("diffuse_red", "diffuse_green", "diffuse_blue"):
        v[c] = rng.uniform(0, 1, n) if float_color else rng.integers(0, 255, n)
    v["x"][:nan_rows] = np.nan
    faces = np.array([([0, 1, 2],)], dtype=[("vertex_indices", "i4", (3,))])
    PlyData(
        [PlyElement.describe(v, "vertex"), PlyElement.describe(faces, "face")],
        text=text,
        byte_order=byte_order,
    ).write(str(path))
    return path


def _read(path: Path, limits: ReaderLimits | None = None) -> tuple[pa.Table, object]:
    reader = open_reader(path, limits or ReaderLimits(batch_rows=128))
    table = pa.Table.from_batches(list(reader.iter_batches()))
    reader.close()
    return table, reader


@pytest.mark.parametrize(("text", "order"), [(False, "<"), (False, ">"), (True, "=")])
def test_reads_ply(tmp_path: Path, text: bool, order: str) -> None:
    path = _write_ply(tmp_path / "a.ply", text=text, byte_order=order)
    src = PlyData.read(str(path))["vertex"].data
    table, _ = _read(path)
    assert table.num_rows == 500
    np.testing.assert_allclose(table["x"].to_numpy(), src["x"].astype(np.float64))
    assert table.column_names == ["x", "y", "z", "red", "green", "blue", "nx", "row_id"]
    assert table.schema.field("red").type == pa.uint8()
    assert table["red"].to_pylist()[:5] == src["diffuse_red"][:5].tolist()


def test_float_colours_are_scaled(tmp_path: Path) -> None:
    table, _ = _read(_write_ply(tmp_path / "f.ply", float_color=True))
    assert table.schema.field("red").type == pa.uint8()
    assert max(table["red"].to_pylist()) > 200


def _claim_more(path: Path, claimed: int, actual: int) -> None:
    data = path.read_bytes().replace(
        f"element vertex {actual}\n".encode(), f"element vertex {claimed}\n".encode(), 1
    )
    path.write_bytes(data)


@pytest.mark.parametrize("text", [False, True])
def test_header_claims_more_vertices_than_file(tmp_path: Path, text: bool) -> None:
    path = _write_ply(tmp_path / "m.ply", 100, text=text)
    _claim_more(path, 100_000_000, 100)
    with pytest.raises(FormatError) as info:
        _read(path)
    assert info.value.code == "count_exceeds_file"


def test_ply_vertex_cap(tmp_path: Path) -> None:
    path = _write_ply(tmp_path / "c.ply", 100)
    with pytest.raises(FormatError) as info:
        _read(path, ReaderLimits(max_points=10))
    assert info.value.code == "too_many_points"


def test_nan_vertices_dropped(tmp_path: Path) -> None:
    table, reader = _read(_write_ply(tmp_path / "n.ply", 100, nan_rows=3))
    assert table.num_rows == 97
    assert reader.info.dropped == {"nan_or_missing_coordinate": 3}  # type: ignore[attr-defined]


def test_all_nan_vertices_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError) as info:
        _read(_write_ply(tmp_path / "n.ply", 100, nan_rows=100))
    assert info.value.code == "no_valid_rows"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n", "invalid_header"),
        (b"ply\nformat weird 1.0\nend_header\n", "invalid_header"),
        (b"ply\nformat ascii 1.0\nelement face 1\nproperty float q\nend_header\n1\n",
         "unsupported_layout"),
        (b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\n"
         b"property float y\nproperty float z\nend_header\n", "count_exceeds_file"),
    ],
)  # fmt: skip
def test_broken_ply(tmp_path: Path, header: bytes, code: str) -> None:
    (tmp_path / "b.ply").write_bytes(header)
    with pytest.raises(FormatError) as info:
        _read(tmp_path / "b.ply")
    assert info.value.code == code


def test_ascii_ply_size_cap(tmp_path: Path) -> None:
    path = _write_ply(tmp_path / "big.ply", 200, text=True)
    with pytest.raises(FormatError) as info:
        _read(path, ReaderLimits(max_ascii_ply_bytes=100))
    assert info.value.code == "file_too_large"
