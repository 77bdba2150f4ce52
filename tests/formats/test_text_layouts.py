"""Text point formats as other tools write them: ``.pts`` with its count line, aligned
``.xyz`` columns, ``//X Y Z`` headers, and PLY headers as lenient as other readers."""

from __future__ import annotations

import struct
from pathlib import Path

import pyarrow as pa
import pytest

from spatialviz.formats import ReaderLimits, detect_format, open_reader


def _read(path: Path) -> tuple[pa.Table, list[str]]:
    reader = open_reader(path, ReaderLimits(batch_rows=2))
    try:
        return pa.Table.from_batches(list(reader.iter_batches())), reader.info.notes
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("row", "attributes"),
    [
        ("{x} {y} {z}", []),
        ("{x} {y} {z} -120", ["intensity"]),
        ("{x} {y} {z} 10 20 30", ["red", "green", "blue"]),
        ("{x} {y} {z} -120 10 20 30", ["red", "green", "blue", "intensity"]),
    ],
)
def test_pts_with_its_count_line(tmp_path: Path, row: str, attributes: list[str]) -> None:
    rows = [row.format(x=i + 0.5, y=i * 2, z=-i) for i in range(5)]
    path = tmp_path / "scan.pts"
    path.write_text("5\n" + "\n".join(rows) + "\n")
    table, notes = _read(path)
    assert table.num_rows == 5
    assert table.column_names == ["x", "y", "z", *attributes, "row_id"]
    assert table["x"].to_pylist() == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert table["z"].to_pylist() == [0.0, -1.0, -2.0, -3.0, -4.0]
    assert table["row_id"].to_pylist() == list(range(5))
    assert "count line skipped (5 rows declared)" in notes


def test_aligned_columns_with_runs_of_blanks(tmp_path: Path) -> None:
    """Fixed-width exports: leading blanks, runs of spaces, tabs, blanks before CRLF."""
    path = tmp_path / "aligned.xyz"
    path.write_bytes(b"  1.000   2.000    3.000\n 10.000  20.000   30.000  \r\n\t7\t8\t 9\n")
    table, _ = _read(path)
    assert table["x"].to_pylist() == [1.0, 10.0, 7.0]
    assert table["y"].to_pylist() == [2.0, 20.0, 8.0]
    assert table["z"].to_pylist() == [3.0, 30.0, 9.0]
    assert table.column_names == ["x", "y", "z", "row_id"]


def test_blank_runs_across_read_blocks(tmp_path: Path) -> None:
    from spatialviz.formats import delimited

    lines = [
        f"{' ' * (i % 5)}{i}{' ' * (1 + i % 3)}{i * 2}\t {i * 3}{' ' * (i % 2)}"
        for i in range(3000)
    ]
    path = tmp_path / "many.xyz"
    path.write_text("\n".join(lines) + "\n")
    original = delimited._READ_BYTES
    delimited._READ_BYTES = 7  # every block boundary falls somewhere awkward
    try:
        table, _ = _read(path)
    finally:
        delimited._READ_BYTES = original
    assert table["x"].to_pylist() == [float(i) for i in range(3000)]
    assert table["z"].to_pylist() == [float(i * 3) for i in range(3000)]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.txt", "3\n1,2,3\n4,5,6\n7,8,9\n"),
        ("b.txt", "//X Y Z\n1 2 3\n4 5 6\n7 8 9\n"),
        ("c.txt", "//X,Y,Z\n1,2,3\n4,5,6\n7,8,9\n"),
        ("d.xyz", "# exported\n3\n1 2 3\n4 5 6\n7 8 9\n"),
        ("e.txt", "x;y;z\n1;2;3\n4;5;6\n7;8;9\n"),
    ],
)
def test_txt_and_xyz_with_or_without_count_lines_and_headers(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    table, _ = _read(path)
    assert table.column_names == ["x", "y", "z", "row_id"]
    assert table["y"].to_pylist() == [2.0, 5.0, 8.0]


def test_a_column_of_integers_is_not_a_count_line(tmp_path: Path) -> None:
    path = tmp_path / "ints.txt"
    path.write_text("5\n3\n4\n")
    table, _ = _read(path)
    assert table["x"].to_pylist() == [5.0, 3.0, 4.0]


_VERTEX_HEADER = "element vertex 2\nproperty float x\nproperty float y\nproperty float z\n"


@pytest.mark.parametrize("magic", ["ply \n", "ply\t\n", "ply \r\n", "ply\r"])
@pytest.mark.parametrize("binary", [False, True])
def test_ply_magic_with_trailing_blanks_and_any_line_ending(
    tmp_path: Path, magic: str, binary: bool
) -> None:
    end = magic[len(magic.rstrip("\r\n")) :]
    header = _VERTEX_HEADER.replace("\n", end)
    fmt = "binary_little_endian" if binary else "ascii"
    head = f"{magic}format {fmt} 1.0 {end}comment  made by hand{end}{header}end_header {end}"
    data = struct.pack("<6f", 1, 2, 3, 4, 5, 6) if binary else f"1 2 3{end}4 5 6{end}".encode()
    path = tmp_path / "cloud.ply"
    path.write_bytes(head.encode() + data)
    assert detect_format(path) == "ply"
    table, _ = _read(path)
    assert table["x"].to_pylist() == [1.0, 4.0]
    assert table["z"].to_pylist() == [3.0, 6.0]


def test_ascii_ply_with_faces_after_the_vertices(tmp_path: Path) -> None:
    path = tmp_path / "mesh.ply"
    path.write_text(
        "ply \nformat ascii 1.0\n" + _VERTEX_HEADER
        + "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
        + "1 2 3\n4 5 6\n3 0 1 1\n"
    )  # fmt: skip
    table, _ = _read(path)
    assert table.num_rows == 2
