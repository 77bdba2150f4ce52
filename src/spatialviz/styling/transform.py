"""Apply a :class:`ResolvedEncoding` to Arrow batches, streaming.

The output is the canonical point convention the tiling engine consumes: ``x, y, z``
float64, ``red, green, blue`` uint8, an optional ``point_size`` float32 (size by column),
the kept attribute columns, and ``row_id``. Memory is one input batch at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from typing_extensions import TypedDict  # pydantic reads ChartAxes (before Python 3.12)

from spatialviz.styling.colormaps import apply_colormap, apply_palette, parse_hex_color
from spatialviz.styling.encoding import (
    ColumnStats,
    ConstantColor,
    FilterClause,
    ResolvedCategorical,
    ResolvedColumnSize,
    ResolvedContinuous,
    ResolvedEncoding,
    ResolvedRgb,
)

ROW_ID = "row_id"
DEFAULT_BATCH_ROWS = 65_536


def _numeric(col: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """A column as float64 with nulls as NaN (timestamps as their integer ticks)."""
    t = col.type
    if pa.types.is_temporal(t):
        col = col.cast(pa.int64())
    elif pa.types.is_boolean(t):
        col = col.cast(pa.uint8())
    arr = col.cast(pa.float64()).fill_null(math.nan)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _scalar_for(col: pa.Array, value: Any) -> pa.Scalar:
    t = col.type
    if pa.types.is_temporal(t) or pa.types.is_boolean(t):
        return pa.scalar(value).cast(t)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pa.scalar(str(value), type=t)
    if isinstance(value, float):
        return pa.scalar(value, type=pa.float64())
    return pa.scalar(int(value), type=pa.int64())


def _comparable(col: pa.Array, value: Any) -> pa.Array:
    # uint columns against negative or float literals: compare in a common wide type.
    if pa.types.is_integer(col.type):
        return col.cast(pa.float64() if isinstance(value, float) else pa.int64())
    if pa.types.is_floating(col.type):
        return col.cast(pa.float64())
    if pa.types.is_dictionary(col.type):
        return col.dictionary_decode()
    return col


_COMPARE = {
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
    "==": pc.equal,
    "!=": pc.not_equal,
}


def _clause_mask(batch: pa.RecordBatch | pa.Table, clause: FilterClause) -> pa.Array:
    raw = batch.column(clause.column)
    value = clause.value
    if clause.op == "between":
        assert isinstance(value, list)
        lo, hi = value
        col = _comparable(raw, hi)
        return pc.and_(
            pc.greater_equal(col, _scalar_for(col, lo)), pc.less_equal(col, _scalar_for(col, hi))
        )
    if clause.op == "in":
        assert isinstance(value, list)
        col = _comparable(raw, value[0])
        value_set = pa.array([_scalar_for(col, v).as_py() for v in value], type=col.type)
        return pc.is_in(col, value_set=value_set)
    col = _comparable(raw, value)
    return _COMPARE[clause.op](col, _scalar_for(col, value))


def filter_mask(
    batch: pa.RecordBatch | pa.Table, clauses: Sequence[FilterClause]
) -> pa.Array | None:
    """The rows passing every clause (nulls fail), or None when there is no filter."""
    mask: pa.Array | None = None
    for clause in clauses:
        m = _clause_mask(batch, clause).fill_null(False)
        mask = m if mask is None else pc.and_(mask, m)
    return mask


def scene_positions(
    batch: pa.RecordBatch | pa.Table, enc: ResolvedEncoding
) -> list[npt.NDArray[np.float64]]:
    """Each row's x, y, z as the tiles place it (before the tiler's re-centring): the
    position columns, mapped into the chart box when there is one. Scene queries in the
    scene's frame call this too, so a box tests what the tiles draw."""
    out = []
    for axis, name in (("x", enc.x), ("y", enc.y), ("z", enc.z)):
        values = _numeric(batch.column(name))
        box = enc.chart_box
        if box is not None:
            dom = getattr(box, axis)
            size = box.size["xyz".index(axis)]
            span = dom.max - dom.min
            values = (
                (values - dom.min) / span * size if span > 0 else np.full_like(values, size / 2)
            )
        out.append(values)
    return out


def _colors(batch: pa.RecordBatch, enc: ResolvedEncoding) -> npt.NDArray[np.uint8]:
    color = enc.color
    n = batch.num_rows
    if isinstance(color, ResolvedRgb):
        channels = [
            np.asarray(batch.column(c).fill_null(0).to_numpy(zero_copy_only=False))
            for c in color.columns
        ]
        stacked = np.stack(channels, axis=1).astype(np.int64) >> color.shift
        rgb: npt.NDArray[np.uint8] = np.clip(stacked, 0, 255).astype(np.uint8)
        return rgb
    if isinstance(color, ResolvedContinuous):
        lo, hi = color.range
        return apply_colormap(_numeric(batch.column(color.column)), lo, hi, color.colormap)
    if isinstance(color, ResolvedCategorical):
        return apply_palette(batch.column(color.column), color.palette, color.categories)
    assert isinstance(color, ConstantColor)
    return np.tile(np.array(parse_hex_color(color.value), dtype=np.uint8), (n, 1))


def _sizes(batch: pa.RecordBatch, size: ResolvedColumnSize) -> npt.NDArray[np.float32]:
    lo, hi = size.domain
    values = _numeric(batch.column(size.column))
    t = np.clip((values - lo) / (hi - lo), 0, 1) if hi > lo else np.full_like(values, 0.5)
    t = np.nan_to_num(t, nan=0.0)
    px = size.range[0] + t * (size.range[1] - size.range[0])
    return px.astype(np.float32)


def coded_text_column(enc: ResolvedEncoding) -> str | None:
    """The text column whose per-point category codes the tiles carry: the one a categorical
    colour asks for (tiles carry what the current encoding needs, nothing more). Codes let a
    client recolour by it and hide its classes; the text itself stays out of the tiles."""
    color = enc.color
    if not isinstance(color, ResolvedCategorical) or not color.categories:
        return None
    return color.column if all(isinstance(c, str) for c in color.categories) else None


def tile_columns(enc: ResolvedEncoding) -> tuple[str, ...]:
    """The per-point columns the encoding needs in every tile (besides the row id, which a
    pick needs, and ``point_size``): the column a colour maps (continuous, or categorical
    and then its codes for a text column) and the filter's columns. Tiles leave the other
    columns to their nodes' sidecars, which the viewer fetches only to colour by one
    (docs/scenes.md, "Tile content")."""
    wanted: list[str] = []
    if isinstance(enc.color, ResolvedContinuous | ResolvedCategorical):
        wanted.append(enc.color.column)
    wanted += [f.column for f in enc.filter if f.column not in wanted]
    return tuple(wanted)


def category_codes(values: pa.Array, color: ResolvedCategorical) -> pa.Array:
    """uint16 codes of a text column: ``i`` for ``categories[i]`` (the dataset statistics'
    order, which the API's attribute lists with counts), ``len(categories)`` for any other
    value or null (at most 256 named categories, so codes fit)."""
    categories = list(color.categories or [])
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    lookup = pc.index_in(values, value_set=pa.array(categories).cast(values.type))
    return lookup.fill_null(len(categories)).cast(pa.uint16())


def required_columns(enc: ResolvedEncoding, available: Sequence[str]) -> list[str]:
    """The input columns a transform reads (so Parquet reads project only these)."""
    needed = {enc.x, enc.y, enc.z, ROW_ID, *enc.attributes, *(f.column for f in enc.filter)}
    if isinstance(enc.color, ResolvedRgb):
        needed.update(enc.color.columns)
    elif isinstance(enc.color, ResolvedContinuous | ResolvedCategorical):
        needed.add(enc.color.column)
    if isinstance(enc.size, ResolvedColumnSize):
        needed.add(enc.size.column)
    return [c for c in available if c in needed]


def transform_batch(batch: pa.RecordBatch, enc: ResolvedEncoding) -> pa.RecordBatch:
    """One input batch → one output batch (possibly empty after filtering)."""
    mask = filter_mask(batch, enc.filter)
    if mask is not None:
        batch = batch.filter(mask)
    x, y, z = scene_positions(batch, enc)
    rgb = _colors(batch, enc)
    arrays: list[pa.Array] = [pa.array(x), pa.array(y), pa.array(z)]
    names = ["x", "y", "z", "red", "green", "blue"]
    arrays += [pa.array(np.ascontiguousarray(rgb[:, i])) for i in range(3)]
    if isinstance(enc.size, ResolvedColumnSize):
        names.append("point_size")
        arrays.append(pa.array(_sizes(batch, enc.size)))
    present = set(batch.schema.names)
    coded = coded_text_column(enc)
    for name in enc.attributes:
        if name in present:
            names.append(name)
            arrays.append(
                category_codes(batch.column(name), enc.color)
                if name == coded and isinstance(enc.color, ResolvedCategorical)
                else batch.column(name)
            )
    names.append(ROW_ID)
    if ROW_ID in present:
        arrays.append(batch.column(ROW_ID).cast(pa.int64()))
    else:
        arrays.append(pa.nulls(batch.num_rows, type=pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def transform_batches(
    batches: Iterable[pa.RecordBatch], enc: ResolvedEncoding
) -> Iterator[pa.RecordBatch]:
    """Stream :func:`transform_batch` over ``batches``, dropping batches left empty."""
    for batch in batches:
        out = transform_batch(batch, enc)
        if out.num_rows:
            yield out


def transform_parquet(
    path: str | Path, enc: ResolvedEncoding, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Read only the needed columns of a canonical Parquet file and transform them."""
    pf = pq.ParquetFile(path)
    columns = required_columns(enc, pf.schema_arrow.names)
    batches = pf.iter_batches(batch_size=batch_rows, columns=columns)
    return transform_batches(batches, enc)


# --- axes for chart scenes -----------------------------------------------------------------


def nice_step(span: float, target_ticks: int = 5) -> float:
    """A 1-2-5 times 10^k step giving about ``target_ticks`` ticks across ``span``."""
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(target_ticks, 1)
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    # Round to the nearest of 1, 2, 5, 10 (geometric midpoints), as chart libraries do.
    for m, upper in ((1.0, 1.5), (2.0, 3.0), (5.0, 7.0)):
        if raw < upper * base:
            return m * base
    return 10.0 * base


def nice_ticks(lo: float, hi: float, target_ticks: int = 5) -> list[float]:
    """Round tick values inside ``[lo, hi]`` with a 1-2-5 step (``[lo]`` when lo == hi)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    step = nice_step(hi - lo, target_ticks)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    decimals = max(0, -math.floor(math.log10(step))) + 1
    return [round(k * step, decimals) + 0.0 for k in range(first, last + 1)]


class ChartAxis(TypedDict):
    """One axis of a 3D chart frame (the scene API's ``axes``)."""

    column: str
    label: str
    unit: str | None
    min: float | None
    max: float | None
    ticks: list[float]
    scene_min: float | None
    scene_max: float | None


class ChartAxes(TypedDict):
    x: ChartAxis
    y: ChartAxis
    z: ChartAxis


def axes_metadata(
    enc: ResolvedEncoding, stats: Mapping[str, ColumnStats] | None = None
) -> ChartAxes:
    """Axis labels, data ranges and ticks a client needs to draw a 3D chart frame.

    ``min``/``max``/``ticks`` are data values; ``scene_min``/``scene_max`` are where they sit
    in scene coordinates (the chart box, or the data itself when there is no box).
    """
    out: dict[str, ChartAxis] = {}
    for i, axis in enumerate(("x", "y", "z")):
        column = getattr(enc, axis)
        unit = enc.units.get(column)
        if enc.chart_box is not None:
            dom = getattr(enc.chart_box, axis)
            lo, hi, label = dom.min, dom.max, dom.label
            scene_lo, scene_hi = 0.0, enc.chart_box.size[i]
        else:
            st = (stats or {}).get(column)
            lo = st.min if st is not None and st.min is not None else math.nan
            hi = st.max if st is not None and st.max is not None else math.nan
            label = f"{column} ({unit})" if unit else column
            scene_lo, scene_hi = lo, hi
        out[axis] = {
            "column": column,
            "label": label,
            "unit": unit,
            "min": lo if math.isfinite(lo) else None,
            "max": hi if math.isfinite(hi) else None,
            "ticks": nice_ticks(lo, hi),
            "scene_min": scene_lo if math.isfinite(scene_lo) else None,
            "scene_max": scene_hi if math.isfinite(scene_hi) else None,
        }
    return {"x": out["x"], "y": out["y"], "z": out["z"]}
