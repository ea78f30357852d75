"""Synchronous delivery of 焕新 unbind requests to a platform's webhook (httpx, with retries).

The :class:`~numguard.services.bindings.UnbindNotifier` port keeps this replaceable: an outbox
worker can take over delivery without the services changing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

log = logging.getLogger("numguard.notify")


class HttpUnbindNotifier:
    """POSTs the request as JSON; a 2xx answer is delivered. Retries with a short backoff."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        retries: int = 1,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retries = max(0, retries)
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "numguard-unbind/1", "Content-Type": "application/json"},
            follow_redirects=False,
        )

    def deliver(self, url: str, payload: Mapping[str, Any]) -> tuple[bool, int]:
        """Returns (delivered, attempts made)."""
        attempts = 0
        for attempt in range(self.retries + 1):
            attempts += 1
            try:
                response = self._client.post(
                    url,
                    json=dict(payload),
                    headers={"X-Numguard-Event": "binding.unbind-requested"},
                )
                if 200 <= response.status_code < 300:
                    return True, attempts
                log.warning("unbind webhook answered %s", response.status_code, extra={"url": url})
            except httpx.HTTPError as exc:
                log.warning(
                    "unbind webhook unreachable: %s", type(exc).__name__, extra={"url": url}
                )
            if attempt < self.retries:
                self._sleep(self.backoff_seconds * (2**attempt))
        return False, attempts

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
