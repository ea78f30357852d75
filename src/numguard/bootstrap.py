"""Wires adapters to services from settings: the one place that knows every concrete class."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from numguard.adapters.notify.webhooks import AesGcmSecretBox, HttpxWebhookTransport
from numguard.adapters.sms.gateways import sms_from_settings
from numguard.adapters.storage.audit_store import SqlAuditStore
from numguard.adapters.storage.client_store import SqlClientStore
from numguard.adapters.storage.db import make_engine, upgrade
from numguard.adapters.storage.notification_store import SqlNotificationStore, SqlOutbox
from numguard.adapters.storage.people_store import SqlBindingStore, SqlLookupStore
from numguard.adapters.storage.registry_store import SqlRegistryStore
from numguard.adapters.storage.tracking_store import SqlTrackingStore
from numguard.domain.notification import DeliverySchedule
from numguard.services.audit import AuditTrail, NumberHasher
from numguard.services.auth import ClientService, RateLimiter
from numguard.services.bindings import BindingService
from numguard.services.checks import CheckService
from numguard.services.index import AnswerIndex
from numguard.services.notifications import (
    DeliveryWorker,
    SubscriptionService,
    WebhookTransport,
)
from numguard.services.people import PeopleService
from numguard.services.registry import RegistryService
from numguard.settings import Settings, load_settings

log = logging.getLogger("numguard")


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class Container:
    """Everything a face (web, CLI) needs, built once per process."""

    settings: Settings
    engine: Engine
    store: SqlRegistryStore
    registry: RegistryService
    index: AnswerIndex
    audit: AuditTrail
    checks: CheckService
    clients: ClientService
    limiter: RateLimiter
    token_limiter: RateLimiter
    now: Callable[[], datetime]
    today: Callable[[], date]
    bindings: BindingService
    people: PeopleService
    lookup_limiter: RateLimiter
    _refresher: threading.Thread | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    ready: threading.Event = field(default_factory=threading.Event, repr=False)
    notifications: SubscriptionService = field(init=False, repr=False)
    _worker: threading.Thread | None = field(default=None, repr=False)
    _worker_stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _transports: list[HttpxWebhookTransport] = field(default_factory=list, repr=False)

    def delivery_worker(
        self, transport: WebhookTransport | None = None, **options: Any
    ) -> DeliveryWorker:
        """A webhook delivery worker on this container's database and clock (*options*
        override :class:`DeliveryWorker` fields, e.g. ``schedule`` in tests)."""
        s = self.settings
        if transport is None:
            made = HttpxWebhookTransport(
                timeout=s.webhook_timeout_seconds, allow_private=s.webhook_allow_private
            )
            self._transports.append(made)  # closed with the container
            transport = made
        return DeliveryWorker(
            self.notifications.store,
            self.notifications.box,
            transport,
            self.now,
            self.today,
            s.event_source,
            **{
                "schedule": DeliverySchedule(
                    base=s.webhook_backoff_seconds,
                    max_delay=s.webhook_backoff_max_seconds,
                    window=s.webhook_retry_hours * 3600,
                ),
                "reissue_days": s.notify_reissue_days,
                "lease": timedelta(seconds=max(60.0, 3 * s.webhook_timeout_seconds)),
                **options,
            },
        )

    def start_worker(self) -> None:
        """Run a delivery worker in a thread of this process (``serve --worker``, the demo)."""
        if self._worker is not None:
            return
        worker = self.delivery_worker()
        self._worker_stop.clear()
        self._worker = threading.Thread(
            target=worker.run,
            args=(self._worker_stop,),
            kwargs={"idle_seconds": self.settings.worker_poll_seconds},
            name="numguard-webhooks",
            daemon=True,
        )
        self._worker.start()

    def load_index(self) -> None:
        """Fill the answer index from storage (start-up)."""
        self.index.load(self.store.all_states())
        self.ready.set()

    def catch_up(self) -> int:
        """Take in states other processes wrote since the index last looked; returns how many."""
        changed = list(self.store.states_since(self.index.seq))
        if changed:
            self.index.update((s for _, s in changed), seq=max(q for q, _ in changed))
        return len(changed)

    def start_background(self) -> None:
        """Start the audit writer and the index refresher."""
        self.audit.start()
        if self._refresher is None and self.settings.index_refresh_seconds > 0:
            self._stop.clear()
            self._refresher = threading.Thread(
                target=self._refresh_loop, name="numguard-index", daemon=True
            )
            self._refresher.start()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.settings.index_refresh_seconds):
            try:
                self.catch_up()
                self.registry.refresh_coverage()
            except Exception:  # the database may be briefly away; try again next tick
                log.exception("index refresh failed")

    def close(self) -> None:
        """Stop background work, flush the audit log, release connections."""
        self._stop.set()
        self._worker_stop.set()
        if self._worker is not None:
            self._worker.join(timeout=15)
            self._worker = None
        for transport in self._transports:
            transport.close()  # the workers' keep-alive connections
        self._transports.clear()
        if self._refresher is not None:
            self._refresher.join(timeout=5)
            self._refresher = None
        self.audit.stop()
        self.engine.dispose()


def build(
    settings: Settings | None = None,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] = utc_now,
    timezone: str = "Asia/Shanghai",
) -> Container:
    """Build the container; *clock* and *timezone* decide "now" and "today"."""
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    zone = ZoneInfo(timezone)

    def today() -> date:
        return clock().astimezone(zone).date()

    store = SqlRegistryStore(engine)
    registry = RegistryService(
        store,
        policy=settings.aging,
        holder_key=settings.holder_key,
        default_region=settings.default_region,
        today=today,
    )
    index = AnswerIndex()
    audit = AuditTrail(SqlAuditStore(engine), flush_seconds=settings.audit_flush_seconds)
    hasher = NumberHasher(settings.number_key)
    checks = CheckService(
        registry,
        index,
        audit,
        hasher,
        default_region=settings.default_region,
        today=today,
        now=clock,
    )

    registry.on_states_changed(index.update)
    client_store = SqlClientStore(engine)
    clients = ClientService.from_settings(
        client_store, settings, client_store.carrier_exists, client_store.platform_exists
    )
    limiter = RateLimiter.from_settings(settings, rate_of=clients.rate_of)
    # Each token request costs a scrypt hash: limit them per remote address.
    token_limiter = RateLimiter(10.0, 20.0)
    bindings = BindingService(
        SqlBindingStore(engine),
        audit,
        hasher,
        settings.default_region,
        today,
        clock,
        deadline_working_days=settings.unbind_deadline_working_days,
        dormant_days=settings.plan_dormant_days,
        max_batch=settings.max_batch,
    )
    people = PeopleService(
        SqlLookupStore(engine),
        bindings,
        sms_from_settings(settings),
        audit,
        hasher,
        holder_key=settings.holder_key,
        code_key=settings.lookup_key,
        default_region=settings.default_region,
        now=clock,
        today=today,
        carrier_names=store.carrier_names,
        code_ttl_seconds=settings.lookup_code_ttl_seconds,
        max_attempts=settings.lookup_max_attempts,
        interval_hours=settings.lookup_interval_hours,
        lock_minutes=settings.lookup_lock_minutes,
        session_seconds=settings.lookup_session_seconds,
        dormant_days=settings.plan_dormant_days,
        tracking=SqlTrackingStore(engine),
        tracking_days=settings.unbind_tracking_days,
    )
    # Starting a lookup sends an SMS: limit them per remote address (the per-number rule is
    # the people service's own).
    lookup_limiter = RateLimiter(0.2, 10.0)
    container = Container(
        settings,
        engine,
        store,
        registry,
        index,
        audit,
        checks,
        clients,
        limiter,
        token_limiter,
        clock,
        today,
        bindings,
        people,
        lookup_limiter,
    )
    retry_window = timedelta(hours=settings.webhook_retry_hours)
    outbox = SqlOutbox(clock, retry_window)
    registry.on_batch_written(outbox.after_batch)
    bindings.on_unbind_requested(outbox.after_unbind_requests)
    container.notifications = SubscriptionService(
        SqlNotificationStore(engine),
        AesGcmSecretBox(settings.webhook_secret_key),
        clock,
        retry_window,
        allow_private=settings.webhook_allow_private,
    )
    return container
