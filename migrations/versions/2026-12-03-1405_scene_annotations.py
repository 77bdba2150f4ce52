"""scene annotations (notes pinned to points of a scene)

Revision ID: 5a1e0c7d9b05
Revises: 7c3f0b9e2a41
Create Date: 2026-12-03 14:05:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1e0c7d9b05"
down_revision: str | None = "7c3f0b9e2a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scene_annotations",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("scene_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.String(length=280), nullable=False),
        sa.Column("x", sa.Double(), nullable=False),
        sa.Column("y", sa.Double(), nullable=False),
        sa.Column("z", sa.Double(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_scene_annotations_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["scenes.id"],
            name=op.f("fk_scene_annotations_scene_id_scenes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_scene_annotations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scene_annotations")),
    )
    op.create_index(
        "ix_scene_annotations_scene_id_created_at",
        "scene_annotations",
        ["scene_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_scene_annotations_workspace_id"),
        "scene_annotations",
        ["workspace_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scene_annotations_workspace_id"), table_name="scene_annotations")
    op.drop_index("ix_scene_annotations_scene_id_created_at", table_name="scene_annotations")
    op.drop_table("scene_annotations")
