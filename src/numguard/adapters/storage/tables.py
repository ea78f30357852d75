"""The schema, as SQLAlchemy Core tables. Alembic migrations create exactly this.

No raw ID number is ever stored: holders appear only as keyed hashes and masked forms.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A 64-bit key that autoincrements on SQLite too (SQLite only does that for INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")

carriers = Table(
    "carriers",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tracking_since", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

carrier_prefixes = Table(
    "carrier_prefixes",
    metadata,
    Column("prefix", String(16), primary_key=True),
    Column("carrier", String(32), ForeignKey("carriers.code"), nullable=False, index=True),
)

registry_clock = Table(
    "registry_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
)
"""One row. Every write transaction bumps ``seq`` first: the row lock orders writers, and the
answer index in every process catches up by reading states with a larger ``seq``."""

lifecycle_events = Table(
    "lifecycle_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("carrier", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("phone_number", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("holder_id_type", String(24)),
    Column("holder_hash", String(64)),
    Column("holder_suffix_hash", String(64)),
    Column("holder_masked", String(32)),
    Column("to_carrier", String(32)),
    Column("fingerprint", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("source", String(64), nullable=False),
    UniqueConstraint("carrier", "event_id", name="uq_lifecycle_events_carrier_event_id"),
    Index("ix_lifecycle_events_phone_number", "phone_number"),
)

number_states = Table(
    "number_states",
    metadata,
    Column("phone_number", String(16), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("carrier", String(32)),
    Column("holder_id_type", String(24)),
    Column("holder_hash", String(64)),
    Column("holder_suffix_hash", String(64)),
    Column("holder_masked", String(32)),
    Column("tenure_start", Date),
    Column("tenure_start_known", Boolean, nullable=False),
    Column("ended_on", Date),
    Column("earlier_change_on", Date),
    Column("aging_ends_on", Date),
    Column("last_event_on", Date),
    Column("tenure_ordinal", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Index("ix_number_states_seq", "seq"),
    Index(
        "ix_number_states_aging_ends_on",
        "aging_ends_on",
        sqlite_where=text("status = 'AGING'"),
        postgresql_where=text("status = 'AGING'"),
    ),
)

tenures = Table(
    "tenures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("phone_number", String(16), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("holder_id_type", String(24)),
    Column("holder_hash", String(64)),
    Column("holder_suffix_hash", String(64)),
    Column("holder_masked", String(32)),
    Column("start", Date),
    Column("end", Date),
    Column("end_reason", String(16)),
    UniqueConstraint("phone_number", "ordinal", name="uq_tenures_phone_number_ordinal"),
    Index("ix_tenures_holder_hash", "holder_hash"),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("carrier", String(32), ForeignKey("carriers.code")),
    Column("secret_hash", String(200), nullable=False),
    Column("scopes", String(400), nullable=False),
    Column("rate_per_second", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("platform", String(32)),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("client_id", String(64)),
    Column("correlator", String(256)),
    Column("number_hash", String(64)),
    Column("specified_date", Date),
    Column("answer", String(32)),
    Column("detail", Text),
    Column("items", LargeBinary),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_number_hash", "number_hash"),
)
"""Append-only: triggers refuse UPDATE and DELETE on both databases. ``items`` holds the
per-number records of a bulk request in a compact binary form (see services.audit)."""

platforms = Table(
    "platforms",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("category", String(16), nullable=False),
    Column("contact", String(200)),
    Column("webhook_url", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""Platforms (banks, apps) that report bindings. ``webhook_url`` records the unbinding webhook
given at registration; its ``binding.unbind-requested`` subscription is what delivers."""

bindings = Table(
    "bindings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("platform", String(32), ForeignKey("platforms.code"), nullable=False),
    Column("account_ref", String(128), nullable=False),
    Column("phone_number", String(16), nullable=False),
    Column("category", String(16), nullable=False),
    Column("bound_at", Date, nullable=False),
    Column("last_active_at", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "platform", "account_ref", "phone_number", name="uq_bindings_platform_account_phone"
    ),
    Index("ix_bindings_phone_number", "phone_number"),
)
"""A platform account that points at a phone number, as the platform reports it."""

lookups = Table(
    "lookups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("phone_number", String(16), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("claim_type", String(24), nullable=False),
    Column("claim_hash", String(64), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("code_expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("verified_at", DateTime(timezone=True)),
    Column("session_hash", String(64)),
    Column("session_expires_at", DateTime(timezone=True)),
    Column("locked_at", DateTime(timezone=True)),
    Index("ix_lookups_phone_number_created_at", "phone_number", "created_at"),
)
"""一证通查 lookups: the claim (keyed hash of the full ID or of its last six characters), the SMS
code (keyed hash only), wrong tries (and when they locked it), and once verified the session
(hash of its token)."""

unbind_requests = Table(
    "unbind_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("platform", String(32), ForeignKey("platforms.code"), nullable=False),
    Column("phone_number", String(16), nullable=False),
    Column("tenure_start", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("reason", Text),
    Index("ix_unbind_requests_phone_number", "phone_number"),
    Index("ix_unbind_requests_platform", "platform"),
)
"""焕新: one request per platform holding bindings older than the new holder's tenure. Nothing
about the new holder is kept beyond the number and the tenure start date. How its signed event
was delivered is in ``webhook_deliveries`` (the event's cause is ``unbind:<id>``)."""

unbind_request_items = Table(
    "unbind_request_items",
    metadata,
    Column("request_id", String(32), ForeignKey("unbind_requests.id"), primary_key=True),
    Column("account_ref", String(128), primary_key=True),
)
"""The platform's account references an unbind request covers."""

unbind_tracking = Table(
    "unbind_tracking",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("phone_number", String(16), nullable=False),
    Column("tenure_start", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_unbind_tracking_expires_at", "expires_at"),
)
"""Read-only tracking tokens handed out by 焕新 (SHA-256 of the token only): each shows the
statuses of the unbind requests of one number and tenure until it expires."""

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("platform", String(32), ForeignKey("platforms.code"), nullable=False),
    Column("client_id", String(64)),
    Column("sink", String(500), nullable=False),
    Column("types", String(200), nullable=False),
    Column("secret", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Index("ix_webhook_subscriptions_platform", "platform"),
)
"""A platform's webhook: where to POST which event types. ``secret`` is the signing secret
encrypted with AES-GCM under a key derived from the server secret (never stored in clear)."""

webhook_subscription_types = Table(
    "webhook_subscription_types",
    metadata,
    Column("subscription_id", String(32), ForeignKey("webhook_subscriptions.id"), primary_key=True),
    Column("type", String(40), primary_key=True),
    Column("platform", String(32), nullable=False),
    Index("ix_webhook_subscription_types_platform_type", "platform", "type"),
)
"""The types of each live subscription, one row each, so the outbox joins them in SQL."""

notification_events = Table(
    "notification_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("type", String(40), nullable=False),
    Column("phone_number", String(16), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("cause", String(200), nullable=False),
    Column("detail", Text),
    Column("batch", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("event_id", name="uq_notification_events_event_id"),
    UniqueConstraint("platform", "cause", name="uq_notification_events_platform_cause"),
    Index("ix_notification_events_batch", "batch"),
)
"""The outbox: one event per platform and cause, written in the transaction of the change.
``cause`` makes it happen once (a lifecycle event, a tenure, an aging period, an unbind
request); ``event_id`` is the random public id (CloudEvents ``id``, ``webhook-id``)."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event", BigId, ForeignKey("notification_events.id"), nullable=False),
    Column("subscription_id", String(32), ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("retry_until", DateTime(timezone=True), nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", String(300)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("event", "subscription_id", name="uq_webhook_deliveries_event_subscription"),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_platform_id", "platform", "id"),
)
"""One event to one subscription: pending (with its next try and a worker's lease), delivered,
dead (retried until ``retry_until``) or cancelled (the subscription was deleted)."""

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigId, ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", String(300)),
    Column("outcome", String(16), nullable=False),
    Index("ix_webhook_attempts_delivery_id", "delivery_id"),
)
"""Every delivery attempt: when, by which worker, how long, the HTTP status or the error."""
