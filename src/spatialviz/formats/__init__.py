"""Readers and writers for spatial file formats; no web, DB or job imports."""

from spatialviz.formats.base import (
    FormatError,
    PointReader,
    PositionOverride,
    ReaderLimits,
    SourceInfo,
)
from spatialviz.formats.canonical import (
    CanonicalReader,
    CanonicalResult,
    ColumnSchema,
    IngestCancelledError,
    read_canonical,
    write_canonical,
)
from spatialviz.formats.errors import ERROR_CODES
from spatialviz.formats.labels import safe_label
from spatialviz.formats.registry import FORMATS, detect_format, open_reader

__all__ = [
    "ERROR_CODES",
    "FORMATS",
    "CanonicalReader",
    "CanonicalResult",
    "ColumnSchema",
    "FormatError",
    "IngestCancelledError",
    "PointReader",
    "PositionOverride",
    "ReaderLimits",
    "SourceInfo",
    "detect_format",
    "open_reader",
    "read_canonical",
    "safe_label",
    "write_canonical",
]
