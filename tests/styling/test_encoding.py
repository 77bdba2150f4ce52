from __future__ import annotations

from typing import Any

import pytest

from spatialviz.styling.encoding import (
    ColumnSpec,
    ColumnStats,
    Encoding,
    EncodingError,
    ResolvedContinuous,
    ResolvedRgb,
    is_style_only_change,
    validate_encoding,
)

LIDAR = [
    {"name": "x", "type": "double", "role": "position", "unit": "m"},
    {"name": "y", "type": "double", "role": "position", "unit": "m"},
    {"name": "z", "type": "double", "role": "position", "unit": "m"},
    {"name": "intensity", "type": "uint16", "role": "attribute"},
    {"name": "classification", "type": "uint8", "role": "attribute"},
    {"name": "red", "type": "uint16", "role": "color"},
    {"name": "green", "type": "uint16", "role": "color"},
    {"name": "blue", "type": "uint16", "role": "color"},
    {"name": "row_id", "type": "int64", "role": "row_id"},
]
TABLE = [
    ColumnSpec(name="x", type="double", role="position"),
    ColumnSpec(name="y", type="double", role="position"),
    ColumnSpec(name="z", type="double", role="position"),
    ColumnSpec(name="temperature", type="double", unit="°C"),
    ColumnSpec(name="pressure", type="float", unit="hPa"),
    ColumnSpec(name="time", type="timestamp[us]"),
    ColumnSpec(name="station", type="string"),
    ColumnSpec(name="row_id", type="int64", role="row_id"),
]
STATS: dict[str, Any] = {
    "x": {"min": 0, "max": 10},
    "y": {"min": 0, "max": 20},
    "z": {"min": -5, "max": 5},
    "temperature": {"min": -10, "max": 35},
    "pressure": {"min": 950, "max": 1050},
    "time": {"min": 0, "max": 1000},
    "red": {"min": 0, "max": 65535},
    "green": {"min": 0, "max": 60000},
    "blue": {"min": 0, "max": 100},
    "intensity": {"min": 0, "max": 4000},
}


def test_empty_encoding_uses_rgb_when_present() -> None:
    r = validate_encoding({}, LIDAR, STATS)
    assert (r.x, r.y, r.z) == ("x", "y", "z")
    assert isinstance(r.color, ResolvedRgb)
    assert r.color.shift == 8
    assert r.attributes == ["intensity", "classification"]
    assert r.filter == []


def test_8bit_colour_in_16bit_fields_is_not_shifted() -> None:
    stats = {**STATS, "red": {"min": 0, "max": 255}, "green": {"min": 0, "max": 200}}
    assert validate_encoding(None, LIDAR, stats).color == ResolvedRgb(shift=0)


def test_empty_encoding_without_rgb_colours_height_with_viridis() -> None:
    r = validate_encoding(Encoding(), TABLE, STATS)
    assert r.color == ResolvedContinuous(column="z", colormap="viridis", range=(-5.0, 5.0))


@pytest.mark.parametrize(
    ("encoding", "field"),
    [
        ({"color": {"mode": "continuous", "column": "nope"}}, "encoding.color.column"),
        ({"color": {"mode": "continuous", "column": "station"}}, "encoding.color.column"),
        ({"color": {"mode": "rgb"}}, "encoding.color.mode"),
        ({"color": {"mode": "constant", "value": "blue"}}, "encoding.color.constant.value"),
        ({"color": {"mode": "rainbow"}}, "encoding.color"),
        ({"position": {"x": "station"}}, "encoding.position.x"),
        ({"position": {"z": "missing"}}, "encoding.position.z"),
        ({"size": {"mode": "column", "column": "station"}}, "encoding.size.column"),
        ({"filter": [{"column": "zz", "op": "<", "value": 1}]}, "encoding.filter[0].column"),
        ({"filter": [{"column": "station", "op": "<", "value": "a"}]}, "encoding.filter[0].op"),
        (
            {
                "filter": [
                    {"column": "x", "op": ">", "value": 0},
                    {"column": "x", "op": "<", "value": "a"},
                ]
            },
            "encoding.filter[1].value",
        ),
        ({"filter": [{"column": "x", "op": "between", "value": [3]}]}, "encoding.filter[0].value"),
        (
            {"filter": [{"column": "x", "op": "between", "value": [3, 1]}]},
            "encoding.filter[0].value",
        ),
        ({"filter": [{"column": "x", "op": "in", "value": 3}]}, "encoding.filter[0].value"),
        ({"filter": [{"column": "x", "op": "==", "value": [3]}]}, "encoding.filter[0].value"),
        ({"filter": [{"column": "x", "op": "~", "value": 3}]}, "encoding.filter.0.op"),
        ({"colour": {"mode": "rgb"}}, "encoding.colour"),
    ],
)
def test_errors_name_the_field(encoding: dict[str, Any], field: str) -> None:
    with pytest.raises(EncodingError) as info:
        validate_encoding(encoding, TABLE, STATS)
    assert info.value.field == field


def test_continuous_range_needs_stats_or_explicit_range() -> None:
    enc: dict[str, Any] = {
        "color": {"mode": "continuous", "column": "temperature", "colormap": "magma"}
    }
    with pytest.raises(EncodingError) as info:
        validate_encoding(enc, TABLE, {})
    assert info.value.field == "encoding.color.range"
    enc["color"]["range"] = [0, 30]
    assert validate_encoding(enc, TABLE, {}).color == ResolvedContinuous(
        column="temperature", colormap="magma", range=(0.0, 30.0)
    )


def test_chart_box_resolves_domains_and_keeps_source_columns() -> None:
    enc = {
        "position": {
            "x": "time",
            "y": "temperature",
            "z": "pressure",
            "chart_box": {"size": [2, 1, 1], "z_range": [900, 1100]},
        },
        "color": {"mode": "categorical", "column": "station"},
        "filter": [{"column": "station", "op": "in", "value": ["a", "b"]}],
    }
    r = validate_encoding(enc, TABLE, STATS)
    assert r.chart_box is not None
    assert r.chart_box.x.min == 0
    assert r.chart_box.x.max == 1000
    assert r.chart_box.y.label == "temperature (°C)"
    assert (r.chart_box.z.min, r.chart_box.z.max) == (900, 1100)
    assert "temperature" in r.attributes
    assert "station" in r.attributes
    assert "x" not in r.attributes


def test_resolved_encoding_round_trips_as_json() -> None:
    r = validate_encoding({"size": {"mode": "column", "column": "pressure"}}, TABLE, STATS)
    again = type(r).model_validate(r.model_dump(mode="json"))
    assert again == r
    assert again.size.mode == "column"


def test_column_stats_model() -> None:
    assert ColumnStats.model_validate({"min": 1, "max": 2, "histogram": [1]}).max == 2


def test_style_only_change() -> None:
    base: dict[str, Any] = {
        "position": {"x": "x"},
        "filter": [{"column": "x", "op": ">", "value": 1}],
    }
    recolor = {
        **base,
        "color": {"mode": "continuous", "column": "temperature"},
        "size": {"mode": "constant", "px": 4},
    }
    assert is_style_only_change(base, recolor)
    refilter = {**base, "filter": [{"column": "x", "op": ">", "value": 2}]}
    assert not is_style_only_change(base, refilter)
    moved = {**base, "position": {"x": "y"}}
    assert not is_style_only_change(base, moved)
    a = validate_encoding(base, TABLE, STATS)
    b = validate_encoding(recolor, TABLE, STATS)
    assert is_style_only_change(a, b)
    with pytest.raises(TypeError):
        is_style_only_change(a, Encoding())
