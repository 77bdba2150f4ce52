"""Format detection from content (magic bytes, then text sniffing), checked against the
file's extension.

Format names: ``las``, ``laz``, ``ply``, ``csv``, ``parquet``, ``arrow`` (IPC file / Feather
v2), ``arrow_stream``, ``feather`` (v1), ``ndjson``, ``geojson``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from spatialviz.formats.errors import (
    ArchiveNotSupportedError,
    ContentMismatchError,
    EmptyFileError,
    UnknownFormatError,
)

FORMATS = (
    "las",
    "laz",
    "ply",
    "csv",
    "parquet",
    "arrow",
    "arrow_stream",
    "feather",
    "ndjson",
    "geojson",
)

#: Formats that are interchangeable for the extension check (a LAZ named .las is accepted).
_FAMILY = {
    "las": "lidar",
    "laz": "lidar",
    "ply": "ply",
    "csv": "text_table",
    "parquet": "parquet",
    "arrow": "arrow",
    "arrow_stream": "arrow",
    "feather": "arrow",
    "ndjson": "json",
    "geojson": "json",
}

_EXTENSIONS = {
    ".las": "las",
    ".laz": "laz",
    ".ply": "ply",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xyz": "csv",
    ".pts": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow_stream",
    ".ipc": "arrow",
    ".feather": "arrow",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".geojsonl": "ndjson",
    ".geojson": "geojson",
    ".json": "geojson",
}

_ARCHIVE_EXTENSIONS = {
    ".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".zst", ".zstd", ".lz4",
}  # fmt: skip

_ARCHIVE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
)

_SNIFF_BYTES = 64 * 1024
#: "ply" alone on the first line; trailing spaces or tabs and any line ending are tolerated,
#: as other PLY readers do (files written with "ply " exist in the wild).
_PLY_MAGIC = re.compile(rb"ply[ \t]*(\r\n|\n|\r)")


def format_family(fmt: str) -> str:
    return _FAMILY.get(fmt, fmt)


def format_from_extension(path: Path) -> str | None:
    return _EXTENSIONS.get(path.suffix.lower())


def detect_format(path: Path) -> str:
    """Return the format of ``path`` judged from its content.

    Raises :class:`EmptyFileError`, :class:`ArchiveNotSupportedError`,
    :class:`UnknownFormatError`, and :class:`ContentMismatchError` when the content
    contradicts a known extension.
    """
    fmt = sniff_content(path)
    expected = format_from_extension(path)
    if expected is not None and format_family(expected) != format_family(fmt):
        raise ContentMismatchError(
            f"The file is named like {expected.upper()} ({path.suffix}) but its content is "
            f"{fmt.upper()}."
        )
    return fmt


def sniff_content(path: Path) -> str:
    """Detect the format from the first bytes only, ignoring the name."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        raise EmptyFileError("The file is empty.")
    archive = archive_kind(head)
    if archive is None and path.suffix.lower() in _ARCHIVE_EXTENSIONS:
        archive = path.suffix.lower().lstrip(".")
    if archive is not None:
        raise ArchiveNotSupportedError(
            f"The file is a {archive} archive; upload the point-cloud or table file itself."
        )
    binary = _binary_kind(head)
    if binary is not None:
        return binary
    return _text_kind(head)


def archive_kind(head: bytes) -> str | None:
    """The archive or compression format the first bytes show (zip, gzip, tar, 7z, ...), or
    None. The one table: the upload check (``dataset.sniff``) refuses by it too."""
    for magic, name in _ARCHIVE_MAGIC:
        if head.startswith(magic):
            return name
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _binary_kind(head: bytes) -> str | None:
    if head.startswith(b"LASF"):
        # point data format id at byte 104: bits 7/6 mark LAZ compression
        compressed = len(head) > 104 and head[104] & 0xC0
        return "laz" if compressed else "las"
    if _PLY_MAGIC.match(head):
        return "ply"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1"):
        return "arrow"
    if head.startswith(b"FEA1"):
        return "feather"
    if head.startswith(b"\xff\xff\xff\xff") and len(head) >= 8:
        return "arrow_stream"
    return None


def _text_kind(head: bytes) -> str:
    if b"\x00" in head:
        raise UnknownFormatError("The file is binary data of a format Spatialviz does not read.")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the sniff boundary is fine; anything else is not text
        if exc.start < len(head) - 4:
            try:
                text = head.decode("latin-1")
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
                raise UnknownFormatError("The file is not text.") from exc
        else:
            text = head[: exc.start].decode("utf-8")
    text = text.lstrip("\ufeff \t\r\n")
    if not text:
        raise UnknownFormatError("The file contains only whitespace.")
    if text[0] == "{":
        return "ndjson" if _looks_like_ndjson(text) else "geojson"
    if text[0] == "[":
        raise UnknownFormatError(
            "The file is a JSON array; upload GeoJSON, NDJSON (one object per line) or CSV."
        )
    return "csv"


def _looks_like_ndjson(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[1].lstrip().startswith("{"):
        return False
    try:
        json.loads(lines[0])
    except RecursionError:
        return True  # line-shaped but nested too deep to parse: the reader's budget refuses it
    except ValueError:
        return False
    return True
