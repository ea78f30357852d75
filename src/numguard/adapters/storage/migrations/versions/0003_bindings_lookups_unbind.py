"""platforms, bindings, 一证通查 lookups and 焕新 unbind requests; clients may belong to a platform

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "platforms",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_platforms")),
    )
    op.create_table(
        "bindings",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("account_ref", sa.String(length=128), nullable=False),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("bound_at", sa.Date(), nullable=False),
        sa.Column("last_active_at", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform"], ["platforms.code"], name=op.f("fk_bindings_platform_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bindings")),
        sa.UniqueConstraint(
            "platform", "account_ref", "phone_number", name="uq_bindings_platform_account_phone"
        ),
    )
    op.create_index("ix_bindings_phone_number", "bindings", ["phone_number"])
    op.create_table(
        "lookups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("claim_type", sa.String(length=24), nullable=False),
        sa.Column("claim_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("session_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookups")),
    )
    op.create_index("ix_lookups_phone_number_created_at", "lookups", ["phone_number", "created_at"])
    op.create_table(
        "unbind_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("tenure_start", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform"], ["platforms.code"], name=op.f("fk_unbind_requests_platform_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unbind_requests")),
    )
    op.create_index("ix_unbind_requests_phone_number", "unbind_requests", ["phone_number"])
    op.create_index("ix_unbind_requests_platform", "unbind_requests", ["platform"])
    op.create_table(
        "unbind_request_items",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("account_ref", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["unbind_requests.id"],
            name=op.f("fk_unbind_request_items_request_id_unbind_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", "account_ref", name=op.f("pk_unbind_request_items")),
    )
    # A client of the platform role may belong to one platform (it then sees only its bindings).
    # No foreign key: SQLite would have to rebuild the clients table to add one.
    op.add_column("clients", sa.Column("platform", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch_op:
        batch_op.drop_column("platform")
    op.drop_table("unbind_request_items")
    op.drop_index("ix_unbind_requests_platform", table_name="unbind_requests")
    op.drop_index("ix_unbind_requests_phone_number", table_name="unbind_requests")
    op.drop_table("unbind_requests")
    op.drop_index("ix_lookups_phone_number_created_at", table_name="lookups")
    op.drop_table("lookups")
    op.drop_index("ix_bindings_phone_number", table_name="bindings")
    op.drop_table("bindings")
    op.drop_table("platforms")
