"""Pure ASGI middleware: the x-correlator header and request metrics (cheap on the hot path)."""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from numguard.adapters.web.errors import error_response

CORRELATOR = re.compile(r"^[a-zA-Z0-9\-_:;./<>{}]{0,256}$")
"""The CAMARA Commonalities pattern for ``x-correlator``."""

REQUESTS = Counter(
    "numguard_http_requests_total",
    "HTTP requests by route and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "numguard_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


class CorrelatorAndMetrics:
    """Echo ``x-correlator`` on every response, refuse a malformed one, count and time requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, str], Any] = {}
        self._timers: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlator: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"x-correlator":
                correlator = value
                break
        started = time.perf_counter()
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                if correlator is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"x-correlator", correlator))
                    message["headers"] = headers
            await send(message)

        if correlator is not None and not CORRELATOR.match(correlator.decode("latin-1")):
            response = error_response(400, "INVALID_ARGUMENT", "x-correlator has an invalid format")
            correlator = None
            await response(scope, receive, send_wrapper)
        else:
            await self.app(scope, receive, send_wrapper)
        route = scope.get("route")
        path = getattr(route, "path", "unmatched")
        key = (path, scope["method"], str(status_holder[0]))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = REQUESTS.labels(*key)
        child.inc()
        timer = self._timers.get(path)
        if timer is None:
            timer = self._timers[path] = LATENCY.labels(path)
        timer.observe(time.perf_counter() - started)
