"""Text columns' categories in the ingest statistics: names with counts, most frequent
first, bounded (past MAX_CATEGORIES distinct values, or for long free text, "other")."""

from __future__ import annotations

import pyarrow as pa

from spatialviz.formats.stats import MAX_CATEGORIES, MAX_CATEGORY_CHARS, ColumnStats


def test_counts_across_batches_and_dictionary_arrays() -> None:
    stats = ColumnStats("region")
    stats.add(pa.array(["north", "south", "north", None]))
    stats.add(pa.array(["south", "south", "east"]).dictionary_encode())
    out = stats.to_json()
    assert out["categories"] == ["south", "north", "east"]
    assert out["category_counts"] == [3, 2, 1]
    assert out["other_count"] == 0
    assert out["null_count"] == 1
    assert "min" not in out


def test_ties_are_ordered_by_name() -> None:
    stats = ColumnStats("label")
    stats.add(pa.array(["b", "a", "c", "a", "b", "c"]))
    assert stats.to_json()["categories"] == ["a", "b", "c"]


def test_bounded_the_rest_is_other() -> None:
    stats = ColumnStats("id_text")
    values = [f"v{i:04d}" for i in range(MAX_CATEGORIES + 50)]
    stats.add(pa.array(values))
    stats.add(pa.array(["v0000", "new one", "x" * (MAX_CATEGORY_CHARS + 1)]))
    out = stats.to_json()
    assert len(out["categories"]) == MAX_CATEGORIES
    assert out["categories"][0] == "v0000"
    assert out["category_counts"][0] == 2
    # 50 past the bound in the first batch, then a new value and a long one.
    assert out["other_count"] == 52
    assert sum(out["category_counts"]) + out["other_count"] == stats.count


def test_numbers_have_no_categories() -> None:
    stats = ColumnStats("height")
    stats.add(pa.array([1.0, 2.0]))
    assert "categories" not in stats.to_json()
