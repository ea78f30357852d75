"""unbind requests no longer keep their own delivery columns: the outbox's deliveries say it

焕新 requests are delivered only as signed ``binding.unbind-requested`` events through the
notifications outbox; how that delivery stands is read from ``webhook_deliveries``. The columns
of the former direct webhook POST (``delivery``, ``delivery_attempts``, ``delivered_at``) go.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unbind_requests") as batch:
        batch.drop_column("delivered_at")
        batch.drop_column("delivery_attempts")
        batch.drop_column("delivery")


def downgrade() -> None:
    with op.batch_alter_table("unbind_requests") as batch:
        batch.add_column(
            sa.Column("delivery", sa.String(length=16), nullable=False, server_default="pending")
        )
        batch.add_column(
            sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
