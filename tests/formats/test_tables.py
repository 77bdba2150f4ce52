from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from spatialviz.formats import FormatError, PositionOverride, ReaderLimits, open_reader
from spatialviz.formats.base import PointReader
from spatialviz.formats.delimited import CsvReader


def _read(
    path: Path, limits: ReaderLimits | None = None, columns: PositionOverride | None = None
) -> tuple[pa.Table, PointReader]:
    reader = open_reader(path, limits or ReaderLimits(batch_rows=64), columns=columns)
    batches = list(reader.iter_batches())
    reader.close()
    return pa.Table.from_batches(batches), reader


def _code(path: Path, **kwargs: object) -> str:
    with pytest.raises(FormatError) as info:
        _read(path, **kwargs)  # type: ignore[arg-type]
    return info.value.code


def test_csv_with_header(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 2},{i * 3},{i % 7},name{i}" for i in range(200))
    (tmp_path / "a.csv").write_text("X,Y,Z,Intensity,Label\n" + rows + "\n")
    table, reader = _read(tmp_path / "a.csv")
    assert table.num_rows == 200
    assert table.column_names == ["x", "y", "z", "intensity", "label", "row_id"]
    assert table["y"].to_pylist()[:3] == [0.0, 2.0, 4.0]
    assert table["row_id"].to_pylist() == list(range(200))
    assert reader.info.source_columns["x"] == "X"
    assert reader.info.source_columns["intensity"] == "Intensity"


@pytest.mark.parametrize("delim", ["\t", ";", " ", "|"])
def test_csv_delimiter_sniffing_without_header(tmp_path: Path, delim: str) -> None:
    body = "\n".join(delim.join(str(v) for v in (i, i + 0.5, -i, 255)) for i in range(50))
    (tmp_path / "p.xyz").write_text(body + "\n")
    table, reader = _read(tmp_path / "p.xyz")
    assert table.num_rows == 50
    assert table["x"].to_pylist()[1] == 1.0
    assert table["z"].to_pylist()[1] == -1.0
    # a row of numbers: x, y, z, then the other fields by position (no duplicate columns)
    assert table.column_names == ["x", "y", "z", "column_4", "row_id"]
    assert "columns named x, y, z, column_4" in reader.info.notes


def test_lon_lat_names_and_missing_z(tmp_path: Path) -> None:
    (tmp_path / "g.csv").write_text("city,Latitude,Longitude\nA,48.85,2.35\nB,51.5,-0.12\n")
    table, reader = _read(tmp_path / "g.csv")
    assert table["x"].to_pylist() == [2.35, -0.12]
    assert table["y"].to_pylist() == [48.85, 51.5]
    assert table["z"].to_pylist() == [0.0, 0.0]
    assert reader.info.crs_epsg == 4326
    assert "no z column: z = 0" in reader.info.notes


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("easting,northing,height", ["easting", "northing", "height"]),
        ("E,N,H", ["E", "N", "H"]),
        ("lng,lat,alt", ["lng", "lat", "alt"]),
        ("lon,lat,elevation", ["lon", "lat", "elevation"]),
    ],
)
def test_recognised_coordinate_names(tmp_path: Path, header: str, expected: list[str]) -> None:
    (tmp_path / "n.csv").write_text(f"{header}\n1,2,3\n")
    _, reader = _read(tmp_path / "n.csv")
    assert [reader.info.source_columns[a] for a in ("x", "y", "z")] == expected


def test_position_override(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text("a,b,c,d\n1,2,3,4\n5,6,7,8\n")
    table, _ = _read(tmp_path / "o.csv", columns=PositionOverride(x="d", y="c", z="a"))
    assert table["x"].to_pylist() == [4.0, 8.0]
    assert table["z"].to_pylist() == [1.0, 5.0]
    # Columns used as positions keep their own names too, so charts can label and colour by them.
    assert table.column_names == ["x", "y", "z", "a", "b", "c", "d", "row_id"]
    assert table["d"].to_pylist() == [4, 8]
    with pytest.raises(FormatError) as info:
        open_reader(tmp_path / "o.csv", ReaderLimits(), columns=PositionOverride(x="q", y="b"))
    assert info.value.code == "column_not_found"


def test_rgb_letters_are_colours_only_together(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("x,y,z,r,g,b\n1,2,3,255,0,10\n")
    table, _ = _read(tmp_path / "c.csv")
    assert table.column_names[3:6] == ["red", "green", "blue"]


def test_csv_without_numeric_columns(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("name,city\nann,paris\nbob,rome\n")
    assert _code(tmp_path / "t.csv") == "no_numeric_columns"


def test_ragged_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    lines = ["x,y,z"] + [f"{i},{i},{i}" for i in range(20)]
    lines[5] = "4,4"  # data row 4 is short
    lines[9] = "8,8,8,8"  # data row 8 is long
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    table, reader = _read(tmp_path / "r.csv")
    assert table.num_rows == 18
    assert reader.info.dropped == {"ragged_row": 2}
    ids = table["row_id"].to_pylist()
    assert 4 not in ids
    assert 8 not in ids
    assert table["x"].to_pylist() == [float(i) for i in ids]  # row ids are original rows


def test_mostly_ragged_file_is_refused(tmp_path: Path) -> None:
    lines = ["x,y,z", "1,2,3"] + ["1,2"] * 20
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    assert _code(tmp_path / "r.csv") == "ragged_rows"
    assert _code(tmp_path / "r.csv", limits=ReaderLimits(max_ragged_rows=5)) == "ragged_rows"


def test_bad_coordinates_dropped_and_counted(tmp_path: Path) -> None:
    lines = ["x,y,z"] + [f"{i},{i},{i}" for i in range(20)]
    lines[1] = "nan,1,1"
    lines[2] = "inf,1,1"
    lines[3] = ",1,1"
    (tmp_path / "b.csv").write_text("\n".join(lines) + "\n")
    table, reader = _read(tmp_path / "b.csv")
    assert table.num_rows == 17
    assert reader.info.dropped == {"nan_or_missing_coordinate": 2, "infinite_coordinate": 1}
    assert table["row_id"].to_pylist()[0] == 3


def test_text_in_coordinates_later_in_the_file(tmp_path: Path) -> None:
    lines = ["x,y,z,v"] + [f"{i},{i},{i},{i}" for i in range(3000)]
    lines[2500] = "oops,1,1,1"
    lines[2600] = "1,2,3,not-a-number"
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    reader = CsvReader(tmp_path / "late.csv", ReaderLimits(batch_rows=500), block_bytes=4096)
    table = pa.Table.from_batches(list(reader.iter_batches()))
    assert table.num_rows == 2999
    assert reader.info.dropped == {"nan_or_missing_coordinate": 1}
    assert table["row_id"].to_pylist() == [i for i in range(3000) if i != 2499]
    v = table["v"].to_pylist()
    assert v[2598] is None  # the unparseable attribute became null, the row stayed


def test_all_rows_bad_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("x,y,z\nnan,1,1\ninf,2,2\n")
    assert _code(tmp_path / "bad.csv") == "no_valid_rows"


def test_mostly_bad_rows_are_refused(tmp_path: Path) -> None:
    lines = ["x,y,z", "1,1,1"] + ["nan,1,1"] * 5
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    assert _code(tmp_path / "bad.csv") == "invalid_coordinates"


def test_header_only_csv(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("x,y,z\n")
    assert _code(tmp_path / "h.csv") == "no_valid_rows"


def _points_table(n: int = 300) -> pa.Table:
    return pa.table(
        {
            "Lon": np.linspace(0, 1, n),
            "Lat": np.linspace(40, 41, n),
            "value": np.arange(n, dtype=np.int32),
        }
    )


def test_parquet_and_arrow_family(tmp_path: Path) -> None:
    t = _points_table()
    pq.write_table(t, tmp_path / "t.parquet", row_group_size=100)
    feather.write_feather(t, tmp_path / "t.arrow")
    with ipc.new_stream(tmp_path / "t.arrows", t.schema) as w:
        w.write_table(t, max_chunksize=70)
    for name in ("t.parquet", "t.arrow", "t.arrows"):
        table, reader = _read(tmp_path / name)
        assert table.num_rows == 300, name
        assert table["x"].to_pylist()[-1] == 1.0
        assert table["value"].type == pa.int32()
        assert table["row_id"].to_pylist() == list(range(300))
        assert reader.info.crs_epsg == 4326


def test_parquet_row_cap(tmp_path: Path) -> None:
    pq.write_table(_points_table(), tmp_path / "t.parquet")
    assert _code(tmp_path / "t.parquet", limits=ReaderLimits(max_points=10)) == "too_many_points"


def test_ndjson(tmp_path: Path) -> None:
    lines = [json.dumps({"x": i, "y": i * 2, "z": 1.5, "tag": f"t{i}"}) for i in range(100)]
    lines[10] = "{not json"
    lines.insert(50, "")
    (tmp_path / "p.ndjson").write_text("\n".join(lines) + "\n")
    table, reader = _read(tmp_path / "p.ndjson")
    assert table.num_rows == 99
    assert reader.info.dropped == {"invalid_json_line": 1}
    assert 10 not in table["row_id"].to_pylist()
    assert table["tag"].to_pylist()[0] == "t0"


def test_ndjson_line_too_long(tmp_path: Path) -> None:
    (tmp_path / "l.ndjson").write_text('{"x": 1, "y": 2}\n{"x": "' + "a" * 5000 + '"}\n')
    assert _code(tmp_path / "l.ndjson", limits=ReaderLimits(max_record_bytes=1000)) == (
        "record_too_large"
    )


def test_ragged_rows_before_a_tolerant_restart_keep_row_ids(tmp_path: Path) -> None:
    lines = ["x,y,z"] + [f"{i},{i},{i}" for i in range(3000)]
    lines[101] = "1,2"  # data row 100 ragged
    lines[2001] = "1,2,3,4"  # data row 2000 ragged
    lines[2501] = "oops,1,1"  # data row 2500: text after the first block
    (tmp_path / "mix.csv").write_text("\n".join(lines) + "\n")
    reader = CsvReader(tmp_path / "mix.csv", ReaderLimits(batch_rows=300), block_bytes=4096)
    table = pa.Table.from_batches(list(reader.iter_batches()))
    expected = [i for i in range(3000) if i not in (100, 2000, 2500)]
    assert table["row_id"].to_pylist() == expected
    assert table["x"].to_pylist() == [float(i) for i in expected]
    assert reader.info.dropped == {"ragged_row": 2, "nan_or_missing_coordinate": 1}


@pytest.mark.parametrize("name", ["cap.csv", "cap.ndjson"])
def test_row_cap_without_header_count(tmp_path: Path, name: str) -> None:
    body = "x,y,z\n" + "1,2,3\n" * 100 if name.endswith(".csv") else '{"x": 1, "y": 2}\n' * 100
    (tmp_path / name).write_text(body)
    assert _code(tmp_path / name, limits=ReaderLimits(max_points=10)) == "too_many_points"
