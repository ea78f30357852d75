"""The bindings API, 一证通查 lookups, 焕新 and the cancellation check, over HTTP.

The world: +8613800138000 was held by ID_A (2023-02-01 to its cancellation on 2024-01-01),
released, and reissued to ID_B on 2024-05-01. A bank and a chat app each hold one account bound
by the previous holder and one bound by the current holder. The bank registered an unbinding
webhook (a subscription to binding.unbind-requested); the chat app has none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from numguard.guard.webhooks import Receipt, WebhookReceiver
from tests.conftest import FrozenClock
from tests.e2e.conftest import ID_A, ID_B, Api, ev, make_api
from tests.integration.test_notifications import Receiver, free_port

NUMBER = "+8613800138000"
OTHER = "+8613900139000"
OLD_REFS = ("acct-prev-holder-1", "wxid_previous_77")
NEW_REFS = ("acct-new-holder-9", "wxid_current_55")
BANK_HOOK = "https://bank.test/unbind"


class World:
    """The API plus platform credentials and the SMS file."""

    def __init__(self, api: Api, sms: Path, bank_hook: str = BANK_HOOK) -> None:
        self.api = api
        self.http = api.http
        self.sms = sms
        self.webhooks: list[tuple[str, bytes, dict[str, str]]] = []
        container = api.container
        now = api.clock()
        container.bindings.add_platform(
            "BANK", "Example Bank", category="FINANCIAL", webhook_url=bank_hook
        )
        made = container.notifications.ensure_unbind_sink("BANK", bank_hook)
        assert made is not None
        self.bank_secret = made.secret
        container.bindings.add_platform("CHAT", "Chat App", category="SOCIAL")
        bank, bank_secret = container.clients.add_client(
            "bank-bindings", "platform", platform="BANK", now=now
        )
        chat, chat_secret = container.clients.add_client(
            "chat-bindings", "platform", platform="CHAT", now=now
        )
        self.bank = (bank.client_id, bank_secret)
        self.chat = (chat.client_id, chat_secret)
        api.report(
            [
                ev("a1", "ASSIGNED", "2023-02-01", holder=ID_A),
                ev("a2", "CANCELLED", "2024-01-01"),
                ev("a3", "RELEASED", "2024-04-01"),
                ev("b1", "ASSIGNED", "2024-05-01", holder=ID_B),
                ev("c1", "ASSIGNED", "2024-02-01", OTHER, holder=ID_B),
            ]
        )
        self.put(
            self.bank,
            [
                binding(OLD_REFS[0], "2023-03-01", "2023-12-20"),
                binding(NEW_REFS[0], "2024-06-01", "2026-11-01"),
            ],
        )
        self.put(
            self.chat,
            [
                binding(OLD_REFS[1], "2023-05-05", "2023-12-30"),
                binding(NEW_REFS[1], "2024-07-01", "2025-01-01"),
            ],
        )

    def deliver(self, answer: int = 204) -> None:
        """One pass of the delivery worker; the bank's endpoint records and answers *answer*."""
        world = self

        class Bank:
            def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
                world.webhooks.append((url, body, headers))
                return answer

        self.api.container.delivery_worker(Bank()).run_once()

    def put(self, who: tuple[str, str], items: list[dict[str, Any]]) -> dict[str, Any]:
        response = self.http.put(
            "/v1/bindings", json={"bindings": items}, headers=self.api.bearer(who)
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def last_code(self, number: str = NUMBER) -> str:
        lines = [json.loads(x) for x in self.sms.read_text("utf-8").splitlines() if x]
        texts = [m["text"] for m in lines if m["to"] == number]
        found = re.search(r"\b(\d{6})\b", texts[-1])
        assert found is not None
        return found.group(1)

    def start(self, **body: str) -> httpx.Response:
        return self.http.post("/v1/lookups", json={"phoneNumber": NUMBER, **body})

    def session(self, **body: str) -> tuple[str, dict[str, str]]:
        started = self.start(**body)
        assert started.status_code == 202, started.text
        lookup = started.json()["lookupId"]
        verified = self.http.post(f"/v1/lookups/{lookup}/verify", json={"code": self.last_code()})
        assert verified.status_code == 200, verified.text
        return lookup, {"Authorization": f"Bearer {verified.json()['sessionToken']}"}


def binding(
    ref: str, bound: str, active: str | None = None, number: str = NUMBER
) -> dict[str, Any]:
    item: dict[str, Any] = {"accountRef": ref, "phoneNumber": number, "boundAt": bound}
    if active:
        item["lastActiveAt"] = active
    return item


def _world(
    url: str, tmp_path: Path, clock: FrozenClock, bank_hook: str = BANK_HOOK, **more: str
) -> Iterator[World]:
    sms = tmp_path / "sms.jsonl"
    env = {"NUMGUARD_SMS_GATEWAY": "file", "NUMGUARD_SMS_FILE": str(sms), **more}
    for api in make_api(url, tmp_path, clock, **env):
        yield World(api, sms, bank_hook)


@pytest.fixture
def world(tmp_path: Path, clock: FrozenClock) -> Iterator[World]:
    """On SQLite."""
    yield from _world(f"sqlite:///{tmp_path}/people.db", tmp_path, clock)


@pytest.fixture
def world_on_both(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[World]:
    """On SQLite and PostgreSQL."""
    yield from _world(database_url, tmp_path, clock)


# bindings -------------------------------------------------------------------------------------


def test_put_is_idempotent_with_a_result_per_item(world_on_both: World) -> None:
    w = world_on_both
    again = w.put(
        w.bank,
        [
            binding(NEW_REFS[0], "2024-06-01", "2026-11-01"),  # same as stored
            binding(NEW_REFS[0] + "x", "2024-06-02"),
            binding("bad", "2024-06-02", number="12"),
            binding(NEW_REFS[0] + "x", "2024-06-02"),
            {"accountRef": "c", "phoneNumber": NUMBER, "boundAt": "2024-13-01"},
            {"accountRef": "d", "phoneNumber": NUMBER, "boundAt": "2024-01-01", "category": "X"},
        ],
    )
    assert [r["outcome"] for r in again["results"]] == [
        "unchanged",
        "created",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
    ]
    codes = [r.get("code") for r in again["results"]]
    assert codes[2:] == [
        "INVALID_PHONE_NUMBER",
        "DUPLICATE_IN_BATCH",
        "INVALID_DATE",
        "INVALID_CATEGORY",
    ]
    assert (again["created"], again["unchanged"], again["rejected"]) == (1, 1, 4)
    changed = w.put(w.bank, [binding(NEW_REFS[0], "2024-06-01", "2026-11-20")])
    assert changed["updated"] == 1


def test_a_platform_sees_and_changes_only_its_own_bindings(world_on_both: World) -> None:
    w = world_on_both
    chat = w.api.bearer(w.chat)
    seen = w.http.get("/v1/bindings", params={"phoneNumber": NUMBER}, headers=chat).json()
    assert {b["accountRef"] for b in seen["bindings"]} == {OLD_REFS[1], NEW_REFS[1]}

    # Deleting the bank's binding from the chat app's client is a no-op on the bank's data.
    gone = w.http.request(
        "DELETE",
        "/v1/bindings",
        json={"bindings": [{"accountRef": NEW_REFS[0], "phoneNumber": NUMBER}]},
        headers=chat,
    ).json()
    assert gone["results"][0]["outcome"] == "absent"
    # Writing the same account reference makes the chat app's own binding, not the bank's.
    w.put(w.chat, [binding(NEW_REFS[0], "2020-01-01")])
    bank = w.http.get(
        "/v1/bindings", params={"phoneNumber": NUMBER}, headers=w.api.bearer(w.bank)
    ).json()
    mine = {b["accountRef"]: b for b in bank["bindings"]}
    assert set(mine) == {OLD_REFS[0], NEW_REFS[0]}
    assert mine[NEW_REFS[0]]["boundAt"] == "2024-06-01"


def test_clients_without_a_platform_cannot_report_bindings(world: World) -> None:
    response = world.http.put(
        "/v1/bindings",
        json={"bindings": [binding("x", "2024-01-01")]},
        headers=world.api.bearer(world.api.platform),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "NOT_A_PLATFORM_CLIENT"
    assert world.http.put("/v1/bindings", json={"bindings": []}).status_code == 401


def test_delete_removes_and_repeating_it_is_a_no_op(world: World) -> None:
    body = {"bindings": [{"accountRef": NEW_REFS[0], "phoneNumber": "138 0013 8000"}]}
    bank = world.api.bearer(world.bank)
    first = world.http.request("DELETE", "/v1/bindings", json=body, headers=bank).json()
    second = world.http.request("DELETE", "/v1/bindings", json=body, headers=bank).json()
    assert (first["deleted"], second["deleted"], second["absent"]) == (1, 0, 1)


# lookups --------------------------------------------------------------------------------------


def test_matching_and_non_matching_ids_get_the_same_answer_until_the_code(
    world_on_both: World, clock: FrozenClock
) -> None:
    w = world_on_both
    right = w.start(idSuffix=ID_B[-6:])
    clock.now += timedelta(days=1, seconds=1)
    wrong = w.start(idSuffix="99999X")
    assert right.status_code == wrong.status_code == 202
    assert right.headers.keys() == wrong.headers.keys()
    shape_right = right.content.replace(right.json()["lookupId"].encode(), b"ID")
    shape_wrong = wrong.content.replace(wrong.json()["lookupId"].encode(), b"ID")
    shape_wrong = shape_wrong.replace(
        wrong.json()["codeExpiresAt"].encode(), right.json()["codeExpiresAt"].encode()
    )
    assert shape_right == shape_wrong
    assert len(w.sms.read_text().splitlines()) == 2  # the phone got a code both times

    # Only after the code does the answer differ, and the mismatch says nothing more.
    code = w.last_code()
    token = w.http.post(f"/v1/lookups/{wrong.json()['lookupId']}/verify", json={"code": code})
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['sessionToken']}"}
    result = w.http.get(f"/v1/lookups/{wrong.json()['lookupId']}", headers=headers).json()
    assert result["matched"] is False
    assert result["accounts"]["categories"] == []
    assert result["accounts"]["tenureStart"] is None
    renew = w.http.post(f"/v1/lookups/{wrong.json()['lookupId']}/renewal", headers=headers)
    assert renew.status_code == 403


def test_five_wrong_codes_lock_the_lookup(world_on_both: World) -> None:
    w = world_on_both
    lookup = w.start(idSuffix=ID_B[-6:]).json()["lookupId"]
    good = w.last_code()
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    answers = [w.http.post(f"/v1/lookups/{lookup}/verify", json={"code": bad}) for _ in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 403]
    assert [a.json()["code"] for a in answers[:4]] == ["INVALID_CODE"] * 4
    assert answers[4].json()["code"] == "CODE_LOCKED"
    late = w.http.post(f"/v1/lookups/{lookup}/verify", json={"code": good})
    assert (late.status_code, late.json()["code"]) == (403, "CODE_LOCKED")


def test_a_code_is_single_use_and_expires(world: World, clock: FrozenClock) -> None:
    lookup = world.start(idSuffix=ID_B[-6:]).json()["lookupId"]
    code = world.last_code()
    clock.now += timedelta(minutes=10)
    late = world.http.post(f"/v1/lookups/{lookup}/verify", json={"code": code})
    assert (late.status_code, late.json()["code"]) == (400, "CODE_EXPIRED")

    clock.now += timedelta(days=1)
    lookup = world.start(idSuffix=ID_B[-6:]).json()["lookupId"]
    code = world.last_code()
    assert world.http.post(f"/v1/lookups/{lookup}/verify", json={"code": code}).status_code == 200
    again = world.http.post(f"/v1/lookups/{lookup}/verify", json={"code": code})
    assert (again.status_code, again.json()["code"]) == (400, "CODE_EXPIRED")


def test_a_second_lookup_within_24_hours_is_refused(
    world_on_both: World, clock: FrozenClock
) -> None:
    w = world_on_both
    w.start(idSuffix=ID_B[-6:])
    clock.now += timedelta(minutes=3)
    started = w.start(idSuffix=ID_B[-6:])
    assert started.status_code == 429  # the first code is still valid
    clock.now += timedelta(minutes=7)  # it expired unused: that blocks nothing
    # The verified lookup counts from when its code was verified.
    w.session(idSuffix=ID_B[-6:])
    verified_at = clock.now
    clock.now += timedelta(hours=23)
    refused = w.start(idSuffix=ID_B[-6:])
    assert refused.status_code == 429
    assert refused.json()["code"] == "LOOKUP_TOO_SOON"
    assert int(refused.headers["Retry-After"]) == 3600
    when = (verified_at + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert refused.json()["message"] == (
        f"this number was already looked up in the last 24 hours; try again after {when}"
        " (in 60 minutes)"
    )
    assert len(w.sms.read_text().splitlines()) == 2  # no code for the refused starts
    clock.now += timedelta(hours=1, seconds=1)
    assert w.start(idSuffix=ID_B[-6:]).status_code == 202


def test_a_stranger_who_starts_a_lookup_blocks_the_number_only_until_the_code_expires(
    world_on_both: World, clock: FrozenClock
) -> None:
    w = world_on_both
    stranger = w.start(idSuffix="99999X")  # knows the number, not the ID, never gets the code
    assert stranger.status_code == 202
    clock.now += timedelta(minutes=4)
    holder = w.start(idSuffix=ID_B[-6:])
    assert (holder.status_code, holder.json()["code"]) == (429, "LOOKUP_TOO_SOON")
    assert int(holder.headers["Retry-After"]) == 360  # the stranger's code lives 6 more minutes
    assert holder.json()["message"].startswith(
        "a code was sent to this phone and is still valid: use it; try again after"
    )
    assert len(w.sms.read_text().splitlines()) == 1  # one code per code lifetime, at most
    clock.now += timedelta(minutes=6)
    lookup, headers = w.session(idSuffix=ID_B[-6:])
    assert w.http.get(f"/v1/lookups/{lookup}", headers=headers).json()["matched"] is True


def test_a_mistyped_id_costs_only_the_codes_lifetime(world: World, clock: FrozenClock) -> None:
    typo = world.start(idSuffix=ID_B[-6:-1] + "1")
    assert typo.status_code == 202
    assert world.start(idSuffix=ID_B[-6:]).status_code == 429  # the first code is still out
    clock.now += timedelta(minutes=10)
    assert world.start(idSuffix=ID_B[-6:]).status_code == 202


def test_a_locked_lookup_blocks_the_number_for_the_cool_off_only(
    world_on_both: World, clock: FrozenClock
) -> None:
    w = world_on_both
    lookup = w.start(idSuffix=ID_B[-6:]).json()["lookupId"]
    bad = f"{(int(w.last_code()) + 1) % 1_000_000:06d}"
    clock.now += timedelta(minutes=2)
    for _ in range(5):
        w.http.post(f"/v1/lookups/{lookup}/verify", json={"code": bad})
    locked_at = clock.now
    clock.now += timedelta(minutes=30)  # the code has expired; the lock still holds
    refused = w.start(idSuffix=ID_B[-6:])
    assert (refused.status_code, refused.json()["code"]) == (429, "LOOKUP_TOO_SOON")
    assert int(refused.headers["Retry-After"]) == 30 * 60
    when = (locked_at + timedelta(minutes=60)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert refused.json()["message"] == (
        "a lookup of this number was locked after too many wrong codes;"
        f" try again after {when} (in 30 minutes)"
    )
    clock.now += timedelta(minutes=30)
    assert w.start(idSuffix=ID_B[-6:]).status_code == 202


def test_a_refusal_is_the_same_whether_or_not_the_id_matches(
    world_on_both: World, clock: FrozenClock
) -> None:
    w = world_on_both
    w.start(idSuffix="99999X")
    right = w.start(idSuffix=ID_B[-6:])
    wrong = w.start(idSuffix="12345X")
    full = w.start(idNumber=ID_B)
    assert right.status_code == wrong.status_code == full.status_code == 429
    assert right.content == wrong.content == full.content
    assert right.headers["Retry-After"] == wrong.headers["Retry-After"] == "600"


def test_session_tokens_are_checked(world: World, clock: FrozenClock) -> None:
    lookup, headers = world.session(idSuffix=ID_B[-6:])
    assert world.http.get(f"/v1/lookups/{lookup}", headers=headers).status_code == 200
    forged = {"Authorization": headers["Authorization"][:-2] + "AA"}
    assert world.http.get(f"/v1/lookups/{lookup}", headers=forged).status_code == 401
    assert world.http.get("/v1/lookups/lk_other", headers=headers).status_code == 401
    clock.now += timedelta(minutes=15)
    expired = world.http.get(f"/v1/lookups/{lookup}", headers=headers)
    assert (expired.status_code, expired.json()["code"]) == (401, "LOOKUP_SESSION_INVALID")


def test_the_numbers_view_lists_the_numbers_under_the_full_id(world: World) -> None:
    lookup, headers = world.session(idNumber=ID_B)
    result = world.http.get(f"/v1/lookups/{lookup}", headers=headers).json()
    assert result["kind"] == "1.0"
    numbers = result["numbers"]
    assert numbers["matched"] is True
    assert [c["carrier"] for c in numbers["carriers"]] == ["CMCC"]
    assert {n["phoneNumber"] for n in numbers["carriers"][0]["numbers"]} == {
        "138****8000",
        "139****9000",
    }


# what the new holder sees -----------------------------------------------------------------------


def test_the_previous_holders_data_never_reaches_the_new_holder(world_on_both: World) -> None:
    w = world_on_both
    lookup, headers = w.session(idSuffix=ID_B[-6:])
    result = w.http.get(f"/v1/lookups/{lookup}", headers=headers)
    renewal = w.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers)
    requests = w.http.get(f"/v1/lookups/{lookup}/unbind-requests", headers=headers)
    plan = w.http.get(f"/v1/lookups/{lookup}/plan", headers=headers)
    plan_csv = w.http.get(f"/v1/lookups/{lookup}/plan", params={"format": "csv"}, headers=headers)
    answers = [result, renewal, requests, plan, plan_csv]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200]
    text = "\n".join(a.text for a in answers)
    forbidden = [
        *OLD_REFS,  # account references of the previous holder, unmasked
        "2023-03-01",
        "2023-05-05",  # when they were bound
        "2023-12-20",
        "2023-12-30",  # when they were last used
        "2024-01-01",  # when the previous tenure was cancelled
        "2023-02-01",  # when it started
        "1101",  # any part of a masked ID number
        ID_A[-6:],
        ID_A,
    ]
    for value in forbidden:
        assert value not in text, value
    accounts = result.json()["accounts"]
    assert accounts["boundBeforeYou"] == 2
    before = [
        a
        for c in accounts["categories"]
        for p in c["platforms"]
        for a in p["accounts"]
        if a["tenure"] == "BEFORE"
    ]
    assert {a["account"] for a in before} == {"ac****-1", "wx****77"}
    assert all(a["boundAt"] is None and a["lastActiveAt"] is None for a in before)
    assert [c["category"] for c in accounts["categories"]] == ["FINANCIAL", "SOCIAL"]


def test_renewal_sends_one_request_per_platform_and_platforms_resolve_them(
    world_on_both: World, clock: FrozenClock
) -> None:
    w = world_on_both
    lookup, headers = w.session(idSuffix=ID_B[-6:])
    made = w.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers).json()
    assert {r["platform"] for r in made["created"]} == {"BANK", "CHAT"}
    # Nothing is sent inside the person's request: the bank's signed event waits in the outbox;
    # the chat app has no subscription and reads its requests from its list.
    delivery = {r["platform"]: r["delivery"] for r in made["created"]}
    assert delivery == {"BANK": "queued", "CHAT": "no-subscription"}
    assert w.webhooks == []
    w.deliver(answer=503)
    assert tracked_delivery(w, lookup, headers) == {
        "BANK": "failed-retrying",
        "CHAT": "no-subscription",
    }
    clock.now += timedelta(minutes=2)  # past the first backoff, within the session
    w.deliver()
    assert tracked_delivery(w, lookup, headers)["BANK"] == "delivered"
    # One signed event to the bank's registered webhook, with the same id on both tries.
    (url, body, first), (_, again_body, sent) = w.webhooks
    assert url == BANK_HOOK
    assert first["webhook-id"] == sent["webhook-id"]
    got = WebhookReceiver(w.bank_secret, clock=clock).receive(sent, again_body, lambda e: None)
    assert got.receipt is Receipt.HANDLED
    # It carries the number, the tenure start, the due date and the bank's old accounts only.
    hook = got.event.data
    assert got.event.kind == "binding.unbind-requested"
    assert set(hook) == {
        "requestId",
        "phoneNumber",
        "effectiveDate",
        "tenureStart",
        "dueOn",
        "accountRefs",
    }
    assert (hook["phoneNumber"], hook["tenureStart"]) == (NUMBER, "2024-05-01")
    assert hook["accountRefs"] == [OLD_REFS[0]]
    assert ID_B not in body.decode()
    assert ID_B[-6:] not in body.decode()

    again = w.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers).json()
    assert again["created"] == []
    assert len(again["alreadyPending"]) == 2

    # The chat app cannot touch the bank's request; the bank confirms, the chat app rejects.
    bank_request = hook["requestId"]
    chat = w.api.bearer(w.chat)
    stolen = w.http.post(f"/v1/unbind-requests/{bank_request}/confirm", headers=chat)
    assert (stolen.status_code, stolen.json()["code"]) == (404, "UNBIND_REQUEST_NOT_FOUND")
    confirmed = w.http.post(
        f"/v1/unbind-requests/{bank_request}/confirm", headers=w.api.bearer(w.bank)
    )
    assert confirmed.json()["status"] == "done"
    chat_requests = w.http.get("/v1/unbind-requests", headers=chat).json()["requests"]
    assert [r["accountRefs"] for r in chat_requests] == [[OLD_REFS[1]]]
    rejected = w.http.post(
        f"/v1/unbind-requests/{chat_requests[0]['requestId']}/reject",
        json={"reason": "the owner logged in with a password this week"},
        headers=chat,
    )
    assert rejected.json()["status"] == "rejected"
    closed = w.http.post(
        f"/v1/unbind-requests/{chat_requests[0]['requestId']}/confirm", headers=chat
    )
    assert (closed.status_code, closed.json()["code"]) == (409, "UNBIND_REQUEST_CLOSED")

    mine = w.http.get(f"/v1/lookups/{lookup}/unbind-requests", headers=headers).json()
    statuses = {r["platform"]: (r["status"], r["reason"]) for r in mine["requests"]}
    assert statuses == {
        "BANK": ("done", None),
        "CHAT": ("rejected", "the owner logged in with a password this week"),
    }
    # Confirming removed the bank's pre-tenure binding, and only that one.
    bank = w.http.get(
        "/v1/bindings", params={"phoneNumber": NUMBER}, headers=w.api.bearer(w.bank)
    ).json()
    assert [b["accountRef"] for b in bank["bindings"]] == [NEW_REFS[0]]


def tracked_delivery(w: World, lookup: str, headers: dict[str, str]) -> dict[str, str]:
    mine = w.http.get(f"/v1/lookups/{lookup}/unbind-requests", headers=headers).json()
    return {r["platform"]: r["delivery"] for r in mine["requests"]}


@pytest.fixture
def hooked(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[World, int]]:
    """The world, with the bank's unbinding webhook on a local port (on both databases)."""
    port = free_port()
    allow = {"NUMGUARD_WEBHOOK_ALLOW_PRIVATE": "true"}  # the bank listens on 127.0.0.1
    for w in _world(database_url, tmp_path, clock, f"http://127.0.0.1:{port}/bank", **allow):
        yield w, port


def test_renewal_reaches_the_banks_receiver_once_signed_and_the_bank_confirms(
    hooked: tuple[World, int], clock: FrozenClock
) -> None:
    w, port = hooked
    receiver = Receiver({"bank": w.bank_secret}, clock, port=port)
    receiver.start()
    try:
        lookup, headers = w.session(idSuffix=ID_B[-6:])
        made = w.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers).json()
        assert {r["platform"] for r in made["created"]} == {"BANK", "CHAT"}
        worker = w.api.container.delivery_worker()
        for _ in range(3):  # later passes find nothing more to send
            worker.run_once()
            clock.now += timedelta(minutes=2)
    finally:
        receiver.stop()
    # Verified by the guard's receiver helper (signature, timestamp), handled once by id.
    assert receiver.rejected == []
    assert receiver.duplicates == []
    (event,) = receiver.events("bank")
    assert event.kind == "binding.unbind-requested"
    assert event.data["accountRefs"] == [OLD_REFS[0]]
    # The bank dropped the accounts and says so.
    done = w.http.post(
        f"/v1/unbind-requests/{event.data['requestId']}/confirm", headers=w.api.bearer(w.bank)
    ).json()
    assert done["status"] == "done"
    assert tracked_delivery(w, lookup, headers)["BANK"] == "delivered"
    mine = w.http.get(f"/v1/lookups/{lookup}/unbind-requests", headers=headers).json()
    assert {r["platform"]: r["status"] for r in mine["requests"]}["BANK"] == "done"
    bank = w.http.get(
        "/v1/bindings", params={"phoneNumber": NUMBER}, headers=w.api.bearer(w.bank)
    ).json()
    assert [b["accountRef"] for b in bank["bindings"]] == [NEW_REFS[0]]


def test_a_request_is_overdue_after_five_working_days(world: World, clock: FrozenClock) -> None:
    lookup, headers = world.session(idSuffix=ID_B[-6:])  # Saturday 2026-11-28
    made = world.http.post(f"/v1/lookups/{lookup}/renewal", headers=headers).json()
    assert {r["dueOn"] for r in made["created"]} == {"2026-12-04"}  # Mon..Fri
    clock.now += timedelta(days=6, minutes=-5)  # Friday 2026-12-04, still due
    assert world_statuses(world) == {"pending"}
    clock.now += timedelta(days=1)
    assert world_statuses(world) == {"overdue"}


def world_statuses(world: World) -> set[str]:
    chat = world.api.bearer(world.chat)
    requests = world.http.get("/v1/unbind-requests", headers=chat).json()["requests"]
    return {r["status"] for r in requests}


# the cancellation check -----------------------------------------------------------------------


def test_the_carrier_gets_the_holders_plan_in_order(world_on_both: World) -> None:
    w = world_on_both
    carrier = w.api.bearer(w.api.carrier)
    response = w.http.post(f"/v1/numbers/{NUMBER}/cancellation-check", headers=carrier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenureStart"] == "2024-05-01"
    assert body["summary"] == [
        {"category": "FINANCIAL", "accounts": 1, "platforms": 1},
        {"category": "SOCIAL", "accounts": 1, "platforms": 1},
    ]
    steps = body["plan"]["steps"]
    assert [(s["platform"], s["action"], s["reason"]) for s in steps] == [
        ("BANK", "UNBIND", "IN_USE"),
        ("CHAT", "CLOSE_ACCOUNT", "DORMANT"),  # unused since 2025-01-01: close it
    ]
    assert not any(ref in response.text for ref in OLD_REFS + NEW_REFS)

    csv_answer = w.http.post(
        f"/v1/numbers/{NUMBER}/cancellation-check",
        headers=carrier | {"Accept": "text/csv"},
    )
    assert csv_answer.headers["content-type"].startswith("text/csv")
    lines = csv_answer.text.splitlines()
    assert lines[0].startswith("position,category,platform")
    assert lines[1].split(",")[:3] == ["1", "FINANCIAL", "BANK"]


def test_only_the_carrier_holding_the_number_may_check_it(world: World) -> None:
    container = world.api.container
    other, secret = container.clients.add_client(
        "unicom", "carrier", carrier="CUCC", now=world.api.clock()
    )
    denied = world.http.post(
        f"/v1/numbers/{NUMBER}/cancellation-check",
        headers=world.api.bearer((other.client_id, secret)),
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "NUMBER_NOT_HELD_BY_CARRIER")
    platform = world.http.post(
        f"/v1/numbers/{NUMBER}/cancellation-check", headers=world.api.bearer(world.bank)
    )
    assert platform.status_code == 403
