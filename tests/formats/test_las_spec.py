"""Every LAS the specification allows, with truth from laspy; and headers whose declared
counts the file cannot hold, refused before laspy walks them."""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import laspy
import numpy as np
import pyarrow as pa
import pytest
from laspy.vlrs.vlrlist import VLRList
from tests.realdata import realdata

from spatialviz.formats import FormatError, ReaderLimits, open_reader
from spatialviz.formats.las_header import POINT_RECORD_SIZE

_VERSIONS = {"1.0": range(2), "1.1": range(2), "1.2": range(4), "1.3": range(6), "1.4": range(11)}
_CASES = [(v, pf) for v, formats in _VERSIONS.items() for pf in formats]


def _read_all(path: Path, limits: ReaderLimits | None = None) -> pa.Table:
    reader = open_reader(path, limits or ReaderLimits(batch_rows=100))
    try:
        return pa.Table.from_batches(list(reader.iter_batches()))
    finally:
        reader.close()


def _write(path: Path, header: laspy.LasHeader, n: int, *, compress: bool = False) -> laspy.LasData:
    rng = np.random.default_rng(7)
    las = laspy.LasData(header)
    las.x = rng.uniform(0, 100, n)
    las.y = rng.uniform(0, 100, n)
    las.z = rng.uniform(0, 10, n)
    for dim in header.point_format.standard_dimension_names:
        if dim in ("X", "Y", "Z"):
            continue
        info = header.point_format.dimension_by_name(dim)
        top = min(
            2 ** min(info.num_bits, 16) - 1,
            2**15 - 1 if info.kind.name == "SignedInteger" else 2**16,
        )
        if info.kind.name == "FloatingPoint":
            las[dim] = rng.uniform(0, 1000, n)
        else:
            las[dim] = rng.integers(0, max(top, 1), n, endpoint=True)
    las.write(str(path), laz_backend=laspy.LazBackend.Lazrs if compress else None)
    return las


def _assert_matches_laspy(table: pa.Table, path: Path) -> None:
    truth = laspy.read(str(path))
    assert table.num_rows == len(truth.points)
    np.testing.assert_allclose(table["x"].to_numpy(), np.asarray(truth.x))
    np.testing.assert_allclose(table["z"].to_numpy(), np.asarray(truth.z))
    assert table["row_id"].to_pylist() == list(range(len(truth.points)))
    for dim in truth.point_format.dimension_names:
        if dim in ("X", "Y", "Z", "scan_angle", "scan_angle_rank"):
            continue
        values = np.asarray(truth[dim])
        name = dim.lower()
        if values.ndim == 1:
            got = table[_column(table, name)].to_numpy()
            np.testing.assert_array_equal(got, values, err_msg=dim)
        else:
            for i in range(values.shape[1]):
                got = table[f"{name}_{i}"].to_numpy()
                np.testing.assert_array_equal(got, values[:, i], err_msg=f"{dim}[{i}]")


def _column(table: pa.Table, name: str) -> str:
    # an extra dimension named like a standard one (Intensity) gets a suffix
    return name if name in table.column_names else f"{name}_2"


@pytest.mark.parametrize(("version", "point_format"), _CASES)
def test_every_point_format_of_every_version(
    tmp_path: Path, version: str, point_format: int
) -> None:
    path = tmp_path / "p.las"
    written = "1.1" if version == "1.0" else version  # laspy writes 1.1 and up
    _write(path, laspy.LasHeader(point_format=point_format, version=written), 250)
    if version == "1.0":
        data = bytearray(path.read_bytes())
        data[25] = 0  # 1.0 has the 1.1 header layout
        path.write_bytes(bytes(data))
    table = _read_all(path)
    _assert_matches_laspy(table, path)


@pytest.mark.parametrize("point_format", [1, 3, 6, 8, 10])
def test_laz_of_the_point_formats(tmp_path: Path, point_format: int) -> None:
    path = tmp_path / "p.laz"
    _write(path, laspy.LasHeader(point_format=point_format, version="1.4"), 250, compress=True)
    _assert_matches_laspy(_read_all(path), path)


_EXTRA_TYPES = ["u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8"]


@pytest.mark.parametrize("compress", [False, True])
def test_extra_bytes_of_every_type_and_array_size(tmp_path: Path, compress: bool) -> None:
    header = laspy.LasHeader(point_format=6, version="1.4")
    params = [laspy.ExtraBytesParams(f"e_{t}", t) for t in _EXTRA_TYPES]
    params += [laspy.ExtraBytesParams(f"a{k}_{t}", f"{k}{t}") for k in (2, 3) for t in _EXTRA_TYPES]
    params.append(
        laspy.ExtraBytesParams("scaled", "i4", scales=np.array([0.1]), offsets=np.array([5.0]))
    )
    header.add_extra_dims(params)
    n = 300
    las = laspy.LasData(header)
    rng = np.random.default_rng(3)
    las.x = rng.uniform(0, 10, n)
    las.y = rng.uniform(0, 10, n)
    las.z = rng.uniform(0, 10, n)
    for p in params:
        shape = (n,) if p.type.shape == () else (n, *p.type.shape)
        las[p.name] = rng.integers(0, 100, shape)
    path = tmp_path / ("e.laz" if compress else "e.las")
    las.write(str(path), laz_backend=laspy.LazBackend.Lazrs if compress else None)
    table = _read_all(path)
    _assert_matches_laspy(table, path)
    assert table.schema.field("e_u8").type == pa.uint64()
    assert table.schema.field("a3_i2_2").type == pa.int16()
    assert table.schema.field("scaled").type == pa.float64()  # scale and offset applied


def test_wanted_columns_take_the_elements_of_an_array_dimension(tmp_path: Path) -> None:
    header = laspy.LasHeader(point_format=3, version="1.4")
    header.add_extra_dims([laspy.ExtraBytesParams("Colors", "3u2")])
    path = tmp_path / "w.las"
    _write(path, header, 50)
    wanted = frozenset(("colors_1",))
    table = _read_all(path, ReaderLimits(wanted_columns=wanted))
    assert set(table.column_names) == {"x", "y", "z", "row_id", "colors_1"}


def test_evlrs_are_read(tmp_path: Path) -> None:
    header = laspy.LasHeader(point_format=6, version="1.4")
    las = laspy.LasData(header)
    las.x, las.y, las.z = np.arange(20.0), np.arange(20.0), np.arange(20.0)
    las.evlrs = VLRList([laspy.VLR("spatialviz", 1, "an extended record", b"x" * 1000)])
    path = tmp_path / "evlr.las"
    las.write(str(path))
    assert laspy.read(str(path)).header.number_of_evlrs == 1
    _assert_matches_laspy(_read_all(path), path)


def test_real_extrabytes_file_keeps_its_extra_dimensions() -> None:
    path = realdata("extrabytes.las")
    table = _read_all(path, ReaderLimits())
    _assert_matches_laspy(table, path)
    truth = laspy.read(str(path))
    assert {"colors_0", "colors_1", "colors_2", "flags_0", "flags_1", "time"} <= set(
        table.column_names
    )
    assert table.schema.field("time").type == pa.uint64()
    assert table["time"].to_pylist() == np.asarray(truth["Time"]).tolist()
    assert table["intensity_2"].to_pylist() == np.asarray(truth["Intensity"]).tolist()


def test_real_copc_file() -> None:
    path = realdata("simple.copc.laz")
    _assert_matches_laspy(_read_all(path, ReaderLimits()), path)


# --- headers that lie ---------------------------------------------------------------------


def _small_las(tmp_path: Path, *, version: str = "1.2", point_format: int = 3) -> bytearray:
    path = tmp_path / "small.las"
    _write(path, laspy.LasHeader(point_format=point_format, version=version), 10)
    return bytearray(path.read_bytes())


def _refusal(path: Path) -> tuple[str, int]:
    """The refusal's code and the peak memory Python allocated while refusing."""
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as info:
            _read_all(path, ReaderLimits())
        return info.value.code, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _patched(tmp_path: Path, data: bytearray, fmt: str, offset: int, value: int) -> Path:
    struct.pack_into(fmt, data, offset, value)
    path = tmp_path / "lying.las"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("version", "fmt", "offset", "value", "code"),
    [
        # 1.07 billion VLRs in a 600-byte file: laspy walked them for minutes, memory rising
        ("1.2", "<I", 100, 1_073_741_824, "count_exceeds_file"),
        # billions of points: over the cap, and (under it) more than the file holds
        ("1.4", "<Q", 247, 4_000_000_000, "too_many_points"),
        ("1.4", "<Q", 247, 1_900_000_000, "count_exceeds_file"),
        ("1.2", "<I", 107, 1_900_000_000, "count_exceeds_file"),
        # point data "starting" inside the header or past the end
        ("1.2", "<I", 96, 100, "invalid_header"),
        ("1.2", "<I", 96, 4_000_000_000, "truncated_file"),
        # a point format the specification does not have, records too short for theirs
        ("1.2", "<B", 104, 11, "unsupported_layout"),
        ("1.2", "<H", 105, 20, "invalid_header"),
        ("1.2", "<B", 24, 2, "unsupported_layout"),
    ],
)
def test_lying_header_is_refused_before_laspy_reads_it(
    tmp_path: Path, version: str, fmt: str, offset: int, value: int, code: str
) -> None:
    data = _small_las(tmp_path, version=version, point_format=6 if version == "1.4" else 3)
    got, peak = _refusal(_patched(tmp_path, data, fmt, offset, value))
    assert got == code
    assert peak < 50 * 1024 * 1024


def test_evlrs_declared_outside_the_file_are_refused(tmp_path: Path) -> None:
    data = _small_las(tmp_path, version="1.4", point_format=6)
    struct.pack_into("<I", data, 243, 1)
    assert _refusal(_patched(tmp_path, data, "<Q", 235, 10**12))[0] == "invalid_header"


def test_a_billion_evlrs_at_the_end_of_the_file_are_refused(tmp_path: Path) -> None:
    data = _small_las(tmp_path, version="1.4", point_format=6)
    struct.pack_into("<Q", data, 235, len(data) - 60)
    code, peak = _refusal(_patched(tmp_path, data, "<I", 243, 1_000_000_000))
    assert code == "count_exceeds_file"
    assert peak < 50 * 1024 * 1024


def test_an_evlr_longer_than_the_file_is_refused(tmp_path: Path) -> None:
    """laspy reads an EVLR's 64-bit length as it is: 2**40 asked Python for a terabyte."""
    las = laspy.LasData(laspy.LasHeader(point_format=6, version="1.4"))
    las.x, las.y, las.z = np.arange(20.0), np.arange(20.0), np.arange(20.0)
    las.evlrs = VLRList([laspy.VLR("spatialviz", 1, "an extended record", b"x" * 1000)])
    path = tmp_path / "e.las"
    las.write(str(path))
    data = bytearray(path.read_bytes())
    (start,) = struct.unpack_from("<Q", data, 235)
    code, peak = _refusal(_patched(tmp_path, data, "<Q", start + 20, 2**40))
    assert code == "truncated_file"
    assert peak < 50 * 1024 * 1024


def test_extra_bytes_longer_than_the_record_are_refused(tmp_path: Path) -> None:
    header = laspy.LasHeader(point_format=3, version="1.4")
    header.add_extra_dims([laspy.ExtraBytesParams("wide", "3f8")])
    path = tmp_path / "wide.las"
    _write(path, header, 10)
    data = bytearray(path.read_bytes())
    short = _patched(tmp_path, data, "<H", 105, POINT_RECORD_SIZE[3] + 8)  # one of three fits
    assert _refusal(short)[0] == "invalid_header"


_CHUNK_BOMB = """
import sys
from pathlib import Path
from laspy.vlrs.vlrlist import VLRList

from spatialviz.formats import FormatError, ReaderLimits, open_reader
try:
    reader = open_reader(Path(sys.argv[1]), ReaderLimits())
    for _ in reader.iter_batches():
        pass
except FormatError as exc:
    print(exc.code)
"""


def test_laz_chunk_table_declaring_billions_of_chunks_is_refused(tmp_path: Path) -> None:
    """lazrs allocates the declared chunk table at once: 2e9 chunks aborted the process
    (SIGABRT, 32 GB asked). Run in a child so a regression fails this test, not the run."""
    path = tmp_path / "c.laz"
    _write(path, laspy.LasHeader(point_format=3, version="1.2"), 1000, compress=True)
    data = bytearray(path.read_bytes())
    (start,) = struct.unpack_from("<I", data, 96)
    (table,) = struct.unpack_from("<q", data, start)
    struct.pack_into("<I", data, table + 4, 2_000_000_000)
    path.write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-c", _CHUNK_BOMB, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "count_exceeds_file"
