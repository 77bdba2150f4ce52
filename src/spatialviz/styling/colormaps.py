"""Colour rules as vectorised numpy: continuous colormaps and categorical palettes.

Continuous colormaps are compact control-point tables sampled from the published
definitions (matplotlib's viridis family by van der Walt & Smith, cividis by Nuñez et al.,
turbo by Mikhailov / Google through its published polynomial fit as used by d3), evenly
spaced on [0, 1] and interpolated linearly per channel. With 9-17 points the largest
deviation from the 256-entry originals is a few 8-bit steps, invisible on points.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

ColormapName = Literal["viridis", "magma", "plasma", "inferno", "cividis", "turbo", "grey"]
PaletteName = Literal["tableau10", "set1", "set3", "dark2"]

COLORMAP_NAMES: Final[tuple[str, ...]] = get_args(ColormapName)
PALETTE_NAMES: Final[tuple[str, ...]] = get_args(PaletteName)

#: Colour for missing values (NaN, null): a neutral mid grey that no colormap starts with.
MISSING_COLOR: Final[tuple[int, int, int]] = (128, 128, 128)
#: Colour for categories outside a known category list.
OTHER_COLOR: Final[tuple[int, int, int]] = (160, 160, 160)

_CONTROL_POINTS: Final[dict[str, tuple[str, ...]]] = {
    "viridis": (
        "#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
        "#28ae80", "#5ec962", "#addc30", "#fde725",
    ),
    "magma": (
        "#000004", "#1c1044", "#4f127b", "#812581", "#b5367a",
        "#e55064", "#fb8761", "#fec287", "#fcfdbf",
    ),
    "inferno": (
        "#000004", "#1f0c48", "#550f6d", "#88226a", "#ba3655",
        "#e35933", "#f98e09", "#f8c932", "#fcffa4",
    ),
    "plasma": (
        "#0d0887", "#4c02a1", "#7e03a8", "#a92395", "#cc4778",
        "#e66c5c", "#f89540", "#fdc527", "#f0f921",
    ),
    "cividis": (
        "#00204d", "#00336f", "#39486b", "#575c6d", "#707173",
        "#8a8779", "#a69d75", "#c4b56c", "#e4cf5b", "#fee838",
    ),
    "turbo": (
        "#23171b", "#493eaf", "#446aee", "#3295f7", "#26bde1", "#29ddbb",
        "#40f392", "#66fd6d", "#96fa50", "#c6eb3b", "#eed02d", "#ffab24",
        "#ff801d", "#ee5415", "#c92d0c", "#a11202", "#900d00",
    ),
    "grey": ("#000000", "#ffffff"),
}  # fmt: skip

_PALETTES: Final[dict[str, tuple[str, ...]]] = {
    "tableau10": (
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    ),
    "set1": (
        "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00",
        "#ffff33", "#a65628", "#f781bf", "#999999",
    ),
    "set3": (
        "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
        "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
    ),
    "dark2": (
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
        "#e6ab02", "#a6761d", "#666666",
    ),
}  # fmt: skip

U8Colors = npt.NDArray[np.uint8]


def parse_hex_color(value: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` → ``(r, g, b)``; raises ``ValueError`` on anything else."""
    text = value.strip()
    if len(text) != 7 or text[0] != "#":
        raise ValueError(f"expected a colour like #1f77b4, got {value!r}")
    try:
        return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)
    except ValueError:
        raise ValueError(f"expected a colour like #1f77b4, got {value!r}") from None


def _table(hex_colors: Sequence[str]) -> npt.NDArray[np.float64]:
    return np.array([parse_hex_color(c) for c in hex_colors], dtype=np.float64)


def colormap_table(name: str) -> npt.NDArray[np.float64]:
    """The control points of ``name`` as a float (K, 3) array of 0-255 values."""
    if name not in _CONTROL_POINTS:
        raise ValueError(f"unknown colormap {name!r}; one of {', '.join(COLORMAP_NAMES)}")
    return _table(_CONTROL_POINTS[name])


def palette_table(name: str) -> U8Colors:
    """The colours of palette ``name`` as a uint8 (K, 3) array."""
    if name not in _PALETTES:
        raise ValueError(f"unknown palette {name!r}; one of {', '.join(PALETTE_NAMES)}")
    return _table(_PALETTES[name]).astype(np.uint8)


def apply_colormap(values: npt.ArrayLike, vmin: float, vmax: float, name: str) -> U8Colors:
    """Map ``values`` linearly from ``[vmin, vmax]`` onto colormap ``name``.

    Values outside the range are clamped to its ends; NaN becomes :data:`MISSING_COLOR`.
    A degenerate range (``vmin == vmax``) maps every finite value to the middle colour.
    """
    table = colormap_table(name)
    v = np.asarray(values, dtype=np.float64)
    span = float(vmax) - float(vmin)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (v - vmin) / span if span > 0 else np.where(np.isnan(v), np.nan, 0.5)
    t = np.clip(t, 0.0, 1.0)
    missing = np.isnan(t)
    pos = np.where(missing, 0.0, t) * (len(table) - 1)
    lo = np.minimum(pos.astype(np.int64), len(table) - 2)
    frac = (pos - lo)[..., None]
    rgb = table[lo] * (1.0 - frac) + table[lo + 1] * frac
    out: U8Colors = np.rint(rgb).astype(np.uint8)
    out[missing] = MISSING_COLOR
    return out


def _stable_hash(text: str) -> int:
    # crc32 rather than hash(): Python salts str hashes per process, and every tiling
    # worker must give a category the same colour.
    return zlib.crc32(text.encode("utf-8"))


def categorical_indices(
    values: pa.Array | pa.ChunkedArray | npt.ArrayLike,
    n_colors: int,
    categories: Sequence[str | int | float | bool] | None = None,
) -> npt.NDArray[np.int64]:
    """Palette index per value; -1 for null and -2 for values outside ``categories``.

    With ``categories`` (e.g. the distinct values from the dataset statistics) the i-th
    category gets colour ``i % n_colors``. Without, integers take ``value % n_colors`` and
    everything else a stable hash of its text, so each batch of a stream agrees.
    """
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    nulls = arr.is_null().to_numpy(zero_copy_only=False)
    if categories is not None:
        lookup = pc.index_in(arr, value_set=pa.array(list(categories)).cast(arr.type))
        idx = lookup.fill_null(-2).to_numpy(zero_copy_only=False).astype(np.int64)
        idx = np.where(idx >= 0, idx % n_colors, idx)
    elif pa.types.is_integer(arr.type) or pa.types.is_boolean(arr.type):
        ints = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        idx = np.mod(ints, n_colors).astype(np.int64)
    else:
        encoded = pc.dictionary_encode(arr.cast(pa.string()))
        dictionary = encoded.dictionary.to_pylist()
        per_value = np.array([_stable_hash(str(v)) % n_colors for v in dictionary], dtype=np.int64)
        codes = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        idx = per_value[codes] if len(per_value) else np.zeros(len(arr), dtype=np.int64)
    idx[nulls] = -1
    result: npt.NDArray[np.int64] = idx
    return result


def apply_palette(
    values: pa.Array | pa.ChunkedArray | npt.ArrayLike,
    palette: str,
    categories: Sequence[str | int | float | bool] | None = None,
) -> U8Colors:
    """Colours for categorical ``values`` (ints or strings), deterministic across batches."""
    table = palette_table(palette)
    idx = categorical_indices(values, len(table), categories)
    out = table[np.maximum(idx, 0)]
    out[idx == -1] = MISSING_COLOR
    out[idx == -2] = OTHER_COLOR
    return out
