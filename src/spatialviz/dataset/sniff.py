"""Checks on the first bytes and the filename that can refuse an upload at once, before
any job runs. The full content detection happens in ingest (spatialviz.formats)."""

from __future__ import annotations

from spatialviz.dataset.exceptions import BadFilename, EmptyUpload, UnsupportedArchive
from spatialviz.formats.detect import archive_kind

MAX_LABEL = 200


def refuse_archive_or_empty(size: int, head: bytes) -> None:
    if size == 0:
        raise EmptyUpload("The uploaded file is empty.")
    kind = archive_kind(head)
    if kind is not None:
        raise UnsupportedArchive(
            f"The upload is a {kind} archive; upload the file inside it instead."
        )


def dataset_label(filename: str | None) -> str:
    """The client's filename is only a label: refuse traversal and control characters
    (a client sending them is broken or hostile), keep the last path component."""
    if not filename:
        return "upload"
    if "\x00" in filename or any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise BadFilename("The filename contains NUL or control characters.")
    parts = filename.replace("\\", "/").split("/")
    if ".." in parts:
        raise BadFilename("The filename contains a '..' path component.")
    label = parts[-1].strip() or "upload"
    return label[:MAX_LABEL]
