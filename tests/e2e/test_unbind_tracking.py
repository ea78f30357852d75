"""Following 焕新 requests after the lookup's session ends, with the read-only tracking token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from numguard.adapters.storage.tables import audit_log
from tests.conftest import FrozenClock
from tests.e2e.conftest import ID_A, ID_B, ev
from tests.e2e.test_people_api import NEW_REFS, NUMBER, OLD_REFS, World, _world


@pytest.fixture
def world(tmp_path: Path, clock: FrozenClock) -> Iterator[World]:
    """On SQLite."""
    yield from _world(f"sqlite:///{tmp_path}/people.db", tmp_path, clock)


@pytest.fixture
def world_on_both(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[World]:
    """On SQLite and PostgreSQL."""
    yield from _world(database_url, tmp_path, clock)


def test_a_tracking_token_follows_the_requests_after_the_session_ends(
    world_on_both: World, clock: FrozenClock
) -> None:
    w = world_on_both
    lookup, headers = w.session(idSuffix=ID_B[-6:])
    requested_at = clock.now
    made = w.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers).json()
    token = made["trackingToken"]
    assert re.fullmatch(r"trk_[A-Za-z0-9_-]{43}", token)
    assert made["trackingExpiresAt"] == (requested_at + timedelta(days=30)).isoformat()

    clock.now += timedelta(days=2)  # the 15-minute session is long over
    gone = w.http.get(f"/v1/lookups/{lookup}/unbind-requests", headers=headers)
    assert gone.status_code == 401
    bank, chat = w.api.bearer(w.bank), w.api.bearer(w.chat)
    bank_id = w.http.get("/v1/unbind-requests", headers=bank).json()["requests"][0]["requestId"]
    assert w.http.post(f"/v1/unbind-requests/{bank_id}/confirm", headers=bank).status_code == 200
    chat_id = w.http.get("/v1/unbind-requests", headers=chat).json()["requests"][0]["requestId"]
    w.http.post(
        f"/v1/unbind-requests/{chat_id}/reject", json={"reason": "still in use"}, headers=chat
    )

    tracked = w.http.get("/v1/unbind-requests/track", headers={"Authorization": f"Bearer {token}"})
    assert tracked.status_code == 200
    assert tracked.headers["cache-control"] == "no-store"
    body = tracked.json()
    rows = {r["platformName"]: r for r in body["requests"]}
    assert rows["Example Bank"] == {
        "platformName": "Example Bank",
        "category": "FINANCIAL",
        "accounts": 1,
        "status": "done",
        "requestedAt": requested_at.isoformat(),
        "dueOn": rows["Example Bank"]["dueOn"],
        "answeredAt": clock.now.isoformat(),
        "reason": None,
    }
    assert (rows["Chat App"]["category"], rows["Chat App"]["status"]) == ("SOCIAL", "rejected")
    assert rows["Chat App"]["reason"] == "still in use"
    # Nothing else: not the number (even masked), no account reference, no request id.
    for hidden in (NUMBER, "138****8000", *OLD_REFS, *NEW_REFS, bank_id, chat_id):
        assert hidden not in tracked.text

    # The token opens nothing else, and nothing else opens it.
    as_session = {"Authorization": f"Bearer {token}"}
    assert w.http.get(f"/v1/lookups/{lookup}", headers=as_session).status_code == 401
    for wrong in (headers, bank, {"Authorization": f"Bearer {token[:-2]}xx"}, {}):
        refused = w.http.get("/v1/unbind-requests/track", headers=wrong)
        assert (refused.status_code, refused.json()["code"]) == (401, "TRACKING_TOKEN_INVALID")

    clock.now = requested_at + timedelta(days=30)
    expired = w.http.get("/v1/unbind-requests/track", headers=as_session)
    assert (expired.status_code, expired.json()["code"]) == (401, "TRACKING_TOKEN_INVALID")

    # Every read is audited, refusals too; the number only as its keyed hash.
    number_hash = w.api.container.people.hasher.hex(NUMBER)
    with w.api.container.engine.connect() as conn:
        reads = conn.execute(
            select(audit_log.c.answer, audit_log.c.number_hash)
            .where(audit_log.c.kind == "UNBIND_TRACK")
            .order_by(audit_log.c.id)
        ).all()
    assert [(a, h == number_hash) for a, h in reads] == [
        ("shown", True),
        *[("refused", False)] * 4,  # a session token, a platform token, forged, none
        ("refused", True),
    ]


def test_a_tracking_token_shows_only_the_tenure_it_was_made_for(
    world: World, clock: FrozenClock
) -> None:
    lookup, headers = world.session(idSuffix=ID_B[-6:])
    first = world.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers).json()
    # The number passes to a new holder (过户), who sends 焕新 for their own tenure.
    world.api.report([ev("b2", "TRANSFERRED", "2026-11-28", holder=ID_A)])
    clock.now += timedelta(days=1)
    lookup, headers = world.session(idSuffix=ID_A[-6:])
    second = world.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers).json()
    assert len(second["created"]) == 2

    def shown(token: str) -> list[str]:
        answer = world.http.get(
            "/v1/unbind-requests/track", headers={"Authorization": f"Bearer {token}"}
        ).json()
        return sorted(r["requestedAt"] for r in answer["requests"])

    assert shown(first["trackingToken"]) == [r["createdAt"] for r in first["created"]]
    assert shown(second["trackingToken"]) == [r["createdAt"] for r in second["created"]]
