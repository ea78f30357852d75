"""Notifications end to end on a real database (SQLite and PostgreSQL) and a real HTTP receiver.

Carrier reports go through the registry, the outbox is written in their transaction, delivery
workers sign and POST to a small server on 127.0.0.1 that uses the guard's receiver helper. The
clock is a frozen one the tests move, and the backoff is seconds, so nothing sleeps.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from numguard.adapters.notify.webhooks import HttpxWebhookTransport
from numguard.adapters.storage.tables import notification_events, webhook_deliveries
from numguard.bootstrap import Container, build
from numguard.domain.notification import DeliverySchedule
from numguard.guard.webhooks import (
    BadSignature,
    Receipt,
    ReceivedEvent,
    StaleTimestamp,
    WebhookReceiver,
    WebhookRejected,
)
from numguard.services.notifications import DeliveryStatus, DeliveryWorker
from numguard.settings import load_settings
from tests.conftest import SECRET, FrozenClock

ID_A = "11010519491231002X"
ID_B = "110105199003070017"
BANK_NUMBER = "+8613800138000"  # the bank has a binding; cancelled
MOVED_NUMBER = "+8613800138001"  # the bank has a binding; 过户 to a new holder
SHOP_NUMBER = "+8613800138002"  # only the shop has a binding; cancelled
NOBODY_NUMBER = "+8613800138003"  # no binding anywhere; cancelled
AGING_NUMBER = "+8613800138004"  # the bank has a binding; its aging period ends soon
FAST = DeliverySchedule(base=1.0, factor=2.0, max_delay=8.0, window=86_400.0)


def event(eid: str, kind: str, day: str, number: str, holder: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventId": eid,
        "phoneNumber": number,
        "type": kind,
        "effectiveDate": day,
        "carrier": "CMCC",
    }
    if holder:
        record["holder"] = {"idType": "CN_RESIDENT", "idNumber": holder}
    return record


# the receiver -----------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A platform's webhook endpoint: verifies with the guard helper, handles each id once."""

    secrets: dict[str, str]
    clock: FrozenClock
    handled: list[tuple[str, ReceivedEvent]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    receivers: dict[str, WebhookReceiver] = field(default_factory=dict)
    port: int = 0
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def receiver(self, path: str) -> WebhookReceiver:
        if path not in self.receivers:
            self.receivers[path] = WebhookReceiver(self.secrets[path], clock=self.clock)
        return self.receivers[path]

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                path = self.path.strip("/")
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = dict(self.headers.items())
                try:
                    got = outer.receiver(path).receive(
                        headers, body, lambda e: outer._handle(path, e)
                    )
                except WebhookRejected as exc:
                    with outer.lock:
                        outer.rejected.append(exc.code)
                    self.send_response(exc.status)
                    self.end_headers()
                    return
                if got.receipt is Receipt.DUPLICATE:
                    with outer.lock:
                        outer.duplicates.append(got.event.id)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, path: str, event: ReceivedEvent) -> None:
        with self.lock:
            self.handled.append((path, event))

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self, path: str) -> list[ReceivedEvent]:
        return [e for p, e in self.handled if p == path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# the world --------------------------------------------------------------------------------------


@pytest.fixture
def world(database_url: str, clock: FrozenClock, tmp_path: object) -> Iterator[Container]:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": database_url,
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
            "NUMGUARD_NOTIFY_REISSUE_DAYS": "7",
            "NUMGUARD_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver listens on 127.0.0.1
        }
    )
    container = build(settings, clock=clock)
    container.registry.add_carrier(
        "CMCC", "中国移动", tracking_since=date(2023, 1, 1), prefixes=["+86138"], now=clock()
    )
    b = container.bindings
    b.add_platform("BANK", "A bank", category="FINANCIAL")
    b.add_platform("SHOP", "A shop", category="COMMERCE")
    b.put(
        "BANK",
        [
            {"accountRef": "acct-1", "phoneNumber": BANK_NUMBER, "boundAt": "2023-11-01"},
            {"accountRef": "acct-2", "phoneNumber": MOVED_NUMBER, "boundAt": "2023-11-01"},
            {"accountRef": "acct-3", "phoneNumber": AGING_NUMBER, "boundAt": "2023-11-01"},
            {"accountRef": "acct-4", "phoneNumber": AGING_NUMBER, "boundAt": "2024-01-01"},
        ],
    )
    b.put("SHOP", [{"accountRef": "s-9", "phoneNumber": SHOP_NUMBER, "boundAt": "2023-12-01"}])
    container.registry.report(
        [
            event("a1", "ASSIGNED", "2023-10-09", BANK_NUMBER, ID_A),
            event("a2", "ASSIGNED", "2023-10-09", MOVED_NUMBER, ID_A),
            event("a3", "ASSIGNED", "2023-10-09", SHOP_NUMBER, ID_A),
            event("a4", "ASSIGNED", "2023-10-09", NOBODY_NUMBER, ID_A),
            event("a5", "ASSIGNED", "2023-10-09", AGING_NUMBER, ID_A),
        ],
        source="test",
    )
    yield container
    container.close()


def worker(c: Container, **options: Any) -> DeliveryWorker:
    return c.delivery_worker(schedule=FAST, schedule_every=timedelta(0), **options)


def drain(c: Container, clock: FrozenClock, workers: list[DeliveryWorker], rounds: int) -> None:
    """Passes of every worker, concurrently, moving the clock past any backoff between them."""
    for _ in range(rounds):
        threads = [threading.Thread(target=w.run_once) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clock.now += timedelta(seconds=FAST.max_delay + 1)


def count(c: Container, table: Any) -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# tests ------------------------------------------------------------------------------------------


def test_receiver_down_then_back_gets_every_event_exactly_once(
    world: Container, clock: FrozenClock
) -> None:
    n = world.notifications
    port = free_port()
    bank = n.subscribe(
        "BANK",
        f"http://127.0.0.1:{port}/bank",
        ["number.disconnected", "number.holder-changed", "number.reissue-pending"],
        None,
    )
    shop = n.subscribe("SHOP", f"http://127.0.0.1:{port}/shop", ["number.disconnected"], None)
    assert bank.secret.startswith("whsec_")
    receiver = Receiver({"bank": bank.secret, "shop": shop.secret}, clock, port=port)

    summary = world.registry.report(
        [
            event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER),
            event("t1", "TRANSFERRED", "2024-03-01", MOVED_NUMBER, ID_B),
            event("c3", "CANCELLED", "2024-02-26", SHOP_NUMBER),
            event("c4", "CANCELLED", "2024-02-27", NOBODY_NUMBER),
        ],
        source="test",
    )
    assert all(r.outcome.value == "accepted" for r in summary.results)
    # Three events: the bank's two numbers, the shop's one; nothing for the unbound number.
    assert count(world, notification_events) == 3

    workers = [worker(world), worker(world)]
    drain(world, clock, workers, rounds=3)  # the receiver is down: every try is refused
    pending = n.deliveries("BANK")
    assert {d.status for d in pending} == {DeliveryStatus.PENDING}
    assert all(d.attempts == 3 and d.last_error for d in pending)

    receiver.start()
    try:
        drain(world, clock, workers, rounds=4)
        bank_events = receiver.events("bank")
        shop_events = receiver.events("shop")
        assert sorted((e.type, e.phone_number) for e in bank_events) == [
            ("org.numguard.number.disconnected", BANK_NUMBER),
            ("org.numguard.number.holder-changed", MOVED_NUMBER),
        ]
        assert [(e.type, e.phone_number) for e in shop_events] == [
            ("org.numguard.number.disconnected", SHOP_NUMBER)
        ]
        ids = [e.id for _, e in receiver.handled]
        assert len(ids) == len(set(ids)) == 3
        assert receiver.duplicates == []
        assert receiver.rejected == []
        disconnected = next(e for e in bank_events if e.kind == "number.disconnected")
        assert disconnected.data == {"phoneNumber": BANK_NUMBER, "effectiveDate": "2024-02-25"}
        assert disconnected.raw["specversion"] == "1.0"
        assert disconnected.raw["datacontenttype"] == "application/json"
        assert "holder" not in str(disconnected.raw).lower()
        for platform in ("BANK", "SHOP"):
            for d in n.deliveries(platform):
                assert d.status is DeliveryStatus.DELIVERED
                assert d.attempts == 4  # three refused, then delivered
                _, attempts = n.delivery(platform, d.delivery_id)
                assert [a.outcome for a in attempts] == ["pending"] * 3 + ["delivered"]
                assert attempts[0].error
                assert "Connect" in attempts[0].error

        # A replay sends the same event id again: the receiver sees a duplicate, handles nothing.
        first = n.deliveries("BANK")[0]
        assert n.replay("BANK", first.delivery_id).status is DeliveryStatus.PENDING
        drain(world, clock, workers, rounds=1)
        assert receiver.duplicates == [first.event_id]
        assert len(receiver.handled) == 3
    finally:
        receiver.stop()


def test_tampered_or_stale_deliveries_are_rejected(world: Container, clock: FrozenClock) -> None:
    n = world.notifications
    sent: list[tuple[str, bytes, dict[str, str]]] = []

    class Recording:
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
            sent.append((url, body, headers))
            return 204

    made = n.subscribe("BANK", "https://bank.example/hook", ["number.disconnected"], None)
    world.registry.report([event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER)], source="test")
    worker(world, transport=Recording()).run_once()
    ((_, body, headers),) = sent
    assert headers["webhook-signature"].startswith("v1,")
    receiver = WebhookReceiver(made.secret, clock=clock)
    assert receiver.receive(headers, body, lambda e: None).receipt is Receipt.HANDLED

    tampered = body.replace(BANK_NUMBER.encode(), b"+8613900000000")
    with pytest.raises(BadSignature):
        WebhookReceiver(made.secret, clock=clock).receive(headers, tampered, lambda e: None)
    with pytest.raises(BadSignature):
        WebhookReceiver(made.secret, clock=clock).receive(
            {**headers, "webhook-id": "evt_other"}, body, lambda e: None
        )
    other = n.subscribe("BANK", "https://bank.example/other", ["number.disconnected"], None)
    with pytest.raises(BadSignature):  # signed with another subscription's secret
        WebhookReceiver(other.secret, clock=clock).receive(headers, body, lambda e: None)
    later = FrozenClock(clock.now + timedelta(minutes=5, seconds=1))
    with pytest.raises(StaleTimestamp):  # captured and replayed later
        WebhookReceiver(made.secret, clock=later).receive(headers, body, lambda e: None)
    # A rotation: the receiver knows the old and the new secret, either verifies.
    both = WebhookReceiver([other.secret, made.secret], clock=clock)
    assert both.receive(headers, body, lambda e: None).receipt is Receipt.HANDLED


def test_reissue_pending_fires_before_aging_ends_only_to_platforms_with_bindings(
    world: Container, clock: FrozenClock
) -> None:
    n = world.notifications
    sent: list[tuple[str, bytes]] = []

    class Recording:
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
            sent.append((url, body))
            return 200

    n.subscribe("BANK", "https://bank.example/hook", ["number.reissue-pending"], None)
    n.subscribe("SHOP", "https://shop.example/hook", ["number.reissue-pending"], None)
    # Cancelled 2026-09-09: the 90-day aging period ends 2026-12-08, ten days after today.
    world.registry.report(
        [
            event("c5", "CANCELLED", "2026-09-09", AGING_NUMBER),
            event("c3", "CANCELLED", "2026-09-09", SHOP_NUMBER),
        ],
        source="test",
    )
    w = worker(world, transport=Recording())
    w.run_once()
    assert sent == []  # ten days before the end: not yet (the horizon is seven)

    clock.now += timedelta(days=3)  # 2026-12-01: seven days before the end
    w.run_once()
    w.run_once()
    clock.now += timedelta(days=1)
    w.run_once()
    # Once, to the bank (two bindings, one event); the shop's aging number: the shop has a
    # binding on it too, so it is told about its own number, never about the bank's.
    bodies = dict(sent)
    assert len(sent) == 2
    bank = httpx.Response(200, content=bodies["https://bank.example/hook"]).json()
    shop = httpx.Response(200, content=bodies["https://shop.example/hook"]).json()
    assert bank["type"] == "org.numguard.number.reissue-pending"
    assert bank["data"] == {"phoneNumber": AGING_NUMBER, "effectiveDate": "2026-12-08"}
    assert shop["data"]["phoneNumber"] == SHOP_NUMBER
    delivered = n.deliveries("BANK")
    assert len(delivered) == 1
    assert delivered[0].finished_at is not None
    assert delivered[0].finished_at.date() < date(2026, 12, 8)  # before the aging period ends


def test_no_events_about_numbers_without_a_binding_of_the_platform(
    world: Container, clock: FrozenClock
) -> None:
    n = world.notifications
    for platform in ("BANK", "SHOP"):
        n.subscribe(
            platform,
            f"https://{platform.lower()}.example/hook",
            ["number.disconnected", "number.holder-changed", "number.reissue-pending"],
            None,
        )
    world.registry.report(
        [
            event("c1", "CANCELLED", "2026-09-09", BANK_NUMBER),
            event("c3", "CANCELLED", "2026-09-09", SHOP_NUMBER),
            event("c4", "CANCELLED", "2026-09-09", NOBODY_NUMBER),
            event("t1", "TRANSFERRED", "2026-09-10", MOVED_NUMBER, ID_B),
        ],
        source="test",
    )
    clock.now += timedelta(days=5)
    worker(world).schedule_pass()
    with world.engine.connect() as conn:
        rows = set(
            conn.execute(select(notification_events.c.platform, notification_events.c.phone_number))
        )
    bank_numbers = {BANK_NUMBER, MOVED_NUMBER}
    assert {num for p, num in rows if p == "BANK"} == bank_numbers
    assert {num for p, num in rows if p == "SHOP"} == {SHOP_NUMBER}
    assert NOBODY_NUMBER not in {num for _, num in rows}


def test_dead_letter_after_the_retry_window_and_replay(
    world: Container, clock: FrozenClock
) -> None:
    n = world.notifications
    answers = [500]

    class Failing:
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
            return answers[0]

    n.subscribe("BANK", "https://bank.example/hook", ["number.disconnected"], None)
    world.registry.report([event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER)], source="test")
    schedule = DeliverySchedule(base=600.0, factor=2.0, max_delay=7200.0, window=86_400.0)
    w = world.delivery_worker(Failing(), schedule=schedule)
    for _ in range(40):
        w.run_once()
        clock.now += timedelta(hours=2)
    (dead,) = n.deliveries("BANK")
    assert dead.status is DeliveryStatus.DEAD
    assert dead.last_status_code == 500
    _, attempts = n.delivery("BANK", dead.delivery_id)
    assert len(attempts) == dead.attempts
    assert attempts[-1].started_at <= dead.retry_until
    assert n.deliveries("BANK", status="dead") == [dead]

    answers[0] = 204
    n.replay("BANK", dead.delivery_id)
    w.run_once()
    (done,) = n.deliveries("BANK")
    assert done.status is DeliveryStatus.DELIVERED
    assert done.attempts == dead.attempts + 1


def test_unbind_requests_are_announced_in_their_transaction(
    world: Container, clock: FrozenClock
) -> None:
    n = world.notifications
    sent: list[bytes] = []

    class Recording:
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
            sent.append(body)
            return 204

    n.subscribe("BANK", "https://bank.example/hook", ["binding.unbind-requested"], None)
    world.registry.report(
        [
            event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER),
            event("r1", "RELEASED", "2024-05-25", BANK_NUMBER),
            event("b1", "ASSIGNED", "2024-06-01", BANK_NUMBER, ID_B),
        ],
        source="test",
    )
    state = next(s for _, s in world.store.all_states() if s.phone_number == BANK_NUMBER)
    created, _ = world.bindings.create_unbind_requests(state)
    assert [r.platform for r in created] == ["BANK"]
    worker(world, transport=Recording()).run_once()
    (body,) = sent
    data = httpx.Response(200, content=body).json()["data"]
    assert data == {
        "phoneNumber": BANK_NUMBER,
        "effectiveDate": "2026-11-28",
        "requestId": created[0].request_id,
        "tenureStart": "2024-06-01",
        "dueOn": created[0].due_on.isoformat(),
        "accountRefs": ["acct-1"],
    }
    with world.engine.connect() as conn:
        deliveries = conn.execute(select(func.count()).select_from(webhook_deliveries))
        assert deliveries.scalar_one() == 1


def test_deleted_or_expired_subscriptions_get_nothing(world: Container, clock: FrozenClock) -> None:
    n = world.notifications
    gone = n.subscribe("BANK", "https://bank.example/a", ["number.disconnected"], None)
    n.subscribe(
        "BANK", "https://bank.example/b", ["number.disconnected"], clock.now + timedelta(hours=1)
    )
    n.unsubscribe("BANK", gone.subscription.subscription_id)
    clock.now += timedelta(hours=2)
    world.registry.report([event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER)], source="test")
    assert count(world, notification_events) == 0
    assert [s.sink for s in n.subscriptions("BANK")] == ["https://bank.example/b"]


def test_only_real_changes_make_events(world: Container, clock: FrozenClock) -> None:
    n = world.notifications
    n.subscribe(
        "BANK", "https://bank.example/hook", ["number.disconnected", "number.holder-changed"], None
    )
    fresh = "+8613800138009"
    world.bindings.put(
        "BANK", [{"accountRef": "acct-9", "phoneNumber": fresh, "boundAt": "2023-01-01"}]
    )
    world.registry.report(
        [
            event("f1", "ASSIGNED", "2024-01-01", fresh, ID_A),  # first tenure: not a change
            event("x1", "ASSIGNED", "2024-01-01", BANK_NUMBER, ID_B),  # rejected: already held
            event("p1", "RESTORED", "2024-01-02", MOVED_NUMBER),  # rejected: not cancelled
        ],
        source="test",
    )
    assert count(world, notification_events) == 0
    cancel = [event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER)]
    world.registry.report(cancel, source="test")
    world.registry.report(cancel, source="test")  # the same report again: a duplicate
    assert count(world, notification_events) == 1
    assert count(world, webhook_deliveries) == 1


def test_the_in_process_worker_delivers_until_the_container_closes(
    database_url: str, clock: FrozenClock, tmp_path: object
) -> None:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": database_url,
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
            "NUMGUARD_SERVE_WORKER": "1",
            "NUMGUARD_WORKER_POLL_SECONDS": "0.05",
            "NUMGUARD_WEBHOOK_ALLOW_PRIVATE": "true",
        }
    )
    c = build(settings, clock=clock)
    c.registry.add_carrier(
        "CMCC", "中国移动", tracking_since=date(2023, 1, 1), prefixes=["+86138"], now=clock()
    )
    c.bindings.add_platform("BANK", "A bank", category="FINANCIAL")
    c.bindings.put(
        "BANK", [{"accountRef": "acct-1", "phoneNumber": BANK_NUMBER, "boundAt": "2023-11-01"}]
    )
    receiver = Receiver({}, clock)
    receiver.start()
    try:
        made = c.notifications.subscribe(
            "BANK", receiver.url("bank"), ["number.disconnected"], None
        )
        receiver.secrets["bank"] = made.secret
        c.start_worker()
        c.registry.report(
            [
                event("a1", "ASSIGNED", "2023-10-09", BANK_NUMBER, ID_A),
                event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER),
            ],
            source="test",
        )
        for _ in range(200):
            if receiver.handled:
                break
            threading.Event().wait(0.05)
        assert [e.phone_number for e in receiver.events("bank")] == [BANK_NUMBER]
    finally:
        c.close()
        receiver.stop()
    assert c._worker is None  # stopped and joined by close()


def test_a_delivery_to_a_private_address_is_refused_when_it_is_not_allowed(
    world: Container, clock: FrozenClock
) -> None:
    # Subscribed while private sinks were allowed (or while its name resolved publicly); the
    # transport of a registry that does not allow them checks again and never connects.
    n = world.notifications
    receiver = Receiver({}, clock)
    receiver.start()
    try:
        made = n.subscribe("BANK", receiver.url("bank"), ["number.disconnected"], None)
        receiver.secrets["bank"] = made.secret
        world.registry.report([event("c1", "CANCELLED", "2024-02-25", BANK_NUMBER)], source="test")
        strict = worker(world, transport=HttpxWebhookTransport(allow_private=False))
        strict.run_once()
        (refused,) = n.deliveries("BANK")
        assert refused.status is DeliveryStatus.PENDING  # retried: DNS may change back
        assert refused.last_error is not None
        assert refused.last_error.startswith("SINK_NOT_PUBLIC: ")
        assert receiver.handled == []
        assert receiver.rejected == []
    finally:
        receiver.stop()
