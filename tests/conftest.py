"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL when it runs).

PostgreSQL tests are skipped when the server is down, except with ``CI=true``, where a missing
server is a failure: CI must exercise both databases.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "NUMGUARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    """Whether PostgreSQL answers; under CI=true its absence fails the run."""
    available = _pg_available()
    if not available and os.environ.get("CI") == "true":
        pytest.fail("CI=true but PostgreSQL at 127.0.0.1:5432 is not answering")
    return available


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not pg_available:
        pytest.skip("PostgreSQL is not running")
    name = f"numguard_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/numguard.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Commands like ``serve`` and ``worker`` configure the process's logging, as a process of
    their own should; run in-process by a test, they must not leave it for the next test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    """Frozen at 2026-11-28 04:00 UTC (noon in Beijing)."""
    return FrozenClock(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))


TODAY = date(2026, 11, 28)
