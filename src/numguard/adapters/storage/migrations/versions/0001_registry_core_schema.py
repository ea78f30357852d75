"""registry core schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("correlator", sa.String(length=128), nullable=True),
        sa.Column("number_hash", sa.String(length=64), nullable=True),
        sa.Column("specified_date", sa.Date(), nullable=True),
        sa.Column("answer", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("items", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_log_number_hash", ["number_hash"], unique=False)

    op.create_table(
        "carriers",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tracking_since", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_carriers")),
    )
    op.create_table(
        "lifecycle_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("holder_id_type", sa.String(length=24), nullable=True),
        sa.Column("holder_hash", sa.String(length=64), nullable=True),
        sa.Column("holder_suffix_hash", sa.String(length=64), nullable=True),
        sa.Column("holder_masked", sa.String(length=32), nullable=True),
        sa.Column("to_carrier", sa.String(length=32), nullable=True),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_events")),
        sa.UniqueConstraint("carrier", "event_id", name="uq_lifecycle_events_carrier_event_id"),
    )
    with op.batch_alter_table("lifecycle_events", schema=None) as batch_op:
        batch_op.create_index("ix_lifecycle_events_phone_number", ["phone_number"], unique=False)

    op.create_table(
        "number_states",
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("holder_id_type", sa.String(length=24), nullable=True),
        sa.Column("holder_hash", sa.String(length=64), nullable=True),
        sa.Column("holder_suffix_hash", sa.String(length=64), nullable=True),
        sa.Column("holder_masked", sa.String(length=32), nullable=True),
        sa.Column("tenure_start", sa.Date(), nullable=True),
        sa.Column("tenure_start_known", sa.Boolean(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("earlier_change_on", sa.Date(), nullable=True),
        sa.Column("aging_ends_on", sa.Date(), nullable=True),
        sa.Column("last_event_on", sa.Date(), nullable=True),
        sa.Column("tenure_ordinal", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("phone_number", name=op.f("pk_number_states")),
    )
    with op.batch_alter_table("number_states", schema=None) as batch_op:
        batch_op.create_index("ix_number_states_seq", ["seq"], unique=False)

    op.create_table(
        "registry_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_clock")),
    )
    op.create_table(
        "tenures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("holder_id_type", sa.String(length=24), nullable=True),
        sa.Column("holder_hash", sa.String(length=64), nullable=True),
        sa.Column("holder_suffix_hash", sa.String(length=64), nullable=True),
        sa.Column("holder_masked", sa.String(length=32), nullable=True),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenures")),
        sa.UniqueConstraint("phone_number", "ordinal", name="uq_tenures_phone_number_ordinal"),
    )
    with op.batch_alter_table("tenures", schema=None) as batch_op:
        batch_op.create_index("ix_tenures_holder_hash", ["holder_hash"], unique=False)

    op.create_table(
        "carrier_prefixes",
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier"], ["carriers.code"], name=op.f("fk_carrier_prefixes_carrier_carriers")
        ),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_carrier_prefixes")),
    )
    with op.batch_alter_table("carrier_prefixes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carrier_prefixes_carrier"), ["carrier"], unique=False)

    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.String(length=400), nullable=False),
        sa.Column("rate_per_second", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["carrier"], ["carriers.code"], name=op.f("fk_clients_carrier_carriers")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )

    op.execute("INSERT INTO registry_clock (id, seq) VALUES (1, 0)")
    _append_only("audit_log")
    _append_only("lifecycle_events")


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on *table* inside the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{table} is append-only'; END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS lifecycle_events_append_only() CASCADE")
    op.drop_table("clients")
    with op.batch_alter_table("carrier_prefixes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_prefixes_carrier"))

    op.drop_table("carrier_prefixes")
    with op.batch_alter_table("tenures", schema=None) as batch_op:
        batch_op.drop_index("ix_tenures_holder_hash")

    op.drop_table("tenures")
    op.drop_table("registry_clock")
    with op.batch_alter_table("number_states", schema=None) as batch_op:
        batch_op.drop_index("ix_number_states_seq")

    op.drop_table("number_states")
    with op.batch_alter_table("lifecycle_events", schema=None) as batch_op:
        batch_op.drop_index("ix_lifecycle_events_phone_number")

    op.drop_table("lifecycle_events")
    op.drop_table("carriers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_number_hash")
        batch_op.drop_index("ix_audit_log_at")

    op.drop_table("audit_log")
