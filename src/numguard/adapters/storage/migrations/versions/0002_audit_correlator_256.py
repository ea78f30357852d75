"""audit_log.correlator holds the 256 characters CAMARA allows in x-correlator

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths, and rebuilding the table there would drop its
    # append-only triggers; only PostgreSQL needs the wider type.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_log",
            "correlator",
            existing_type=sa.String(length=128),
            type_=sa.String(length=256),
            existing_nullable=True,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_log",
            "correlator",
            existing_type=sa.String(length=256),
            type_=sa.String(length=128),
            existing_nullable=True,
        )
