"""LocalFrame.exact_source undoes exact_local: a scene-frame box query maps the box's
surface back to the source CRS with it (scene/sceneframe.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spatialviz.geodesy import LocalFrame, source_crs
from spatialviz.scene.sceneframe import SceneFrame
from spatialviz.spatialindex.index import XYZ
from spatialviz.styling.encoding import validate_encoding

SCHEMA = [{"name": c, "type": "double"} for c in "xyz"]


def test_local_metres_map_back_to_the_source_crs() -> None:
    source = source_crs(None, 32610, {})
    assert source is not None
    frame = LocalFrame.at(source, 493_200.0, 4_877_150.0, 120.0)
    assert frame is not None
    rng = np.random.default_rng(3)
    x = 493_000.0 + rng.uniform(0, 400, 200)
    y = 4_877_000.0 + rng.uniform(0, 300, 200)
    z = 110.0 + rng.uniform(0, 20, 200)
    e, n, u = frame.exact_local(x, y, z)
    back = frame.exact_source(e, n, u)
    assert np.abs(back[0] - x).max() < 1e-6
    assert np.abs(back[1] - y).max() < 1e-6
    assert np.abs(back[2] - z).max() < 1e-6
    # Not a translation: the same east step moves UTM northing (grid convergence).
    step = frame.exact_source(np.array([0.0, 100.0]), np.zeros(2), np.zeros(2))
    assert abs(step[1][1] - step[1][0]) > 0.01


def test_the_grid_path_of_a_scene_box_answers_as_pyproj() -> None:
    """The scene frame tests rows through the lookup grid and sends rows near a face to
    pyproj: the answer equals pyproj's for every row, those a micrometre from a face included."""
    source = source_crs(None, 32610, {})
    assert source is not None
    exact = LocalFrame.at(source, 493_200.0, 4_877_150.0, 120.0)
    assert exact is not None
    gridded = exact.with_grid(
        (493_000.0, 4_877_000.0, 100.0), (493_400.0, 4_877_300.0, 140.0), 10**6
    )
    assert gridded.grid is not None
    enc = validate_encoding(None, SCHEMA, {c: {"min": 0, "max": 1} for c in "xyz"})
    lo, hi = np.array([-100.0, -80.0, -5.0]), np.array([120.0, 60.0, 8.0])
    rng = np.random.default_rng(9)
    # Points on the faces, shifted by up to a micrometre either way, and points anywhere.
    e = rng.uniform(-150, 150, 4000)
    n = rng.uniform(-120, 120, 4000)
    u = rng.uniform(-10, 10, 4000)
    e[:1000] = np.where(rng.random(1000) < 0.5, lo[0], hi[0]) + rng.uniform(-1e-6, 1e-6, 1000)
    x, y, z = exact.exact_source(e, n, u)
    table = pa.table({"x": x, "y": y, "z": z})
    truth = SceneFrame("georeferenced", XYZ, enc, exact).inside(table, lo, hi)
    fast = SceneFrame("georeferenced", XYZ, enc, gridded).inside(table, lo, hi)
    assert 0 < truth[:1000].sum() < 1000
    assert (fast == truth).all()
