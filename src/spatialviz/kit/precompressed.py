"""Files sent as the build compressed them: ``name.br`` or ``name.gz`` beside ``name``
(written by web/scripts/precompress.ts), chosen per request from ``Accept-Encoding``.

`spatialviz serve` has no nginx in front of it, and compressing a megabyte of JavaScript on
every request would cost the one process far more than reading a file the build already
compressed once, at settings too slow to use per request.

- A sibling is used only when it is at least as new as its source: a source rewritten after
  the build (by hand, or by a build that failed half-way) is sent as it is, never shadowed
  by the stale compressed copy. A sibling without its source is never reached: the caller
  finds the source first.
- Each coding is its own file, so Content-Length, Last-Modified and the ETag (Starlette's,
  from size and mtime) are that file's: a cache never mixes up two codings.
- A ``Range`` request gets the plain file: a byte range of a compressed stream cannot be
  decoded alone, and a client asking for bytes of a script or a WebAssembly module means the
  file's bytes. The compressed answers therefore say ``Accept-Ranges: none``.
- Every answer says ``Vary: Accept-Encoding``, the plain one included, so a shared cache
  keeps one copy per coding.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from fastapi.responses import FileResponse
from starlette.datastructures import Headers

from spatialviz.kit.encodings import IDENTITY, add_vary, choose_coding

#: The codings the build writes, best first, with their file suffix.
SIBLINGS: Final[tuple[tuple[str, str], ...]] = (("br", ".br"), ("gzip", ".gz"))


def is_sibling_name(name: str) -> bool:
    """True for ``x.js.br``: never served under its own name (it would go out labelled as
    JavaScript without its Content-Encoding); ``x.js`` is its URL."""
    return name.endswith(tuple(suffix for _, suffix in SIBLINGS))


def fresh_sibling(source: Path, suffix: str, source_mtime_ns: int) -> Path | None:
    """``source`` + ``suffix`` when it is a file no older than ``source``."""
    sibling = source.with_name(source.name + suffix)
    try:
        info = sibling.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_mtime_ns < source_mtime_ns:
        return None
    return sibling


def precompressed_file(
    request_headers: Headers, path: Path, headers: Mapping[str, str], media_type: str | None = None
) -> FileResponse:
    """``path`` (an existing file) as a response, compressed when the client accepts a coding
    the build wrote for it. ``headers`` are added to every answer (Cache-Control)."""
    media_type = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    out = {**headers, "Vary": add_vary(headers.get("Vary"))}
    if request_headers.get("range") is None:
        source_mtime_ns = os.stat(path).st_mtime_ns
        available = {
            coding: sibling
            for coding, suffix in SIBLINGS
            if (sibling := fresh_sibling(path, suffix, source_mtime_ns)) is not None
        }
        coding = choose_coding(request_headers.get("accept-encoding"), tuple(available))
        if coding != IDENTITY:
            out.update({"Content-Encoding": coding, "Accept-Ranges": "none"})
            return FileResponse(available[coding], headers=out, media_type=media_type)
    return FileResponse(path, headers=out, media_type=media_type)
