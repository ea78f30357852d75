"""A million events imported twice: the second import is all duplicates and changes nothing."""

from __future__ import annotations

import hashlib
import itertools
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from numguard.adapters.storage.tables import lifecycle_events, number_states, tenures
from numguard.bootstrap import Container, build
from numguard.services.demo_world import DEMO_CARRIERS, iter_events, write_events_csv
from numguard.services.importer import import_file
from numguard.settings import load_settings

EVENTS = 1_000_000
NUMBERS = 800_000  # about 1.27 events per number over two years
TODAY = date(2026, 11, 28)
NOON = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def state_digest(container: Container) -> str:
    """Hash of the ordered contents of number_states, tenures and lifecycle_events."""
    digest = hashlib.sha256()
    orders = {
        number_states: [number_states.c.phone_number],
        tenures: [tenures.c.phone_number, tenures.c.ordinal],
        lifecycle_events: [lifecycle_events.c.carrier, lifecycle_events.c.event_id],
    }
    with container.engine.connect() as conn:
        for table, order in orders.items():
            for row in conn.execute(select(table).order_by(*order)).yield_per(50_000):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.mark.slow
def test_a_million_events_import_twice_to_the_same_state(tmp_path: Path) -> None:
    source = tmp_path / "million.csv"
    started = time.perf_counter()
    written = write_events_csv(
        itertools.islice(iter_events(seed=11, numbers=NUMBERS, today=TODAY), EVENTS), source
    )
    assert written == EVENTS
    generated = time.perf_counter() - started
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": f"sqlite:///{tmp_path}/million.db",
            "NUMGUARD_SECRET_KEY": "million-test-secret-that-is-long-enough-0123456789",
            "NUMGUARD_DATA_DIR": str(tmp_path),
        }
    )
    container = build(settings, clock=lambda: NOON)
    try:
        for carrier in DEMO_CARRIERS:
            container.registry.add_carrier(
                carrier.code,
                carrier.name,
                tracking_since=date(2024, 11, 28),
                prefixes=carrier.prefixes,
                now=NOON,
            )
        first = import_file(source, container.registry)
        after_first = state_digest(container)
        second = import_file(source, container.registry)
        after_second = state_digest(container)
    finally:
        container.close()
    print(
        f"\ngenerated {EVENTS:,} events in {generated:.1f} s; "
        f"first import {first.seconds:.1f} s ({first.rows_per_second:,.0f} rows/s), "
        f"second {second.seconds:.1f} s ({second.rows_per_second:,.0f} rows/s)"
    )
    assert (first.rows, first.accepted, first.duplicates, first.rejected) == (EVENTS, EVENTS, 0, 0)
    assert (second.rows, second.accepted, second.duplicates, second.rejected) == (
        EVENTS,
        0,
        EVENTS,
        0,
    )
    assert after_second == after_first
