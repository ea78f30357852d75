"""The receiving side of numguard's notifications, for a platform's webhook endpoint.

::

    from numguard.guard.webhooks import SqliteSeenIds, WebhookReceiver

    receiver = WebhookReceiver(os.environ["NUMGUARD_WEBHOOK_SECRET"], SqliteSeenIds("seen.db"))

    def endpoint(request):                                   # any web framework
        try:
            outcome = receiver.receive(request.headers, request.body, handle)
        except WebhookRejected as exc:
            return Response(status=exc.status, body=exc.code)   # 400 / 401: do not retry
        return Response(status=204)                             # handled now or already

    def handle(event):                                       # runs once per event id
        if event.kind == "number.reissue-pending":
            schedule_unbind(event.data["phoneNumber"], before=event.data["effectiveDate"])

:class:`WebhookVerifier` checks the Standard Webhooks signature (constant-time, any of several
signatures, any of several secrets during a rotation) and that the timestamp is within the
tolerance (5 minutes by default: a captured delivery cannot be replayed later), then parses the
CloudEvent. :class:`WebhookReceiver` adds idempotency: a handler runs once per event id; a
retry or a replay of a handled event is answered as a duplicate without running it again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from numguard.domain.notification import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NOTIFICATION_TYPES,
    SPEC_VERSION,
    TYPE_PREFIX,
    NotificationType,
    secret_key,
    signature_matches,
)

DEFAULT_TOLERANCE = timedelta(minutes=5)
"""How far a delivery's timestamp may be from the receiver's clock (Standard Webhooks)."""


class WebhookRejected(Exception):
    """A delivery that must not be processed; ``status`` is the HTTP answer to give."""

    code = "WEBHOOK_REJECTED"
    status = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.args[0] if self.args else ''}"


class MissingHeaders(WebhookRejected):
    """webhook-id, webhook-timestamp or webhook-signature is missing or malformed."""

    code = "WEBHOOK_HEADERS"


class BadSignature(WebhookRejected):
    """No signature matches: tampered body or headers, or the wrong secret (401)."""

    code = "WEBHOOK_SIGNATURE"
    status = 401


class StaleTimestamp(WebhookRejected):
    """The timestamp is outside the tolerance: an old delivery replayed, or a wrong clock."""

    code = "WEBHOOK_TIMESTAMP"
    status = 401


class BadEvent(WebhookRejected):
    """Signed, but not a numguard CloudEvent 1.0 JSON object."""

    code = "WEBHOOK_EVENT"


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A verified CloudEvent from numguard."""

    id: str
    type: str
    """The CloudEvents type, ``org.numguard.number.disconnected``."""
    source: str
    time: datetime | None
    data: Mapping[str, Any]
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def kind(self) -> NotificationType | None:
        """The short type (``number.disconnected``) when it is one this library knows."""
        return NOTIFICATION_TYPES.get(self.type.removeprefix(TYPE_PREFIX))

    @property
    def phone_number(self) -> str | None:
        """``data.phoneNumber``."""
        value = self.data.get("phoneNumber")
        return value if isinstance(value, str) else None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.title())
    if value is None:
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    return value


class WebhookVerifier:
    """Checks signature and timestamp of a delivery and parses its CloudEvent.

    *secrets* is one ``whsec_...`` secret or several (during a rotation any of them is accepted).
    *clock* returns the current aware datetime (tests pass their own).
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        tolerance: timedelta = DEFAULT_TOLERANCE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        listed = [secrets] if isinstance(secrets, str) else list(secrets)
        if not listed:
            raise ValueError("at least one signing secret is needed")
        self._keys = [secret_key(s) for s in listed]
        self.tolerance = tolerance
        self.clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> ReceivedEvent:
        """The event if *body* and *headers* are an authentic, fresh delivery; else raises a
        :class:`WebhookRejected` subclass. *headers* may use any letter case."""
        message_id = _header(headers, HEADER_ID)
        stamp = _header(headers, HEADER_TIMESTAMP)
        offered = _header(headers, HEADER_SIGNATURE)
        if not message_id or not stamp or not offered:
            raise MissingHeaders("webhook-id, webhook-timestamp and webhook-signature are needed")
        if not stamp.isdigit() or len(stamp) > 12:
            raise MissingHeaders("webhook-timestamp must be Unix seconds")
        timestamp = int(stamp)
        now = self.clock().timestamp()
        if abs(now - timestamp) > self.tolerance.total_seconds():
            raise StaleTimestamp("the delivery's timestamp is outside the tolerance")
        if not signature_matches(self._keys, message_id, timestamp, body, offered):
            raise BadSignature("no signature matches the body with this secret")
        return parse_event(body, message_id)


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise BadEvent(f"{name} is a required string")
    return value


def parse_event(body: bytes, message_id: str | None = None) -> ReceivedEvent:
    """Parse a CloudEvents 1.0 structured JSON body (and check its id is *message_id*)."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent("the body is not JSON") from exc
    if not isinstance(raw, dict):
        raise BadEvent("the body is not a JSON object")
    if raw.get("specversion") != SPEC_VERSION:
        raise BadEvent("specversion must be 1.0")
    event_id, kind, source = _text(raw, "id"), _text(raw, "type"), _text(raw, "source")
    if message_id is not None and event_id != message_id:
        raise BadEvent("the event id differs from webhook-id")
    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadEvent("data must be a JSON object")
    when = None
    stamp = raw.get("time")
    if isinstance(stamp, str):
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError as exc:
            raise BadEvent("time is not RFC 3339") from exc
    return ReceivedEvent(event_id, kind, source, when, data, raw)


# idempotency ------------------------------------------------------------------------------------


class SeenIds(Protocol):
    """Remembers event ids already handled (or being handled)."""

    def claim(self, event_id: str) -> bool:
        """Mark *event_id* as taken; False when it was taken already."""
        ...

    def release(self, event_id: str) -> None:
        """Forget *event_id* (its handler failed: the next retry may try again)."""
        ...


class MemorySeenIds:
    """Seen ids in memory, the most recent *capacity* of them (one process, tests)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, event_id: str) -> bool:
        """Mark *event_id* as taken; False when it was taken already."""
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            while len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            return True

    def release(self, event_id: str) -> None:
        """Forget *event_id*."""
        with self._lock:
            self._ids.pop(event_id, None)


class SqliteSeenIds:
    """Seen ids in a SQLite file: survives restarts and is shared by a host's processes.

    Ids older than *keep* are pruned now and then (numguard retries for 24 hours, so the
    default of 7 days is plenty).
    """

    def __init__(self, path: str | Path, *, keep: timedelta = timedelta(days=7)) -> None:
        self.path = str(path)
        self.keep = keep
        self._local = threading.local()
        self._claims = 0
        with self._connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS seen_event_ids"
                " (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)"
            )

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def claim(self, event_id: str) -> bool:
        """Mark *event_id* as taken; False when it was taken already."""
        conn = self._connection()
        cur = conn.execute(
            "INSERT OR IGNORE INTO seen_event_ids (event_id, seen_at) VALUES (?, ?)",
            (event_id, time.time()),
        )
        self._claims += 1
        if self._claims % 1000 == 0:
            conn.execute(
                "DELETE FROM seen_event_ids WHERE seen_at < ?",
                (time.time() - self.keep.total_seconds(),),
            )
        return cur.rowcount == 1

    def release(self, event_id: str) -> None:
        """Forget *event_id*."""
        self._connection().execute("DELETE FROM seen_event_ids WHERE event_id = ?", (event_id,))

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class Receipt(StrEnum):
    """What :meth:`WebhookReceiver.receive` did with a verified delivery."""

    HANDLED = "handled"
    """First time this id was seen: the handler ran and returned."""
    DUPLICATE = "duplicate"
    """This id was handled before: nothing ran (answer 2xx so the sender stops)."""


@dataclass(frozen=True, slots=True)
class Received:
    """A verified delivery and what was done with it."""

    event: ReceivedEvent
    receipt: Receipt


class WebhookReceiver:
    """Verify, then run a handler once per event id.

    *secrets* as for :class:`WebhookVerifier`; *seen* defaults to :class:`MemorySeenIds`
    (pass :class:`SqliteSeenIds` to survive restarts). If the handler raises, the id is released
    and the exception propagates: answer 5xx and numguard retries.
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        seen: SeenIds | None = None,
        *,
        tolerance: timedelta = DEFAULT_TOLERANCE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.verifier = WebhookVerifier(secrets, tolerance=tolerance, clock=clock)
        self.seen: SeenIds = seen if seen is not None else MemorySeenIds()

    def receive(
        self,
        headers: Mapping[str, str],
        body: bytes,
        handler: Callable[[ReceivedEvent], object],
    ) -> Received:
        """Verify the delivery (raises :class:`WebhookRejected`), then handle it once."""
        event = self.verifier.verify(headers, body)
        if not self.seen.claim(event.id):
            return Received(event, Receipt.DUPLICATE)
        try:
            handler(event)
        except BaseException:
            self.seen.release(event.id)
            raise
        return Received(event, Receipt.HANDLED)
