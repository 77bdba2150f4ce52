from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spatialviz.formats import (
    FormatError,
    IngestCancelledError,
    ReaderLimits,
    open_reader,
    read_canonical,
    write_canonical,
)


def test_las_to_canonical_round_trip(tmp_path: Path, make_las: Callable[..., Path]) -> None:
    src = make_las("c.las", 3000)
    calls: list[tuple[int, int | None]] = []
    dest = tmp_path / "out.parquet"
    result = write_canonical(
        open_reader(src, ReaderLimits(batch_rows=1000)),
        dest,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1000, 3000), (2000, 3000), (3000, 3000)]
    assert result.rows == 3000
    assert result.rows_dropped == {}
    assert result.row_groups == 3
    assert pq.ParquetFile(dest).metadata.num_row_groups == 3
    assert result.crs_epsg == 2154
    roles = {c.name: c.role for c in result.columns}
    assert roles["x"] == "position"
    assert roles["red"] == "color"
    assert roles["row_id"] == "row_id"
    assert roles["intensity"] == "attribute"
    units = {c.name: c.unit for c in result.columns}
    assert units["x"] == "metre"
    x = pq.read_table(dest, columns=["x"])["x"].to_numpy()
    assert result.bounds is not None
    assert result.bounds["min"][0] == x.min()
    assert result.bounds["max"][0] == x.max()
    stats = result.stats["intensity"]
    assert stats["count"] == 3000
    assert stats["null_count"] == 0
    histogram = stats.get("histogram")
    assert histogram is not None
    assert sum(histogram["counts"]) == 3000
    assert 32 <= len(histogram["counts"]) <= 64 or stats.get("max") == stats.get("min")
    payload = json.dumps(result.to_json())  # JSON-serialisable as stored on the Dataset row
    assert "position" in payload

    back = read_canonical(dest, ReaderLimits(batch_rows=500))
    table = pa.Table.from_batches(list(back.iter_batches()))
    assert table.num_rows == 3000
    assert back.info.crs_epsg == 2154
    assert back.result is not None
    assert back.result.rows == 3000
    assert table["row_id"].to_pylist() == list(range(3000))
    back.close()


def test_histogram_is_exact_when_range_grows(tmp_path: Path) -> None:
    values = np.concatenate([np.linspace(0, 1, 500), np.linspace(-1000, 5000, 500)])
    lines = ["x,y,z,v"] + [f"{i},{i},0,{v}" for i, v in enumerate(values)]
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    result = write_canonical(
        open_reader(tmp_path / "h.csv", ReaderLimits(batch_rows=100)), tmp_path / "h.parquet"
    )
    hist = result.stats["v"]["histogram"]
    assert hist is not None
    assert sum(hist["counts"]) == 1000
    assert hist["min"] <= -1000
    assert hist["min"] + hist["bin_width"] * len(hist["counts"]) >= 5000
    assert result.stats["v"]["mean"] == pytest.approx(values.mean())


def test_cancel_leaves_nothing(tmp_path: Path, make_las: Callable[..., Path]) -> None:
    dest = tmp_path / "out.parquet"
    with pytest.raises(IngestCancelledError):
        write_canonical(
            open_reader(make_las("c.las", 1000), ReaderLimits(batch_rows=100)),
            dest,
            cancel=lambda: True,
        )
    assert list(tmp_path.glob("out*")) == []


def test_reader_error_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("x,y,z\n" + "1,1,1\n" * 10 + "nan,1,1\n" * 200)
    dest = tmp_path / "out.parquet"
    with pytest.raises(FormatError) as info:
        write_canonical(open_reader(tmp_path / "b.csv", ReaderLimits(batch_rows=5)), dest)
    assert info.value.code == "invalid_coordinates"
    assert list(tmp_path.glob("out*")) == []


def test_schema_drift_is_conformed(tmp_path: Path) -> None:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]},
         "properties": {"a": i} if i < 3 else {"a": "text", "late": 1}}
        for i in range(6)
    ]  # fmt: skip
    (tmp_path / "d.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    result = write_canonical(
        open_reader(tmp_path / "d.geojson", ReaderLimits(batch_rows=3)), tmp_path / "d.parquet"
    )
    table = pq.read_table(tmp_path / "d.parquet")
    assert table["a"].to_pylist() == [0, 1, 2, None, None, None]
    assert "late" not in table.column_names
    assert any("late" in n for n in result.notes)


@pytest.mark.parametrize("compression", ["zstd", "lz4"])
def test_compression_choice(
    tmp_path: Path, make_las: Callable[..., Path], compression: str
) -> None:
    dest = tmp_path / "c.parquet"
    write_canonical(open_reader(make_las("c.las", 100), ReaderLimits()), dest,
                    compression=compression)  # type: ignore[arg-type]  # fmt: skip
    codec = pq.ParquetFile(dest).metadata.row_group(0).column(0).compression
    assert codec.lower().startswith(compression)
