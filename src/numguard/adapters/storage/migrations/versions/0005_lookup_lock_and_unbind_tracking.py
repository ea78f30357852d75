"""lookups remember when they locked; read-only tracking tokens for 焕新 unbind requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lookups") as batch:
        batch.add_column(sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "unbind_tracking",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("tenure_start", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_unbind_tracking")),
    )
    op.create_index("ix_unbind_tracking_expires_at", "unbind_tracking", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_unbind_tracking_expires_at", table_name="unbind_tracking")
    op.drop_table("unbind_tracking")
    with op.batch_alter_table("lookups") as batch:
        batch.drop_column("locked_at")
