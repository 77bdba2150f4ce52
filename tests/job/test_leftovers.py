"""The leftovers sweep (job/leftovers.py) on real directories and real job rows: a scratch
directory is taken only once old and unlocked, a tiling work directory only once its job is
final or unknown."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx

from spatialviz.config import Settings
from spatialviz.job.leftovers import (
    HeldScratch,
    scratch_root,
    sweep_leftovers,
    sweep_scratch,
    tiling_work_base,
)
from spatialviz.kit.resources import Resources
from spatialviz.models.job import Job, JobStatus
from tests.factories import register_and_sign_in


def _age(path: Path, seconds: float) -> None:
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


def test_a_held_scratch_is_never_swept_and_a_released_one_is_gone(tmp_path: Path) -> None:
    held = HeldScratch(tmp_path, "job-a-")
    (held.path / "canonical.parquet").write_bytes(b"x" * 1000)
    abandoned = tmp_path / "job-b-dead"
    abandoned.mkdir()
    (abandoned / "part").write_bytes(b"y")
    young = tmp_path / "job-c-young"
    young.mkdir()
    for path in (held.path, abandoned):
        _age(path, 7200)
    assert sweep_scratch(tmp_path, 3600) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([held.path.name, young.name])
    held.release()
    assert not held.path.exists()


async def test_work_of_final_and_unknown_jobs_is_swept_live_jobs_kept(
    client: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    user, _ = await register_and_sign_in(client)
    workspace = uuid.UUID(user["personal_workspace_id"])
    ids = {status: uuid.uuid4() for status in (JobStatus.running, JobStatus.failed)}
    async with resources.sessions() as session:
        for status, job_id in ids.items():
            session.add(
                Job(id=job_id, workspace_id=workspace, kind="scene.tile", status=status, params={})
            )
        await session.commit()
    base = tiling_work_base(settings)
    unknown = uuid.uuid4()
    for job_id in [*ids.values(), unknown]:
        chunks = base / str(job_id) / "attempt-1" / "chunks"
        chunks.mkdir(parents=True)
        (chunks / "0.bin").write_bytes(b"z" * 100)
        _age(base / str(job_id), 3600)
    (base / "not-a-job").mkdir()
    swept = await sweep_leftovers(settings, resources.sessions)
    assert swept.work == 2
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [str(ids[JobStatus.running]), "not-a-job"]
    )
    assert scratch_root(settings).is_dir()
