"""The receiver helper: Standard Webhooks verification, CloudEvent parsing, once per event id."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numguard.domain.notification import (
    DeliverySchedule,
    Notification,
    NotificationType,
    event_body,
    new_secret,
    secret_key,
    signature,
    signed_headers,
)
from numguard.guard.webhooks import (
    BadEvent,
    BadSignature,
    MemorySeenIds,
    MissingHeaders,
    Receipt,
    SqliteSeenIds,
    StaleTimestamp,
    WebhookReceiver,
    WebhookVerifier,
)

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def clock() -> datetime:
    return NOW


def delivery(secret: str = SECRET, at: datetime = NOW) -> tuple[dict[str, str], bytes]:
    note = Notification(
        "evt_0123", NotificationType.NUMBER_DISCONNECTED, "+8613800138000", date(2026, 11, 1), at
    )
    body = event_body(note, "urn:numguard:registry")
    return signed_headers(secret_key(secret), note.event_id, int(at.timestamp()), body), body


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    made = signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert made == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_genuine_delivery_verifies_and_parses() -> None:
    headers, body = delivery()
    event = WebhookVerifier(SECRET, clock=clock).verify(headers, body)
    assert event.id == "evt_0123"
    assert event.type == "org.numguard.number.disconnected"
    assert event.kind is NotificationType.NUMBER_DISCONNECTED
    assert event.phone_number == "+8613800138000"
    assert event.data == {"phoneNumber": "+8613800138000", "effectiveDate": "2026-11-01"}
    assert event.time == NOW


def test_header_names_are_case_insensitive() -> None:
    headers, body = delivery()
    upper = {k.upper(): v for k, v in headers.items()}
    assert WebhookVerifier(SECRET, clock=clock).verify(upper, body).id == "evt_0123"


def test_any_of_several_signatures_and_secrets_is_accepted() -> None:
    headers, body = delivery()
    other = new_secret()
    several = {
        **headers,
        "webhook-signature": f"v1,bm90IGl0 v1a,xyz {headers['webhook-signature']}",
    }
    assert WebhookVerifier(SECRET, clock=clock).verify(several, body).id == "evt_0123"
    assert WebhookVerifier([other, SECRET], clock=clock).verify(headers, body).id == "evt_0123"
    with pytest.raises(BadSignature):
        WebhookVerifier(other, clock=clock).verify(headers, body)


@given(st.integers(min_value=0), st.binary(min_size=1, max_size=4))
def test_any_change_to_the_body_breaks_the_signature(position: int, noise: bytes) -> None:
    headers, body = delivery()
    at = position % len(body)
    changed = body[:at] + noise + body[at + 1 :]
    if changed == body:
        return
    with pytest.raises((BadSignature, BadEvent)):
        WebhookVerifier(SECRET, clock=clock).verify(headers, changed)


def test_stale_or_future_timestamps_are_refused() -> None:
    verifier = WebhookVerifier(SECRET, clock=clock)
    for shift in (timedelta(minutes=-5, seconds=-1), timedelta(minutes=5, seconds=1)):
        headers, body = delivery(at=NOW + shift)
        with pytest.raises(StaleTimestamp):
            verifier.verify(headers, body)
    headers, body = delivery(at=NOW - timedelta(minutes=4, seconds=59))
    assert verifier.verify(headers, body).id == "evt_0123"
    loose = WebhookVerifier(SECRET, clock=clock, tolerance=timedelta(hours=1))
    headers, body = delivery(at=NOW - timedelta(minutes=30))
    assert loose.verify(headers, body).id == "evt_0123"


def test_missing_or_malformed_headers_are_refused() -> None:
    headers, body = delivery()
    verifier = WebhookVerifier(SECRET, clock=clock)
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        with pytest.raises(MissingHeaders):
            verifier.verify({k: v for k, v in headers.items() if k != name}, body)
    with pytest.raises(MissingHeaders):
        verifier.verify({**headers, "webhook-timestamp": "yesterday"}, body)
    with pytest.raises(BadSignature):  # the id is signed too
        verifier.verify({**headers, "webhook-id": "evt_9999"}, body)


def test_a_signed_body_that_is_not_a_cloudevent_is_refused() -> None:
    key = secret_key(SECRET)
    stamp = int(NOW.timestamp())
    verifier = WebhookVerifier(SECRET, clock=clock)
    for body in (b"not json", b"[1]", b'{"specversion": "0.3", "id": "m", "type": "t"}'):
        with pytest.raises(BadEvent):
            verifier.verify(signed_headers(key, "m", stamp, body), body)
    other = b'{"specversion":"1.0","id":"x","type":"t","source":"s"}'
    with pytest.raises(BadEvent):  # webhook-id and the event id differ
        verifier.verify(signed_headers(key, "m", stamp, other), other)


def test_each_event_is_handled_once_and_again_after_a_failed_handler() -> None:
    headers, body = delivery()
    receiver = WebhookReceiver(SECRET, clock=clock)
    calls: list[str] = []

    def failing(event: object) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        receiver.receive(headers, body, failing)
    assert receiver.receive(headers, body, lambda e: calls.append(e.id)).receipt is Receipt.HANDLED
    assert receiver.receive(headers, body, lambda e: calls.append(e.id)).receipt is (
        Receipt.DUPLICATE
    )
    assert calls == ["evt_0123"]


def test_the_sqlite_store_remembers_across_restarts_and_threads(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    first = SqliteSeenIds(path)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(first.claim("evt_1"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    first.close()
    again = SqliteSeenIds(path)
    assert again.claim("evt_1") is False
    again.release("evt_1")
    assert again.claim("evt_1") is True
    again.close()


def test_the_memory_store_keeps_the_most_recent_ids() -> None:
    seen = MemorySeenIds(capacity=2)
    assert [seen.claim(i) for i in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]


def test_secrets_are_whsec_base64() -> None:
    made = new_secret()
    assert made.startswith("whsec_")
    assert len(secret_key(made)) == 24
    with pytest.raises(ValueError, match="base64"):
        secret_key("whsec_not base64!")


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    schedule = DeliverySchedule(base=5.0, factor=2.0, max_delay=60.0, jitter=0.5)
    assert [schedule.delay(n, 0.0) for n in (1, 2, 3, 4, 5, 6)] == [2.5, 5, 10, 20, 30, 30]
    assert [schedule.delay(n, 0.999999) for n in (1, 5)] == pytest.approx([5.0, 60.0])


def test_the_sample_delivery_in_the_readme_verifies() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    block = readme.split("```http\n", 1)[1].split("```", 1)[0]
    head, body = block.split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    secret = readme.split("for the secret `", 1)[1].split("`", 1)[0]
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    event = WebhookVerifier(secret, clock=lambda: at).verify(headers, body.strip().encode())
    assert event.kind is NotificationType.NUMBER_REISSUE_PENDING
    note = Notification(
        event.id, NotificationType.NUMBER_REISSUE_PENDING, "+8613800138000", date(2026, 12, 8), at
    )
    assert (
        event_body(note, "urn:numguard:registry") == body.strip().encode()
    )  # as the code makes it
