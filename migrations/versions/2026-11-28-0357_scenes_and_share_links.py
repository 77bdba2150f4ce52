"""scenes and share links

Revision ID: 5a1e13d3df36
Revises: e8cdd66975cf
Create Date: 2026-11-28 03:57:45.513411+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1e13d3df36"
down_revision: str | None = "e8cdd66975cf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "scenes",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "tiling",
                "ready",
                "failed",
                name="scene_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("encoding", sa.JSON(), nullable=False),
        sa.Column("resolved", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("tileset_version", sa.String(length=64), nullable=True),
        sa.Column("tileset_prefix", sa.String(length=512), nullable=True),
        sa.Column("tileset_info", sa.JSON(), nullable=True),
        sa.Column("signature_generation", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_scenes_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_scenes_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_scenes_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_scenes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenes")),
    )
    with op.batch_alter_table("scenes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenes_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scenes_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "scene_share_links",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("scene_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_scene_share_links_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["scenes.id"],
            name=op.f("fk_scene_share_links_scene_id_scenes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_scene_share_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scene_share_links")),
    )
    with op.batch_alter_table("scene_share_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scene_share_links_scene_id"), ["scene_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scene_share_links_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("scene_share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scene_share_links_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_scene_share_links_scene_id"))

    op.drop_table("scene_share_links")
    with op.batch_alter_table("scenes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenes_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_scenes_dataset_id"))

    op.drop_table("scenes")
