"""Format registry: detect a file's format and open the matching reader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spatialviz.formats.base import PointReader, PositionOverride, ReaderLimits
from spatialviz.formats.detect import FORMATS, detect_format, format_family, sniff_content
from spatialviz.formats.errors import ContentMismatchError, UnknownFormatError

__all__ = ["FORMATS", "detect_format", "open_reader"]

Opener = Callable[[Path, ReaderLimits, PositionOverride | None], PointReader]
# Formats whose positions are fixed by the format itself: no column choice to honour.
FixedOpener = Callable[[Path, ReaderLimits], PointReader]


def _las(path: Path, limits: ReaderLimits) -> PointReader:
    from spatialviz.formats.las import LasReader

    return LasReader(path, limits)


def _ply(path: Path, limits: ReaderLimits) -> PointReader:
    from spatialviz.formats.ply import PlyReader

    return PlyReader(path, limits)


def _csv(path: Path, limits: ReaderLimits, columns: PositionOverride | None) -> PointReader:
    from spatialviz.formats.delimited import CsvReader

    return CsvReader(path, limits, columns)


def _columnar(fmt: str) -> Opener:
    def opener(path: Path, limits: ReaderLimits, columns: PositionOverride | None) -> PointReader:
        from spatialviz.formats.columnar import ColumnarReader

        return ColumnarReader(path, limits, columns, fmt)

    return opener


def _ndjson(path: Path, limits: ReaderLimits, columns: PositionOverride | None) -> PointReader:
    from spatialviz.formats.ndjson import NdjsonReader

    return NdjsonReader(path, limits, columns)


def _geojson(path: Path, limits: ReaderLimits) -> PointReader:
    from spatialviz.formats.geojson import GeoJsonReader

    return GeoJsonReader(path, limits)


_FIXED: dict[str, FixedOpener] = {"las": _las, "laz": _las, "ply": _ply, "geojson": _geojson}
_OPENERS: dict[str, Opener] = {
    "csv": _csv,
    "parquet": _columnar("parquet"),
    "arrow": _columnar("arrow"),
    "arrow_stream": _columnar("arrow_stream"),
    "feather": _columnar("feather"),
    "ndjson": _ndjson,
}


def open_reader(
    path: Path,
    limits: ReaderLimits,
    *,
    format: str | None = None,
    columns: PositionOverride | None = None,
) -> PointReader:
    """Open ``path`` for streaming.

    The format is detected from the content. When ``format`` is given (the client said what
    it uploads) the content must agree with it; the extension is then not consulted.
    """
    path = Path(path)
    if format is None:
        fmt = detect_format(path)
    else:
        if format not in _OPENERS and format not in _FIXED:
            raise UnknownFormatError(f"Unknown format {format!r}; supported: {', '.join(FORMATS)}.")
        fmt = sniff_content(path)
        if format_family(fmt) != format_family(format):
            raise ContentMismatchError(
                f"The request says {format.upper()} but the content is {fmt.upper()}."
            )
    if fmt in _FIXED:
        return _FIXED[fmt](path, limits)
    return _OPENERS[fmt](path, limits, columns)
