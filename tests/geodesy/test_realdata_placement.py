"""Real files from other projects, tiled by the engine: point counts equal laspy's, and
every point's ECEF position read back from the tileset (root transform x tile node
transform x decoded position) within 1 cm of pyproj's transform of the source coordinates
(plus the tile's own quantization half-step), feet and degrees included."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
import pytest
from pyproj import CRS

from spatialviz.geodesy import LocalFrame, georeference, source_crs
from tests.geodesy.placement import (
    TOLERANCE_M,
    assert_placed,
    las_truth,
    open_file,
    tile_file,
)
from tests.geodesy.truth import pyproj_ecef, tileset_points
from tests.realdata import realdata
from tests.tiling.helpers import load_json


def plan_frame(path: Path) -> LocalFrame:
    """The local frame the engine's plan builds for a file."""
    reader = open_file(path)
    info = reader.info
    reader.close()
    described = source_crs(info.crs_wkt, info.crs_epsg, info.units)
    assert described is not None
    assert info.bounds is not None
    frame = georeference(described, info.bounds).frame
    assert frame is not None
    # As the plan does: a lookup grid over the bounds, when it is worth it and accurate.
    return frame.with_grid(info.bounds[0], info.bounds[1], info.declared_rows or 0)


@dataclass(frozen=True)
class LasCase:
    name: str
    #: metres per z unit when the CRS is 2D (the LAS convention: z in the horizontal unit
    #: of a projected CRS, metres for a geographic one); None: the CRS has its own z axis
    z_to_metre: float | None
    #: substrings of the warnings the dataset must carry (and no others)
    warnings: tuple[str, ...] = ()


LAS_CASES = [
    LasCase("autzen-utm.las", 1.0),
    LasCase("autzen_trim.laz", 0.3048),  # NAD83(HARN) Oregon Lambert, international feet
    LasCase("epsg_4326.las", 1.0),  # degrees
    # Oregon LCC *metres* + NAVD88 height in US survey feet. The numbers are really feet
    # (as in autzen_trim.laz): read as metres they land in British Columbia.
    LasCase("simple.copc.laz", None, ("outside the area of use", "geoid model")),
]


@pytest.mark.parametrize("case", LAS_CASES, ids=lambda c: c.name)
def test_las_tiles_at_pyproj_positions(case: LasCase, tmp_path: Path) -> None:
    path = realdata(case.name)
    count, truth = las_truth(path, case.z_to_metre)
    points, doc = tile_file(path, tmp_path / "out")
    assert points == count
    assert "transform" in doc["root"]
    assert_placed(tmp_path / "out" / "tileset.json", truth)
    # The placement itself, before quantization: the engine's local frame and the root
    # transform give pyproj's ECEF to well under a millimetre.
    frame = plan_frame(path)
    las = laspy.read(str(path))
    local = np.column_stack(
        frame.to_local(*(np.asarray(v, dtype=np.float64) for v in (las.x, las.y, las.z)))
    )
    m = np.array(frame.root_transform((0.0, 0.0, 0.0))).reshape(4, 4).T
    placed = local @ m[:3, :3].T + m[:3, 3]
    assert float(np.linalg.norm(placed - truth, axis=1).max()) < 0.001
    georef = doc["extras"]["spatialviz"]["georef"]
    assert georef["placed"] is True
    for expected in case.warnings:
        assert any(expected in w for w in georef["warnings"]), georef["warnings"]
    assert len(georef["warnings"]) == len(case.warnings), georef["warnings"]


def test_feet_are_scaled_to_metres(tmp_path: Path) -> None:
    """autzen_trim.laz (feet) and autzen-utm.las (metres) are the same stadium: their
    tilesets' extents agree in metres, not 3.28x apart."""
    extents = []
    for name in ("autzen_trim.laz", "autzen-utm.las"):
        tile_file(realdata(name), tmp_path / name)
        doc = load_json(tmp_path / name / "tileset.json")
        box = doc["root"]["boundingVolume"]["box"]
        extents.append(2 * np.array([box[3], box[7]]))
    # trim is a 359 m x 171 m cut of the stadium; the UTM file spans 999 m x 1387 m.
    feet, metres = extents
    assert 300 < feet[0] < 400, feet
    assert 150 < feet[1] < 200, feet
    assert 950 < metres[0] < 1050, metres


def test_lat_first_csv_is_placed_by_column_names(tmp_path: Path) -> None:
    """earthquakes-23k.csv: Date, Latitude, Longitude, Magnitude (latitude first, no
    height). Truth: Python's csv module and pyproj, longitude from the Longitude column."""
    path = realdata("earthquakes-23k.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    lon = np.array([float(r["Longitude"]) for r in rows])
    lat = np.array([float(r["Latitude"]) for r in rows])
    truth = pyproj_ecef(CRS.from_epsg(4979), lon, lat, np.zeros(len(rows)))
    points, doc = tile_file(path, tmp_path / "out")
    assert points == len(rows) == 23_412
    georef = doc["extras"]["spatialviz"]["georef"]
    assert georef["placed"] is True
    assert georef["warnings"] == []
    got = tileset_points(tmp_path / "out" / "tileset.json")
    order = np.argsort(got["row_id"])
    err = np.linalg.norm(got["ecef"][order] - truth, axis=1)
    # A world-wide cloud: tiles span thousands of km, so the quantization step dominates;
    # each point must still sit within its tile's half step (+1 cm) of pyproj.
    assert (err <= TOLERANCE_M + got["half_step"][order]).all()


@pytest.mark.parametrize("name", ["autzen_trim.laz", "autzen-utm.las", "epsg_4326.las"])
def test_lookup_grid_stays_within_a_millimetre_of_pyproj(name: str) -> None:
    """The plan's lookup grid (bilinear in x, y; exact in z) against pyproj at 200,000
    random points of the file's extent, heights from below to above its range."""
    path = realdata(name)
    frame = plan_frame(path)
    assert frame.grid is not None, "a file this dense gets a grid"
    header = laspy.open(str(path)).header
    rng = np.random.default_rng(5)
    lo, hi = np.asarray(header.mins), np.asarray(header.maxs)
    x, y = (rng.uniform(lo[i], hi[i], 200_000) for i in range(2))
    z = rng.uniform(lo[2] - 50, hi[2] + 50, 200_000)
    crs = header.parse_crs()
    factor = 0.3048 if name == "autzen_trim.laz" else 1.0  # z in the horizontal unit
    truth = pyproj_ecef(crs.to_3d(), x, y, z * factor)
    local = np.column_stack(frame.to_local(x, y, z))
    m = np.array(frame.root_transform((0.0, 0.0, 0.0))).reshape(4, 4).T
    placed = local @ m[:3, :3].T + m[:3, 3]
    assert float(np.linalg.norm(placed - truth, axis=1).max()) < 0.001
