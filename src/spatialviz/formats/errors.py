"""Every way a file can be refused, one class per stable ``code``.

The ingest service maps any :class:`FormatError` to a 422 problem+json carrying ``code``
and the message; the codes are part of the API and never change meaning.
"""

from __future__ import annotations

from spatialviz.formats.base import FormatError


class EmptyFile(FormatError):
    code = "empty_file"


class ArchiveNotSupported(FormatError):
    code = "archive_not_supported"


class UnknownFormat(FormatError):
    code = "unknown_format"


class ContentMismatch(FormatError):
    code = "content_mismatch"


class TruncatedFile(FormatError):
    code = "truncated_file"


class CountExceedsFile(FormatError):
    """A header declares more records than the file can hold."""

    code = "count_exceeds_file"


class DecompressionBomb(FormatError):
    code = "decompression_bomb"


class TooManyPoints(FormatError):
    code = "too_many_points"


class InvalidHeader(FormatError):
    code = "invalid_header"


class InvalidCoordinates(FormatError):
    """Too many rows have missing, NaN, infinite or non-numeric coordinates."""

    code = "invalid_coordinates"


class NoValidRows(FormatError):
    code = "no_valid_rows"


class NoNumericColumns(FormatError):
    code = "no_numeric_columns"


class ColumnNotFound(FormatError):
    code = "column_not_found"


class RaggedRows(FormatError):
    code = "ragged_rows"


class InvalidJson(FormatError):
    code = "invalid_json"


class InvalidGeoJson(FormatError):
    code = "invalid_geojson"


class RecordTooLarge(FormatError):
    code = "record_too_large"


class FileTooLarge(FormatError):
    code = "file_too_large"


class UnsupportedLayout(FormatError):
    """The format is known but this variant of it is not (e.g. a PLY without vertices)."""

    code = "unsupported_layout"


class CorruptFile(FormatError):
    """The file's structure is broken in a way the decoder reported."""

    code = "corrupt_file"


ERROR_CODES: dict[str, type[FormatError]] = {
    cls.code: cls
    for cls in (
        EmptyFile,
        ArchiveNotSupported,
        UnknownFormat,
        ContentMismatch,
        TruncatedFile,
        CountExceedsFile,
        DecompressionBomb,
        TooManyPoints,
        InvalidHeader,
        InvalidCoordinates,
        NoValidRows,
        NoNumericColumns,
        ColumnNotFound,
        RaggedRows,
        InvalidJson,
        InvalidGeoJson,
        RecordTooLarge,
        FileTooLarge,
        UnsupportedLayout,
        CorruptFile,
    )
}
