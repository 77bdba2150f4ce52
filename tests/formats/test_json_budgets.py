"""Nesting and size budgets for JSON readers: bombs refused before a parser builds them,
and the byte scanner that enforces them agrees with a plain character-by-character one."""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from spatialviz.formats import FormatError, ReaderLimits, open_reader
from spatialviz.formats.errors import NestingTooDeepError, RecordTooLargeError
from spatialviz.formats.json_guard import JsonDepthScanner, first_line_too_deep

DEEP = 200_000  # 400 KB of brackets: took an ingest worker to 9.9 GB


def _read(path: Path, limits: ReaderLimits | None = None) -> pa.Table:
    reader = open_reader(path, limits or ReaderLimits())
    try:
        return pa.Table.from_batches(list(reader.iter_batches()))
    finally:
        reader.close()


def _refusal(path: Path, limits: ReaderLimits | None = None) -> tuple[str, int]:
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as info:
            _read(path, limits)
        return info.value.code, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _collection(features: str) -> str:
    return '{"type": "FeatureCollection", "features": [' + features + "]}"


def _point(props: str = "{}", coords: str = "[1, 2, 3]") -> str:
    geometry = '{"type": "Point", "coordinates": ' + coords + "}"
    return '{"type": "Feature", "geometry": ' + geometry + ', "properties": ' + props + "}"


@pytest.mark.parametrize(
    "text",
    [
        _collection(_point(props='{"a": ' + "[" * DEEP + "]" * DEEP + "}")),
        _collection(_point(coords="[" * DEEP + "]" * DEEP)),
        '{"type": "FeatureCollection", "x": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}",
        "{" + '"a": {' * DEEP + "}" * DEEP,  # not even valid: refused before that matters
    ],
    ids=["properties", "coordinates", "foreign-member", "unclosed"],
)
def test_geojson_nesting_bomb_is_refused_in_small_memory(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.geojson"
    path.write_text(text)
    code, peak = _refusal(path)
    assert code == "nesting_too_deep"
    assert peak < 50 * 1024 * 1024


def test_ndjson_nesting_bomb_is_refused_in_small_memory(tmp_path: Path) -> None:
    path = tmp_path / "deep.ndjson"
    good = '{"x": 1, "y": 2, "z": 3}\n'
    path.write_text(good * 3 + '{"x": 1, "y": 2, "z": ' + "[" * DEEP + "]" * DEEP + "}\n")
    code, peak = _refusal(path)
    assert code == "nesting_too_deep"
    assert peak < 50 * 1024 * 1024


def test_a_deep_first_line_is_detected_and_refused_not_a_crash(tmp_path: Path) -> None:
    """Detection parses the first line to tell NDJSON from GeoJSON; a line nested past
    Python's recursion limit raised RecursionError out of detection (a 500 / traceback)."""
    path = tmp_path / "deep.ndjson"
    path.write_text('{"a": ' + "[" * 5000 + "]" * 5000 + '}\n{"x": 1, "y": 2}\n')
    assert _refusal(path)[0] == "nesting_too_deep"


def test_ordinary_nesting_still_reads(tmp_path: Path) -> None:
    nested = "[" * 40 + "1" + "]" * 40
    polygon = '{"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}'
    feature = (
        '{"type": "Feature", "geometry": ' + polygon + ', "properties": {"n": ' + nested + "}}"
    )
    collection = '{"type": "GeometryCollection", "geometries": [' + polygon + "]}"
    other = '{"type": "Feature", "geometry": ' + collection + ', "properties": {"s": "[[[["}}'
    path = tmp_path / "fine.geojson"
    path.write_text(_collection(feature + ", " + other))
    table = _read(path, ReaderLimits(max_json_depth=48))
    assert table.num_rows == 8
    lines = tmp_path / "fine.ndjson"
    lines.write_text(('{"x": 1, "y": 2, "z": 3, "n": ' + nested + "}\n") * 2)
    assert _read(lines, ReaderLimits(max_json_depth=48)).num_rows == 2


def test_a_feature_over_the_record_budget_is_refused(tmp_path: Path) -> None:
    coords = "[" + ", ".join(f"[{i}, {i}]" for i in range(5_000)) + "]"
    line = '{"type": "LineString", "coordinates": ' + coords + "}"
    big = '{"type": "Feature", "geometry": ' + line + ', "properties": {}}'
    path = tmp_path / "big.geojson"
    path.write_text(_collection(_point() + ", " + big))
    limits = ReaderLimits(max_record_bytes=20_000)
    assert _refusal(path, limits)[0] == "record_too_large"
    assert _read(path, ReaderLimits(max_record_bytes=200_000)).num_rows == 5_001


# --- the scanner against a reference ------------------------------------------------------


def _reference(text: str, record_depth: int) -> tuple[int, int]:
    """(deepest level, longest stay at record_depth or deeper), one character at a time."""
    depth = deepest = longest = 0
    inside = escaped = False
    since = 0
    for i, ch in enumerate(text):
        if inside:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                inside = False
        elif ch == '"':
            inside = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if depth == record_depth:
                since = i
        elif ch in "]}":
            depth -= 1
            if depth == record_depth - 1:
                longest = max(longest, i - since)
    return deepest, longest


_TRICKY = ['a\\"[{', "\\\\", "x]}", "", '\\\\\\"', '\\\\\\\\"[[', "{]"]


def _value(rng: random.Random, depth: int) -> Any:
    r = rng.random()
    if depth > 10 or r < 0.3:
        return rng.choice([1, 2.5, None, True, *_TRICKY])
    if r < 0.65:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["k", '"[', "\\", "q\\\\"]): _value(rng, depth + 1) for _ in range(3)}


def _split(rng: random.Random, data: bytes) -> list[bytes]:
    cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randint(0, 6))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def _passes(scanner: JsonDepthScanner, parts: list[bytes]) -> bool:
    try:
        for part in parts:
            scanner.feed(part)
    except (NestingTooDeepError, RecordTooLargeError):
        return False
    return True


def test_scanner_agrees_with_a_character_by_character_reference() -> None:
    """Strings holding brackets, quotes and runs of backslashes, cut into blocks anywhere
    (a block may end inside a string or in the middle of an escape)."""
    rng = random.Random(11)
    for _ in range(800):
        data = json.dumps(_value(rng, 0)).encode()
        deepest, longest = _reference(data.decode(), 3)
        parts = _split(rng, data)
        assert _passes(JsonDepthScanner(max_depth=deepest), parts)
        if deepest:
            assert not _passes(JsonDepthScanner(max_depth=deepest - 1), parts)
        if longest:
            ok = JsonDepthScanner(max_depth=99, record_depth=3, max_record_bytes=longest)
            assert _passes(ok, parts)
            over = JsonDepthScanner(max_depth=99, record_depth=3, max_record_bytes=longest - 1)
            assert not _passes(over, parts)
        lines = [json.dumps(_value(rng, 0)).encode() for _ in range(rng.randint(1, 5))]
        limit = rng.randint(0, 6)
        depths = [_reference(line.decode(), 3)[0] for line in lines]
        expected = next((i for i, d in enumerate(depths) if d > limit), None)
        assert first_line_too_deep(b"\n".join(lines) + b"\n", limit) == expected
