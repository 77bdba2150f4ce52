"""Where a dataset sits on Earth: CRS labels, units and the local metric frame.

Pure (pyproj and numpy only): the readers use it to understand CRS labels, ingest to record
what was honoured and what looks wrong, and the tiling engine to put every point, in metres,
into a local east-north-up frame whose root transform places the tileset in ECEF.

- :mod:`~spatialviz.geodesy.labels`: a file's labels (WKT, EPSG codes, GeoTIFF keys with
  unit overrides, a GeoJSON ``crs`` member, longitude/latitude columns) -> :class:`SourceCrs`.
- :mod:`~spatialviz.geodesy.frame`: :class:`LocalFrame`, source coordinates -> local metres,
  through pyproj point by point (projection scale, convergence, curvature and units included).
- :mod:`~spatialviz.geodesy.checks`: facts and warnings about a label against the numbers.
"""

from spatialviz.geodesy.checks import GeoFacts, Georeference, georeference
from spatialviz.geodesy.frame import LocalFrame
from spatialviz.geodesy.labels import SourceCrs, source_crs

__all__ = ["GeoFacts", "Georeference", "LocalFrame", "SourceCrs", "georeference", "source_crs"]
