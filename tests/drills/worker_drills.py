"""What the drills share: the scene's points read back from its tiles, a part caught at
work and its worker frozen, and a clock for the figures the drills print."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from spatialviz.kit.resources import Resources
from spatialviz.models.job_part import REDUCE_POSITION, JobPart, PartStatus
from spatialviz.tiling.glb import decode_points
from tests.job.helpers import load_parts, wait_for_parts
from tests.job.workers import Worker


async def tileset_row_ids(client: httpx.AsyncClient, scene: dict[str, Any]) -> list[int]:
    """Every point of the scene's tiles, by its source row."""
    tileset = (await client.get(scene["tileset_url"])).json()
    signature = scene["tileset_url"].split("?", 1)[1]
    row_ids: list[int] = []
    stack = [tileset["root"]]
    while stack:
        tile = stack.pop()
        stack.extend(tile.get("children", []))
        uri = tile.get("content", {}).get("uri")
        if uri is None or not uri.endswith(".glb"):
            continue
        body = await client.get(f"/api/v1/scenes/{scene['id']}/{uri}?{signature}")
        assert body.status_code == 200, uri
        row_ids += decode_points(body.content).properties["row_id"].tolist()
    return row_ids


def _pid(part: JobPart) -> int:
    assert part.worker is not None
    return int(part.worker.rsplit(":", 2)[1])


@dataclass
class Victim:
    worker: Worker
    parts: list[JobPart]  # running in the worker when it was frozen


def _holds_scratch(pid: int, prefix: Path) -> bool:
    """Whether the process keeps a scratch directory named ``prefix…`` open: an attempt
    holds its scratch's lock from just after its claim until it ends (job/leftovers.py)."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        targets = [os.readlink(fd) for fd in fds.iterdir()]
    except (FileNotFoundError, ProcessLookupError):
        return False
    resolved = str(prefix.parent.resolve() / prefix.name)
    return any(target.startswith(resolved) for target in targets)


async def freeze_worker_at_work(
    resources: Resources,
    job_id: uuid.UUID,
    workers: Sequence[Worker],
    *,
    scratch_prefix: Path | None = None,
) -> Victim:
    """Wait for a map part running in one of ``workers`` and SIGSTOP that worker's whole
    process group, so the parts it runs are caught mid-run (they cannot finish between
    looking and killing). With ``scratch_prefix``, a part is caught only once its process
    holds its scratch directory: the claim is written an instant before the directory is
    made, and a freeze in between leaves nothing on disk to sweep."""
    while True:
        parts = await wait_for_parts(
            resources,
            job_id,
            lambda ps: any(
                p.status == PartStatus.running and p.position != REDUCE_POSITION for p in ps
            ),
        )
        running = next(p for p in parts if p.status == PartStatus.running)
        holder = next((w for w in workers if w.holds(_pid(running))), None)
        if holder is None:
            continue
        os.killpg(holder.process.pid, signal.SIGSTOP)
        caught = [
            p
            for p in await load_parts(resources, job_id)
            if p.status == PartStatus.running
            and p.position != REDUCE_POSITION
            and holder.holds(_pid(p))
            and (scratch_prefix is None or _holds_scratch(_pid(p), scratch_prefix))
        ]
        if caught:
            return Victim(holder, caught)
        os.killpg(holder.process.pid, signal.SIGCONT)  # it finished meanwhile: again


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.start, 1)
