"""tus 1.0 protocol details (core, creation, termination, checksum, expiration) that do not
depend on the web framework: header parsing and validation."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from spatialviz.kit.errors import SpatialvizError

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_BYTES = 4096


class TusError(SpatialvizError):
    """A tus protocol violation; every response still carries Tus-Resumable."""

    def __init__(self, detail: str, *, status: int, code: str, title: str) -> None:
        super().__init__(detail, headers={"Tus-Resumable": TUS_VERSION}, code=code)
        self.status, self.title = status, title


def require_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise TusError(
            f"Tus-Resumable must be {TUS_VERSION}.",
            status=412,
            code="tus_version_unsupported",
            title="Precondition failed",
        )


def parse_length(value: str | None, max_size: int) -> int:
    if value is None or not value.isdigit():
        raise TusError(
            "Upload-Length must be a non-negative integer (deferred length is not supported).",
            status=400,
            code="tus_bad_length",
            title="Bad request",
        )
    length = int(value)
    if length > max_size:
        raise TusError(
            f"Upload-Length {length} exceeds the limit of {max_size} bytes.",
            status=413,
            code="payload_too_large",
            title="Payload too large",
        )
    return length


def parse_offset(value: str | None) -> int:
    if value is None or not value.isdigit():
        raise TusError(
            "Upload-Offset must be a non-negative integer.",
            status=400,
            code="tus_bad_offset",
            title="Bad request",
        )
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """``key base64value,key2 base64value2``; keys unique, values UTF-8."""
    if not value:
        return {}
    if len(value) > MAX_METADATA_BYTES:
        raise _bad_metadata("Upload-Metadata is too long.")
    out: dict[str, str] = {}
    for pair in value.split(","):
        pieces = pair.strip().split(" ")
        key = pieces[0]
        if not key or key in out or len(pieces) > 2:
            raise _bad_metadata(f"Upload-Metadata has a malformed or repeated key {key!r}.")
        raw = pieces[1] if len(pieces) == 2 else ""
        try:
            out[key] = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _bad_metadata(f"Upload-Metadata value for {key!r} is not base64 UTF-8.") from None
    return out


def _bad_metadata(detail: str) -> TusError:
    return TusError(detail, status=400, code="tus_bad_metadata", title="Bad request")


@dataclass(frozen=True)
class PatchHeaders:
    """A PATCH's protocol headers, checked only once the caller may see the upload (another
    workspace's upload is a 404 whatever the headers say)."""

    tus_resumable: str | None
    content_type: str | None
    offset: str | None
    checksum: str | None

    def parse(self) -> tuple[int, ChecksumVerifier]:
        require_version(self.tus_resumable)
        if self.content_type != OFFSET_CONTENT_TYPE:
            raise TusError(
                f"Content-Type must be {OFFSET_CONTENT_TYPE}.",
                status=415,
                code="tus_bad_content_type",
                title="Unsupported media type",
            )
        return parse_offset(self.offset), ChecksumVerifier(self.checksum)


class ChecksumVerifier:
    """Upload-Checksum: ``<algorithm> <base64 digest>`` of the PATCH body."""

    def __init__(self, header: str | None) -> None:
        self.expected: bytes | None = None
        self._hash: hashlib._Hash | None = None
        if header is None:
            return
        algorithm, _, digest = header.strip().partition(" ")
        if algorithm not in CHECKSUM_ALGORITHMS:
            raise TusError(
                f"Checksum algorithm {algorithm!r} is not supported.",
                status=400,
                code="tus_checksum_unsupported",
                title="Bad request",
            )
        try:
            self.expected = base64.b64decode(digest, validate=True)
        except binascii.Error:
            raise TusError(
                "Upload-Checksum digest is not base64.",
                status=400,
                code="tus_bad_checksum",
                title="Bad request",
            ) from None
        self._hash = hashlib.new(algorithm)

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)

    def verify(self) -> None:
        if self._hash is not None and self._hash.digest() != self.expected:
            raise TusError(
                "The chunk's checksum does not match Upload-Checksum; it was discarded.",
                status=460,
                code="checksum_mismatch",
                title="Checksum mismatch",
            )
