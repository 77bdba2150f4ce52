from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from spatialviz.styling.colormaps import (
    COLORMAP_NAMES,
    MISSING_COLOR,
    OTHER_COLOR,
    apply_colormap,
    apply_palette,
    palette_table,
    parse_hex_color,
)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return (0.2126 * rgb[:, 0] + 0.7152 * rgb[:, 1] + 0.0722 * rgb[:, 2]).astype(float)


def test_viridis_ends_match_published_definition() -> None:
    out = apply_colormap(np.array([0.0, 1.0]), 0.0, 1.0, "viridis")
    assert out.dtype == np.uint8
    assert out.shape == (2, 3)
    assert tuple(out[0]) == (0x44, 0x01, 0x54)
    assert tuple(out[1]) == (0xFD, 0xE7, 0x25)


@pytest.mark.parametrize("name", ["viridis", "magma", "plasma", "inferno", "cividis", "grey"])
def test_perceptual_maps_get_brighter(name: str) -> None:
    lum = _luminance(apply_colormap(np.linspace(0, 1, 64), 0, 1, name))
    assert np.all(np.diff(lum) > -1.0)
    assert lum[-1] - lum[0] > 100


def test_every_named_colormap_works_and_clamps() -> None:
    for name in COLORMAP_NAMES:
        out = apply_colormap(np.array([-5.0, 0.0, 10.0, 20.0]), 0.0, 10.0, name)
        assert (out[0] == out[1]).all()
        assert (out[2] == out[3]).all()


def test_nan_and_degenerate_range() -> None:
    out = apply_colormap(np.array([np.nan, 3.0]), 3.0, 3.0, "magma")
    assert tuple(out[0]) == MISSING_COLOR
    mid = apply_colormap(np.array([0.5]), 0.0, 1.0, "magma")
    assert (out[1] == mid[0]).all()


def test_unknown_names_and_bad_hex() -> None:
    with pytest.raises(ValueError, match="unknown colormap"):
        apply_colormap(np.zeros(1), 0, 1, "jet")
    with pytest.raises(ValueError, match="unknown palette"):
        palette_table("rainbow")
    with pytest.raises(ValueError, match="expected a colour"):
        parse_hex_color("red")
    assert parse_hex_color("#FF8000") == (255, 128, 0)


def test_integer_categories_are_modular_and_stable() -> None:
    table = palette_table("tableau10")
    out = apply_palette(np.array([0, 1, 10, 11]), "tableau10")
    assert (out[0] == table[0]).all()
    assert (out[2] == table[0]).all()
    assert (out[3] == table[1]).all()


def test_string_categories_agree_across_batches_and_nulls_are_grey() -> None:
    a = apply_palette(pa.array(["oak", "pine", None]), "set3")
    b = apply_palette(pa.array(["birch", "pine", "oak"]), "set3")
    assert (a[0] == b[2]).all()
    assert (a[1] == b[1]).all()
    assert tuple(a[2]) == MISSING_COLOR


def test_known_categories_use_list_order() -> None:
    table = palette_table("set1")
    out = apply_palette(pa.array(["b", "a", "zzz"]), "set1", categories=["a", "b"])
    assert (out[0] == table[1]).all()
    assert (out[1] == table[0]).all()
    assert tuple(out[2]) == OTHER_COLOR
