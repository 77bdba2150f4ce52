"""Display labels for client-supplied filenames."""

from __future__ import annotations

import re
import unicodedata

MAX_LABEL_CHARS = 120
_FALLBACK = "dataset"


def safe_label(filename: str, *, max_chars: int = MAX_LABEL_CHARS) -> str:
    """Turn a client filename into a label safe to display and log.

    Keeps only the last path component (either slash style), drops NUL, control and
    format characters (including bidi overrides), collapses whitespace, strips leading dots
    so ``..`` and hidden-file names cannot survive, and bounds the length while keeping the
    extension. Never returns an empty string.
    """
    name = unicodedata.normalize("NFC", filename)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if not name:
        return _FALLBACK
    if len(name) > max_chars:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10 and stem:
            name = stem[: max_chars - len(ext) - 2] + "…." + ext
        else:
            name = name[: max_chars - 1] + "…"
    return name
