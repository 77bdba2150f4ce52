from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import laspy
import numpy as np
import pyarrow as pa
import pytest

from spatialviz.formats import FormatError, ReaderLimits, open_reader


def _read_all(path: Path, limits: ReaderLimits) -> pa.Table:
    reader = open_reader(path, limits)
    try:
        return pa.Table.from_batches(list(reader.iter_batches()))
    finally:
        reader.close()


def _code(path: Path, limits: ReaderLimits | None = None) -> str:
    with pytest.raises(FormatError) as info:
        _read_all(path, limits or ReaderLimits())
    return info.value.code


@pytest.mark.parametrize(
    ("point_format", "version", "compress"),
    [(3, "1.2", False), (1, "1.3", False), (7, "1.4", False), (3, "1.2", True), (7, "1.4", True)],
)
def test_reads_las_and_laz(
    make_las: Callable[..., Path],
    limits: ReaderLimits,
    point_format: int,
    version: str,
    compress: bool,
) -> None:
    ext = "laz" if compress else "las"
    path = make_las(f"c.{ext}", 1000, point_format=point_format, version=version, compress=compress)
    src = laspy.read(str(path))
    reader = open_reader(path, limits)
    batches = list(reader.iter_batches())
    assert all(b.num_rows <= limits.batch_rows for b in batches)
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 1000
    assert table.schema.field("x").type == pa.float64()
    np.testing.assert_allclose(table["x"].to_numpy(), np.asarray(src.x))
    np.testing.assert_allclose(table["z"].to_numpy(), np.asarray(src.z))
    assert table["row_id"].to_pylist() == list(range(1000))
    assert table["classification"].to_pylist() == np.asarray(src.classification).tolist()
    assert "intensity" in table.column_names
    if point_format in (3, 7):
        assert table.schema.field("red").type == pa.uint16()
        assert table.column_names[3:6] == ["red", "green", "blue"]
    assert reader.info.crs_epsg == 2154
    assert reader.info.crs_wkt
    assert "Lambert" in reader.info.crs_wkt
    assert reader.info.units["x"] == "metre"
    assert reader.info.declared_rows == 1000
    reader.close()


@pytest.mark.parametrize("compress", [False, True])
def test_las_reads_only_the_wanted_columns(make_las: Callable[..., Path], compress: bool) -> None:
    """A caller that needs colour only (tiling with --attributes rgb) does not pay for
    unpacking every other dimension; positions and row ids always come."""
    name = "w.laz" if compress else "w.las"
    path = make_las(name, 500, point_format=7, version="1.4", compress=compress)
    src = laspy.read(str(path))
    wanted = frozenset(("red", "green", "blue", "classification"))
    table = _read_all(path, ReaderLimits(wanted_columns=wanted))
    assert set(table.column_names) == {"x", "y", "z", "row_id"} | wanted
    assert table["red"].to_pylist() == np.asarray(src.red).tolist()
    assert table["classification"].to_pylist() == np.asarray(src.classification).tolist()
    np.testing.assert_allclose(table["y"].to_numpy(), np.asarray(src.y))
    # Asking for a column the file does not have is no error: there is just none.
    table = _read_all(path, ReaderLimits(wanted_columns=frozenset(("temperature",))))
    assert set(table.column_names) == {"x", "y", "z", "row_id"}


def test_las_without_crs(make_las: Callable[..., Path], limits: ReaderLimits) -> None:
    reader = open_reader(make_las("nocrs.las", 10, epsg=None), limits)
    assert reader.info.crs_epsg is None
    assert "x" not in reader.info.units
    reader.close()


def test_truncated_las(make_las: Callable[..., Path]) -> None:
    path = make_las("t.las", 1000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000 * 34 // 2 - 7])  # cut inside a record
    assert _code(path) == "truncated_file"


def test_las_cut_inside_header(make_las: Callable[..., Path]) -> None:
    path = make_las("h.las", 10)
    path.write_bytes(path.read_bytes()[:150])
    assert _code(path) == "truncated_file"


def _patch_count(path: Path, count: int) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 107, min(count, 2**32 - 1))
    if data[24:26] == bytes([1, 4]):
        struct.pack_into("<Q", data, 247, count)
    path.write_bytes(bytes(data))


def test_header_claims_more_points_than_file(make_las: Callable[..., Path]) -> None:
    path = make_las("more.las", 100)
    _patch_count(path, 5000)
    assert _code(path) == "count_exceeds_file"


def test_laz_bomb_refused_before_decoding(make_las: Callable[..., Path]) -> None:
    path = make_las("bomb.laz", 500, point_format=7, version="1.4", compress=True)
    _patch_count(path, 1_000_000_000)
    with pytest.raises(FormatError) as info:
        open_reader(path, ReaderLimits())  # refused at open, before any decoding
    assert info.value.code == "decompression_bomb"


def test_laz_claiming_more_points_stops_with_error(make_las: Callable[..., Path]) -> None:
    path = make_las("short.laz", 2000, point_format=7, version="1.4", compress=True)
    _patch_count(path, 2600)  # a plausible ratio, but the data holds only 2000
    assert _code(path) in {"truncated_file", "corrupt_file"}


def test_truncated_laz(make_las: Callable[..., Path]) -> None:
    path = make_las("cut.laz", 5000, point_format=3, compress=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert _code(path) in {"truncated_file", "corrupt_file"}


def test_point_cap(make_las: Callable[..., Path]) -> None:
    path = make_las("cap.las", 100)
    assert _code(path, ReaderLimits(max_points=50)) == "too_many_points"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0])
def test_las_with_unusable_scale(make_las: Callable[..., Path], bad: float) -> None:
    path = make_las("nan.las", 100)
    data = bytearray(path.read_bytes())
    struct.pack_into("<d", data, 131, bad)  # x scale factor
    path.write_bytes(bytes(data))
    assert _code(path) == "invalid_header"


def test_las_with_infinite_offset(make_las: Callable[..., Path]) -> None:
    path = make_las("inf.las", 100)
    data = bytearray(path.read_bytes())
    struct.pack_into("<d", data, 163, float("inf"))  # z offset
    path.write_bytes(bytes(data))
    assert _code(path) == "invalid_header"
