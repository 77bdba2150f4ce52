"""What the CesiumJS tests need besides the browser: a loopback HTTP server for CesiumJS's
build, the harness page and tilesets written by `spatialviz tile`; small inputs made on the
spot; where the data truly is on Earth (pyproj, never the product's own output); and a pixel
count of the drawing buffer."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import laspy
import numpy as np
from PIL import Image
from pyproj import CRS, Geod, Transformer

REPO = Path(__file__).resolve().parents[2]
CESIUM_BUILD = REPO / "tools" / "cesium" / "node_modules" / "cesium" / "Build" / "Cesium"
HARNESS = Path(__file__).resolve().parent / "cesium"


def _handler(roots: Mapping[str, Path]) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {
            **SimpleHTTPRequestHandler.extensions_map,
            ".glb": "model/gltf-binary",
            ".wasm": "application/wasm",
            ".js": "text/javascript",
        }

        def translate_path(self, path: str) -> str:
            # Longest prefix first; anything outside the roots is a 404, never a file of
            # the machine's.
            wanted = unquote(urlsplit(path).path)
            for prefix in sorted(roots, key=len, reverse=True):
                if wanted.startswith(prefix):
                    root = roots[prefix].resolve()
                    target = (root / wanted[len(prefix) :]).resolve()
                    if target.is_relative_to(root):
                        return str(target)
            return str(HARNESS / "missing")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests report failed requests themselves

    return Handler


@contextmanager
def static_server(roots: Mapping[str, Path]) -> Iterator[str]:
    """Serve ``roots`` (URL prefix -> folder) on a loopback port; yields the origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(roots))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Truth:
    """Where a dataset's bounding box is on Earth: its centre (degrees, metres above the
    ellipsoid) and half its diagonal in metres, from pyproj."""

    lon: float
    lat: float
    height: float
    radius: float


def truth_from_bounds(crs: CRS, mins: np.ndarray, maxs: np.ndarray, z_unit: float = 1.0) -> Truth:
    """``z_unit``: metres per unit of the Z values (a LAS in a feet CRS has feet heights)."""
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    centre = (mins + maxs) / 2.0
    lon, lat = to_lonlat.transform(centre[0], centre[1])
    corner_lon, corner_lat = to_lonlat.transform([mins[0], maxs[0]], [mins[1], maxs[1]])
    heights = [mins[2] * z_unit, maxs[2] * z_unit]
    ex, ey, ez = to_ecef.transform(corner_lon, corner_lat, heights)
    diagonal = float(np.linalg.norm([ex[1] - ex[0], ey[1] - ey[0], ez[1] - ez[0]]))
    return Truth(float(lon), float(lat), float(centre[2] * z_unit), diagonal / 2.0)


def horizontal_offset(truth: Truth, lon: float, lat: float) -> float:
    """Metres along the ellipsoid between the true centre and (lon, lat)."""
    _, _, metres = Geod(ellps="WGS84").inv(truth.lon, truth.lat, lon, lat)
    return float(metres)


def las_in_utm(path: Path, points: int = 3000, seed: int = 7) -> Truth:
    """A LAS 1.2 point format 3 file (RGB, GPS time, every standard field) in UTM zone 10N
    metres near Eugene, Oregon; returns where it is."""
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([493_000.0, 4_877_000.0, 0.0])
    crs = CRS.from_epsg(32610)
    header.add_crs(crs)
    las = laspy.LasData(header)
    east = rng.uniform(0, 400, points)
    north = rng.uniform(0, 300, points)
    las.x = 493_000 + east
    las.y = 4_877_000 + north
    las.z = 120 + 10 * np.sin(east / 40) + rng.uniform(0, 2, points)
    las.intensity = rng.integers(0, 65535, points, dtype=np.uint16)
    las.classification = rng.integers(1, 7, points, dtype=np.uint8)
    las.return_number = np.ones(points, dtype=np.uint8)
    las.number_of_returns = np.ones(points, dtype=np.uint8)
    las.gps_time = 3.2e8 + np.sort(rng.uniform(0, 60, points))
    las.red = (east / 400 * 65535).astype(np.uint16)
    las.green = (north / 300 * 65535).astype(np.uint16)
    las.blue = np.full(points, 40_000, dtype=np.uint16)
    las.write(str(path))
    return las_truth(path)


def las_truth(path: Path) -> Truth:
    """Where a LAS file's points are, from laspy's header and pyproj; Z is in the
    horizontal CRS's unit (the LAS convention when no vertical CRS is given)."""
    with laspy.open(str(path)) as reader:
        header = reader.header
        crs = header.parse_crs()
        assert crs is not None, f"{path.name} declares no CRS"
        horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
        unit = float(horizontal.axis_info[0].unit_conversion_factor)
        return truth_from_bounds(horizontal, np.array(header.mins), np.array(header.maxs), unit)


def geojson_in_degrees(points: int = 3000, seed: int = 11) -> tuple[bytes, Truth]:
    """Point features in longitude/latitude degrees (RFC 7946: heights in metres above the
    WGS 84 ellipsoid) over ~800 m x 1.1 km near Lyon."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(4.80, 4.81, points)
    lat = rng.uniform(45.74, 45.75, points)
    height = rng.uniform(170, 230, points)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7), round(z, 2)]},
            "properties": {"reading": round(float(v), 2)},
        }
        for x, y, z, v in zip(lon, lat, height, rng.normal(10, 3, points), strict=True)
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    mins = np.array([lon.min(), lat.min(), height.min()])
    maxs = np.array([lon.max(), lat.max(), height.max()])
    return body, truth_from_bounds(CRS.from_epsg(4326), mins, maxs)


def drawn_pixels(data_url: str, background: list[int], tolerance: float = 40.0) -> int:
    """Pixels of a canvas capture (a PNG data URL) clearly unlike the background colour."""
    png = base64.b64decode(data_url.split(",", 1)[1])
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)
    distance = np.linalg.norm(rgb.reshape(-1, 3) - np.array(background, np.float32), axis=1)
    return int((distance > tolerance).sum())
