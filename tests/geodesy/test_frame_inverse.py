"""LocalFrame.exact_source undoes exact_local: a scene-frame box query maps the box's
surface back to the source CRS with it (scene/sceneframe.py)."""

from __future__ import annotations

import numpy as np

from spatialviz.geodesy import LocalFrame, source_crs


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
