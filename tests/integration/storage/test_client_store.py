"""API clients on a real SQLite file: stored, read back, disabled, and used for tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from numguard.adapters.storage.client_store import SqlClientStore
from numguard.adapters.storage.db import make_engine, upgrade
from numguard.adapters.storage.tables import carriers, clients
from numguard.errors import Conflict, Unauthenticated
from numguard.services.auth import ClientService, Role, Scope, verify_secret

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
KEY = b"integration-test-token-key-0123456789"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(carriers).values(
                code="CMCC", name="中国移动", tracking_since=date(2023, 1, 1), created_at=NOW
            )
        )
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlClientStore:
    return SqlClientStore(engine)


@pytest.fixture
def service(store: SqlClientStore) -> ClientService:
    return ClientService(
        store, token_key=KEY, token_ttl_seconds=900, carrier_exists=store.carrier_exists
    )


def test_a_client_reads_back_as_it_was_stored(
    service: ClientService, store: SqlClientStore
) -> None:
    record, _ = service.add_client(
        "Mobile", Role.CARRIER, carrier="CMCC", rate_per_second=50, now=NOW
    )
    again = store.get_client(record.client_id)
    assert again == record
    assert again is not None
    assert again.created_at.tzinfo is not None
    assert again.scopes == {Scope.LIFECYCLE_WRITE, Scope.CHECK}


def test_the_table_holds_the_hash_not_the_secret(service: ClientService, engine: Engine) -> None:
    record, secret = service.add_client("Bank", Role.PLATFORM, now=NOW)
    with engine.connect() as conn:
        row = conn.execute(select(clients).where(clients.c.client_id == record.client_id)).one()
    assert secret not in "".join(str(value) for value in row)
    assert row.secret_hash.startswith("scrypt$16384$8$1$")
    assert verify_secret(secret, row.secret_hash)
    assert row.scopes == "number-recycling:check"


def test_an_unknown_client_is_none(store: SqlClientStore) -> None:
    assert store.get_client("ng_nobody") is None
    assert store.disable_client("ng_nobody", NOW) is None


def test_clients_list_oldest_first(service: ClientService) -> None:
    first, _ = service.add_client("First", Role.PLATFORM, now=NOW)
    second, _ = service.add_client("Second", Role.ADMIN, now=NOW + timedelta(minutes=1))
    assert [c.client_id for c in service.list_clients()] == [first.client_id, second.client_id]


def test_the_same_id_twice_is_a_conflict(service: ClientService, store: SqlClientStore) -> None:
    record, _ = service.add_client("Bank", Role.PLATFORM, now=NOW)
    with pytest.raises(Conflict):
        store.add_client(record)


def test_the_database_refuses_a_client_of_an_unregistered_carrier(
    service: ClientService, store: SqlClientStore
) -> None:
    record, _ = service.add_client("Mobile", Role.CARRIER, carrier="CMCC", now=NOW)
    stray = replace(record, client_id="ng_stray", carrier="NOPE")
    with pytest.raises(Conflict):
        store.add_client(stray)


def test_carrier_exists_reads_the_carriers_table(store: SqlClientStore) -> None:
    assert store.carrier_exists("CMCC")
    assert not store.carrier_exists("CUCC")


def test_disabling_keeps_the_first_time_and_locks_the_client_out(
    service: ClientService, store: SqlClientStore
) -> None:
    record, secret = service.add_client("Bank", Role.PLATFORM, now=NOW)
    token = service.issue_token(service.authenticate(record.client_id, secret), None, NOW)
    assert service.verify(token.access_token, NOW).client_id == record.client_id
    disabled = service.disable_client(record.client_id, NOW + timedelta(hours=1))
    assert disabled.disabled_at == NOW + timedelta(hours=1)
    again = store.disable_client(record.client_id, NOW + timedelta(hours=2))
    assert again is not None
    assert again.disabled_at == NOW + timedelta(hours=1)
    with pytest.raises(Unauthenticated):
        service.authenticate(record.client_id, secret)
    with pytest.raises(Unauthenticated):
        service.verify(token.access_token, NOW + timedelta(hours=1, seconds=1))


def test_a_client_disabled_by_another_process_is_refused_after_the_recheck(
    service: ClientService, engine: Engine
) -> None:
    record, _ = service.add_client("Bank", Role.PLATFORM, now=NOW)
    token = service.issue_token(record, None, NOW).access_token
    service.verify(token, NOW)
    SqlClientStore(engine).disable_client(record.client_id, NOW)  # e.g. the CLI
    with pytest.raises(Unauthenticated):
        service.verify(token, NOW + timedelta(seconds=service.client_recheck_seconds))
