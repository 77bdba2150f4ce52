"""What the drills share: the scene's points read back from its tiles, a part caught at
work and its worker frozen, and a clock for the figures the drills print."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from spatialviz.kit.db import transaction
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


# Any constant: advisory locks belong to one database, and each test has a database of
# its own (tests/conftest.py).
_HOLD_KEY = 7_318_001
_HOLD_DDL = (
    "CREATE OR REPLACE FUNCTION sv_drill_hold_part() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_advisory_xact_lock_shared({_HOLD_KEY}); RETURN NEW; END $$",
    "CREATE OR REPLACE TRIGGER sv_drill_hold_part BEFORE UPDATE ON job_parts FOR EACH ROW "
    "WHEN (NEW.status = 'done' AND OLD.status <> 'done') EXECUTE FUNCTION sv_drill_hold_part()",
)


@asynccontextmanager
async def completions_held(resources: Resources) -> AsyncIterator[None]:
    """While open, no fan-out part can be recorded done: a trigger of the test's database
    makes every completion wait for an advisory lock held here. Parts are still claimed
    and run; a finished one stays running in the ledger, its worker waiting in the
    completion's transaction, until this closes.

    A part of a drill's scene takes a tenth of a second, so a drill that looked and then
    froze could find every part gone on a machine busy enough to leave it unscheduled for
    that long; held this way, a running part waits for the drill however late it looks."""
    async with transaction(resources.sessions) as session:
        for statement in _HOLD_DDL:
            await session.execute(text(statement))
    async with resources.sessions() as session:
        await session.execute(select(func.pg_advisory_lock(_HOLD_KEY)))
        try:
            yield
        finally:
            await session.execute(select(func.pg_advisory_unlock(_HOLD_KEY)))


async def freeze_worker_at_work(
    resources: Resources,
    job_id: uuid.UUID,
    workers: Sequence[Worker],
    *,
    scratch_prefix: Path | None = None,
) -> Victim:
    """Wait for a map part running in one of ``workers`` and SIGSTOP that worker's whole
    process group, so the parts it runs are caught mid-run. Called under
    :func:`completions_held`, so a part seen running is still running when its worker is
    frozen. With ``scratch_prefix``, a part is caught only once its process holds its
    scratch directory: the claim is written an instant before the directory is made, and
    a freeze in between leaves nothing on disk to sweep."""

    def catchable(part: JobPart, holder: Worker) -> bool:
        return (
            part.status == PartStatus.running
            and part.position != REDUCE_POSITION
            and holder.holds(_pid(part))
            and (scratch_prefix is None or _holds_scratch(_pid(part), scratch_prefix))
        )

    def holder_of(parts: Sequence[JobPart]) -> Worker | None:
        return next((w for w in workers for p in parts if catchable(p, w)), None)

    holder = holder_of(
        await wait_for_parts(resources, job_id, lambda ps: holder_of(ps) is not None)
    )
    assert holder is not None
    os.killpg(holder.process.pid, signal.SIGSTOP)
    # Read again with the worker stopped: every part it runs, not only the first seen.
    parts = await load_parts(resources, job_id)
    return Victim(holder, [p for p in parts if catchable(p, holder)])


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.start, 1)
