"""One-pass column statistics: min, max, mean, null count and an exact histogram.

Histogram rule: a fixed number of fine bins (``FINE_BINS``) starting over the first
batch's [min, max]. When a later value falls outside the covered range, the bin width
doubles (adjacent bins are merged pairwise, so counts stay exact) and the range grows
towards that value, as often as needed. When reported, empty edge bins are trimmed and
adjacent bins merged until at most ``HISTOGRAM_BINS`` remain (so 32-64 bins spanning the
data). Every value is counted exactly. Non-finite values are counted in ``nan_count`` /
``inf_count``, not binned.
"""

from __future__ import annotations

import math
from typing import NotRequired

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

# pydantic reads these TypedDicts (the dataset API's stats) and, before Python 3.12, only
# typing_extensions' TypedDict.
from typing_extensions import TypedDict

HISTOGRAM_BINS = 64
MAX_CATEGORIES = 256
"""Distinct values a text column keeps as categories (names and counts); later new values
are counted together as "other", so a column of free text costs bounded memory."""
MAX_CATEGORY_CHARS = 200
"""Longer values are not category names (free text): they count as "other"."""
FINE_BINS = 1024


class HistogramJson(TypedDict):
    """``counts[i]`` values fall in ``[min + i * bin_width, min + (i + 1) * bin_width)``."""

    min: float
    bin_width: float
    counts: list[int]


class ColumnStatsJson(TypedDict):
    """One column's statistics as stored with the dataset; the numeric fields only for
    numeric (and boolean) columns."""

    count: int
    null_count: int
    min: NotRequired[float | None]
    max: NotRequired[float | None]
    mean: NotRequired[float | None]
    nan_count: NotRequired[int]
    inf_count: NotRequired[int]
    histogram: NotRequired[HistogramJson | None]
    # text columns: named categories, most frequent first, and the rows counted as "other"
    categories: NotRequired[list[str]]
    category_counts: NotRequired[list[int]]
    other_count: NotRequired[int]


class Histogram:
    def __init__(self, bins: int = FINE_BINS) -> None:
        self.bins = bins
        self.lo = 0.0
        self.width = 0.0
        self.counts: npt.NDArray[np.int64] | None = None

    def add(self, values: npt.NDArray[np.float64], vmin: float, vmax: float) -> None:
        if values.size == 0:
            return
        if self.counts is None:
            self.lo = vmin
            span = vmax - vmin
            self.width = span / self.bins * (1 + 1e-9) if span > 0 else 1.0
            if not math.isfinite(self.width) or self.width <= 0:
                self.width = 1.0
            self.counts = np.zeros(self.bins, dtype=np.int64)
        while vmin < self.lo:
            self._grow(left=True)
        while vmax >= self.lo + self.width * self.bins:
            self._grow(left=False)
        idx = ((values - self.lo) / self.width).astype(np.int64)
        np.clip(idx, 0, self.bins - 1, out=idx)
        self.counts += np.bincount(idx, minlength=self.bins)

    def _grow(self, *, left: bool) -> None:
        assert self.counts is not None
        half = self.bins // 2
        merged = self.counts.reshape(half, 2).sum(axis=1)
        grown = np.zeros(self.bins, dtype=np.int64)
        if left:
            grown[half:] = merged
            self.lo -= self.width * self.bins
        else:
            grown[:half] = merged
        self.counts = grown
        self.width *= 2

    def to_json(self) -> HistogramJson | None:
        if self.counts is None:
            return None
        nz = np.nonzero(self.counts)[0]
        if nz.size == 0:
            return None
        first, last = int(nz[0]), int(nz[-1])
        counts = self.counts[first : last + 1]
        width = self.width
        while len(counts) > HISTOGRAM_BINS:
            if len(counts) % 2:
                counts = np.append(counts, 0)
            counts = counts.reshape(-1, 2).sum(axis=1)
            width *= 2
        return {
            "min": self.lo + first * self.width,
            "bin_width": width,
            "counts": [int(c) for c in counts],
        }


class ColumnStats:
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.null_count = 0
        self.nan_count = 0
        self.inf_count = 0
        self.min: float | None = None
        self.max: float | None = None
        self.total = 0.0
        self.finite = 0
        self.numeric = True
        self.histogram = Histogram()
        self.category_counts: dict[str, int] = {}
        self.other_count = 0
        self.text = False

    def add(self, arr: pa.Array) -> None:
        self.count += len(arr)
        self.null_count += arr.null_count
        t = arr.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
            self.numeric = False
            if _is_text(t):
                self.text = True
                self._count_categories(arr)
            return
        if arr.null_count:
            arr = arr.drop_null()
        if pa.types.is_boolean(t):
            arr = pc.cast(arr, pa.uint8())
        values = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
        if pa.types.is_floating(t):
            ok = np.isfinite(values)
            if not ok.all():
                nan = np.isnan(values)
                self.nan_count += int(nan.sum())
                self.inf_count += int((~ok & ~nan).sum())
                values = values[ok]
        if values.size == 0:
            return
        vmin, vmax = float(values.min()), float(values.max())
        self.min = vmin if self.min is None else min(self.min, vmin)
        self.max = vmax if self.max is None else max(self.max, vmax)
        self.total += float(values.sum())
        self.finite += values.size
        self.histogram.add(values, vmin, vmax)

    def _count_categories(self, arr: pa.Array) -> None:
        counts = pc.value_counts(arr.drop_null() if arr.null_count else arr)
        for value, n in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            name = str(value)
            if name in self.category_counts:
                self.category_counts[name] += n
            elif len(self.category_counts) < MAX_CATEGORIES and len(name) <= MAX_CATEGORY_CHARS:
                self.category_counts[name] = n
            else:
                self.other_count += n

    def to_json(self) -> ColumnStatsJson:
        out: ColumnStatsJson = {"count": self.count, "null_count": self.null_count}
        if self.text:
            # Most frequent first (ties by name): the order the palette and the legend use.
            ranked = sorted(self.category_counts.items(), key=lambda kv: (-kv[1], kv[0]))
            out["categories"] = [name for name, _ in ranked]
            out["category_counts"] = [n for _, n in ranked]
            out["other_count"] = self.other_count
        if not self.numeric:
            return out
        out["min"], out["max"] = self.min, self.max
        out["mean"] = self.total / self.finite if self.finite else None
        out["nan_count"], out["inf_count"] = self.nan_count, self.inf_count
        out["histogram"] = self.histogram.to_json()
        return out


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_text(t.value_type)
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))
