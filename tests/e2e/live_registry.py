"""A registry served by uvicorn on a free loopback port, for tests that need real HTTP.

Import :func:`registry` into a test module to use it as a module-scoped fixture.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import uvicorn

from numguard.adapters.web.app import create_app
from numguard.bootstrap import Container, build
from numguard.settings import load_settings
from tests.conftest import SECRET, FrozenClock
from tests.e2e.conftest import ID_A, ID_B, ev

RECYCLED = "+8613800138000"
"""Held by ID_A from 2023-02-01, cancelled 2024-01-10, held by ID_B from 2024-06-01."""
KEPT = "+8613900139000"
"""Held by ID_A since 2023-02-01."""
UNCOVERED = "+8615000150000"
"""In no carrier's ranges: the registry says unknown."""


@dataclass
class Registry:
    """A registry served on 127.0.0.1 with one platform client."""

    url: str
    container: Container
    client: tuple[str, str]


def _serve(container: Container) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("registry")
    clock = FrozenClock(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": f"sqlite:///{folder}/registry.db",
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(folder),
            "NUMGUARD_LOG_LEVEL": "WARNING",
        }
    )
    container = build(settings, clock=clock)
    now = clock()
    container.registry.add_carrier(
        "CMCC", "中国移动", tracking_since=date(2023, 1, 1), prefixes=["+86138", "+86139"], now=now
    )
    summary = container.registry.report(
        [
            ev("e1", "ASSIGNED", "2023-02-01", holder=ID_A),
            ev("e2", "CANCELLED", "2024-01-10"),
            ev("e3", "ASSIGNED", "2024-06-01", holder=ID_B),
            ev("e4", "ASSIGNED", "2023-02-01", "+8613900139000", holder=ID_A),
        ],
        source="test",
    )
    assert all(r.outcome.value == "accepted" for r in summary.results)
    record, secret = container.clients.add_client("bank", "platform", now=now)
    server, thread, url = _serve(container)
    try:
        yield Registry(url, container, (record.client_id, secret))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()
