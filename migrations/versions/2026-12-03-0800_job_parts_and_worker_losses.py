"""job parts (the fan-out ledger) and jobs.worker_losses

Revision ID: 7c3f0b9e2a41
Revises: 5a1e13d3df36
Create Date: 2026-12-03 08:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3f0b9e2a41"
down_revision: str | None = "5a1e13d3df36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("worker_losses", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "job_parts",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "pending",
                "running",
                "done",
                name="job_part_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item", sa.JSON(), nullable=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_parts_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_parts")),
        sa.UniqueConstraint(
            "job_id", "attempt", "position", name=op.f("uq_job_parts_job_id_attempt_position")
        ),
    )
    with op.batch_alter_table("job_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_parts_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_parts_job_id"))
    op.drop_table("job_parts")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("worker_losses")
