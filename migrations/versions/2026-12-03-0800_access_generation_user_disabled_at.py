"""membership access generation, user disabled_at (issue 16)

Revision ID: 7c0a5e1d2b16
Revises: 5a1e13d3df36
Create Date: 2026-12-03 08:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c0a5e1d2b16"
down_revision: str | None = "5a1e13d3df36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A server default fills existing rows: every current membership starts at generation 0,
    # which is what signatures minted before this migration could not carry anyway.
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("access_generation", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("access_generation")
