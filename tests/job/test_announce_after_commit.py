"""A job's new state is announced on pub/sub only after the transaction that made it has
committed. A client that hears "succeeded" and at once reads the job, or what its finish hook
changed (a dataset's schema, a scene's tileset), must find it; announcing from inside the
transaction let the browser read a dataset without its schema and stop at "choose columns"
(seen in CI with PostgreSQL).

The runner's transaction steps are driven here with a stand-in runtime that records each
publish next to SQLAlchemy's commit events, in order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from spatialviz.job import operations
from spatialviz.job.repository import JobStore
from spatialviz.job.schemas import job_channel
from spatialviz.kit.db import transaction, utcnow
from spatialviz.kit.resources import Resources
from spatialviz.models.job import JobStatus
from tests.job.helpers import create_job, make_workspace


class Recorder:
    """Commits of transactions that updated *this* job (a supervisor's sweeps commit too, in
    services mode) and publishes, in the order they happen."""

    def __init__(self) -> None:
        self.job_id: uuid.UUID | None = None
        self.seen: list[str] = []

    def executed(self, state: ORMExecuteState) -> None:
        if self.job_id is None or not state.is_update:
            return
        statement: Any = state.statement
        if self.job_id in statement.compile().params.values():
            state.session.info["updated_our_job"] = True

    def committed(self, session: Session) -> None:
        if session.info.pop("updated_our_job", False):
            self.seen.append("commit")


class Witness:
    """Stands in for a WorkerRuntime: the database is the test's, publishing is recorded."""

    def __init__(self, resources: Resources, recorder: Recorder) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.worker_name = "witness"
        self._recorder = recorder

    def publish(self, channel: str, message: bytes) -> None:
        job_id = self._recorder.job_id
        ours = job_id is not None and channel == job_channel(job_id) and str(job_id) in str(message)
        self._recorder.seen.append("publish" if ours else f"publish on {channel}")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    event.listen(Session, "do_orm_execute", rec.executed)
    event.listen(Session, "after_commit", rec.committed)
    yield rec
    event.remove(Session, "after_commit", rec.committed)
    event.remove(Session, "do_orm_execute", rec.executed)


async def _running_job(resources: Resources) -> uuid.UUID:
    job_id = await create_job(resources, await make_workspace(resources))
    async with transaction(resources.sessions) as session:
        claimed = await JobStore(session).claim(job_id, "witness", utcnow() - timedelta(hours=1))
    assert claimed is not None
    return job_id


@pytest.mark.parametrize("outcome", ["finish", "release", "progress"])
async def test_a_state_change_is_announced_after_its_commit(
    resources: Resources, recorder: Recorder, outcome: str
) -> None:
    job_id = await _running_job(resources)
    witness: Any = Witness(resources, recorder)
    recorder.job_id = job_id
    if outcome == "finish":
        assert await operations.finish(witness, job_id, 1, JobStatus.succeeded, result={})
    elif outcome == "release":
        assert await operations.release(witness, job_id, 1, "worker shutting down")
    else:
        await operations.touch(witness, job_id, 1, 0.5, "halfway")
    assert recorder.seen == ["commit", "publish"]
