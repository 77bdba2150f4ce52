"""Content codings: which one a client accepts (``Accept-Encoding``, RFC 9110 §12.5.3) and
which response media types are worth compressing. Shared by the precompressed static files
(``kit/precompressed.py``) and the on-the-fly gzip of API responses (``kit/compression.py``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Final

IDENTITY: Final = "identity"
#: Below this a compressed body saves less than its headers weigh (nginx's gzip_min_length
#: in deploy/nginx, and web/scripts/precompress.ts's MIN_BYTES, say the same).
MIN_COMPRESS_BYTES: Final = 1024

# deploy/nginx/spatialviz.conf's gzip_types, so both ways of running compress the same things.
# Tiles (model/gltf-binary, octet-stream) are already meshopt/Draco compressed, and archives
# are zip: gzip would only cost CPU.
_COMPRESSIBLE_TYPES: Final = frozenset(
    {
        "application/json",
        "application/problem+json",
        "application/javascript",
        "application/wasm",
        "application/xml",
        "image/svg+xml",
        "model/gltf+json",
    }
)
# Written a piece at a time, each meant to arrive at once; compressing it would hold pieces
# back in the compressor (we flush, but a proxy may not).
_NEVER_COMPRESSED: Final = frozenset({"text/event-stream"})


def media_type(content_type: str) -> str:
    """``text/html; charset=utf-8`` → ``text/html``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_compressible(content_type: str) -> bool:
    kind = media_type(content_type)
    if kind in _NEVER_COMPRESSED:
        return False
    return kind in _COMPRESSIBLE_TYPES or kind.startswith("text/") or kind.endswith("+json")


@functools.lru_cache(maxsize=256)
def is_compressible_raw(content_type: bytes) -> bool:
    """:func:`is_compressible` for a raw header value, remembered: a server sends few
    distinct types, and the middleware asks on every response (every tile)."""
    return is_compressible(content_type.decode("latin-1"))


def _weights(header: str) -> tuple[dict[str, float], float | None]:
    """Each named coding's q-value, and the wildcard's (None when ``*`` is absent). A
    malformed q counts as 0: a client that cannot write its header is not sent a coding it
    may not read."""
    weights: dict[str, float] = {}
    wildcard: float | None = None
    for item in header.split(","):
        name, _, params = item.partition(";")
        coding = name.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if coding == "*":
            wildcard = q
        else:
            weights[coding] = max(q, weights.get(coding, 0.0))
    return weights, wildcard


def choose_coding(accept_encoding: str | None, available: Sequence[str]) -> str:
    """The coding to send: of ``available`` (in the server's order of preference, e.g.
    ``("br", "gzip")``), the one the client weighs highest above 0, ties going to the
    earlier; ``identity`` when none is acceptable. No header at all gets ``identity``:
    RFC 9110 would allow any coding, but a client that says nothing may not decode one."""
    if not accept_encoding or not available:
        return IDENTITY
    weights, wildcard = _weights(accept_encoding)
    best, best_q = IDENTITY, 0.0
    for coding in available:
        q = weights.get(coding, wildcard if wildcard is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    return best


def add_vary(value: str | None, field: str = "Accept-Encoding") -> str:
    """``value`` with ``field`` in it once (a ``*`` already covers everything)."""
    if not value:
        return field
    present = {part.strip().lower() for part in value.split(",")}
    if field.lower() in present or "*" in present:
        return value
    return f"{value}, {field}"
