"""The guard's registry client against a real HTTP server on 127.0.0.1.

The server is a small stdlib ``http.server`` that speaks the registry's ``/oauth/token`` and CAMARA
check endpoints, answers from a table, and can be scripted to fail (503, 429 with Retry-After,
slow answers, revoked tokens) or be absent altogether.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from numguard.guard import (
    Action,
    AsyncGuard,
    AsyncRegistryClient,
    Attempt,
    Category,
    CheckOutcome,
    Decision,
    Factor,
    Guard,
    ReasonCode,
    RegistryClient,
    RetryPolicy,
)
from numguard.guard.client import CHECK_PATH, TOKEN_PATH, parse_retry_after

CLIENT_ID = "bank-1"
SECRET = "s3cret-for-tests"
RECYCLED = "+8613800138000"
SAME_HOLDER = "+8613800138001"
OUT_OF_COVERAGE = "+8613900139000"
BEFORE_RECORDS = "+8613700137000"
NO_SUCH_NUMBER = "+8612345"
ON = date(2023, 12, 22)

FAST_RETRY = RetryPolicy(attempts=3, backoff=0.05, max_backoff=0.2, max_retry_after=5, budget=10)


@dataclass
class Reply:
    """One scripted answer: status, JSON body, headers, and an optional delay before it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def camara_error(status: int, code: str, message: str = "scripted", **headers: str) -> Reply:
    return Reply(status, {"status": status, "code": code, "message": message}, dict(headers))


ANSWERS = {
    RECYCLED: Reply(200, {"phoneNumberRecycled": True}),
    SAME_HOLDER: Reply(200, {"phoneNumberRecycled": False}),
    OUT_OF_COVERAGE: camara_error(422, "SERVICE_NOT_APPLICABLE"),
    BEFORE_RECORDS: camara_error(400, "OUT_OF_RANGE"),
    NO_SUCH_NUMBER: camara_error(404, "IDENTIFIER_NOT_FOUND"),
}


class FakeRegistry:
    """State and script of the fake registry; the handler below serves it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.expires_in = 3600
        self.valid_tokens: set[str] = set()
        self.token_requests: list[dict[str, list[str]]] = []
        self.check_requests: list[tuple[dict[str, Any], str]] = []
        self.check_script: deque[Reply] = deque()
        self.token_script: deque[Reply] = deque()

    def token(self, form: dict[str, list[str]]) -> Reply:
        with self.lock:
            self.token_requests.append(form)
            if self.token_script:
                return self.token_script.popleft()
            if form.get("client_id") != [CLIENT_ID] or form.get("client_secret") != [SECRET]:
                return Reply(401, {"error": "invalid_client", "error_description": "no"})
            value = f"token-{len(self.token_requests)}"
            self.valid_tokens.add(value)
        body = {
            "access_token": value,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": form.get("scope", [""])[0],
        }
        return Reply(200, body)

    def check(self, body: dict[str, Any], authorization: str) -> Reply:
        with self.lock:
            self.check_requests.append((body, authorization))
            if authorization.removeprefix("Bearer ") not in self.valid_tokens:
                return camara_error(401, "UNAUTHENTICATED")
            if self.check_script:
                return self.check_script.popleft()
        return ANSWERS[body["phoneNumber"]]

    def revoke_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one write per response: no Nagle / delayed-ACK stalls on keep-alive
    server: RegistryServer

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        registry = self.server.registry
        if self.path == TOKEN_PATH:
            reply = registry.token(parse_qs(raw.decode()))
        elif self.path == CHECK_PATH:
            reply = registry.check(json.loads(raw), self.headers.get("Authorization", ""))
        else:
            reply = camara_error(404, "NOT_FOUND")
        time.sleep(reply.delay)
        payload = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RegistryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, registry: FakeRegistry) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.registry = registry


@dataclass
class Running:
    registry: FakeRegistry
    url: str
    port: int


def start(registry: FakeRegistry, port: int = 0) -> tuple[RegistryServer, threading.Thread]:
    server = RegistryServer(port, registry)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    return server, thread


def stop(server: RegistryServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def running() -> Iterator[Running]:
    registry = FakeRegistry()
    server, thread = start(registry)
    port = server.server_address[1]
    try:
        yield Running(registry, f"http://127.0.0.1:{port}", port)
    finally:
        stop(server, thread)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(url: str, **options: Any) -> RegistryClient:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("rng", random.Random(4))
    return RegistryClient(url, CLIENT_ID, SECRET, **options)


# --- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "outcome", "detail"),
    [
        (RECYCLED, CheckOutcome.YES, "phoneNumberRecycled=true"),
        (SAME_HOLDER, CheckOutcome.NO, "phoneNumberRecycled=false"),
        (OUT_OF_COVERAGE, CheckOutcome.UNKNOWN, "SERVICE_NOT_APPLICABLE"),
        (BEFORE_RECORDS, CheckOutcome.UNKNOWN, "OUT_OF_RANGE"),
        (NO_SUCH_NUMBER, CheckOutcome.UNKNOWN, "IDENTIFIER_NOT_FOUND"),
    ],
)
def test_registry_answers_map_to_outcomes(
    running: Running, phone: str, outcome: CheckOutcome, detail: str
) -> None:
    with client_for(running.url) as client:
        result = client.check(phone, ON)
    assert (result.outcome, result.detail, result.cached) == (outcome, detail, False)
    body, authorization = running.registry.check_requests[0]
    assert body == {"phoneNumber": phone, "specifiedDate": "2023-12-22"}
    assert authorization == "Bearer token-1"


def test_token_request_is_a_form_encoded_client_credentials_grant(running: Running) -> None:
    with client_for(running.url) as client:
        client.check(RECYCLED, ON)
    assert running.registry.token_requests == [
        {
            "grant_type": ["client_credentials"],
            "client_id": [CLIENT_ID],
            "client_secret": [SECRET],
            "scope": ["number-recycling:check"],
        }
    ]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (camara_error(403, "PERMISSION_DENIED"), "HTTP 403 PERMISSION_DENIED"),
        (camara_error(422, "MISSING_IDENTIFIER"), "HTTP 422 MISSING_IDENTIFIER"),
        (Reply(200, {"unexpected": 1}), "malformed"),
    ],
)
def test_refusals_and_nonsense_are_unreachable_not_answers(
    running: Running, reply: Reply, expected: str
) -> None:
    running.registry.check_script.append(reply)
    sleeps: list[float] = []
    with client_for(running.url, sleep=sleeps.append) as client:
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.UNREACHABLE
    assert expected in result.detail
    assert sleeps == []  # not retried: asking again would get the same refusal
    assert len(running.registry.check_requests) == 1


# --- retries ----------------------------------------------------------------------------------


def test_503_then_success_retries_after_a_backoff(running: Running) -> None:
    running.registry.check_script.append(camara_error(503, "UNAVAILABLE"))
    sleeps: list[float] = []
    with client_for(running.url, sleep=sleeps.append) as client:
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.YES
    assert len(running.registry.check_requests) == 2
    assert len(sleeps) == 1
    assert FAST_RETRY.backoff / 2 <= sleeps[0] <= FAST_RETRY.backoff


def test_429_waits_exactly_as_long_as_retry_after_says(running: Running) -> None:
    running.registry.check_script.append(
        camara_error(429, "TOO_MANY_REQUESTS", **{"Retry-After": "1"})
    )
    sleeps: list[float] = []
    with client_for(running.url, sleep=sleeps.append) as client:
        result = client.check(SAME_HOLDER, ON)
    assert result.outcome is CheckOutcome.NO
    assert sleeps == [1.0]


def test_429_really_waits_with_the_default_sleep(running: Running) -> None:
    running.registry.check_script.append(
        camara_error(429, "TOO_MANY_REQUESTS", **{"Retry-After": "1"})
    )
    started = time.monotonic()
    with client_for(running.url) as client:
        result = client.check(SAME_HOLDER, ON)
    assert result.outcome is CheckOutcome.NO
    assert time.monotonic() - started >= 1.0


def test_a_retry_after_longer_than_allowed_ends_the_check_at_once(running: Running) -> None:
    running.registry.check_script.append(
        camara_error(429, "TOO_MANY_REQUESTS", **{"Retry-After": "60"})
    )
    sleeps: list[float] = []
    with client_for(running.url, sleep=sleeps.append) as client:
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.UNREACHABLE
    assert "Retry-After 60s is longer than 5s" in result.detail
    assert sleeps == []


def test_persistent_5xx_gives_up_after_the_attempts_and_is_not_cached(running: Running) -> None:
    running.registry.check_script.extend(camara_error(502, "BAD_GATEWAY") for _ in range(3))
    sleeps: list[float] = []
    with client_for(running.url, sleep=sleeps.append) as client:
        first = client.check(RECYCLED, ON)
        second = client.check(RECYCLED, ON)
    assert first.outcome is CheckOutcome.UNREACHABLE
    assert "gave up after 3 attempts" in first.detail
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0] / 2  # the backoff grows (jitter aside)
    assert (second.outcome, second.cached) == (CheckOutcome.YES, False)
    assert len(running.registry.check_requests) == 4


def test_a_slow_answer_times_out_and_is_retried(running: Running) -> None:
    running.registry.check_script.append(Reply(200, {"phoneNumberRecycled": False}, delay=1.0))
    with client_for(running.url, timeout=0.2, sleep=lambda _: None) as client:
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.YES  # the second, prompt answer
    assert len(running.registry.check_requests) == 2


def test_a_server_that_is_down_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{free_port()}"
    with (
        caplog.at_level(logging.WARNING, "numguard.guard"),
        client_for(url, sleep=sleeps.append) as client,
    ):
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.UNREACHABLE
    assert "ConnectError" in result.detail
    assert "gave up after 3 attempts" in result.detail
    assert len(sleeps) == 2
    assert "registry unreachable" in caplog.text
    assert RECYCLED not in caplog.text


def test_a_server_that_comes_back_between_retries_answers() -> None:
    port = free_port()
    registry = FakeRegistry()
    started: list[tuple[RegistryServer, threading.Thread]] = []

    def sleep_then_start_the_server(seconds: float) -> None:
        if not started:
            started.append(start(registry, port))

    try:
        with client_for(f"http://127.0.0.1:{port}", sleep=sleep_then_start_the_server) as client:
            result = client.check(RECYCLED, ON)
    finally:
        for server, thread in started:
            stop(server, thread)
    assert result.outcome is CheckOutcome.YES
    assert len(registry.token_requests) == 1


def test_the_time_budget_bounds_a_check() -> None:
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        clock.now += seconds

    retry = RetryPolicy(attempts=10, backoff=1.0, max_backoff=4.0, budget=5.0)
    url = f"http://127.0.0.1:{free_port()}"
    with client_for(url, retry=retry, clock=clock, sleep=sleep) as client:
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.UNREACHABLE
    assert "no time left" in result.detail
    assert clock.now - 1000.0 < 5.0


def test_one_client_serves_many_threads(running: Running) -> None:
    phones = [RECYCLED, SAME_HOLDER, OUT_OF_COVERAGE, BEFORE_RECORDS] * 10
    expected = {
        RECYCLED: CheckOutcome.YES,
        SAME_HOLDER: CheckOutcome.NO,
        OUT_OF_COVERAGE: CheckOutcome.UNKNOWN,
        BEFORE_RECORDS: CheckOutcome.UNKNOWN,
    }
    with client_for(running.url, cache_ttl=0) as client, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda phone: client.check(phone, ON).outcome, phones))
    assert results == [expected[p] for p in phones]
    assert len(running.registry.check_requests) == len(phones)
    assert 1 <= len(running.registry.token_requests) <= 8  # at most one per thread racing


# --- tokens -----------------------------------------------------------------------------------


def test_one_token_serves_many_checks(running: Running) -> None:
    with client_for(running.url, cache_ttl=0) as client:
        for phone in (RECYCLED, SAME_HOLDER, RECYCLED, OUT_OF_COVERAGE):
            client.check(phone, ON)
    assert len(running.registry.token_requests) == 1
    assert {auth for _, auth in running.registry.check_requests} == {"Bearer token-1"}


def test_token_is_refreshed_shortly_before_it_expires(running: Running) -> None:
    running.registry.expires_in = 100  # refreshed 10 s (a tenth, at most 30 s) before expiry
    clock = FakeClock()
    with client_for(running.url, clock=clock, cache_ttl=0) as client:
        client.check(RECYCLED, ON)
        clock.now += 89
        client.check(RECYCLED, ON)
        assert len(running.registry.token_requests) == 1
        clock.now += 2
        client.check(RECYCLED, ON)
    assert len(running.registry.token_requests) == 2
    assert running.registry.check_requests[-1][1] == "Bearer token-2"


def test_a_rejected_token_is_replaced_once(running: Running) -> None:
    with client_for(running.url, cache_ttl=0) as client:
        client.check(RECYCLED, ON)
        running.registry.revoke_tokens()  # e.g. the registry rotated its signing key
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.YES
    assert len(running.registry.token_requests) == 2
    assert [auth for _, auth in running.registry.check_requests] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_wrong_credentials_are_reported_not_retried(running: Running) -> None:
    sleeps: list[float] = []
    with RegistryClient(running.url, CLIENT_ID, "wrong", sleep=sleeps.append) as client:
        result = client.check(RECYCLED, ON)
    assert result.outcome is CheckOutcome.UNREACHABLE
    assert "token request rejected: HTTP 401 invalid_client" in result.detail
    assert sleeps == []
    assert running.registry.check_requests == []


def test_a_token_endpoint_outage_is_retried(running: Running) -> None:
    running.registry.token_script.append(Reply(503, {"error": "temporarily_unavailable"}))
    sleeps: list[float] = []
    with client_for(running.url, sleep=sleeps.append) as client:
        result = client.check(SAME_HOLDER, ON)
    assert result.outcome is CheckOutcome.NO
    assert len(running.registry.token_requests) == 2
    assert len(sleeps) == 1


# --- cache ------------------------------------------------------------------------------------


def test_answers_are_cached_per_number_and_date_until_the_ttl(running: Running) -> None:
    clock = FakeClock()
    with client_for(running.url, clock=clock, cache_ttl=60) as client:
        first = client.check(RECYCLED, ON)
        second = client.check(RECYCLED, ON)
        other_date = client.check(RECYCLED, ON - timedelta(days=1))
        clock.now += 59
        still = client.check(RECYCLED, ON)
        clock.now += 2
        expired = client.check(RECYCLED, ON)
        hits, misses = client.cache.hits, client.cache.misses
    assert (first.cached, second.cached, other_date.cached) == (False, True, False)
    assert (still.cached, expired.cached) == (True, False)
    assert second.outcome is first.outcome is CheckOutcome.YES
    assert len(running.registry.check_requests) == 3
    assert (hits, misses) == (2, 3)


def test_unknown_is_cached_too(running: Running) -> None:
    with client_for(running.url) as client:
        client.check(OUT_OF_COVERAGE, ON)
        again = client.check(OUT_OF_COVERAGE, ON)
    assert (again.outcome, again.cached) == (CheckOutcome.UNKNOWN, True)
    assert len(running.registry.check_requests) == 1


def test_invalidate_forgets_one_number(running: Running) -> None:
    with client_for(running.url) as client:
        client.check(RECYCLED, ON)
        client.check(RECYCLED, ON - timedelta(days=3))
        client.check(SAME_HOLDER, ON)
        assert client.invalidate(RECYCLED) == 2
        assert client.check(RECYCLED, ON).cached is False
        assert client.check(SAME_HOLDER, ON).cached is True


def test_the_cache_is_bounded(running: Running) -> None:
    with client_for(running.url, cache_size=2) as client:
        for phone in (RECYCLED, SAME_HOLDER, OUT_OF_COVERAGE):
            client.check(phone, ON)
        assert len(client.cache) == 2
        assert client.check(RECYCLED, ON).cached is False  # the least recently used went


# --- the guard end to end ---------------------------------------------------------------------

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=BEIJING)


def login(phone: str, category: Category, *factors: Factor) -> Attempt:
    return Attempt(
        action=Action.SMS_LOGIN,
        phone=phone,
        bound_at=datetime(2023, 12, 22, 9, 30, tzinfo=BEIJING),
        category=category,
        now=NOW,
        last_active_at=NOW - timedelta(days=3),
        factors=frozenset(factors),
    )


def test_guard_steps_up_the_new_holder_and_lets_the_same_holder_in(running: Running) -> None:
    with client_for(running.url) as client:
        guard = Guard(client)
        stepped_up = guard.assess(login(RECYCLED, Category.FINANCIAL, Factor.TOTP))
        allowed = guard.decide(login(SAME_HOLDER, Category.FINANCIAL, Factor.TOTP))
    assert stepped_up.verdict.decision is Decision.STEP_UP
    assert stepped_up.verdict.factors == (Factor.TOTP,)
    assert stepped_up.check.detail == "phoneNumberRecycled=true"
    assert allowed.decision is Decision.ALLOW
    assert running.registry.check_requests[0][0]["specifiedDate"] == "2023-12-22"


def test_guard_without_a_registry_fails_closed_for_banks_and_open_for_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        caplog.at_level(logging.WARNING, "numguard.guard"),
        client_for(url, sleep=lambda _: None) as client,
    ):
        guard = Guard(client)
        bank = guard.decide(login(RECYCLED, Category.FINANCIAL))
        shop = guard.decide(login(RECYCLED, Category.COMMERCE))
    assert bank.decision is Decision.DENY
    assert bank.codes[0] == ReasonCode.REGISTRY_UNREACHABLE_FAIL_CLOSED
    assert shop.decision is Decision.ALLOW
    assert shop.codes == (ReasonCode.REGISTRY_UNREACHABLE_FAIL_OPEN,)
    assert "decided ALLOW without the registry" in caplog.text


# --- the async flavour ------------------------------------------------------------------------


def test_async_client_retries_reuses_its_token_and_caches(running: Running) -> None:
    running.registry.check_script.append(camara_error(503, "UNAVAILABLE"))
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario() -> tuple[CheckOutcome, bool, Decision]:
        async with AsyncRegistryClient(
            running.url, CLIENT_ID, SECRET, retry=FAST_RETRY, sleep=record
        ) as client:
            first = await client.check(RECYCLED, ON)
            again = await client.check(RECYCLED, ON)
            verdict = await AsyncGuard(client).decide(login(SAME_HOLDER, Category.SOCIAL))
        return first.outcome, again.cached, verdict.decision

    assert asyncio.run(scenario()) == (CheckOutcome.YES, True, Decision.ALLOW)
    assert len(sleeps) == 1
    assert len(running.registry.token_requests) == 1
    assert len(running.registry.check_requests) == 3  # 503, the answer, then SAME_HOLDER


def test_async_client_reports_a_server_that_is_down() -> None:
    async def scenario() -> str:
        async with AsyncRegistryClient(
            f"http://127.0.0.1:{free_port()}", CLIENT_ID, SECRET, retry=FAST_RETRY
        ) as client:
            return (await client.check(RECYCLED, ON)).detail

    assert "ConnectError" in asyncio.run(scenario())


# --- Retry-After ------------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after("Sat, 28 Nov 2026 04:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sat, 28 Nov 2026 03:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
