"""Lookups on SQLite and PostgreSQL: when a number may be looked up again, decided atomically."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from numguard.adapters.storage.db import make_engine, upgrade
from numguard.adapters.storage.people_store import SqlLookupStore
from numguard.services.people import (
    LookupBlock,
    LookupBlocked,
    LookupKind,
    LookupRecord,
    LookupState,
    lookup_block,
)

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
NUMBER = "+8613800138000"
DAY = timedelta(hours=24)
HOUR = timedelta(hours=1)
TTL = timedelta(minutes=10)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def record(lookup_id: str, at: datetime, **changes: object) -> LookupRecord:
    values: dict[str, object] = {
        "lookup_id": lookup_id,
        "phone_number": NUMBER,
        "kind": LookupKind.ACCOUNTS,
        "claim_type": "CN_RESIDENT",
        "claim_hash": "c" * 64,
        "code_hash": "h" * 64,
        "code_expires_at": at + TTL,
        "attempts": 0,
        "status": LookupState.PENDING,
        "created_at": at,
    }
    values.update(changes)
    return LookupRecord(**values)  # type: ignore[arg-type]


def start(store: SqlLookupStore, lookup_id: str, at: datetime) -> LookupBlocked | None:
    return store.start(
        record(lookup_id, at),
        at - TTL - DAY,
        lambda recent: lookup_block(recent, at, DAY, HOUR),
    )


def test_concurrent_starts_of_one_number_let_exactly_one_through(engine: Engine) -> None:
    store = SqlLookupStore(engine)
    gate = threading.Barrier(8)
    results: list[LookupBlocked | None] = []

    def one(i: int) -> None:
        gate.wait()
        results.append(start(store, f"lk_{i}", NOW))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 1
    assert {r.reason for r in results if r is not None} == {LookupBlock.CODE_PENDING}


def test_each_state_blocks_for_its_own_time(engine: Engine) -> None:
    store = SqlLookupStore(engine)
    assert start(store, "lk_pending", NOW) is None
    assert start(store, "lk_2", NOW + TTL - timedelta(seconds=1)) == LookupBlocked(
        LookupBlock.CODE_PENDING, NOW + TTL
    )
    assert start(store, "lk_3", NOW + TTL) is None  # the first code expired unused

    later = NOW + TTL + timedelta(minutes=1)
    assert store.wrong_attempt("lk_3", 1, later) == 1  # locks at once (max 1)
    assert store.get("lk_3").status is LookupState.LOCKED  # type: ignore[union-attr]
    assert start(store, "lk_4", later + TTL) == LookupBlocked(LookupBlock.LOCKED, later + HOUR)
    at = later + HOUR
    assert start(store, "lk_5", at) is None
    assert store.verify("lk_5", "s" * 64, at + TTL, at + timedelta(minutes=1))
    verified = at + timedelta(minutes=1)
    assert start(store, "lk_6", verified + DAY - timedelta(seconds=1)) == LookupBlocked(
        LookupBlock.VERIFIED, verified + DAY
    )
    assert start(store, "lk_7", verified + DAY) is None


def test_a_code_cannot_be_verified_after_it_expired(engine: Engine) -> None:
    store = SqlLookupStore(engine)
    assert start(store, "lk_1", NOW) is None
    assert not store.verify("lk_1", "s" * 64, NOW + DAY, NOW + TTL)
    assert store.get("lk_1").status is LookupState.PENDING  # type: ignore[union-attr]


def test_the_obstacle_that_clears_last_is_named() -> None:
    pending = record("a", NOW)
    verified = record(
        "b", NOW - HOUR, status=LookupState.VERIFIED, verified_at=NOW - timedelta(minutes=55)
    )
    locked = record("c", NOW - HOUR, status=LookupState.LOCKED, locked_at=NOW - HOUR)
    at = NOW + timedelta(minutes=1)
    assert lookup_block([pending, verified, locked], at, DAY, HOUR) == LookupBlocked(
        LookupBlock.VERIFIED,
        verified.verified_at + DAY,  # type: ignore[operator]
    )
    assert lookup_block([pending, locked], at, DAY, HOUR) == LookupBlocked(
        LookupBlock.CODE_PENDING, NOW + TTL
    )
    assert lookup_block([pending], NOW + TTL, DAY, HOUR) is None
    assert lookup_block([verified], at, timedelta(0), HOUR) is None  # interval 0: no limit
