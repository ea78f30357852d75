"""Webhook subscriptions and deliveries over HTTP: only a platform's client, only its own."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from numguard.services.notifications import DeliveryWorker
from tests.conftest import FrozenClock
from tests.e2e.conftest import Api, ev, make_api

NUMBER = "+8613800138000"
TYPES = ["number.disconnected", "number.holder-changed"]


class Platforms:
    def __init__(self, api: Api) -> None:
        self.api = api
        c, now = api.container, api.clock()
        c.bindings.add_platform("BANK", "A bank", category="FINANCIAL")
        c.bindings.add_platform("SHOP", "A shop", category="COMMERCE")
        bank, bank_secret = c.clients.add_client("bank-app", "platform", platform="BANK", now=now)
        shop, shop_secret = c.clients.add_client("shop-app", "platform", platform="SHOP", now=now)
        self.bank = api.bearer((bank.client_id, bank_secret))
        self.shop = api.bearer((shop.client_id, shop_secret))
        c.bindings.put(
            "BANK", [{"accountRef": "acct-1", "phoneNumber": NUMBER, "boundAt": "2023-11-01"}]
        )

    def subscribe(self, headers: dict[str, str], **body: object) -> dict[str, object]:
        payload = {"sink": "https://bank.example/hook", "types": TYPES, **body}
        response = self.api.http.post("/v1/subscriptions", json=payload, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def platforms(database_url: str, tmp_path: object, clock: FrozenClock) -> Iterator[Platforms]:
    for api in make_api(database_url, tmp_path, clock):
        yield Platforms(api)


def test_subscribe_shows_the_secret_once_and_lists_without_it(
    platforms: Platforms, caplog: pytest.LogCaptureFixture
) -> None:
    http = platforms.api.http
    with caplog.at_level(logging.DEBUG):
        made = platforms.subscribe(platforms.bank, expiresAt="2027-12-31T00:00:00Z")
    secret = str(made["secret"])
    assert secret.startswith("whsec_")
    assert len(secret) == len("whsec_") + 32  # base64 of 24 bytes
    assert secret not in caplog.text
    assert made["types"] == TYPES
    assert made["expiresAt"] == "2027-12-31T00:00:00Z"
    listed = http.get("/v1/subscriptions", headers=platforms.bank).json()["subscriptions"]
    assert [s["id"] for s in listed] == [made["id"]]
    assert "secret" not in listed[0]
    assert http.get("/v1/subscriptions", headers=platforms.shop).json() == {"subscriptions": []}
    with platforms.api.container.engine.connect() as conn:  # not in clear at rest
        stored = conn.exec_driver_sql("SELECT secret FROM webhook_subscriptions").scalar_one()
    assert secret.encode() not in bytes(stored)
    assert secret.removeprefix("whsec_").encode() not in bytes(stored)


def test_bad_subscriptions_are_refused_with_a_code(platforms: Platforms) -> None:
    http = platforms.api.http
    for body, code in (
        ({"sink": "ftp://bank.example/x", "types": TYPES}, "INVALID_SINK"),
        ({"sink": "https://user:pw@bank.example/x", "types": TYPES}, "INVALID_SINK"),
        ({"sink": "https://bank.example:99999/x", "types": TYPES}, "INVALID_SINK"),
        # Addresses inside the registry's network: refused unless the operator allows them.
        ({"sink": "http://127.0.0.1:8080/hook", "types": TYPES}, "SINK_NOT_PUBLIC"),
        ({"sink": "http://localhost/hook", "types": TYPES}, "SINK_NOT_PUBLIC"),
        ({"sink": "http://169.254.169.254/latest/meta-data/", "types": TYPES}, "SINK_NOT_PUBLIC"),
        ({"sink": "http://10.0.0.8/hook", "types": TYPES}, "SINK_NOT_PUBLIC"),
        ({"sink": "http://[::1]/hook", "types": TYPES}, "SINK_NOT_PUBLIC"),
        ({"sink": "http://[::ffff:192.168.1.1]/hook", "types": TYPES}, "SINK_NOT_PUBLIC"),
        ({"sink": "https://bank.example/x", "types": ["number.stolen"]}, "INVALID_TYPES"),
        (
            {"sink": "https://bank.example/x", "types": TYPES, "expiresAt": "2020-01-01T00:00:00Z"},
            "INVALID_EXPIRY",
        ),
    ):
        response = http.post("/v1/subscriptions", json=body, headers=platforms.bank)
        assert response.status_code == 400, body
        assert response.json()["code"] == code
    assert http.get("/v1/subscriptions", headers=platforms.bank).json() == {"subscriptions": []}
    # A platform client that belongs to no platform, and a carrier, cannot subscribe.
    for who in (platforms.api.platform, platforms.api.carrier):
        response = http.post(
            "/v1/subscriptions",
            json={"sink": "https://x.example/", "types": TYPES},
            headers=platforms.api.bearer(who),
        )
        assert response.status_code == 403


def test_deliveries_are_listed_replayed_and_cancelled_with_their_subscription(
    platforms: Platforms,
) -> None:
    api, http = platforms.api, platforms.api.http
    made = platforms.subscribe(platforms.bank)
    api.report([ev("a1", "ASSIGNED", "2023-10-09", NUMBER, holder="11010519491231002X")])
    api.report([ev("c1", "CANCELLED", "2024-02-25", NUMBER)])

    class Refused:
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
            return 503

    worker: DeliveryWorker = api.container.delivery_worker(Refused())
    worker.run_once()
    (listed,) = http.get("/v1/deliveries", headers=platforms.bank).json()["deliveries"]
    assert listed["type"] == "number.disconnected"
    assert listed["status"] == "pending"
    assert listed["lastStatusCode"] == 503
    assert listed["eventId"].startswith("evt_")
    assert http.get("/v1/deliveries", headers=platforms.shop).json() == {"deliveries": []}
    one = http.get(f"/v1/deliveries/{listed['id']}", headers=platforms.bank).json()
    assert [a["statusCode"] for a in one["attemptLog"]] == [503]
    assert http.get(f"/v1/deliveries/{listed['id']}", headers=platforms.shop).status_code == 404
    assert (
        http.post(f"/v1/deliveries/{listed['id']}/replay", headers=platforms.shop).status_code
        == 404
    )
    replayed = http.post(f"/v1/deliveries/{listed['id']}/replay", headers=platforms.bank)
    assert replayed.status_code == 202
    assert replayed.json()["nextAttemptAt"] == "2026-11-28T04:00:00Z"
    assert http.get("/v1/deliveries?status=bogus", headers=platforms.bank).status_code == 400

    assert http.delete(f"/v1/subscriptions/{made['id']}", headers=platforms.shop).status_code == 404
    assert http.delete(f"/v1/subscriptions/{made['id']}", headers=platforms.bank).status_code == 204
    assert http.delete(f"/v1/subscriptions/{made['id']}", headers=platforms.bank).status_code == 404
    (cancelled,) = http.get("/v1/deliveries", headers=platforms.bank).json()["deliveries"]
    assert cancelled["status"] == "cancelled"
    again = http.post(f"/v1/deliveries/{listed['id']}/replay", headers=platforms.bank)
    assert again.status_code == 409
    assert again.json()["code"] == "SUBSCRIPTION_DELETED"
