"""Every way a file can be refused, one class per stable ``code``.

The ingest service maps any :class:`FormatError` to a 422 problem+json carrying ``code``
and the message; the codes are part of the API and never change meaning.
"""

from __future__ import annotations

from spatialviz.formats.base import FormatError


class EmptyFileError(FormatError):
    code = "empty_file"


class ArchiveNotSupportedError(FormatError):
    code = "archive_not_supported"


class UnknownFormatError(FormatError):
    code = "unknown_format"


class ContentMismatchError(FormatError):
    code = "content_mismatch"


class TruncatedFileError(FormatError):
    code = "truncated_file"


class CountExceedsFileError(FormatError):
    """A header declares more records than the file can hold."""

    code = "count_exceeds_file"


class DecompressionBombError(FormatError):
    code = "decompression_bomb"


class TooManyPointsError(FormatError):
    code = "too_many_points"


class InvalidHeaderError(FormatError):
    code = "invalid_header"


class InvalidCoordinatesError(FormatError):
    """Too many rows have missing, NaN, infinite or non-numeric coordinates."""

    code = "invalid_coordinates"


class NoValidRowsError(FormatError):
    code = "no_valid_rows"


class NoNumericColumnsError(FormatError):
    code = "no_numeric_columns"


class ColumnNotFoundError(FormatError):
    code = "column_not_found"


class RaggedRowsError(FormatError):
    code = "ragged_rows"


class InvalidJsonError(FormatError):
    code = "invalid_json"


class InvalidGeoJsonError(FormatError):
    code = "invalid_geojson"


class RecordTooLargeError(FormatError):
    code = "record_too_large"


class NestingTooDeepError(FormatError):
    """JSON nested deeper than ``ReaderLimits.max_json_depth`` (a parser bomb)."""

    code = "nesting_too_deep"


class FileTooLargeError(FormatError):
    code = "file_too_large"


class UnsupportedLayoutError(FormatError):
    """The format is known but this variant of it is not (e.g. a PLY without vertices)."""

    code = "unsupported_layout"


class CorruptFileError(FormatError):
    """The file's structure is broken in a way the decoder reported."""

    code = "corrupt_file"


ERROR_CODES: dict[str, type[FormatError]] = {
    cls.code: cls
    for cls in (
        EmptyFileError,
        ArchiveNotSupportedError,
        UnknownFormatError,
        ContentMismatchError,
        TruncatedFileError,
        CountExceedsFileError,
        DecompressionBombError,
        TooManyPointsError,
        InvalidHeaderError,
        InvalidCoordinatesError,
        NoValidRowsError,
        NoNumericColumnsError,
        ColumnNotFoundError,
        RaggedRowsError,
        InvalidJsonError,
        InvalidGeoJsonError,
        RecordTooLargeError,
        NestingTooDeepError,
        FileTooLargeError,
        UnsupportedLayoutError,
        CorruptFileError,
    )
}
