"""Notifications to platforms: webhook subscriptions, and the worker that delivers the outbox.

How an event travels::

    carrier report ──▶ RegistryService.apply ──(same transaction)──▶ notification_events
    焕新 request ─────▶ BindingService ────────(same transaction)──▶ notification_events
    worker: reissue-pending pass ─────────────────────────────────▶ notification_events
                                           one row per matching subscription ▼
                                                             webhook_deliveries
    DeliveryWorker: claim due rows (lease) ─▶ sign ─▶ POST ─▶ delivered / retry / dead

- **Who is told.** An event is written only for platforms that have a binding on the number
  and a live subscription to its type; each of their subscriptions to the type gets a delivery.
- **Once.** Every event has a cause (the carrier's event, the tenure, the aging period, the
  unbind request) that is unique per platform, so a re-sent report, a second scheduler pass or
  a second worker never writes it twice.
- **Delivery.** Standard Webhooks signatures, the event id as ``webhook-id`` on every try;
  exponential backoff with jitter (:class:`~numguard.domain.notification.DeliverySchedule`)
  until ``retry_until`` (24 hours from the event, or from a replay), then ``dead``. Every
  attempt is stored. Several workers may run: each claims rows with a lease (and ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL), so a row is worked by one at a time.
- **Secrets.** A subscription's signing secret is shown once, at creation; storage keeps it
  encrypted (:class:`SecretBox`), and it never appears in logs.
- **Public sinks only.** A sink whose host is, or resolves to, a private, loopback, link-local
  (cloud metadata), multicast or otherwise non-global address is refused when subscribing
  (``SINK_NOT_PUBLIC``) and again by the transport at every delivery, because DNS may change
  between the two; ``NUMGUARD_WEBHOOK_ALLOW_PRIVATE=true`` allows them (a receiver on
  127.0.0.1 in the demo and the tests).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

from numguard.domain.lifecycle import EventType
from numguard.domain.notification import (
    NOTIFICATION_TYPES,
    DeliverySchedule,
    Notification,
    NotificationType,
    event_body,
    new_secret,
    secret_key,
    signed_headers,
)
from numguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from numguard.services.ports import ChangeSet

log = logging.getLogger("numguard.notifications")

MAX_SUBSCRIPTIONS = 20
"""Live subscriptions one platform may have."""

SINK_MAX = 500
"""The longest sink URL."""

SINK_NOT_PUBLIC = "SINK_NOT_PUBLIC"
"""The code of a sink refused for its address (when subscribing, and in a delivery's error)."""

NOT_PUBLIC_MESSAGE = (
    "the sink's host is or resolves to a private, loopback, link-local or other non-public"
    " address; webhooks go to public addresses only (NUMGUARD_WEBHOOK_ALLOW_PRIVATE=true"
    " allows others)"
)
"""Why such a sink is refused: never the address itself, so refusals do not map a network."""


class SubscriptionNotFound(NotFound):
    """No live subscription with this id for the caller's platform (404)."""

    code = "SUBSCRIPTION_NOT_FOUND"


class DeliveryNotFound(NotFound):
    """No delivery with this id for the caller's platform (404)."""

    code = "DELIVERY_NOT_FOUND"


class SubscriptionGone(Conflict):
    """The delivery's subscription was deleted: there is nowhere to replay it to (409)."""

    code = "SUBSCRIPTION_DELETED"


class TooManySubscriptions(Forbidden):
    """The platform has :data:`MAX_SUBSCRIPTIONS` live subscriptions already (403)."""

    code = "TOO_MANY_SUBSCRIPTIONS"


class InvalidSubscription(InvalidInput):
    """A subscription's sink, types or expiry cannot be used (400, with its own code:
    INVALID_SINK, INVALID_TYPES, INVALID_EXPIRY)."""

    code = "INVALID_SUBSCRIPTION"
    keep_code = True


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    """Waiting for its next try (or being tried now)."""
    DELIVERED = "delivered"
    """The sink answered 2xx."""
    DEAD = "dead"
    """Every try failed until ``retry_until``: dead-lettered (a replay sends it again)."""
    CANCELLED = "cancelled"
    """Its subscription was deleted before it was delivered."""


# values ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    """A platform's webhook subscription (never with its secret)."""

    subscription_id: str
    platform: str
    sink: str
    types: tuple[NotificationType, ...]
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedSubscription:
    """A new subscription and its signing secret, which is shown this once."""

    subscription: Subscription
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One delivery as its platform sees it."""

    delivery_id: int
    event_id: str
    type: NotificationType
    phone_number: str
    subscription_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    """When the next try is due (pending only)."""
    retry_until: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One stored attempt."""

    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a worker leased, with everything needed to send it."""

    delivery_id: int
    attempt: int
    """The number of this try (1 for the first)."""
    retry_until: datetime
    subscription_id: str
    sink: str
    sealed_secret: bytes = field(repr=False)
    notification: Notification


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one try did, to store."""

    delivery_id: int
    attempt: int
    worker: str
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    status: DeliveryStatus
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one worker pass did."""

    scheduled: int = 0
    """reissue-pending events enqueued."""
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


# ports ----------------------------------------------------------------------------------------


class SecretBox(Protocol):
    """Authenticated encryption of signing secrets at rest."""

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt *plaintext*, bound to *context* (the subscription id)."""
        ...

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt; raises if *sealed* was altered or belongs to another context."""
        ...


class WebhookTransport(Protocol):
    """POSTs one signed body; returns the HTTP status, raises :class:`TransportError`."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """Send *body* to *url* with *headers*."""
        ...


class TransportError(Exception):
    """The request did not get an HTTP answer (refused, timed out, TLS, DNS)."""


class NotificationStore(Protocol):
    """Storage of subscriptions, the outbox, deliveries and attempts."""

    def add_subscription(
        self, subscription: Subscription, client_id: str | None, sealed_secret: bytes
    ) -> None:
        """Store a new subscription and its types."""
        ...

    def live_subscription_count(self, platform: str, now: datetime) -> int:
        """How many undeleted, unexpired subscriptions *platform* has."""
        ...

    def subscriptions(self, platform: str) -> list[Subscription]:
        """*platform*'s undeleted subscriptions, oldest first."""
        ...

    def delete_subscription(self, platform: str, subscription_id: str, now: datetime) -> bool:
        """Delete (keep for the deliveries' history) and cancel its pending deliveries; False
        if there is no such live subscription of *platform*."""
        ...

    def enqueue_reissue_pending(
        self, today: date, horizon_days: int, now: datetime, retry_until: datetime
    ) -> int:
        """Write reissue-pending events for numbers whose aging ends within *horizon_days*."""
        ...

    def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        """Lease up to *limit* due pending deliveries for *worker*."""
        ...

    def finish(self, records: Sequence[AttemptRecord]) -> None:
        """Store attempts and move their deliveries on (released from the lease), in one
        transaction."""
        ...

    def deliveries(
        self, platform: str, status: DeliveryStatus | None, limit: int
    ) -> list[DeliveryView]:
        """*platform*'s deliveries, newest first."""
        ...

    def delivery(self, platform: str, delivery_id: int) -> DeliveryView | None:
        """One delivery of *platform*."""
        ...

    def attempts(self, delivery_id: int) -> list[AttemptView]:
        """The attempts of one delivery, oldest first."""
        ...

    def replay(
        self, platform: str, delivery_id: int, now: datetime, retry_until: datetime
    ) -> bool | None:
        """Make a delivery pending again, due now. None: no such delivery of *platform*;
        False: its subscription is deleted."""
        ...


# sink addresses ---------------------------------------------------------------------------------

Resolver = Callable[[str, int], list[str]]
"""``(host, port) -> IP addresses``; raises :class:`OSError` when the name does not resolve."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address *host* resolves to (IPv4 and IPv6, no duplicates, in resolver order)."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def is_public_address(address: str) -> bool:
    """Whether a webhook may be sent to *address*: a global unicast address.

    Refused: private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local (169.254/16
    with the cloud metadata service, fe80::/10), shared (100.64/10), documentation, reserved,
    unspecified and multicast addresses, and IPv6 forms that embed such an IPv4 address
    (IPv4-mapped, 6to4, NAT64).
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
        if ip.is_site_local:
            return False
    return ip.is_global and not ip.is_multicast


def sink_addresses(host: str, port: int, resolve: Resolver) -> list[str]:
    """The addresses to connect to for *host* (itself when it is an IP literal)."""
    literal = host.strip("[]")
    try:
        ipaddress.ip_address(literal.split("%", 1)[0])
    except ValueError:
        return resolve(host, port)
    return [literal]


# subscriptions ----------------------------------------------------------------------------------


def validate_sink(sink: object) -> str:
    """An absolute http(s) URL with a host, at most :data:`SINK_MAX` characters."""
    if not isinstance(sink, str) or not sink.strip():
        raise InvalidSubscription("sink is an http(s) URL", code="INVALID_SINK")
    text = sink.strip()
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018  raises on a port that is not a number from 0 to 65535
    except ValueError:
        parts = urlsplit("")
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(text) > SINK_MAX
        or parts.username
        or parts.password
        or any(c.isspace() for c in text)
    ):
        raise InvalidSubscription(
            f"sink must be an absolute http(s) URL without credentials, at most {SINK_MAX}"
            " characters",
            code="INVALID_SINK",
        )
    return text


def check_sink(sink: object, resolve: Resolver, *, allow_private: bool = False) -> str:
    """*sink* checked as a URL (:func:`validate_sink`) and, unless *allow_private*, refused
    with ``SINK_NOT_PUBLIC`` when its host is or resolves to a non-public address (any of its
    addresses). A name that does not resolve now is accepted: every delivery checks again."""
    url = validate_sink(sink)
    if allow_private:
        return url
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = sink_addresses(parts.hostname or "", port, resolve)
    except (OSError, UnicodeError):
        return url
    if not addresses or not all(is_public_address(a) for a in addresses):
        raise InvalidSubscription(NOT_PUBLIC_MESSAGE, code=SINK_NOT_PUBLIC)
    return url


def parse_types(types: object) -> tuple[NotificationType, ...]:
    """A non-empty list of known type names (short or ``org.numguard.`` form), deduplicated."""
    if not isinstance(types, list | tuple) or not types:
        raise InvalidSubscription("types is a non-empty list", code="INVALID_TYPES")
    found: list[NotificationType] = []
    for item in types:
        name = item.removeprefix("org.numguard.") if isinstance(item, str) else None
        kind = NOTIFICATION_TYPES.get(name) if name is not None else None
        if kind is None:
            known = ", ".join(NOTIFICATION_TYPES)
            raise InvalidSubscription(
                f"unknown type {item!r}; known: {known}", code="INVALID_TYPES"
            )
        if kind not in found:
            found.append(kind)
    return tuple(sorted(found, key=list(NotificationType).index))


@dataclass
class SubscriptionService:
    """Platforms subscribe their webhooks and follow their deliveries."""

    store: NotificationStore
    box: SecretBox
    now: Callable[[], datetime]
    retry_window: timedelta = timedelta(hours=24)
    allow_private: bool = False
    """Accept sinks on private, loopback and link-local addresses (the demo, tests)."""
    resolve: Resolver = field(default=resolve_host, repr=False)

    def verify_sink(self, sink: object) -> str:
        """*sink* as a subscription would take it, or the refusal (:func:`check_sink`)."""
        return check_sink(sink, self.resolve, allow_private=self.allow_private)

    def subscribe(
        self,
        platform: str,
        sink: object,
        types: object,
        expires_at: datetime | None,
        *,
        client_id: str | None = None,
    ) -> CreatedSubscription:
        """A new subscription of *platform*; the answer carries its secret, only now."""
        return self._subscribe(platform, self.verify_sink(sink), types, expires_at, client_id)

    def _subscribe(
        self,
        platform: str,
        url: str,
        types: object,
        expires_at: datetime | None,
        client_id: str | None,
    ) -> CreatedSubscription:
        """:meth:`subscribe` with *url* checked already (:meth:`verify_sink`)."""
        kinds = parse_types(types)
        now = self.now()
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidSubscription(
                    "expiresAt needs a time zone offset", code="INVALID_EXPIRY"
                )
            if expires_at <= now:
                raise InvalidSubscription("expiresAt must be in the future", code="INVALID_EXPIRY")
        if self.store.live_subscription_count(platform, now) >= MAX_SUBSCRIPTIONS:
            raise TooManySubscriptions(
                f"a platform may have {MAX_SUBSCRIPTIONS} subscriptions; delete one first"
            )
        subscription = Subscription(
            "sub_" + secrets.token_urlsafe(16), platform, url, kinds, now, expires_at
        )
        secret = new_secret()
        sealed = self.box.seal(secret.encode(), subscription.subscription_id.encode())
        self.store.add_subscription(subscription, client_id, sealed)
        log.info(
            "subscription created",
            extra={"platform": platform, "subscription": subscription.subscription_id},
        )
        return CreatedSubscription(subscription, secret)

    def subscriptions(self, platform: str) -> list[Subscription]:
        """*platform*'s subscriptions (without secrets)."""
        return self.store.subscriptions(platform)

    def ensure_unbind_sink(
        self, platform: str, sink: str | None, *, replaces: str | None = None
    ) -> CreatedSubscription | None:
        """Make *sink* (a platform's registered unbinding webhook) a live subscription to
        ``binding.unbind-requested``: the one way unbind requests are pushed, signed.

        Nothing is made when *platform* has a live subscription to the type at *sink* already
        (re-registering with the same URL). The registration's former subscription (at
        *replaces*, to that one type) is deleted when the URL changed or was removed. Returns
        the new subscription with its secret (shown this once), or None.
        """
        if sink is not None:
            sink = self.verify_sink(sink)
        now = self.now()
        unbind = NotificationType.BINDING_UNBIND_REQUESTED
        live = [
            s
            for s in self.store.subscriptions(platform)
            if unbind in s.types and (s.expires_at is None or s.expires_at > now)
        ]
        if replaces is not None and replaces != sink:
            for old in live:
                if old.sink == replaces and old.types == (unbind,):
                    self.unsubscribe(platform, old.subscription_id)
        if sink is None or any(s.sink == sink for s in live):
            return None
        return self._subscribe(platform, sink, [str(unbind)], None, None)

    def unsubscribe(self, platform: str, subscription_id: str) -> None:
        """Delete a subscription; its pending deliveries are cancelled."""
        if len(subscription_id) > 32 or not self.store.delete_subscription(
            platform, subscription_id, self.now()
        ):
            raise SubscriptionNotFound(f"no subscription {subscription_id} of {platform}")

    def deliveries(
        self, platform: str, status: str | None = None, limit: int = 100
    ) -> list[DeliveryView]:
        """*platform*'s deliveries, newest first, optionally of one status."""
        wanted = None
        if status is not None:
            try:
                wanted = DeliveryStatus(status)
            except ValueError as exc:
                values = ", ".join(s.value for s in DeliveryStatus)
                raise InvalidInput(f"status is one of {values}") from exc
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit is 1 to 1000")
        return self.store.deliveries(platform, wanted, limit)

    def delivery(self, platform: str, delivery_id: int) -> tuple[DeliveryView, list[AttemptView]]:
        """One delivery of *platform* and its attempts."""
        found = self.store.delivery(platform, delivery_id)
        if found is None:
            raise DeliveryNotFound(f"no delivery {delivery_id} of {platform}")
        return found, self.store.attempts(delivery_id)

    def replay(self, platform: str, delivery_id: int) -> DeliveryView:
        """Send a delivery again (same event id, fresh signature), with a new retry window."""
        now = self.now()
        done = self.store.replay(platform, delivery_id, now, now + self.retry_window)
        if done is None:
            raise DeliveryNotFound(f"no delivery {delivery_id} of {platform}")
        if done is False:
            raise SubscriptionGone("the delivery's subscription was deleted")
        found = self.store.delivery(platform, delivery_id)
        assert found is not None  # noqa: S101  it was just updated
        return found


# the worker -----------------------------------------------------------------------------------


def worker_name() -> str:
    """``host:pid:random``: tells attempts of different workers apart."""
    return f"{socket.gethostname()[:30]}:{threading.get_native_id()}:{secrets.token_hex(3)}"


@dataclass
class DeliveryWorker:
    """Claims due deliveries, signs and sends them, and records every attempt.

    One :meth:`run_once` is a pass: the reissue-pending scheduler (at most every
    ``schedule_every``), then up to ``batch`` due deliveries sent in parallel threads, their
    attempts stored together when all are done (a worker that dies mid-pass loses only those
    outcomes: the leases run out and the deliveries are sent again, with the same event ids).
    :meth:`run` repeats passes until stopped.
    """

    store: NotificationStore
    box: SecretBox
    transport: WebhookTransport
    now: Callable[[], datetime]
    today: Callable[[], date]
    source: str
    schedule: DeliverySchedule = field(default_factory=DeliverySchedule)
    reissue_days: int = 7
    batch: int = 16
    lease: timedelta = timedelta(seconds=60)
    schedule_every: timedelta = timedelta(seconds=60)
    name: str = field(default_factory=worker_name)
    rand: Callable[[], float] = field(default=random.random)
    _last_schedule: datetime | None = field(default=None, repr=False)

    def schedule_pass(self) -> int:
        """Enqueue reissue-pending events now (normally run by :meth:`run_once`)."""
        now = self.now()
        self._last_schedule = now
        return self.store.enqueue_reissue_pending(
            self.today(),
            self.reissue_days,
            now,
            now + timedelta(seconds=self.schedule.window),
        )

    def run_once(self) -> PassResult:
        """One pass: maybe schedule, then deliver what is due."""
        scheduled = 0
        now = self.now()
        if self._last_schedule is None or now - self._last_schedule >= self.schedule_every:
            scheduled = self.schedule_pass()
        claimed = self.store.claim(self.name, now, now + self.lease, self.batch)
        if not claimed:
            return PassResult(scheduled=scheduled)
        if len(claimed) == 1:
            records = [self._deliver(claimed[0])]
        else:
            with ThreadPoolExecutor(min(len(claimed), 64), "numguard-deliver") as pool:
                records = list(pool.map(self._deliver, claimed))
        self.store.finish(records)
        return PassResult(
            scheduled=scheduled,
            delivered=sum(1 for r in records if r.status is DeliveryStatus.DELIVERED),
            retrying=sum(1 for r in records if r.status is DeliveryStatus.PENDING),
            dead=sum(1 for r in records if r.status is DeliveryStatus.DEAD),
        )

    def _deliver(self, claimed: ClaimedDelivery) -> AttemptRecord:
        started = self.now()
        status_code: int | None = None
        error: str | None = None
        clock = time.perf_counter()
        try:
            key = secret_key(
                self.box.open(claimed.sealed_secret, claimed.subscription_id.encode()).decode()
            )
            body = event_body(claimed.notification, self.source)
            headers = signed_headers(
                key, claimed.notification.event_id, int(started.timestamp()), body
            )
            status_code = self.transport.post(claimed.sink, body, headers)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except TransportError as exc:
            error = str(exc)[:300] or type(exc).__name__
        except Exception as exc:  # a broken row must not stop the worker
            log.exception("delivery %s failed before sending", claimed.delivery_id)
            error = f"internal: {type(exc).__name__}"
        duration = int((time.perf_counter() - clock) * 1000)
        if error is None:
            status, next_at = DeliveryStatus.DELIVERED, None
        else:
            wait = self.schedule.delay(claimed.attempt, self.rand())
            next_at = self.now() + timedelta(seconds=wait)
            status = DeliveryStatus.PENDING
            if next_at > claimed.retry_until:
                status, next_at = DeliveryStatus.DEAD, None
        record = AttemptRecord(
            claimed.delivery_id,
            claimed.attempt,
            self.name,
            started,
            duration,
            status_code,
            error,
            status,
            next_at,
        )
        log.info(
            "webhook delivery %s attempt %d: %s",
            claimed.delivery_id,
            claimed.attempt,
            error or "delivered",
            extra={
                "delivery": claimed.delivery_id,
                "event_type": str(claimed.notification.type),
                "status": str(status),
                "http_status": status_code,
                "duration_ms": duration,
            },
        )
        return record

    def run(self, stop: threading.Event, *, idle_seconds: float = 1.0) -> None:
        """Pass after pass until *stop* is set; sleeps *idle_seconds* when nothing was due."""
        while not stop.is_set():
            try:
                result = self.run_once()
            except Exception:  # the database may be briefly away; try again next tick
                log.exception("delivery pass failed")
                stop.wait(idle_seconds)
                continue
            if result.delivered + result.retrying + result.dead == 0:
                stop.wait(idle_seconds)


def sequence_of(items: Sequence[NotificationType]) -> str:
    """Types as stored in one column: short names, comma-separated."""
    return ",".join(str(t) for t in items)


_DISCONNECTED = str(NotificationType.NUMBER_DISCONNECTED)
_HOLDER_CHANGED = str(NotificationType.NUMBER_HOLDER_CHANGED)


def lifecycle_notifications(
    changes: ChangeSet, wanted: set[str]
) -> list[tuple[str, str, date, str]]:
    """The candidate events of one applied batch: ``(type, phone number, date, cause)``.

    - ``number.disconnected`` for every accepted CANCELLED (the tenure ended, aging started).
      RELEASED is not one: the number was disconnected already, and the coming reissue is what
      ``number.reissue-pending`` announces.
    - ``number.holder-changed`` for every tenure opened after an earlier one of the number
      (ASSIGNED after release, TRANSFERRED / 过户). The first tenure a carrier ever reports
      for a number is not a change: it is how every held number enters the registry.

    *wanted* holds the types anyone subscribed to; others are skipped. The cause is the
    carrier's event (``carrier:event id``), unique for all time. Storage joins these to the
    bindings and subscriptions.
    """
    rows: list[tuple[str, str, date, str]] = []
    disconnected = _DISCONNECTED in wanted
    opened: set[tuple[str, date | None]] = set()
    if _HOLDER_CHANGED in wanted:
        opened = {(t.phone_number, t.start) for t in changes.tenures if t.is_new and t.ordinal > 1}
    cancelled, assigned, transferred = (
        EventType.CANCELLED,
        EventType.ASSIGNED,
        EventType.TRANSFERRED,
    )
    for record in changes.events:
        e = record.event
        kind = e.type
        if kind is cancelled:
            if disconnected:
                rows.append(
                    (_DISCONNECTED, e.phone_number, e.effective_date, f"{e.carrier}:{e.event_id}")
                )
        elif (kind is assigned or kind is transferred) and (
            e.phone_number,
            e.effective_date,
        ) in opened:
            rows.append(
                (_HOLDER_CHANGED, e.phone_number, e.effective_date, f"{e.carrier}:{e.event_id}")
            )
    return rows
