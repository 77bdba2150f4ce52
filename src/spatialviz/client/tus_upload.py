"""Resumable uploads over tus 1.0, with resume state kept on disk so an interrupted
``spatialviz upload`` continues at the server's offset instead of starting again."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

TUS_HEADERS = {"Tus-Resumable": "1.0.0"}
CHUNK_BYTES = 8 << 20


class UploadFailed(RuntimeError):
    pass


@dataclass
class UploadOutcome:
    upload_url: str
    dataset_id: str | None
    job_id: str | None


def _fingerprint(path: Path, workspace_id: str, base_url: str) -> str:
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{workspace_id}|{base_url}"
    return hashlib.sha256(raw.encode()).hexdigest()


class ResumeStore:
    """fingerprint → upload URL, in one small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def put(self, key: str, url: str | None) -> None:
        data = self._load()
        if url is None:
            data.pop(key, None)
        else:
            data[key] = url
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)


def _metadata(pairs: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def _error(response: httpx.Response) -> UploadFailed:
    try:
        detail = response.json().get("detail") or response.text
    except ValueError:
        detail = response.text
    return UploadFailed(f"HTTP {response.status_code}: {detail}")


def _ignore_progress(*_: int) -> None:
    """Progress goes nowhere unless the caller asks for it."""


def upload_file(
    client: httpx.Client,
    path: Path,
    *,
    workspace_id: str,
    store: ResumeStore,
    on_progress: Callable[[int, int], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> UploadOutcome:
    size = path.stat().st_size
    key = _fingerprint(path, workspace_id, str(client.base_url))
    url = store.get(key)
    offset = 0
    if url is not None:
        head = client.head(url, headers=TUS_HEADERS)
        if head.status_code == 200:
            offset = int(head.headers["Upload-Offset"])
        else:
            url = None
    if url is None:
        created = client.post(
            "/api/v1/uploads",
            headers={
                **TUS_HEADERS,
                "Upload-Length": str(size),
                "Upload-Metadata": _metadata({"filename": path.name, "workspace_id": workspace_id}),
            },
        )
        if created.status_code != 201:
            raise _error(created)
        url = created.headers["Location"]
        store.put(key, url)
    report = on_progress if on_progress is not None else _ignore_progress
    report(offset, size)
    last: httpx.Response | None = None
    with path.open("rb") as fh:
        while offset < size:
            last = _send_chunk(client, url, fh, offset, chunk_bytes)
            offset = int(last.headers["Upload-Offset"])
            report(offset, size)
    if last is None:
        last = client.head(url, headers=TUS_HEADERS)
    store.put(key, None)
    return UploadOutcome(
        upload_url=url,
        dataset_id=last.headers.get("Spatialviz-Dataset-Id"),
        job_id=last.headers.get("Spatialviz-Job-Id"),
    )


def _send_chunk(
    client: httpx.Client, url: str, fh: BinaryIO, offset: int, chunk_bytes: int
) -> httpx.Response:
    fh.seek(offset)
    data = fh.read(chunk_bytes)
    digest = base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()
    response = client.patch(
        url,
        content=data,
        headers={
            **TUS_HEADERS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": f"sha1 {digest}",
        },
    )
    if response.status_code != 204:
        raise _error(response)
    return response
