"""A client for the registry's CAMARA check API, in a sync and an async flavour.

Both share one sans-IO core: a generator that yields the HTTP requests to send (and the pauses
to take) and receives the replies. It fetches an OAuth 2.0 client-credentials token and reuses it
until shortly before it expires, retries connection failures, 5xx and 429 (honouring
``Retry-After``) with exponential backoff inside a time budget, caches answers for a while, and
maps everything to a :class:`~numguard.domain.guard.CheckOutcome`:

========================================  ===============
registry says                             outcome
========================================  ===============
``phoneNumberRecycled: true`` / ``false``  YES / NO
422 ``SERVICE_NOT_APPLICABLE``            UNKNOWN (number outside coverage)
400 ``OUT_OF_RANGE``                      UNKNOWN (date before complete records)
404 ``IDENTIFIER_NOT_FOUND``              UNKNOWN (no such number)
no answer after the retries, 401 with a   UNREACHABLE
fresh token, 403, other 4xx, bad body
========================================  ===============

UNREACHABLE is never cached; the others are cached for ``cache_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from numguard.domain.guard import CheckOutcome
from numguard.errors import InvalidInput
from numguard.guard.cache import TTLCache

TOKEN_PATH = "/oauth/token"  # noqa: S105  a URL path, not a secret
CHECK_PATH = "/number-recycling/v0.2/check"
CHECK_SCOPE = "number-recycling:check"

log = logging.getLogger("numguard.guard")

_ANSWERS_MEANING_UNKNOWN = {
    (422, "SERVICE_NOT_APPLICABLE"),
    (400, "OUT_OF_RANGE"),
    (404, "IDENTIFIER_NOT_FOUND"),
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check, with a short ``detail`` for logs (never a phone number)."""

    outcome: CheckOutcome
    detail: str
    cached: bool = False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before reporting the registry UNREACHABLE.

    ``attempts``: HTTP attempts per check, the first included. ``backoff``: first pause in
    seconds, doubling up to ``max_backoff``, with jitter. A ``Retry-After`` up to
    ``max_retry_after`` seconds is honoured exactly; a longer one ends the check at once.
    ``budget``: seconds one check may take in all (requests are cut to fit it).
    """

    attempts: int = 3
    backoff: float = 0.1
    max_backoff: float = 2.0
    max_retry_after: float = 5.0
    budget: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidInput("attempts must be at least 1")
        if min(self.backoff, self.max_backoff, self.max_retry_after, self.budget) < 0:
            raise InvalidInput("backoff, max_backoff, max_retry_after and budget are >= 0")

    def pause(self, retry: int, jitter: float) -> float:
        """Seconds to wait before retry number *retry* (1-based); *jitter* is in [0, 1)."""
        base = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return base / 2 + base / 2 * jitter


DEFAULT_RETRY = RetryPolicy()


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --- the sans-IO core -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float


@dataclass(frozen=True, slots=True)
class _Retry:
    detail: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class _Fail:
    detail: str


@dataclass(frozen=True, slots=True)
class _Reauthorise:
    pass


_Reply = httpx.Response | httpx.RequestError | None
_Flow = Generator[httpx.Request | _Sleep, _Reply, CheckResult]


class _BuildRequest(Protocol):
    def __call__(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout,
    ) -> httpx.Request: ...


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` from a CAMARA ``{status, code, message}`` or an OAuth error body."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    code = body.get("code") or body.get("error") or ""
    message = body.get("message") or body.get("error_description") or ""
    return str(code), str(message)


class _Core:
    """Configuration, token, cache and the request/reply logic shared by both clients."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        scope: str | None,
        timeout: float,
        retry: RetryPolicy,
        cache_ttl: float,
        cache_size: int,
        clock: Callable[[], float],
        rng: random.Random,
        build_request: _BuildRequest,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.timeout = timeout
        self.retry = retry
        self.clock = clock
        self._rng = rng
        self._build = build_request
        self.cache: TTLCache[tuple[str, date], CheckResult] = TTLCache(
            ttl=cache_ttl, maxsize=cache_size, clock=clock
        )
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    # tokens

    def live_token(self) -> _Token | None:
        with self._token_lock:
            token = self._token
        if token is not None and self.clock() < token.refresh_at:
            return token
        return None

    def drop_token(self, token: _Token) -> None:
        with self._token_lock:
            if self._token is token:
                self._token = None

    def _read_token(self, reply: _Reply, sent_at: float) -> _Token | _Retry | _Fail:
        if isinstance(reply, httpx.RequestError):
            return _Retry(f"token request failed: {type(reply).__name__}")
        assert reply is not None  # noqa: S101  the driver answers a request with a reply
        if reply.status_code == 429 or reply.status_code >= 500:
            return _Retry(f"token endpoint answered HTTP {reply.status_code}", self._after(reply))
        if reply.status_code != 200:
            code, message = _error_fields(reply)
            return _Fail(f"token request rejected: HTTP {reply.status_code} {code} {message}")
        try:
            body = reply.json()
            value = body["access_token"]
            expires_in = float(body.get("expires_in", 300))
            kind = str(body.get("token_type", "Bearer"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return _Fail("token endpoint sent a malformed answer")
        if not isinstance(value, str) or not value or kind.lower() != "bearer":
            return _Fail("token endpoint sent no usable bearer token")
        leeway = min(30.0, expires_in / 10)
        token = _Token(value, sent_at + expires_in - leeway)
        with self._token_lock:
            self._token = token
        return token

    def _token_flow(
        self, deadline: float
    ) -> Generator[httpx.Request | _Sleep, _Reply, _Token | _Retry | _Fail]:
        token = self.live_token()
        if token is not None:
            return token
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        sent_at = self.clock()
        reply = yield self._build(
            "POST", TOKEN_PATH, data=form, timeout=self._timeout_until(deadline)
        )
        return self._read_token(reply, sent_at)

    # checks

    def _timeout_until(self, deadline: float) -> httpx.Timeout:
        return httpx.Timeout(max(0.001, min(self.timeout, deadline - self.clock())))

    def _after(self, reply: httpx.Response) -> float | None:
        return parse_retry_after(reply.headers.get("retry-after"), datetime.now(UTC))

    def _read_check(self, reply: _Reply) -> CheckResult | _Retry | _Fail | _Reauthorise:
        if isinstance(reply, httpx.RequestError):
            return _Retry(f"check request failed: {type(reply).__name__}")
        assert reply is not None  # noqa: S101  the driver answers a request with a reply
        status = reply.status_code
        if status == 200:
            try:
                recycled = reply.json().get("phoneNumberRecycled")
            except (ValueError, AttributeError):
                recycled = None
            if not isinstance(recycled, bool):
                return _Fail("the registry sent a malformed answer")
            outcome = CheckOutcome.YES if recycled else CheckOutcome.NO
            return CheckResult(outcome, f"phoneNumberRecycled={str(recycled).lower()}")
        if status == 401:
            return _Reauthorise()
        code, message = _error_fields(reply)
        if status == 429 or status >= 500:
            return _Retry(
                f"the registry answered HTTP {status} {code}".rstrip(), self._after(reply)
            )
        if (status, code) in _ANSWERS_MEANING_UNKNOWN:
            return CheckResult(CheckOutcome.UNKNOWN, code)
        return _Fail(f"the registry refused the check: HTTP {status} {code} {message}".rstrip())

    def _unreachable(self, detail: str) -> CheckResult:
        log.warning("numguard registry unreachable: %s", detail)
        return CheckResult(CheckOutcome.UNREACHABLE, detail)

    def flow(self, phone: str, on: date) -> _Flow:
        """Check one (number, date): yields requests and pauses, returns the result."""
        key = (phone, on)
        hit = self.cache.get(key)
        if hit is not None:
            return CheckResult(hit.outcome, hit.detail, cached=True)
        deadline = self.clock() + self.retry.budget
        failures = 0
        reauthorised = False
        body = {"phoneNumber": phone, "specifiedDate": on.isoformat()}
        while True:
            if self.clock() >= deadline:
                return self._unreachable("out of time before an answer")
            step: CheckResult | _Token | _Retry | _Fail | _Reauthorise
            step = yield from self._token_flow(deadline)
            if isinstance(step, _Token):
                token = step
                reply = yield self._build(
                    "POST",
                    CHECK_PATH,
                    json=body,
                    headers={"Authorization": f"Bearer {token.value}"},
                    timeout=self._timeout_until(deadline),
                )
                step = self._read_check(reply)
                if isinstance(step, _Reauthorise):
                    self.drop_token(token)
                    if reauthorised:
                        return self._unreachable("the registry rejected a fresh access token")
                    reauthorised = True
                    continue
            if isinstance(step, CheckResult):
                self.cache.put(key, step)
                return step
            if isinstance(step, _Fail):
                return self._unreachable(step.detail)
            assert isinstance(step, _Retry)  # noqa: S101  the remaining case
            failures += 1
            if failures >= self.retry.attempts:
                return self._unreachable(f"{step.detail}; gave up after {failures} attempts")
            pause = self.retry.pause(failures, self._rng.random())
            if step.retry_after is not None:
                if step.retry_after > self.retry.max_retry_after:
                    return self._unreachable(
                        f"{step.detail}; Retry-After {step.retry_after:g}s is longer than "
                        f"{self.retry.max_retry_after:g}s"
                    )
                pause = step.retry_after
            if self.clock() + pause >= deadline:
                return self._unreachable(f"{step.detail}; no time left to retry")
            yield _Sleep(pause)


# --- the two drivers --------------------------------------------------------------------------


class RegistryClient:
    """Synchronous registry client; safe to share between threads.

    ``base_url`` is the registry's root (e.g. ``https://registry.example``); ``client_id`` and
    ``client_secret`` are the platform's OAuth client credentials. ``timeout`` caps each HTTP
    request (seconds). ``cache_ttl`` (seconds, 0 to disable) and ``cache_size`` bound the answer
    cache. ``clock`` (monotonic seconds), ``sleep`` and ``rng`` are for tests; ``transport`` for
    custom TLS, proxies or tests.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = CHECK_SCOPE,
        timeout: float = 2.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        cache_ttl: float = 600.0,
        cache_size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "numguard-guard"},
        )
        self._sleep = sleep
        self._core = _Core(
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            timeout=timeout,
            retry=retry,
            cache_ttl=cache_ttl,
            cache_size=cache_size,
            clock=clock,
            rng=rng or random.Random(),  # noqa: S311  jitter, not cryptography
            build_request=self._http.build_request,
        )

    @property
    def cache(self) -> TTLCache[tuple[str, date], CheckResult]:
        """The answer cache, keyed by (E.164 number, date)."""
        return self._core.cache

    def check(self, phone: str, on: date) -> CheckResult:
        """Has the holder of *phone* (E.164) changed since *on*? Never raises for IO trouble."""
        flow = self._core.flow(phone, on)
        try:
            op = next(flow)
            while True:
                reply: _Reply = None
                if isinstance(op, _Sleep):
                    self._sleep(op.seconds)
                else:
                    try:
                        reply = self._http.send(op)
                    except httpx.RequestError as exc:
                        reply = exc
                op = flow.send(reply)
        except StopIteration as done:
            result: CheckResult = done.value
            return result

    def invalidate(self, phone: str) -> int:
        """Forget cached answers about *phone* (e.g. on a disconnection notice); return how many."""
        return self._core.cache.discard_where(lambda key: key[0] == phone)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class AsyncRegistryClient:
    """The asyncio flavour of :class:`RegistryClient`, with the same arguments and behaviour."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = CHECK_SCOPE,
        timeout: float = 2.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        cache_ttl: float = 600.0,
        cache_size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "numguard-guard"},
        )
        self._sleep = sleep
        self._core = _Core(
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            timeout=timeout,
            retry=retry,
            cache_ttl=cache_ttl,
            cache_size=cache_size,
            clock=clock,
            rng=rng or random.Random(),  # noqa: S311  jitter, not cryptography
            build_request=self._http.build_request,
        )

    @property
    def cache(self) -> TTLCache[tuple[str, date], CheckResult]:
        """The answer cache, keyed by (E.164 number, date)."""
        return self._core.cache

    async def check(self, phone: str, on: date) -> CheckResult:
        """Has the holder of *phone* (E.164) changed since *on*? Never raises for IO trouble."""
        flow = self._core.flow(phone, on)
        try:
            op = next(flow)
            while True:
                reply: _Reply = None
                if isinstance(op, _Sleep):
                    await self._sleep(op.seconds)
                else:
                    try:
                        reply = await self._http.send(op)
                    except httpx.RequestError as exc:
                        reply = exc
                op = flow.send(reply)
        except StopIteration as done:
            result: CheckResult = done.value
            return result

    def invalidate(self, phone: str) -> int:
        """Forget cached answers about *phone*; return how many."""
        return self._core.cache.discard_where(lambda key: key[0] == phone)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
