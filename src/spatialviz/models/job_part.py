"""One part of a fanned-out job's attempt: a ``map`` item, or the ``reduce`` (position -1).

The ledger of a fan-out lives here rather than in the broker or the result backend: each
part is claimed, heartbeats and is finished with conditional UPDATEs fenced by ``tries``,
so a lost part is noticed and sent again on its own, and the last part to finish starts
the reduce whatever happened to Redis meanwhile.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spatialviz.kit.db import Base, RecordMixin, utcnow

REDUCE_POSITION = -1


class PartStatus(enum.StrEnum):
    waiting = "waiting"  # the reduce, until every map part is done
    pending = "pending"  # sent (or to be sent) to a worker
    running = "running"
    done = "done"


class JobPart(RecordMixin, Base):
    __tablename__ = "job_parts"
    __table_args__ = (UniqueConstraint("job_id", "attempt", "position"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column()
    status: Mapped[PartStatus] = mapped_column(
        Enum(PartStatus, name="job_part_status", native_enum=False, length=16),
        default=PartStatus.pending,
    )
    tries: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    item: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    value: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
