"""SQL storage of notifications: subscriptions, the outbox and its deliveries (SQLite and
PostgreSQL).

The outbox writers run inside the transaction of the change that causes them and are
set-based: one ``INSERT ... SELECT`` joins the batch's candidates to ``bindings`` and to the
live subscriptions, a second one fans the new events out to their subscriptions' deliveries.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from numguard.adapters.storage.tables import (
    notification_events,
    webhook_attempts,
    webhook_deliveries,
    webhook_subscription_types,
    webhook_subscriptions,
)
from numguard.domain.notification import NOTIFICATION_TYPES, Notification, NotificationType
from numguard.services.notifications import (
    AttemptRecord,
    AttemptView,
    ClaimedDelivery,
    DeliveryStatus,
    DeliveryView,
    Subscription,
    lifecycle_notifications,
    sequence_of,
)
from numguard.services.ports import ChangeSet

_EVENT_ID = {
    "sqlite": "'evt_' || lower(hex(randomblob(16)))",
    "postgresql": "'evt_' || replace(CAST(gen_random_uuid() AS text), '-', '')",
}
"""A random public event id, made by the database inside the set-based insert."""

_LIVE = (
    "EXISTS (SELECT 1 FROM webhook_subscription_types st"
    " JOIN webhook_subscriptions s ON s.id = st.subscription_id"
    " WHERE st.platform = {platform} AND st.type = {type} AND s.deleted_at IS NULL"
    " AND (s.expires_at IS NULL OR s.expires_at > :now))"
)
"""The platform has a live subscription to the type."""

_FAN_OUT = text(
    "INSERT INTO webhook_deliveries (event, subscription_id, platform, status, attempts,"
    " next_attempt_at, retry_until, created_at)"
    " SELECT e.id, s.id, e.platform, 'pending', 0, :now, :until, :now"
    " FROM notification_events e"
    " JOIN webhook_subscription_types st ON st.platform = e.platform AND st.type = e.type"
    " JOIN webhook_subscriptions s ON s.id = st.subscription_id"
    " WHERE e.batch = :batch AND s.deleted_at IS NULL"
    " AND (s.expires_at IS NULL OR s.expires_at > :now)"
).bindparams(
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("until", type_=DateTime(timezone=True)),
)

_INSERT_EVENTS = (
    "INSERT INTO notification_events (event_id, platform, type, phone_number, effective_date,"
    " cause, detail, batch, created_at)"
    " SELECT {event_id}, c.platform, c.type, c.phone_number, c.effective_date, c.cause, NULL,"
    " :batch, :now FROM ({candidates}) AS c WHERE 1 = 1 ON CONFLICT DO NOTHING"
)

_HOLDER_CHANGED = str(NotificationType.NUMBER_HOLDER_CHANGED)
_REISSUE = str(NotificationType.NUMBER_REISSUE_PENDING)
_UNBIND = str(NotificationType.BINDING_UNBIND_REQUESTED)


def _utc(value: datetime) -> datetime:
    """Every stored time is UTC (SQLite keeps no offset)."""
    return value.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _must(value: datetime | None) -> datetime:
    aware = _aware(value)
    if aware is None:
        raise ValueError("a NOT NULL time was NULL")
    return aware


def _times(statement: Any, *names: str) -> Any:
    return statement.bindparams(*(bindparam(n, type_=DateTime(timezone=True)) for n in names))


def _fan_out(conn: Connection, batch: str, now: datetime, until: datetime) -> int:
    result = conn.execute(_FAN_OUT, {"batch": batch, "now": _utc(now), "until": _utc(until)})
    return int(result.rowcount or 0)


class SqlOutbox:
    """Writes outbox events inside other services' transactions.

    - :meth:`after_batch` is a :meth:`RegistryService.on_batch_written` hook (number.disconnected
      and number.holder-changed from the applied events);
    - :meth:`after_unbind_requests` is a :meth:`BindingService.on_unbind_requested` listener
      (binding.unbind-requested).
    """

    def __init__(self, now: Callable[[], datetime], retry_window: timedelta) -> None:
        self.now = now
        self.retry_window = retry_window

    def _subscribed_types(self, conn: Connection) -> set[str]:
        # A tiny table: when nobody subscribed, a batch costs this one query.
        return {str(r[0]) for r in conn.execute(text(_SUBSCRIBED_TYPES))}

    def after_batch(self, tx: Any, changes: ChangeSet) -> None:
        """Write the lifecycle events of one applied batch (inside its transaction)."""
        conn: Connection = tx.connection
        wanted = self._subscribed_types(conn)
        if not wanted:
            return
        rows = lifecycle_notifications(changes, wanted)
        if not rows:
            return
        dialect = conn.dialect.name
        now = _utc(self.now())
        batch = secrets.token_hex(12)
        match = _LIVE.format(platform="b.platform", type="k.type")
        if dialect == "postgresql":
            keys = (
                "unnest(CAST(:types AS text[]), CAST(:numbers AS text[]),"
                " CAST(:dates AS date[]), CAST(:causes AS text[]))"
                " AS k(type, phone_number, effective_date, cause)"
                " JOIN bindings b ON b.phone_number = k.phone_number"
            )
            params: dict[str, Any] = {
                "types": [r[0] for r in rows],
                "numbers": [r[1] for r in rows],
                "dates": [r[2] for r in rows],
                "causes": [r[3] for r in rows],
            }
        else:
            cur = conn.connection.cursor()
            try:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS ng_notify_keys"
                    " (type TEXT, phone_number TEXT, effective_date TEXT, cause TEXT)"
                )
                cur.execute("DELETE FROM temp.ng_notify_keys")
                cur.executemany(
                    "INSERT INTO temp.ng_notify_keys VALUES (?, ?, ?, ?)",
                    [(t, n, d.isoformat(), c) for t, n, d, c in rows],
                )
            finally:
                cur.close()
            # CROSS JOIN keeps the (small) key table outside: one index probe per key.
            keys = "temp.ng_notify_keys k CROSS JOIN bindings b ON b.phone_number = k.phone_number"
            params = {}
        candidates = (
            "SELECT DISTINCT b.platform AS platform, k.type AS type,"  # noqa: S608  fixed fragments
            " k.phone_number AS phone_number, k.effective_date AS effective_date,"
            f" k.cause AS cause FROM {keys}"
            f" WHERE (k.type <> '{_HOLDER_CHANGED}' OR b.bound_at < k.effective_date)"
            f" AND {match}"
        )
        sql = _INSERT_EVENTS.format(event_id=_EVENT_ID[dialect], candidates=candidates)
        conn.execute(
            _times(text(sql), "now"),
            {**params, "batch": batch, "now": now},
        )
        if dialect != "postgresql":
            conn.exec_driver_sql("DELETE FROM temp.ng_notify_keys")
        _fan_out(conn, batch, now, now + self.retry_window)

    def after_unbind_requests(self, conn: Connection, drafts: Sequence[Any]) -> None:
        """Write one binding.unbind-requested event per request (inside its transaction)."""
        if not drafts:
            return
        now = _utc(self.now())
        batch = secrets.token_hex(12)
        dialect = conn.dialect.name
        sql = (
            "INSERT INTO notification_events (event_id, platform, type, phone_number,"
            " effective_date, cause, detail, batch, created_at)"
            f" SELECT {_EVENT_ID[dialect]}, CAST(:platform AS VARCHAR(32)), '{_UNBIND}', :phone,"
            " :day, :cause, :detail, :batch, :now WHERE "
            + _LIVE.format(platform="CAST(:platform AS VARCHAR(32))", type=f"'{_UNBIND}'")
            + " ON CONFLICT DO NOTHING"
        )
        statement = _times(text(sql), "now").bindparams(bindparam("day", type_=Date))
        for d in drafts:
            detail = {
                "requestId": d.request_id,
                "tenureStart": d.tenure_start.isoformat(),
                "dueOn": d.due_on.isoformat(),
                "accountRefs": list(d.account_refs),
            }
            conn.execute(
                statement,
                {
                    "platform": d.platform,
                    "phone": d.phone_number,
                    "day": d.created_at.date(),
                    "cause": f"unbind:{d.request_id}",
                    "detail": json.dumps(detail, separators=(",", ":")),
                    "batch": batch,
                    "now": now,
                },
            )
        _fan_out(conn, batch, now, now + self.retry_window)


_SUBSCRIBED_TYPES = (
    "SELECT DISTINCT st.type FROM webhook_subscription_types st"
    " JOIN webhook_subscriptions s ON s.id = st.subscription_id WHERE s.deleted_at IS NULL"
)

_CLAIM_SELECT = (
    "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= :now"
    " AND (lease_until IS NULL OR lease_until <= :now) ORDER BY next_attempt_at, id LIMIT :n"
)


class SqlNotificationStore:
    """The :class:`~numguard.services.notifications.NotificationStore` on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # subscriptions ------------------------------------------------------------------------------

    def add_subscription(
        self, subscription: Subscription, client_id: str | None, sealed_secret: bytes
    ) -> None:
        """Store a new subscription and its types."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(webhook_subscriptions).values(
                    id=subscription.subscription_id,
                    platform=subscription.platform,
                    client_id=client_id,
                    sink=subscription.sink,
                    types=sequence_of(subscription.types),
                    secret=sealed_secret,
                    created_at=_utc(subscription.created_at),
                    expires_at=_utc(subscription.expires_at) if subscription.expires_at else None,
                    deleted_at=None,
                )
            )
            conn.execute(
                insert(webhook_subscription_types),
                [
                    {
                        "subscription_id": subscription.subscription_id,
                        "type": str(t),
                        "platform": subscription.platform,
                    }
                    for t in subscription.types
                ],
            )

    def live_subscription_count(self, platform: str, now: datetime) -> int:
        """How many undeleted, unexpired subscriptions *platform* has."""
        s = webhook_subscriptions.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(s.expires_at).where(s.platform == platform, s.deleted_at.is_(None))
            )
            return sum(1 for (expires,) in rows if expires is None or _must(expires) > now)

    def subscriptions(self, platform: str) -> list[Subscription]:
        """*platform*'s undeleted subscriptions, oldest first."""
        s = webhook_subscriptions.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(s.id, s.platform, s.sink, s.types, s.created_at, s.expires_at)
                .where(s.platform == platform, s.deleted_at.is_(None))
                .order_by(s.created_at, s.id)
            )
            return [
                Subscription(
                    r.id,
                    r.platform,
                    r.sink,
                    tuple(NOTIFICATION_TYPES[t] for t in r.types.split(",") if t),
                    _must(r.created_at),
                    _aware(r.expires_at),
                )
                for r in rows
            ]

    def delete_subscription(self, platform: str, subscription_id: str, now: datetime) -> bool:
        """Mark deleted, drop its types, cancel its pending deliveries."""
        s = webhook_subscriptions.c
        d = webhook_deliveries.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(webhook_subscriptions)
                .where(s.id == subscription_id, s.platform == platform, s.deleted_at.is_(None))
                .values(deleted_at=_utc(now))
            )
            if not done.rowcount:
                return False
            conn.execute(
                delete(webhook_subscription_types).where(
                    webhook_subscription_types.c.subscription_id == subscription_id
                )
            )
            conn.execute(
                update(webhook_deliveries)
                .where(d.subscription_id == subscription_id, d.status == "pending")
                .values(
                    status=str(DeliveryStatus.CANCELLED),
                    finished_at=_utc(now),
                    lease_owner=None,
                    lease_until=None,
                )
            )
            return True

    # the reissue-pending pass -------------------------------------------------------------------

    def enqueue_reissue_pending(
        self, today: date, horizon_days: int, now: datetime, retry_until: datetime
    ) -> int:
        """Numbers in AGING whose aging ends within *horizon_days* (and did not end more than
        *horizon_days* ago), with a binding of a platform subscribed to the type: one event per
        platform and aging period (number, tenure ordinal, cancellation date)."""
        with self.engine.begin() as conn:
            dialect = conn.dialect.name
            cause = (
                "'reissue:' || s.phone_number || ':' || CAST(s.tenure_ordinal AS VARCHAR(12))"
                " || ':' || CAST(s.ended_on AS VARCHAR(10))"
            )
            candidates = (
                "SELECT DISTINCT b.platform AS platform,"  # noqa: S608  fixed fragments
                f" '{_REISSUE}' AS type, s.phone_number AS phone_number,"
                f" s.aging_ends_on AS effective_date, {cause} AS cause"
                " FROM number_states s JOIN bindings b ON b.phone_number = s.phone_number"
                " WHERE s.status = 'AGING' AND s.aging_ends_on <= :horizon"
                " AND s.aging_ends_on >= :earliest AND s.ended_on IS NOT NULL"
                " AND " + _LIVE.format(platform="b.platform", type=f"'{_REISSUE}'")
            )
            batch = secrets.token_hex(12)
            statement = _times(
                text(_INSERT_EVENTS.format(event_id=_EVENT_ID[dialect], candidates=candidates)),
                "now",
            ).bindparams(bindparam("horizon", type_=Date), bindparam("earliest", type_=Date))
            result = conn.execute(
                statement,
                {
                    "horizon": today + timedelta(days=horizon_days),
                    "earliest": today - timedelta(days=horizon_days),
                    "batch": batch,
                    "now": _utc(now),
                },
            )
            written = int(result.rowcount or 0)
            if written:
                _fan_out(conn, batch, now, retry_until)
            return written

    # the worker's side --------------------------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        """Lease up to *limit* due deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
        with self.engine.begin() as conn:
            pick = _CLAIM_SELECT
            if conn.dialect.name == "postgresql":
                pick += " FOR UPDATE SKIP LOCKED"
            statement = _times(
                text(
                    "UPDATE webhook_deliveries SET lease_owner = :worker,"  # noqa: S608  fixed fragments
                    f" lease_until = :until WHERE id IN ({pick}) RETURNING id"
                ),
                "now",
                "until",
            )
            ids = [
                int(r[0])
                for r in conn.execute(
                    statement,
                    {"worker": worker, "now": _utc(now), "until": _utc(lease_until), "n": limit},
                )
            ]
            if not ids:
                return []
            d, e, s = webhook_deliveries.c, notification_events.c, webhook_subscriptions.c
            rows = conn.execute(
                select(
                    d.id,
                    d.attempts,
                    d.retry_until,
                    d.subscription_id,
                    s.sink,
                    s.secret,
                    e.event_id,
                    e.type,
                    e.phone_number,
                    e.effective_date,
                    e.detail,
                    e.created_at,
                )
                .join(notification_events, e.id == d.event)
                .join(webhook_subscriptions, s.id == d.subscription_id)
                .where(d.id.in_(ids))
                .order_by(d.next_attempt_at, d.id)
            )
            return [
                ClaimedDelivery(
                    int(r.id),
                    int(r.attempts) + 1,
                    _must(r.retry_until),
                    r.subscription_id,
                    r.sink,
                    bytes(r.secret),
                    Notification(
                        r.event_id,
                        NOTIFICATION_TYPES[r.type],
                        r.phone_number,
                        r.effective_date,
                        _must(r.created_at),
                        json.loads(r.detail) if r.detail else None,
                    ),
                )
                for r in rows
            ]

    def finish(self, records: Sequence[AttemptRecord]) -> None:
        """Store the attempts; move each delivery on if its worker still holds the lease."""
        if not records:
            return
        d = webhook_deliveries.c
        with self.engine.begin() as conn:
            conn.execute(
                insert(webhook_attempts),
                [
                    {
                        "delivery_id": r.delivery_id,
                        "attempt": r.attempt,
                        "worker": r.worker[:64],
                        "started_at": _utc(r.started_at),
                        "duration_ms": r.duration_ms,
                        "status_code": r.status_code,
                        "error": r.error[:300] if r.error else None,
                        "outcome": str(r.status),
                    }
                    for r in records
                ],
            )
            moved = update(webhook_deliveries).where(
                d.id == bindparam("b_id"), d.lease_owner == bindparam("b_worker")
            )
            conn.execute(
                moved.values(
                    status=bindparam("status"),
                    attempts=bindparam("attempts"),
                    lease_owner=None,
                    lease_until=None,
                    last_status_code=bindparam("code"),
                    last_error=bindparam("error"),
                    next_attempt_at=func.coalesce(
                        bindparam("next_at", type_=DateTime(timezone=True)), d.next_attempt_at
                    ),
                    finished_at=bindparam("finished_at", type_=DateTime(timezone=True)),
                ),
                [
                    {
                        "b_id": r.delivery_id,
                        "b_worker": r.worker,
                        "status": str(r.status),
                        "attempts": r.attempt,
                        "code": r.status_code,
                        "error": r.error[:300] if r.error else None,
                        "next_at": _utc(r.next_attempt_at) if r.next_attempt_at else None,
                        "finished_at": None
                        if r.status is DeliveryStatus.PENDING
                        else _utc(r.started_at),
                    }
                    for r in records
                ],
            )

    # the platform's view ------------------------------------------------------------------------

    def _views(self, conn: Connection, where: Any, limit: int) -> list[DeliveryView]:
        d, e = webhook_deliveries.c, notification_events.c
        rows = conn.execute(
            select(
                d.id,
                e.event_id,
                e.type,
                e.phone_number,
                d.subscription_id,
                d.status,
                d.attempts,
                d.next_attempt_at,
                d.retry_until,
                d.last_status_code,
                d.last_error,
                d.created_at,
                d.finished_at,
            )
            .join(notification_events, e.id == d.event)
            .where(where)
            .order_by(d.id.desc())
            .limit(limit)
        )
        return [
            DeliveryView(
                int(r.id),
                r.event_id,
                NOTIFICATION_TYPES[r.type],
                r.phone_number,
                r.subscription_id,
                DeliveryStatus(r.status),
                int(r.attempts),
                _aware(r.next_attempt_at) if r.status == "pending" else None,
                _must(r.retry_until),
                r.last_status_code,
                r.last_error,
                _must(r.created_at),
                _aware(r.finished_at),
            )
            for r in rows
        ]

    def deliveries(
        self, platform: str, status: DeliveryStatus | None, limit: int
    ) -> list[DeliveryView]:
        """*platform*'s deliveries, newest first."""
        d = webhook_deliveries.c
        where = d.platform == platform
        if status is not None:
            where = where & (d.status == str(status))
        with self.engine.connect() as conn:
            return self._views(conn, where, limit)

    def delivery(self, platform: str, delivery_id: int) -> DeliveryView | None:
        """One delivery of *platform*."""
        d = webhook_deliveries.c
        with self.engine.connect() as conn:
            found = self._views(conn, (d.platform == platform) & (d.id == delivery_id), 1)
        return found[0] if found else None

    def attempts(self, delivery_id: int) -> list[AttemptView]:
        """The attempts of one delivery, oldest first."""
        a = webhook_attempts.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(a.attempt, a.started_at, a.duration_ms, a.status_code, a.error, a.outcome)
                .where(a.delivery_id == delivery_id)
                .order_by(a.id)
            )
            return [
                AttemptView(
                    int(r.attempt),
                    _must(r.started_at),
                    int(r.duration_ms),
                    r.status_code,
                    r.error,
                    r.outcome,
                )
                for r in rows
            ]

    def replay(
        self, platform: str, delivery_id: int, now: datetime, retry_until: datetime
    ) -> bool | None:
        """Pending again and due now, with a new retry window."""
        d, s = webhook_deliveries.c, webhook_subscriptions.c
        with self.engine.begin() as conn:
            row = conn.execute(
                select(s.deleted_at)
                .select_from(webhook_deliveries)
                .join(webhook_subscriptions, s.id == d.subscription_id)
                .where(d.id == delivery_id, d.platform == platform)
            ).first()
            if row is None:
                return None
            if row.deleted_at is not None:
                return False
            conn.execute(
                update(webhook_deliveries)
                .where(d.id == delivery_id)
                .values(
                    status=str(DeliveryStatus.PENDING),
                    next_attempt_at=_utc(now),
                    retry_until=_utc(retry_until),
                    finished_at=None,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            return True
