"""Labels the real-file sample does not hold: a GeoTIFF unit override, the GeoJSON legacy
``crs`` member, and labels that do not fit their numbers (warnings, not silence)."""

from __future__ import annotations

import json
from pathlib import Path

import laspy
import numpy as np
from laspy.vlrs.known import GeoKeyDirectoryVlr, GeoKeyEntryStruct
from pyproj import CRS

from spatialviz.formats.canonical import write_canonical
from spatialviz.geodesy import SourceCrs, georeference
from tests.geodesy.placement import assert_placed, open_file, tile_file
from tests.geodesy.truth import pyproj_ecef

US_FOOT = 1200 / 3937


def _geokeys(*keys: tuple[int, int]) -> GeoKeyDirectoryVlr:
    vlr = GeoKeyDirectoryVlr()
    vlr.geo_keys = [GeoKeyEntryStruct(id=k, tiff_tag_location=0, count=1, value_offset=v)
                    for k, v in keys]  # fmt: skip
    vlr.geo_keys_header.number_of_keys = len(keys)
    return vlr


def _us_feet_las(path: Path, n: int = 4_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTM 10N (EPSG:26910, a metre CRS) whose ProjLinearUnitsGeoKey and VerticalUnitsGeoKey
    say US survey feet: the numbers are feet (as GDAL and PDAL read such files)."""
    rng = np.random.default_rng(7)
    east_m = 494_000 + rng.uniform(0, 1_000, n)
    north_m = 4_877_500 + rng.uniform(0, 1_300, n)
    height_m = 120 + rng.uniform(0, 60, n)
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([1_620_000.0, 16_000_000.0, 0.0])
    header.vlrs.append(_geokeys((1024, 1), (1025, 1), (3072, 26910), (3076, 9003), (4099, 9003)))
    las = laspy.LasData(header)
    las.x, las.y, las.z = east_m / US_FOOT, north_m / US_FOOT, height_m / US_FOOT
    las.write(str(path))
    back = laspy.read(str(path))  # the stored (0.01 ft) values are the truth's input
    return (np.asarray(back.x), np.asarray(back.y), np.asarray(back.z))


def test_proj_linear_units_override_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "usft.las"
    x, y, z = _us_feet_las(path)
    reader = open_file(path)
    assert [reader.info.units[k] for k in "xyz"] == ["US survey foot"] * 3
    reader.close()
    # Truth: the registered metre CRS, fed the numbers converted to metres by hand.
    truth = pyproj_ecef(CRS.from_epsg(26910).to_3d(), x * US_FOOT, y * US_FOOT, z * US_FOOT)
    points, doc = tile_file(path, tmp_path / "out")
    assert points == len(x)
    assert doc["extras"]["spatialviz"]["georef"]["horizontal_unit"] == "US survey foot"
    assert_placed(tmp_path / "out" / "tileset.json", truth)


def test_geojson_legacy_crs_member_is_honoured(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 2_000
    x = 651_000 + rng.uniform(0, 800, n)  # Lambert-93 (EPSG:2154) metres, Paris
    y = 6_862_000 + rng.uniform(0, 600, n)
    z = 35 + rng.uniform(0, 20, n)
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": [
            {"type": "Feature", "properties": {"i": i},
             "geometry": {"type": "Point", "coordinates": [x[i], y[i], z[i]]}}
            for i in range(n)
        ],
    }  # fmt: skip
    path = tmp_path / "l93.geojson"
    path.write_text(json.dumps(doc))
    truth = pyproj_ecef(CRS.from_epsg(2154).to_3d(), x, y, z)
    points, tileset = tile_file(path, tmp_path / "out")
    assert points == n
    georef = tileset["extras"]["spatialviz"]["georef"]
    assert georef["crs_name"] == "RGF93 v1 / Lambert-93"
    assert georef["warnings"] == []
    assert_placed(tmp_path / "out" / "tileset.json", truth)


def test_geojson_without_member_is_degrees_and_placed(tmp_path: Path) -> None:
    lon = np.linspace(2.30, 2.40, 500)
    lat = np.linspace(48.80, 48.90, 500)
    doc = {"type": "MultiPoint", "coordinates": [[a, b] for a, b in zip(lon, lat, strict=True)]}
    path = tmp_path / "deg.geojson"
    path.write_text(json.dumps(doc))
    truth = pyproj_ecef(CRS.from_epsg(4979), lon, lat, np.zeros(500))
    points, _ = tile_file(path, tmp_path / "out")
    assert points == 500
    assert_placed(tmp_path / "out" / "tileset.json", truth)


def test_geocentric_label_on_projected_numbers_is_a_warning() -> None:
    found = georeference(
        SourceCrs("EPSG:4978"), ((494_000, 4_877_400, 120), (495_000, 4_878_800, 180))
    )
    assert found.frame is not None  # placed as labelled...
    (warning,) = found.warnings  # ...but said
    assert "km below the ellipsoid" in warning


def test_latitudes_past_90_say_swapped_and_are_not_placed() -> None:
    found = georeference(SourceCrs("EPSG:4326"), ((40.0, 100.0, 0.0), (45.0, 120.0, 0.0)))
    assert found.frame is None
    assert found.facts["placed"] is False
    (warning,) = found.warnings
    assert "swapped" in warning


def test_projected_label_outside_its_area_is_a_warning() -> None:
    # UTM 10N numbers (Oregon) labelled Lambert-93: they land in North Africa, not France.
    found = georeference(
        SourceCrs("EPSG:2154"), ((494_000, 4_877_400, 120), (495_000, 4_878_800, 180))
    )
    assert any("outside the area of use" in w for w in found.warnings), found.warnings


def test_swapped_columns_are_a_warning_at_ingest_and_stay_unplaced(tmp_path: Path) -> None:
    """Latitude values in the 'lon' column: ingest says so on the dataset, the tiler leaves
    the cloud unplaced (no root transform) rather than failing or guessing."""
    rng = np.random.default_rng(2)
    lines = ["lat,lon,mag"]  # named the wrong way round
    for _ in range(500):
        lines.append(
            f"{rng.uniform(-120, -115):.5f},{rng.uniform(30, 40):.5f},{rng.uniform(1, 6):.1f}"
        )
    path = tmp_path / "swapped.csv"
    path.write_text("\n".join(lines) + "\n")
    reader = open_file(path)
    result = write_canonical(reader, tmp_path / "c.parquet")
    reader.close()
    assert result.georef is not None
    assert result.georef["placed"] is False
    (warning,) = result.warnings
    assert "look swapped" in warning
    points, doc = tile_file(path, tmp_path / "out")
    assert points == 500
    assert "transform" not in doc["root"]
    assert doc["extras"]["spatialviz"]["georef"]["warnings"] == [warning]


def test_vertical_geokey_makes_a_compound_crs(tmp_path: Path) -> None:
    """UTM 10N + VerticalCSTypeGeoKey 5703 (NAVD88 height, metres): a compound CRS whose
    heights pyproj converts itself (the geoid model is absent here: ballpark, and said)."""
    rng = np.random.default_rng(9)
    n = 3_000
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([494_000.0, 4_877_000.0, 0.0])
    header.vlrs.append(_geokeys((1024, 1), (1025, 1), (3072, 26910), (4096, 5703)))
    las = laspy.LasData(header)
    las.x = 494_000 + rng.uniform(0, 900, n)
    las.y = 4_877_500 + rng.uniform(0, 900, n)
    las.z = 120 + rng.uniform(0, 60, n)
    path = tmp_path / "navd88.las"
    las.write(str(path))
    back = laspy.read(str(path))
    x, y, z = (np.asarray(v, dtype=np.float64) for v in (back.x, back.y, back.z))
    truth = pyproj_ecef(CRS.from_user_input("EPSG:26910+5703"), x, y, z)
    points, doc = tile_file(path, tmp_path / "out")
    assert points == n
    georef = doc["extras"]["spatialviz"]["georef"]
    assert georef["vertical_crs"] == "NAVD88 height"
    assert any("geoid model" in w for w in georef["warnings"]), georef["warnings"]
    assert_placed(tmp_path / "out" / "tileset.json", truth)
