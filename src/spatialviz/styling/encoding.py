"""The scene encoding: which columns become position, colour, size, and which rows show.

:class:`Encoding` is what a client sends (``POST /scenes {dataset_id, encoding}``);
:func:`validate_encoding` checks it against the dataset schema and statistics and returns a
:class:`ResolvedEncoding` in which every default is filled in and every range is concrete,
so that each tiling worker transforms its chunk of rows identically.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from spatialviz.styling.colormaps import ColormapName, PaletteName, parse_hex_color

Role = Literal["position", "color", "attribute", "row_id"]
FilterOp = Literal["<", "<=", ">", ">=", "==", "!=", "in", "between"]
Scalar: TypeAlias = float | int | str | bool
FilterValue: TypeAlias = Scalar | list[Scalar]

MAX_FILTER_CLAUSES = 16
MAX_IN_VALUES = 1_000
DEFAULT_POINT_SIZE_PX = 2.0


class EncodingError(ValueError):
    """An encoding does not fit the dataset. ``field`` is a dotted path such as
    ``encoding.color.column``; the API renders it as a 422 pointing at that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the dataset schema this module validates against ------------------------------------


class ColumnSpec(BaseModel):
    """One column of a dataset schema (as stored by ingest)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    type: str  # Arrow type string: "double", "uint16", "string", "timestamp[us]", ...
    role: Role = "attribute"
    unit: str | None = None


class ColumnStats(BaseModel):
    """Per-column statistics from ingest; only what encodings need."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    min: float | None = None
    max: float | None = None
    categories: list[Scalar] | None = None  # distinct values, when few


def type_kind(arrow_type: str) -> Literal["numeric", "text", "bool", "temporal", "other"]:
    t = arrow_type.strip().lower()
    if t in ("bool", "boolean"):
        return "bool"
    if re.match(r"^(u?int\d*|float\d*|double|halffloat|decimal)", t):
        return "numeric"
    if t.startswith(("string", "large_string", "utf8", "large_utf8")) or (
        t.startswith("dictionary") and ("string" in t or "utf8" in t)
    ):
        return "text"
    if t.startswith(("timestamp", "date", "time", "duration")):
        return "temporal"
    return "other"


# --- the request model ---------------------------------------------------------------------


class ChartBox(_Strict):
    """Scale tabular columns into a box: each axis's data range maps onto ``[0, size]``."""

    size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    z_range: tuple[float, float] | None = None

    @field_validator("size")
    @classmethod
    def _positive(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if not all(math.isfinite(s) and s > 0 for s in v):
            raise ValueError("every box size must be a positive number")
        return v


class PositionEncoding(_Strict):
    x: str | None = None
    y: str | None = None
    z: str | None = None
    chart_box: ChartBox | None = None


class RgbColor(_Strict):
    mode: Literal["rgb"] = "rgb"


class ContinuousColor(_Strict):
    mode: Literal["continuous"] = "continuous"
    column: str
    colormap: ColormapName = "viridis"
    range: tuple[float, float] | None = None


class CategoricalColor(_Strict):
    mode: Literal["categorical"] = "categorical"
    column: str
    palette: PaletteName = "tableau10"


class ConstantColor(_Strict):
    mode: Literal["constant"] = "constant"
    value: str = "#ffffff"

    @field_validator("value")
    @classmethod
    def _hex(cls, v: str) -> str:
        parse_hex_color(v)
        return v.lower()


ColorEncoding = Annotated[
    RgbColor | ContinuousColor | CategoricalColor | ConstantColor, Field(discriminator="mode")
]


class ConstantSize(_Strict):
    mode: Literal["constant"] = "constant"
    px: float = Field(default=DEFAULT_POINT_SIZE_PX, gt=0, le=64)


class ColumnSize(_Strict):
    mode: Literal["column"] = "column"
    column: str
    range: tuple[float, float] = (1.0, 8.0)  # pixels for the column's min and max
    domain: tuple[float, float] | None = None

    @field_validator("range")
    @classmethod
    def _px(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(0 < p <= 64 for p in v):
            raise ValueError("point sizes must be in (0, 64] px")
        return v


SizeEncoding = Annotated[ConstantSize | ColumnSize, Field(discriminator="mode")]


class FilterClause(_Strict):
    column: str
    op: FilterOp
    value: FilterValue


class Encoding(_Strict):
    """How a scene draws a dataset. Every part is optional; see :func:`validate_encoding`."""

    position: PositionEncoding = PositionEncoding()
    color: ColorEncoding | None = None
    size: SizeEncoding | None = None
    filter: list[FilterClause] = Field(default_factory=list, max_length=MAX_FILTER_CLAUSES)


# --- the resolved model --------------------------------------------------------------------


class AxisDomain(_Strict):
    column: str
    label: str
    unit: str | None
    min: float
    max: float


class ResolvedChartBox(_Strict):
    size: tuple[float, float, float]
    x: AxisDomain
    y: AxisDomain
    z: AxisDomain


class ResolvedRgb(_Strict):
    mode: Literal["rgb"] = "rgb"
    columns: tuple[str, str, str] = ("red", "green", "blue")
    shift: int = 0  # right shift bringing the channels to 8 bits (8 for 16-bit colour)


class ResolvedContinuous(_Strict):
    mode: Literal["continuous"] = "continuous"
    column: str
    colormap: ColormapName
    range: tuple[float, float]


class ResolvedCategorical(_Strict):
    mode: Literal["categorical"] = "categorical"
    column: str
    palette: PaletteName
    categories: list[Scalar] | None = None


ResolvedColor = Annotated[
    ResolvedRgb | ResolvedContinuous | ResolvedCategorical | ConstantColor,
    Field(discriminator="mode"),
]


class ResolvedColumnSize(_Strict):
    mode: Literal["column"] = "column"
    column: str
    range: tuple[float, float]
    domain: tuple[float, float]


ResolvedSize = Annotated[ConstantSize | ResolvedColumnSize, Field(discriminator="mode")]


class ResolvedEncoding(_Strict):
    """An encoding checked against one dataset, with every default and range filled in.

    Stored with the scene (``model_dump(mode="json")``) and handed to each tiling task.
    """

    x: str
    y: str
    z: str
    chart_box: ResolvedChartBox | None
    color: ResolvedColor
    size: ResolvedSize
    filter: list[FilterClause]
    attributes: list[str]  # columns carried into the tiles besides x/y/z/rgb/row_id
    units: dict[str, str | None] = Field(default_factory=dict)


# --- validation ----------------------------------------------------------------------------

_POSITION_DEFAULTS = ("x", "y", "z")
_RGB_COLUMNS = ("red", "green", "blue")
OUTPUT_RESERVED = frozenset({"x", "y", "z", "red", "green", "blue", "row_id", "point_size"})


def _as_schema(schema: Sequence[ColumnSpec | Mapping[str, Any]]) -> dict[str, ColumnSpec]:
    columns = [c if isinstance(c, ColumnSpec) else ColumnSpec.model_validate(c) for c in schema]
    return {c.name: c for c in columns}


def _as_stats(
    stats: Mapping[str, ColumnStats | Mapping[str, Any]] | None,
) -> dict[str, ColumnStats]:
    if not stats:
        return {}
    return {
        k: v if isinstance(v, ColumnStats) else ColumnStats.model_validate(v)
        for k, v in stats.items()
    }


def _parse(encoding: Encoding | Mapping[str, Any] | None) -> Encoding:
    if encoding is None:
        return Encoding()
    if isinstance(encoding, Encoding):
        return encoding
    try:
        return Encoding.model_validate(encoding)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in ("encoding", *first["loc"]))
        raise EncodingError(path, first["msg"]) from None


class _Resolver:
    def __init__(self, columns: dict[str, ColumnSpec], stats: dict[str, ColumnStats]) -> None:
        self.columns = columns
        self.stats = stats

    def column(self, field: str, name: str, *, kinds: tuple[str, ...] | None = None) -> ColumnSpec:
        spec = self.columns.get(name)
        if spec is None:
            raise EncodingError(field, f"the dataset has no column {name!r}")
        if kinds is not None and type_kind(spec.type) not in kinds:
            raise EncodingError(
                field, f"column {name!r} is {spec.type}; this needs a {' or '.join(kinds)} column"
            )
        return spec

    def domain(
        self, field: str, name: str, given: tuple[float, float] | None
    ) -> tuple[float, float]:
        if given is not None:
            lo, hi = given
        else:
            st = self.stats.get(name)
            if st is None or st.min is None or st.max is None:
                raise EncodingError(
                    field, f"no statistics for column {name!r}; give the range explicitly"
                )
            lo, hi = st.min, st.max
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise EncodingError(field, f"range [{lo}, {hi}] must be finite with min <= max")
        return float(lo), float(hi)

    def rgb(self) -> ResolvedRgb | None:
        if not all(c in self.columns for c in _RGB_COLUMNS):
            return None
        kinds = [type_kind(self.columns[c].type) for c in _RGB_COLUMNS]
        if any(k != "numeric" for k in kinds):
            return None
        wide = any(self.columns[c].type.lower() not in ("uint8", "int8") for c in _RGB_COLUMNS)
        maxima = [self.stats[c].max for c in _RGB_COLUMNS if c in self.stats]
        if maxima and all(m is not None for m in maxima):
            # LAS and PLY store 8-bit colour in 16-bit fields often enough to check.
            wide = max(m for m in maxima if m is not None) > 255
        return ResolvedRgb(shift=8 if wide else 0)


_NUMERIC_LIKE = ("numeric", "temporal", "bool")
_ORDERED_OPS = ("<", "<=", ">", ">=", "between")


def _check_filter(r: _Resolver, i: int, clause: FilterClause) -> None:
    base = f"encoding.filter[{i}]"
    spec = r.column(f"{base}.column", clause.column)
    kind = type_kind(spec.type)
    if kind == "other":
        raise EncodingError(
            f"{base}.column", f"column {clause.column!r} ({spec.type}) cannot filter"
        )
    if kind == "text" and clause.op in _ORDERED_OPS:
        raise EncodingError(f"{base}.op", f"{clause.op!r} needs a numeric column")
    items = _filter_values(base, clause)
    for item in items:
        _check_filter_value(base, clause.column, kind, item)
    if clause.op == "between":
        lo, hi = items
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            raise EncodingError(f"{base}.value", "'between' needs low <= high")


def _filter_values(base: str, clause: FilterClause) -> list[Scalar]:
    """The clause's value(s) as a list, in the shape its operator takes."""
    value = clause.value
    if clause.op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise EncodingError(f"{base}.value", "'between' takes [low, high]")
        return value
    if clause.op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN_VALUES:
            raise EncodingError(f"{base}.value", f"'in' takes a list of 1..{MAX_IN_VALUES} values")
        return value
    if isinstance(value, list):
        raise EncodingError(f"{base}.value", f"{clause.op!r} takes a single value")
    return [value]


def _check_filter_value(base: str, column: str, kind: str, item: Scalar) -> None:
    is_number = isinstance(item, int | float) and not isinstance(item, bool)
    if kind == "text" and not isinstance(item, str):
        raise EncodingError(f"{base}.value", f"column {column!r} holds text")
    if kind == "numeric" and not is_number:
        raise EncodingError(f"{base}.value", f"column {column!r} holds numbers")
    if kind == "temporal" and not (is_number or isinstance(item, str)):
        raise EncodingError(f"{base}.value", "compare a time column with a number or ISO text")
    if kind == "bool" and not isinstance(item, bool | int):
        raise EncodingError(f"{base}.value", f"column {column!r} holds true/false")


def _resolve_color(r: _Resolver, enc: Encoding, z: str) -> ResolvedColor:
    color = enc.color
    if color is None:
        rgb = r.rgb()
        if rgb is not None:
            return rgb
        return ResolvedContinuous(
            column=z, colormap="viridis", range=r.domain("encoding.color.range", z, None)
        )
    if isinstance(color, RgbColor):
        rgb = r.rgb()
        if rgb is None:
            raise EncodingError("encoding.color.mode", "the dataset has no red/green/blue columns")
        return rgb
    if isinstance(color, ContinuousColor):
        r.column("encoding.color.column", color.column, kinds=("numeric", "temporal"))
        rng = r.domain("encoding.color.range", color.column, color.range)
        return ResolvedContinuous(column=color.column, colormap=color.colormap, range=rng)
    if isinstance(color, CategoricalColor):
        r.column("encoding.color.column", color.column, kinds=("numeric", "text", "bool"))
        st = r.stats.get(color.column)
        categories = list(st.categories) if st is not None and st.categories else None
        return ResolvedCategorical(
            column=color.column, palette=color.palette, categories=categories
        )
    return color


def _resolve_size(r: _Resolver, enc: Encoding) -> ResolvedSize:
    size = enc.size
    if size is None:
        return ConstantSize()
    if isinstance(size, ConstantSize):
        return size
    r.column("encoding.size.column", size.column, kinds=("numeric", "temporal"))
    domain = r.domain("encoding.size.domain", size.column, size.domain)
    return ResolvedColumnSize(column=size.column, range=size.range, domain=domain)


def _label(spec: ColumnSpec) -> str:
    return f"{spec.name} ({spec.unit})" if spec.unit else spec.name


def validate_encoding(
    encoding: Encoding | Mapping[str, Any] | None,
    schema: Sequence[ColumnSpec | Mapping[str, Any]],
    stats: Mapping[str, ColumnStats | Mapping[str, Any]] | None = None,
) -> ResolvedEncoding:
    """Check ``encoding`` against a dataset's ``schema`` (and ``stats``) and fill defaults.

    Defaults: the dataset's position columns (role ``position``, else ``x``/``y``/``z``),
    its RGB if it has red/green/blue, otherwise height (``z``) coloured with viridis over
    the z range from ``stats``. Raises :class:`EncodingError` naming the offending field.
    """
    enc = _parse(encoding)
    columns = _as_schema(schema)
    r = _Resolver(columns, _as_stats(stats))

    role_positions = [c.name for c in columns.values() if c.role == "position"]
    defaults = role_positions if len(role_positions) == 3 else list(_POSITION_DEFAULTS)
    axes: dict[str, str] = {}
    for axis, default in zip(("x", "y", "z"), defaults, strict=True):
        name = getattr(enc.position, axis) or default
        kinds = ("numeric", "temporal", "bool") if enc.position.chart_box else ("numeric",)
        r.column(f"encoding.position.{axis}", name, kinds=kinds)
        axes[axis] = name

    chart: ResolvedChartBox | None = None
    if enc.position.chart_box is not None:
        box = enc.position.chart_box
        domains = {}
        for axis in ("x", "y", "z"):
            name = axes[axis]
            lo, hi = r.domain(
                f"encoding.position.chart_box.{axis}_range", name, getattr(box, f"{axis}_range")
            )
            spec = columns[name]
            domains[axis] = AxisDomain(
                column=name, label=_label(spec), unit=spec.unit, min=lo, max=hi
            )
        chart = ResolvedChartBox(size=box.size, **domains)

    color = _resolve_color(r, enc, axes["z"])
    size = _resolve_size(r, enc)
    for i, clause in enumerate(enc.filter):
        _check_filter(r, i, clause)

    consumed = set(axes.values()) if chart is None else set()
    attributes = [
        c.name
        for c in columns.values()
        if c.name not in OUTPUT_RESERVED and c.name not in consumed and c.role != "row_id"
    ]
    units = {name: columns[name].unit for name in axes.values()}
    return ResolvedEncoding(
        x=axes["x"],
        y=axes["y"],
        z=axes["z"],
        chart_box=chart,
        color=color,
        size=size,
        filter=list(enc.filter),
        attributes=attributes,
        units=units,
    )


def _geometry_key(enc: Encoding | ResolvedEncoding) -> dict[str, Any]:
    if isinstance(enc, ResolvedEncoding):
        return {
            "x": enc.x,
            "y": enc.y,
            "z": enc.z,
            "box": enc.chart_box.model_dump() if enc.chart_box else None,
            "filter": [f.model_dump() for f in enc.filter],
        }
    return {
        "position": enc.position.model_dump(),
        "filter": [f.model_dump() for f in enc.filter],
    }


def is_style_only_change(
    old: Encoding | ResolvedEncoding | Mapping[str, Any],
    new: Encoding | ResolvedEncoding | Mapping[str, Any],
) -> bool:
    """True when ``new`` differs from ``old`` only in colour or size.

    Such a change keeps the LOD tree (which rows, where, in which tile): the lead can
    restyle the existing tiles instead of re-tiling. Positions or the filter changing means
    a new tree. Compare two encodings of the same kind (both requests or both resolved).
    """

    def coerce(e: Encoding | ResolvedEncoding | Mapping[str, Any]) -> Encoding | ResolvedEncoding:
        if isinstance(e, Encoding | ResolvedEncoding):
            return e
        try:
            return ResolvedEncoding.model_validate(e)
        except ValidationError:
            return _parse(e)

    a, b = coerce(old), coerce(new)
    if type(a) is not type(b):
        raise TypeError("compare two request encodings or two resolved encodings")
    return _geometry_key(a) == _geometry_key(b)
