"""Dataset test helpers: small files made on the spot, and waiting for ingest."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import laspy
import numpy as np

from spatialviz.config import Settings
from tests.factories import Headers, poll_status


def csv_bytes(rows: int = 200, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    lines = ["x,y,z,temperature,label"]
    for i in range(rows):
        x, y, z = rng.uniform(0, 100, 3)
        lines.append(f"{x:.3f},{y:.3f},{z:.3f},{rng.normal(20, 5):.2f},{'ab'[i % 2]}")
    return ("\n".join(lines) + "\n").encode()


def las_bytes(points: int = 500, seed: int = 2) -> bytes:
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([0.0, 0.0, 0.0])
    las = laspy.LasData(header)
    las.x = rng.uniform(0, 50, points)
    las.y = rng.uniform(0, 50, points)
    las.z = rng.uniform(0, 10, points)
    las.intensity = rng.integers(0, 65535, points, dtype=np.uint16)
    las.classification = rng.integers(1, 7, points, dtype=np.uint8)
    buffer = io.BytesIO()
    las.write(buffer)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient,
    headers: Headers,
    workspace_id: str,
    data: bytes,
    filename: str = "points.csv",
) -> httpx.Response:
    return await client.post(
        "/api/v1/datasets",
        params={"workspace_id": workspace_id, "filename": filename},
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )


async def wait_for_dataset(
    client: httpx.AsyncClient, headers: Headers, dataset_id: str, within: float = 60.0
) -> dict[str, Any]:
    """Poll until ingest has finished (ready or failed)."""
    url = f"/api/v1/datasets/{dataset_id}"
    return await poll_status(client, headers, url, frozenset({"ready", "failed"}), within)


def stored_files(settings: Settings) -> list[str]:
    """Every file under the local storage root, relative to it (uploads in flight excluded)."""
    root = Path(settings.storage_url.removeprefix("file://"))
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts
    )
