"""The bulk checker's HTTP behaviour: tokens, retries, refusals, cut answers (a scripted server)."""

from __future__ import annotations

import httpx
import pytest

from numguard.guard.client import RetryPolicy
from numguard.guard.reconcile import HttpBulkChecker, RegistryRefused, RegistryUnreachable

HEADER = b"phoneNumber,specifiedDate,recycled,reason,phoneNumberRecycled,fcc,vendorCode,errorCode,errorMessage\n"
PAIRS = b"+8613800138000,2024-01-01\n+8613900139000,2024-01-01\n"
ANSWER = HEADER + (
    b"+8613800138000,2024-01-01,yes,HOLDER_CHANGED,true,yes,1,,\n"
    b"+8613900139000,2024-01-01,no,SAME_HOLDER,false,no,2,,\n"
)
FAST = RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0, budget=5.0)


class Script:
    """Answers requests from a list of (path, status, body) and records what was asked."""

    def __init__(self, *steps: tuple[str, int, bytes]) -> None:
        self.steps = list(steps)
        self.seen: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, status, body = self.steps.pop(0)
        assert request.url.path == path
        self.seen.append((path, request.headers.get("authorization")))
        return httpx.Response(status, content=body)


def token(value: str) -> tuple[str, int, bytes]:
    return ("/oauth/token", 200, b'{"access_token":"%s","expires_in":900}' % value.encode())


def checker(script: Script) -> HttpBulkChecker:
    return HttpBulkChecker(
        "http://registry",
        client_id="bank",
        client_secret="s",
        retry=FAST,
        transport=httpx.MockTransport(script),
    )


def test_answers_come_back_in_order_after_a_retried_outage() -> None:
    script = Script(token("t1"), ("/v1/checks/bulk", 503, b""), ("/v1/checks/bulk", 200, ANSWER))
    with checker(script) as registry:
        reply = registry.check(PAIRS, 2)
    assert reply.outcome.tolist() == [0, 1]
    assert script.seen[1:] == [("/v1/checks/bulk", "Bearer t1")] * 2


def test_an_expired_token_is_renewed_once() -> None:
    script = Script(
        token("old"), ("/v1/checks/bulk", 401, b""), token("new"), ("/v1/checks/bulk", 200, ANSWER)
    )
    with checker(script) as registry:
        assert registry.check(PAIRS, 2).outcome.tolist() == [0, 1]
    assert script.seen[-1] == ("/v1/checks/bulk", "Bearer new")


def test_refused_credentials_and_a_missing_scope_are_refusals_not_outages() -> None:
    refused = Script(("/oauth/token", 401, b'{"error":"invalid_client"}'))
    with checker(refused) as registry, pytest.raises(RegistryRefused, match="invalid_client"):
        registry.connect()
    scope = Script(token("t"), ("/v1/checks/bulk", 403, b'{"code":"PERMISSION_DENIED"}'))
    with checker(scope) as registry, pytest.raises(RegistryRefused, match="PERMISSION_DENIED"):
        registry.check(PAIRS, 2)


def test_a_registry_that_keeps_failing_or_cuts_its_answer_is_unreachable() -> None:
    failing = Script(token("t"), *[("/v1/checks/bulk", 500, b"")] * 3)
    with checker(failing) as registry, pytest.raises(RegistryUnreachable):
        registry.check(PAIRS, 2)
    cut = Script(token("t"), ("/v1/checks/bulk", 200, ANSWER[: ANSWER.rindex(b"+86139")]))
    with checker(cut) as registry, pytest.raises(RegistryUnreachable, match="cut answer"):
        registry.check(PAIRS, 2)
