"""The registry's streaming bulk check over HTTP: many (number, date) pairs per request.

:class:`HttpBulkChecker` posts one CSV body per block to ``POST /v1/checks/bulk`` with an OAuth
2.0 client-credentials token (or a token given to it), retries connection failures, 5xx and 429
(honouring ``Retry-After``) within a time budget, and reads the answers with NumPy: the answer
column's first letter (``y``es, ``n``o, ``u``nknown) after the two columns it sent, one line per
row in the order sent; a row the registry rejects (a number that is not a phone number) comes
back with its error code and message.

It raises :class:`RegistryUnreachable` when the registry does not answer in the end, and
:class:`RegistryRefused` when it answers but refuses (wrong credentials, a missing scope, a body
it rejects): the first may be decided by the guard's fail-open/closed rules, the second is
always a configuration error.
"""

from __future__ import annotations

import csv
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
import numpy as np
import numpy.typing as npt

from numguard.errors import ErrorKind, NumguardError, Unavailable
from numguard.guard.client import (
    CHECK_SCOPE,
    TOKEN_PATH,
    RetryPolicy,
    _error_fields,
    parse_retry_after,
)
from numguard.guard.reconcile.table import NO, UNKNOWN, YES

BULK_PATH = "/v1/checks/bulk"
BULK_RETRY = RetryPolicy(
    attempts=5, backoff=0.5, max_backoff=8.0, max_retry_after=30.0, budget=120.0
)
"""Retries of one block: a few pauses of up to 8 s, two minutes in all."""

log = logging.getLogger("numguard.guard")


class RegistryUnreachable(Unavailable):
    """The registry did not answer, even after the retries."""

    code = "REGISTRY_UNREACHABLE"


class RegistryRefused(NumguardError):
    """The registry answered but refused: credentials, scope, or a request it rejects."""

    kind = ErrorKind.UNAUTHENTICATED
    code = "REGISTRY_REFUSED"


@dataclass(frozen=True)
class BulkReply:
    """Per row sent: the outcome index (YES, NO, UNKNOWN; -1 for a rejected row) and errors."""

    outcome: npt.NDArray[np.int8]
    errors: dict[int, tuple[str, str]]


class BulkChecker(Protocol):
    """Anything that answers a block of (phone, YYYY-MM-DD) pairs in order."""

    def check(self, pairs: bytes, rows: int) -> BulkReply:
        """Answer the *rows* ``phone,date`` lines of *pairs*; raise
        :class:`RegistryUnreachable` when there is no answer."""
        ...


def request_body(pairs: bytes) -> bytes:
    """The CSV body: a header, then the ``phone,date`` lines."""
    return b"phoneNumber,specifiedDate\n" + pairs


_FIRST_LETTER = np.full(256, -2, np.int8)
_FIRST_LETTER[ord("y")] = YES
_FIRST_LETTER[ord("n")] = NO
_FIRST_LETTER[ord("u")] = UNKNOWN
_FIRST_LETTER[ord(",")] = -1  # empty answer: the row has an error


def parse_reply(content: bytes, rows: int) -> BulkReply:
    """Read the registry's CSV answer to *rows* pairs (see the module docstring)."""
    raw = np.frombuffer(content, np.uint8)
    ends = np.flatnonzero(raw == 10)
    if len(ends) != rows + 1 or (rows and ends[-1] != len(content) - 1):
        raise RegistryUnreachable(
            f"the registry answered {max(len(ends) - 1, 0)} rows for {rows} (a cut answer)"
        )
    if not content.startswith(b"phoneNumber,specifiedDate,recycled"):
        raise RegistryRefused("the registry's bulk answer has an unexpected header")
    if rows == 0:
        return BulkReply(np.zeros(0, np.int8), {})
    starts = ends[:-1] + 1
    commas = np.flatnonzero(raw == 44)
    first = np.searchsorted(commas, starts)
    if first[-1] + 1 >= len(commas):
        raise RegistryRefused("the registry's bulk answer has too few columns")
    outcome = _FIRST_LETTER[raw[commas[first + 1] + 1]]
    if (outcome == -2).any():
        raise RegistryRefused("the registry's bulk answer has an unexpected answer value")
    errors: dict[int, tuple[str, str]] = {}
    for i in np.flatnonzero(outcome == -1).tolist():
        line = content[starts[i] : ends[i + 1]].decode("utf-8", "replace")
        cells = next(csv.reader([line]), [])
        code = cells[7] if len(cells) > 8 else "INVALID_ARGUMENT"
        message = cells[8] if len(cells) > 8 else "rejected by the registry"
        errors[i] = (code, message)
    return BulkReply(outcome.astype(np.int8), errors)


class HttpBulkChecker:
    """A :class:`BulkChecker` on a registry's ``POST /v1/checks/bulk`` (thread-safe).

    Give ``client_id`` and ``client_secret`` (a token is fetched from ``/oauth/token`` and
    renewed), or a ``token`` that is used as it is.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        token: str | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy = BULK_RETRY,
        connections: int = 4,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if token is None and (not client_id or not client_secret):
            raise RegistryRefused("give a client id and secret, or a token")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self._token = token
        self._fixed_token = token is not None
        self._expires = float("inf")
        self.retry = retry
        self._lock = threading.Lock()
        self._rng = random.Random()  # noqa: S311  backoff jitter, not a secret
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=connections),
            transport=transport,
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> HttpBulkChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Fetch a token now, so that wrong credentials or a dead registry show at once."""
        self._bearer(force=False)

    def _bearer(self, *, force: bool) -> str:
        with self._lock:
            if self._token is not None and not force and time.monotonic() < self._expires:
                return self._token
            if self._fixed_token:
                if force:
                    raise RegistryRefused("the registry refused the token")
                assert self._token is not None  # noqa: S101  set with _fixed_token
                return self._token
            self._token, lifetime = self._fetch_token()
            self._expires = time.monotonic() + max(lifetime - 60.0, lifetime / 2)
            return self._token

    def _fetch_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id or "",
            "client_secret": self._secret or "",
            "scope": CHECK_SCOPE,
        }
        reply = self._send(TOKEN_PATH, what="the token", data=form)
        if reply.status_code != 200:
            raise RegistryRefused(
                f"the registry refused the client credentials ({_describe(reply)})"
            )
        try:
            body = reply.json()
            return str(body["access_token"]), float(body.get("expires_in", 900))
        except (ValueError, KeyError, TypeError):
            raise RegistryRefused("the registry's token answer is not an OAuth token") from None

    def _send(
        self,
        path: str,
        *,
        what: str,
        data: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST with retries; the reply is final (2xx or a 4xx other than 429)."""
        started = time.monotonic()
        detail = ""
        for attempt in range(1, self.retry.attempts + 1):
            retry_after: float | None = None
            try:
                reply = self._http.post(path, data=data, content=content, headers=headers)
            except httpx.TransportError as exc:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if reply.status_code < 500 and reply.status_code != 429:
                    return reply
                detail = _describe(reply)
                retry_after = parse_retry_after(reply.headers.get("retry-after"), datetime.now(UTC))
            if attempt == self.retry.attempts:
                break
            pause = self.retry.pause(attempt, self._rng.random())
            if retry_after is not None:
                if retry_after > self.retry.max_retry_after:
                    break
                pause = retry_after
            if time.monotonic() - started + pause > self.retry.budget:
                break
            log.warning(
                "numguard registry: %s failed (%s), retrying in %.1f s", what, detail, pause
            )
            time.sleep(pause)
        raise RegistryUnreachable(f"no answer for {what} from {self.base_url}: {detail}")

    def check(self, pairs: bytes, rows: int) -> BulkReply:
        """Answer one block of pairs (see :class:`BulkChecker`)."""
        body = request_body(pairs)
        for fresh in (False, True):
            token = self._bearer(force=fresh)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
            reply = self._send(
                BULK_PATH, what=f"a block of {rows:,} checks", content=body, headers=headers
            )
            if reply.status_code == 401 and not fresh:
                continue
            if reply.status_code != 200:
                raise RegistryRefused(f"the registry refused the bulk check ({_describe(reply)})")
            return parse_reply(reply.content, rows)
        raise RegistryRefused("the registry refused a fresh token")  # pragma: no cover


def _describe(reply: httpx.Response) -> str:
    """``HTTP 401 invalid_client: message`` from a CAMARA or OAuth error body."""
    code, message = _error_fields(reply)
    if code or message:
        return f"HTTP {reply.status_code} {code}: {message}".strip()
    return f"HTTP {reply.status_code}"
