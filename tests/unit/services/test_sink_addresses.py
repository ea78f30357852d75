"""Webhook sinks go to public addresses only (when subscribing and at every delivery); how an
unbind request's signed event stands, from its outbox rows."""

from __future__ import annotations

import httpx
import pytest

from numguard.adapters.notify.webhooks import HttpxWebhookTransport
from numguard.services.bindings import UnbindDelivery, unbind_delivery
from numguard.services.notifications import (
    SINK_NOT_PUBLIC,
    InvalidSubscription,
    Resolver,
    TransportError,
    check_sink,
    is_public_address,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.9.10",
        "0.0.0.0",  # noqa: S104  the address under test, not a bind
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "192.0.2.1",  # documentation
        "224.0.0.1",  # multicast
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",  # site-local
        "ff02::1",  # multicast
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "not an address",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", [PUBLIC_V4, "8.8.8.8", PUBLIC_V6, "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address) is True


def resolver(table: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host} does not resolve")
        return table[host]

    return resolve


DNS = {
    "bank.example": [PUBLIC_V4, PUBLIC_V6],
    "internal.example": ["10.0.0.7"],
    "mixed.example": [PUBLIC_V4, "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
}


def test_subscribing_resolves_the_host_and_refuses_any_private_address() -> None:
    resolve = resolver(DNS)
    assert check_sink("https://bank.example/hook", resolve) == "https://bank.example/hook"
    for sink in (
        "https://internal.example/hook",
        "https://mixed.example/hook",  # one private address is enough: DNS picks either
        "http://metadata.example/latest/meta-data/",
        "http://127.0.0.1:8000/hook",
        "http://[fd00::1]/hook",
    ):
        with pytest.raises(InvalidSubscription) as refused:
            check_sink(sink, resolve)
        assert refused.value.code == SINK_NOT_PUBLIC
        assert "10.0.0.7" not in refused.value.message  # the refusal does not map the network
    # A name that does not resolve yet is accepted: the delivery checks again.
    assert check_sink("https://later.example/hook", resolve)


def test_the_setting_allows_private_sinks() -> None:
    resolve = resolver(DNS)
    for sink in ("https://internal.example/hook", "http://127.0.0.1:8000/hook"):
        assert check_sink(sink, resolve, allow_private=True) == sink


class Sent:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.fail = fail or set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.fail:
            raise httpx.ConnectError("refused", request=request)
        self.requests.append(request)
        return httpx.Response(204)


def transport(table: dict[str, list[str]], sent: Sent, **options: bool) -> HttpxWebhookTransport:
    return HttpxWebhookTransport(
        resolve=resolver(table),
        transport=httpx.MockTransport(sent),
        **options,
    )


def test_a_delivery_connects_to_the_address_it_checked_with_the_name_kept() -> None:
    sent = Sent()
    out = transport(DNS, sent)
    assert out.post("https://bank.example:8443/hook?x=1", b"{}", {"webhook-id": "evt_1"}) == 204
    (request,) = sent.requests
    assert request.url.host == PUBLIC_V4
    assert (request.url.port, request.url.path, request.url.query) == (8443, "/hook", b"x=1")
    assert request.headers["host"] == "bank.example:8443"
    assert request.extensions["sni_hostname"] == "bank.example"  # TLS verifies the name
    assert request.headers["webhook-id"] == "evt_1"


def test_a_refused_connection_tries_the_next_checked_address() -> None:
    sent = Sent(fail={PUBLIC_V4})
    assert transport(DNS, sent).post("https://bank.example/hook", b"{}", {}) == 204
    assert [r.url.host for r in sent.requests] == [PUBLIC_V6]


def test_a_delivery_to_a_name_that_now_resolves_privately_is_refused() -> None:
    table = dict(DNS)
    sent = Sent()
    out = transport(table, sent)
    assert out.post("https://bank.example/hook", b"{}", {}) == 204
    table["bank.example"] = ["169.254.169.254"]  # the DNS answer changed after subscribing
    with pytest.raises(TransportError, match=f"^{SINK_NOT_PUBLIC}: "):
        out.post("https://bank.example/hook", b"{}", {})
    with pytest.raises(TransportError, match=r"^DNS: "):
        out.post("https://gone.example/hook", b"{}", {})
    assert len(sent.requests) == 1


def test_with_the_setting_a_delivery_goes_to_the_url_as_given() -> None:
    sent = Sent()
    out = transport(DNS, sent, allow_private=True)
    assert out.post("http://internal.example/hook", b"{}", {}) == 204
    assert sent.requests[0].url == "http://internal.example/hook"


@pytest.mark.parametrize(
    ("deliveries", "state"),
    [
        ([], UnbindDelivery.NO_SUBSCRIPTION),
        ([("cancelled", 0)], UnbindDelivery.NO_SUBSCRIPTION),
        ([("pending", 0)], UnbindDelivery.QUEUED),
        ([("pending", 2)], UnbindDelivery.RETRYING),
        ([("dead", 9)], UnbindDelivery.DEAD),
        ([("dead", 9), ("pending", 0)], UnbindDelivery.QUEUED),
        ([("pending", 0), ("pending", 1)], UnbindDelivery.RETRYING),
        ([("dead", 9), ("delivered", 1)], UnbindDelivery.DELIVERED),
    ],
)
def test_an_unbind_requests_delivery_state_comes_from_its_outbox_rows(
    deliveries: list[tuple[str, int]], state: UnbindDelivery
) -> None:
    assert unbind_delivery(deliveries) is state
