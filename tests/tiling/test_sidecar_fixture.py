"""The web viewer's sidecar decoder (web/src/lib/sidecar.ts) is tested on files this
encoder writes: web/tests/fixtures/sidecar-*.attrs.glb must be what it writes today.
Regenerate them with ``python -m tests.tiling.test_sidecar_fixture``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spatialviz.tiling.glb import PointContent, TileFiles, encode_tile

FIXTURES = Path(__file__).resolve().parents[2] / "web" / "tests" / "fixtures"
POINTS = 40


def fixture_files(compression: str) -> TileFiles:
    """40 points in a line (so the tile's Z-order keeps them in order): intensity i * 1000,
    GPS time 1e9 + i / 4 (needs float64), a flag set on every third point."""
    i = np.arange(POINTS)
    content = PointContent(
        positions=np.column_stack([i * 1.0, np.zeros(POINTS), np.zeros(POINTS)]),
        colors=np.zeros((POINTS, 3), np.uint8),
        properties={"row_id": i.astype(np.uint32)},
        sidecar={
            "intensity": (i * 1000).astype(np.uint16),
            "gps_time": 1e9 + i / 4,
            "key_point": i % 3 == 0,
        },
    )
    return encode_tile(content, compression=compression)  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", ["none", "meshopt"])
def test_web_fixtures_are_what_the_encoder_writes(compression: str) -> None:
    files = fixture_files(compression)
    assert files.sidecar is not None
    assert (FIXTURES / f"sidecar-{compression}.attrs.glb").read_bytes() == files.sidecar


if __name__ == "__main__":
    for kind in ("none", "meshopt"):
        side = fixture_files(kind).sidecar
        assert side is not None
        (FIXTURES / f"sidecar-{kind}.attrs.glb").write_bytes(side)
