"""HTTP-agnostic helpers for immutable, content-addressed blobs (tiles, exports).

Endpoints (and nginx/CDN config) use these for ETags, conditional requests, single byte
ranges, content types and cache lifetimes.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from typing import BinaryIO, Final
from urllib.parse import quote

CACHE_IMMUTABLE: Final = "public, max-age=31536000, immutable"
#: tileset.json can be replaced when a scene is re-tiled or restyled: revalidate often.
CACHE_TILESET: Final = "public, max-age=60, must-revalidate"
#: Signed or private responses must not be stored by shared caches.
CACHE_PRIVATE: Final = "private, max-age=300"

CONTENT_TYPES: Final[dict[str, str]] = {
    ".json": "application/json",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".subtree": "application/octet-stream",
    ".bin": "application/octet-stream",
    ".usdz": "model/vnd.usdz+zip",
    ".3tz": "application/vnd.maxar.archive.3tz+zip",
    ".png": "image/png",
    ".ktx2": "image/ktx2",
}
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"


class RangeNotSatisfiable(Exception):
    """416: the range lies wholly outside the resource. ``size`` goes in
    ``Content-Range: bytes */<size>``."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable for {size} bytes")
        self.size = size


def content_type_for(path: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(path).suffix.lower(), DEFAULT_CONTENT_TYPE)


def cache_control_for(path: str) -> str:
    """Long-lived for content-addressed tiles and exports; short for ``tileset.json``."""
    name = PurePosixPath(path).name.lower()
    return CACHE_TILESET if name == "tileset.json" else CACHE_IMMUTABLE


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(stream: BinaryIO, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a stream, read in bounded chunks."""
    h = hashlib.sha256()
    while chunk := stream.read(chunk_size):
        h.update(chunk)
    return h.hexdigest()


def strong_etag(digest: str) -> str:
    """A strong ETag from a content hash (hex): quoted, 32 hex chars are plenty."""
    if not re.fullmatch(r"[0-9a-fA-F]{16,}", digest):
        raise ValueError("expected a hex digest")
    return f'"{digest[:32].lower()}"'


def _etag_list(header: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r'(?:W/)?"[^"]*"|\*', header)]


def evaluate_conditional(if_none_match: str | None, etag: str) -> bool:
    """True when the response should be 304 Not Modified (RFC 9110 §13.1.2).

    ``If-None-Match`` uses the weak comparison, so ``W/"x"`` matches ``"x"``; ``*`` matches
    any existing representation.
    """
    if not if_none_match:
        return False
    ours = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == ours for tag in _etag_list(if_none_match))


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single byte range as inclusive ``(start, end)``, or None to send the whole body.

    None for: no header, a unit other than bytes, a malformed header, several ranges
    (RFC 9110 lets a server ignore Range; multipart responses are not worth it for tiles)
    or a syntactically invalid range such as ``bytes=5-2``. Raises
    :class:`RangeNotSatisfiable` (416) when the single range starts at or beyond ``size``
    or is a zero-length suffix.
    """
    if not header:
        return None
    if "," in header:
        return None
    m = _RANGE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        start, end = max(0, size - suffix), size - 1
    else:
        start = int(first)
        if last != "" and int(last) < start:
            return None  # invalid range-spec: ignore the header
        if start >= size:
            raise RangeNotSatisfiable(size)
        end = size - 1 if last == "" else min(int(last), size - 1)
    return start, end


def content_range(start: int, end: int, size: int) -> str:
    """The ``Content-Range`` value for a 206 response."""
    return f"bytes {start}-{end}/{size}"


def attachment_disposition(filename: str) -> str:
    """``Content-Disposition: attachment`` for any file name (RFC 6266): an ASCII
    ``filename`` every client reads, plus ``filename*`` (RFC 8187 / 5987, UTF-8,
    percent-encoded) carrying the real name when it is not plain ASCII. Header values are
    Latin-1 on the wire, so a CJK name put in ``filename`` as it is cannot be sent at all."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
