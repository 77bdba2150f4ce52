from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spatialviz.spatialindex.index import (
    MAX_AXIS_INDEXES,
    IndexSettings,
    QueryLimitError,
    QueryLimits,
    RowNotFound,
    SpatialIndex,
    default_index_dir,
    morton_codes,
    pick_row,
)

N = 24_000
SMALL = IndexSettings(rows_per_group=512, memory_rows=3_000, read_batch_rows=2_000)


def _data(seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    uniform = rng.uniform([0, 0, 0], [100, 80, 20], size=(N // 2, 3))
    centres = rng.uniform([10, 10, 2], [90, 70, 18], size=(4, 3))
    blobs = np.concatenate([c + rng.normal(0, 0.3, size=(N // 8, 3)) for c in centres])
    xyz = np.concatenate([uniform, blobs])
    # A tight duplicate cluster bigger than memory_rows forces the deepest partition path.
    xyz[:4_000] = [50.0, 40.0, 10.0]
    perm = rng.permutation(N)
    xyz = xyz[perm]
    return pa.table(
        {
            "x": xyz[:, 0],
            "y": xyz[:, 1],
            "z": xyz[:, 2],
            "intensity": rng.integers(0, 5000, N).astype(np.uint16),
            "label": pa.array(rng.choice(["a", "b"], N)),
            "row_id": np.arange(N, dtype=np.int64),
        }
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, Path, SpatialIndex]:
    table = _data()
    path = tmp_path_factory.mktemp("q") / "canonical.parquet"
    pq.write_table(table, path, row_group_size=5_000)
    index = SpatialIndex.open(path, settings=SMALL)
    return table, path, index


def _xyz(table: pa.Table) -> np.ndarray:
    return np.stack([table[c].to_numpy() for c in "xyz"], axis=1)


def test_index_is_a_permutation_with_exact_group_boxes(
    dataset: tuple[pa.Table, Path, SpatialIndex],
) -> None:
    _table, path, index = dataset
    assert default_index_dir(path).is_dir()
    assert index.total_rows == N
    stored = pq.read_table(index.index_dir / "points.parquet")
    assert sorted(stored["row_id"].to_pylist()) == list(range(N))
    assert index.file.metadata.num_row_groups == len(index.rows)
    for g in range(len(index.rows)):
        xyz = _xyz(index.file.read_row_group(g, columns=["x", "y", "z"]))
        np.testing.assert_array_equal(xyz.min(axis=0), index.lo[g])
        np.testing.assert_array_equal(xyz.max(axis=0), index.hi[g])
    # Re-opening reuses the cache; touching the source rebuilds it.
    before = (index.index_dir / "manifest.json").stat().st_mtime_ns
    SpatialIndex.open(path, settings=SMALL)
    assert (index.index_dir / "manifest.json").stat().st_mtime_ns == before


def test_box_matches_brute_force(dataset: tuple[pa.Table, Path, SpatialIndex]) -> None:
    table, _, index = dataset
    xyz = _xyz(table)
    lo, hi = np.array([20.0, 10.0, 0.0]), np.array([60.0, 45.0, 12.0])
    inside = np.all((xyz >= lo) & (xyz <= hi), axis=1)
    result = index.box(lo.tolist(), hi.tolist(), samples=50)
    assert result.count == int(inside.sum())
    inten = table["intensity"].to_numpy()[inside].astype(float)
    assert result.stats["intensity"].min == inten.min()
    assert result.stats["intensity"].max == inten.max()
    assert result.stats["intensity"].mean == pytest.approx(inten.mean())
    assert result.stats["x"].max == pytest.approx(xyz[inside, 0].max())
    assert "row_id" not in result.stats
    assert "label" not in result.stats
    assert len(result.samples) == 50
    ids = {s["row_id"] for s in result.samples}
    assert len(ids) == 50
    assert ids <= set(np.flatnonzero(inside).tolist())
    assert {"x", "y", "z", "intensity", "label", "row_id"} <= set(result.samples[0])
    # Evenly spread: the samples span most of the box, not one corner.
    sx = np.array([s["x"] for s in result.samples])
    assert sx.max() - sx.min() > 0.6 * (hi[0] - lo[0])
    assert result.scanned_rows < N
    assert set(result.to_dict()) == {"count", "stats", "samples"}


def test_sphere_matches_brute_force(dataset: tuple[pa.Table, Path, SpatialIndex]) -> None:
    table, _, index = dataset
    xyz = _xyz(table)
    for centre, radius in [
        ((50.0, 40.0, 10.0), 5.0),
        ((10.0, 70.0, 3.0), 12.0),
        ((-50, -50, -50), 1.0),
    ]:
        c = np.array(centre)
        inside = np.linalg.norm(xyz - c, axis=1) <= radius
        result = index.sphere(list(centre), radius, samples=10)
        assert result.count == int(inside.sum())
        assert len(result.samples) == min(10, int(inside.sum()))
    empty = index.sphere([-50, -50, -50], 1.0)
    assert empty.count == 0
    assert empty.stats["x"].mean is None


def test_knn_matches_brute_force(dataset: tuple[pa.Table, Path, SpatialIndex]) -> None:
    table, _, index = dataset
    xyz = _xyz(table)
    for point, k in [((33.3, 22.2, 5.0), 25), ((500.0, 500.0, 500.0), 7), ((50.1, 40.0, 10.0), 3)]:
        d = np.linalg.norm(xyz - np.array(point), axis=1)
        expected = np.sort(d)[:k]
        result = index.knn(list(point), k)
        got = np.array([n.distance for n in result.neighbours])
        np.testing.assert_allclose(got, expected)
        for n in result.neighbours:
            assert d[n.row["row_id"]] == pytest.approx(n.distance)
    assert index.knn([33.3, 22.2, 5.0], 5).scanned_rows < N


def test_pick(dataset: tuple[pa.Table, Path, SpatialIndex]) -> None:
    table, path, index = dataset
    row = index.pick(12_345)
    assert row == table.slice(12_345, 1).to_pylist()[0]
    with pytest.raises(RowNotFound):
        pick_row(path, N + 5)
    with pytest.raises(QueryLimitError) as info:
        pick_row(path, -1)
    assert info.value.field == "row"


def test_limits(dataset: tuple[pa.Table, Path, SpatialIndex]) -> None:
    _, path, _ = dataset
    tight = SpatialIndex.open(
        path,
        settings=SMALL,
        limits=QueryLimits(max_samples=100, max_k=10, max_scan_rows=4_000, max_region_fraction=0.5),
    )
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: tight.box([0, 0, 0], [100, 80, 20]), "max"),
        (lambda: tight.box([0, 0, 0], [1, 1, 1], samples=101), "samples"),
        (lambda: tight.box([5, 5, 5], [1, 1, 1]), "max"),
        (lambda: tight.box([0, 0, float("nan")], [1, 1, 1]), "min"),
        (lambda: tight.sphere([50, 40, 10], 30), "radius"),
        (lambda: tight.sphere([50, 40, 10], -1), "radius"),
        (lambda: tight.knn([1, 2], 3), "point"),
        (lambda: tight.knn([1, 2, 3], 11), "k"),
        (lambda: tight.knn([1, 2, 3], 0), "k"),
    ]
    for call, field in cases:
        with pytest.raises(QueryLimitError) as info:
            call()
        assert info.value.field == field
    # Scan budget: a small region around the dense duplicate cluster reaches > 4000 rows.
    with pytest.raises(QueryLimitError, match="may read"):
        tight.sphere([50, 40, 10], 0.5)


def test_morton_codes_order_octants() -> None:
    lo, hi = np.zeros(3), np.ones(3)
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=float)
    codes = morton_codes(pts, lo, hi)
    assert codes[0] == 0
    assert codes[1] < codes[2] < codes[3] < codes[4]
    assert int(codes[4]) == (1 << 48) - 1


def test_empty_dataset(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(_data().slice(0, 0), path)
    index = SpatialIndex.open(path, settings=SMALL)
    assert index.box([0, 0, 0], [1, 1, 1]).count == 0
    assert index.knn([0, 0, 0], 3).neighbours == []


def test_an_index_over_other_columns_for_a_chart(
    dataset: tuple[pa.Table, Path, SpatialIndex],
) -> None:
    """A chart's axes are columns other than x, y, z: their index lives beside the x/y/z
    one (its own folder), takes nulls (never inside a box) and answers like brute force."""
    table, path, plain = dataset
    rng = np.random.default_rng(5)
    score = rng.normal(0, 1, N)
    score[rng.choice(N, 500, replace=False)] = np.nan
    chart = table.append_column("score", pa.array(score, from_pandas=True))
    chart_path = path.with_name("chart.parquet")
    pq.write_table(chart, chart_path, row_group_size=5_000)
    columns = ("intensity", "score", "x")
    index = SpatialIndex.open(chart_path, settings=SMALL, columns=columns)
    assert index.index_dir == default_index_dir(chart_path, columns)
    assert index.index_dir != default_index_dir(chart_path)
    values = np.column_stack(
        [np.asarray(chart[c].to_numpy(zero_copy_only=False), dtype=np.float64) for c in columns]
    )
    lo, hi = np.array([1000.0, -0.5, 20.0]), np.array([3000.0, 1.0, 70.0])
    result = index.box(lo.tolist(), hi.tolist(), samples=10_000)
    inside = np.all((values >= lo) & (values <= hi), axis=1)
    assert result.count == int(inside.sum()) > 0
    assert {s["row_id"] for s in result.samples} == set(np.flatnonzero(inside).tolist())
    assert plain.columns == ("x", "y", "z")


def test_axis_indexes_per_file_are_bounded_least_recently_used_first(
    dataset: tuple[pa.Table, Path, SpatialIndex],
) -> None:
    """Each set of chart axes gets an index that copies the file's rows: at most
    MAX_AXIS_INDEXES stay beside one file, the least recently opened is removed first (the
    x/y/z index is never), and a query over evicted axes rebuilds them and answers."""
    table, path, plain = dataset
    chart_path = path.with_name("axes.parquet")
    pq.write_table(table, chart_path, row_group_size=5_000)
    SpatialIndex.open(chart_path, settings=SMALL)
    triples = [("intensity", "x", "y"), ("x", "intensity", "y"), ("y", "x", "intensity")]
    triples += [("z", "x", "intensity"), ("intensity", "z", "y"), ("y", "z", "x")]
    assert len(triples) > MAX_AXIS_INDEXES
    first = triples[0]
    for columns in triples[:MAX_AXIS_INDEXES]:
        SpatialIndex.open(chart_path, settings=SMALL, columns=columns)
    # Used again: the next eviction takes the second, not the first.
    SpatialIndex.open(chart_path, settings=SMALL, columns=first)
    for columns in triples[MAX_AXIS_INDEXES:]:
        SpatialIndex.open(chart_path, settings=SMALL, columns=columns)

    kept = {c for c in triples if default_index_dir(chart_path, c).is_dir()}
    assert len(kept) == MAX_AXIS_INDEXES
    assert first in kept
    assert triples[1] not in kept
    assert triples[2] not in kept
    assert default_index_dir(chart_path).is_dir()  # x/y/z: never evicted

    again = SpatialIndex.open(chart_path, settings=SMALL, columns=triples[1])
    values = np.column_stack(
        [np.asarray(table[c].to_numpy(zero_copy_only=False), dtype=np.float64) for c in triples[1]]
    )
    lo, hi = np.array([10.0, 1000.0, 5.0]), np.array([60.0, 3000.0, 50.0])
    inside = np.all((values >= lo) & (values <= hi), axis=1)
    assert again.box(lo.tolist(), hi.tolist()).count == int(inside.sum()) > 0
    assert plain.columns == ("x", "y", "z")
