"""Domain counters for ``/metrics`` (request counts and latency live in the middleware)."""

from __future__ import annotations

from prometheus_client import Counter

CHECKS = Counter(
    "numguard_checks_total", "Recycling checks by answer and protocol", ["answer", "protocol"]
)
EVENTS = Counter("numguard_events_total", "Reported lifecycle events by outcome", ["outcome"])
