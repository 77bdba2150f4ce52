from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spatialviz.styling.colormaps import apply_colormap, palette_table
from spatialviz.styling.encoding import validate_encoding
from spatialviz.styling.parquet_stats import parquet_column_stats, parquet_schema_columns
from spatialviz.styling.transform import (
    axes_metadata,
    nice_step,
    nice_ticks,
    transform_batch,
    transform_parquet,
)


def _table(n: int = 1000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "x": rng.uniform(0, 100, n),
            "y": rng.uniform(0, 50, n),
            "z": rng.uniform(-2, 8, n),
            "intensity": rng.integers(0, 4000, n).astype(np.uint16),
            "classification": rng.integers(0, 8, n).astype(np.uint8),
            "red": rng.integers(0, 65536, n).astype(np.uint16),
            "green": rng.integers(0, 65536, n).astype(np.uint16),
            "blue": rng.integers(0, 65536, n).astype(np.uint16),
            "station": pa.array(rng.choice(["a", "b", "c"], n)),
            "row_id": np.arange(n, dtype=np.int64),
        }
    )


def _write(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "canonical.parquet"
    pq.write_table(table, path, row_group_size=300)
    return path


def _resolve(path: Path, encoding: dict[str, Any]) -> Any:
    schema = parquet_schema_columns(path)
    return validate_encoding(encoding, schema, parquet_column_stats(path))


def test_default_rgb_stream_matches_canonical_convention(tmp_path: Path) -> None:
    table = _table()
    path = _write(tmp_path, table)
    enc = _resolve(path, {})
    out = pa.Table.from_batches(list(transform_parquet(path, enc, batch_rows=256)))
    assert out.column_names == [
        "x",
        "y",
        "z",
        "red",
        "green",
        "blue",
        "intensity",
        "classification",
        "station",
        "row_id",
    ]
    assert out.schema.field("red").type == pa.uint8()
    assert out.schema.field("x").type == pa.float64()
    np.testing.assert_array_equal(
        out["red"].to_numpy(), (table["red"].to_numpy() >> 8).astype(np.uint8)
    )
    np.testing.assert_array_equal(out["row_id"].to_numpy(), np.arange(1000))


def test_filter_and_continuous_colour(tmp_path: Path) -> None:
    table = _table()
    path = _write(tmp_path, table)
    enc = _resolve(
        path,
        {
            "color": {
                "mode": "continuous",
                "column": "intensity",
                "colormap": "plasma",
                "range": [0, 4000],
            },
            "filter": [
                {"column": "classification", "op": "in", "value": [2, 3]},
                {"column": "z", "op": "between", "value": [0, 5.5]},
                {"column": "intensity", "op": ">", "value": -1},
                {"column": "station", "op": "!=", "value": "c"},
            ],
        },
    )
    out = pa.Table.from_batches(list(transform_parquet(path, enc)))
    cls = table["classification"].to_numpy()
    z = table["z"].to_numpy()
    st = np.array(table["station"].to_pylist())
    keep = np.isin(cls, [2, 3]) & (z >= 0) & (z <= 5.5) & (st != "c")
    np.testing.assert_array_equal(out["row_id"].to_numpy(), np.flatnonzero(keep))
    expected = apply_colormap(table["intensity"].to_numpy()[keep].astype(float), 0, 4000, "plasma")
    np.testing.assert_array_equal(out["green"].to_numpy(), expected[:, 1])


def test_chart_box_scaling_and_constant_colour_and_size_column() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "x": [0.0, 0.0],
            "y": [0.0, 0.0],
            "z": [0.0, 0.0],
            "temp": [10.0, 30.0],
            "hum": pa.array([0, 100], type=pa.uint8()),
            "flag": [True, False],
            "row_id": pa.array([5, 9], type=pa.int64()),
        }
    )
    schema = [{"name": f.name, "type": str(f.type)} for f in batch.schema]
    enc = validate_encoding(
        {
            "position": {
                "x": "temp",
                "y": "hum",
                "z": "flag",
                "chart_box": {
                    "size": [2, 1, 1],
                    "x_range": [10, 30],
                    "y_range": [0, 100],
                    "z_range": [0, 1],
                },
            },
            "color": {"mode": "constant", "value": "#FF8000"},
            "size": {"mode": "column", "column": "temp", "range": [2, 6], "domain": [10, 30]},
        },
        schema,
    )
    out = transform_batch(batch, enc)
    assert out["x"].to_pylist() == [0.0, 2.0]
    assert out["y"].to_pylist() == [0.0, 1.0]
    assert out["z"].to_pylist() == [1.0, 0.0]
    assert out["red"].to_pylist() == [255, 255]
    assert out["green"].to_pylist() == [128, 128]
    assert out["point_size"].to_pylist() == [2.0, 6.0]
    assert "temp" in out.schema.names
    assert out["row_id"].to_pylist() == [5, 9]


def test_categorical_colour_is_deterministic_per_row(tmp_path: Path) -> None:
    table = _table(200)
    path = _write(tmp_path, table)
    enc = _resolve(path, {"color": {"mode": "categorical", "column": "classification"}})
    out = pa.Table.from_batches(list(transform_parquet(path, enc, batch_rows=33)))
    pal = palette_table("tableau10")
    expected = pal[table["classification"].to_numpy() % 10]
    np.testing.assert_array_equal(out["blue"].to_numpy(), expected[:, 2])


@pytest.mark.parametrize(
    ("span", "step"), [(10, 2), (1, 0.2), (0.037, 0.01), (12345, 2000), (7, 1), (100, 20)]
)
def test_nice_step(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_nice_ticks() -> None:
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(-3.3, 7.1) == [-2, 0, 2, 4, 6]
    assert nice_ticks(0.1, 0.35) == [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]
    assert nice_ticks(5, 5) == [5]
    assert nice_ticks(float("nan"), 1) == []


def test_axes_metadata(tmp_path: Path) -> None:
    path = _write(tmp_path, _table())
    stats = parquet_column_stats(path)
    enc = _resolve(path, {})
    axes = axes_metadata(enc, stats)
    assert set(axes) == {"x", "y", "z"}
    assert axes["x"]["label"] == "x"
    lo, hi = axes["x"]["min"], axes["x"]["max"]
    assert lo is not None
    assert hi is not None
    assert axes["x"]["ticks"][0] >= lo
    assert axes["x"]["ticks"][-1] <= hi
    box = _resolve(path, {"position": {"x": "intensity", "chart_box": {"size": [1, 1, 1]}}})
    axes = axes_metadata(box, stats)
    assert axes["x"]["column"] == "intensity"
    assert axes["x"]["scene_min"] == 0.0
    assert axes["x"]["scene_max"] == 1.0


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ({"column": "t", "op": ">=", "value": "2024-03-01"}, [1]),
        ({"column": "t", "op": "<", "value": 1_710_000_000_000_000}, [0]),
        ({"column": "ok", "op": "==", "value": True}, [0, 2]),
        ({"column": "n", "op": "between", "value": [1.5, 3]}, [1, 2]),
        ({"column": "n", "op": "<", "value": -1}, []),
        ({"column": "z", "op": "in", "value": [1, 3]}, [0, 2]),
        ({"column": "z", "op": "!=", "value": 2}, [0, 2]),
    ],
)
def test_filter_types(clause: dict[str, Any], expected: list[int]) -> None:
    import datetime as dt

    batch = pa.RecordBatch.from_pydict(
        {
            "x": [0.0, 1.0, 2.0],
            "y": [0.0, 0.0, 0.0],
            "z": [1.0, 2.0, 3.0],
            "t": pa.array(
                [dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 1), None], pa.timestamp("us")
            ),
            "ok": [True, False, True],
            "n": pa.array([1, 2, 3], type=pa.uint32()),
            "row_id": pa.array([0, 1, 2], type=pa.int64()),
        }
    )
    schema = [{"name": f.name, "type": str(f.type)} for f in batch.schema]
    enc = validate_encoding({"filter": [clause]}, schema, {"z": {"min": 0, "max": 3}})
    assert transform_batch(batch, enc)["row_id"].to_pylist() == expected


def _regions_batch() -> tuple[pa.RecordBatch, list[dict[str, Any]], dict[str, Any]]:
    region = pa.array(["north", "south", None, "east", "north", "atlantis"])
    batch = pa.record_batch(
        {
            "x": pa.array(np.arange(6.0)),
            "y": pa.array(np.arange(6.0)),
            "z": pa.array(np.arange(6.0)),
            "region": region,
            "row_id": pa.array(np.arange(6, dtype=np.int64)),
        }
    )
    schema = [
        {"name": "x", "type": "double"},
        {"name": "y", "type": "double"},
        {"name": "z", "type": "double"},
        {"name": "region", "type": "string"},
        {"name": "row_id", "type": "int64", "role": "row_id"},
    ]
    stats = {
        "x": {"min": 0, "max": 5},
        "y": {"min": 0, "max": 5},
        "z": {"min": 0, "max": 5},
        "region": {"categories": ["north", "south", "east"]},
    }
    return batch, schema, stats


def test_a_text_colour_column_travels_as_category_codes() -> None:
    """Coloured by a text column, the tiles carry its codes (index in the statistics'
    categories; anything else, null included, the next code), so a client can recolour by
    it and hide classes; the text itself never reaches the tiles."""
    batch, schema, stats = _regions_batch()
    enc = validate_encoding({"color": {"mode": "categorical", "column": "region"}}, schema, stats)
    out = transform_batch(batch, enc)
    codes = out.column(out.schema.get_field_index("region"))
    assert codes.type == pa.uint16()
    assert codes.to_pylist() == [0, 1, 3, 2, 0, 3]


def test_text_columns_stay_text_unless_the_colour_asks_for_them() -> None:
    batch, schema, stats = _regions_batch()
    enc = validate_encoding({"color": {"mode": "continuous", "column": "z"}}, schema, stats)
    out = transform_batch(batch, enc)
    assert out.schema.field("region").type == pa.string()  # left out by the tiler's columns
