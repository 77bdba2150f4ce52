"""The job as clients see it, over HTTP, WebSocket and pub/sub alike."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from spatialviz.models.job import Job, JobStatus


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    workspace_id: uuid.UUID
    kind: str
    status: JobStatus
    progress: float
    stage: str
    attempts: int
    max_attempts: int
    error_code: str | None
    error_message: str | None
    dataset_id: uuid.UUID | None
    scene_id: uuid.UUID | None
    result: dict[str, Any] | None
    cancel_requested: bool
    created_at: datetime
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


def job_channel(job_id: uuid.UUID | str) -> str:
    return f"job:{job_id}"


def job_message(job: Job) -> bytes:
    """The pub/sub (and WebSocket) message for a job's current state."""
    body = {"type": "job", "job": JobRead.model_validate(job).model_dump(mode="json")}
    return json.dumps(body, separators=(",", ":")).encode()
