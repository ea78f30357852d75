"""The binding and people services on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from numguard.adapters.storage.tables import bindings, unbind_requests
from numguard.bootstrap import Container, build
from numguard.services.bindings import SnapshotRejected, UnbindDraft
from numguard.services.people import LookupKind
from numguard.settings import load_settings
from tests.conftest import SECRET, FrozenClock

ID_A = "11010519491231002X"
ID_B = "110105199003070017"
NUMBER = "+8613800138000"


@pytest.fixture
def container(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Container]:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": database_url,
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
            "NUMGUARD_SMS_GATEWAY": "file",
        }
    )
    made = build(settings, clock=clock)
    made.registry.add_carrier(
        "CMCC", "中国移动", tracking_since=date(2023, 1, 1), prefixes=["+86138"], now=clock()
    )
    made.bindings.add_platform("SHOP", "Shop", category="COMMERCE")
    yield made
    made.close()


def record(ref: str, number: str = NUMBER, bound: str = "2024-06-01") -> dict[str, Any]:
    return {"accountRef": ref, "phoneNumber": number, "boundAt": bound}


def count(container: Container) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(bindings)).scalar_one())


def test_a_large_snapshot_replaces_in_one_transaction(container: Container) -> None:
    first = [record(f"u{i}", f"+86138{i:08d}") for i in range(12_000)]
    summary = container.bindings.import_snapshot("SHOP", iter(first), chunk_size=5000)
    assert (summary.records, summary.created) == (12_000, 12_000)
    second = [*first[2000:], record("new", NUMBER)]
    again = container.bindings.import_snapshot("SHOP", iter(second))
    assert (again.created, again.unchanged, again.removed) == (1, 10_000, 2000)
    assert count(container) == 10_001

    def broken() -> Iterator[dict[str, Any]]:
        yield from first[:7000]
        yield {"accountRef": "x", "phoneNumber": NUMBER, "boundAt": "someday"}

    with pytest.raises(SnapshotRejected, match="record 7001"):
        container.bindings.import_snapshot("SHOP", broken(), chunk_size=1000)
    assert count(container) == 10_001  # the chunks already written were rolled back


def test_unbind_listeners_run_in_the_inserting_transaction(container: Container) -> None:
    container.registry.report(
        [
            {
                "eventId": "1",
                "phoneNumber": NUMBER,
                "type": "ASSIGNED",
                "effectiveDate": "2023-02-01",
                "carrier": "CMCC",
                "holder": {"idType": "CN_RESIDENT", "idNumber": ID_A},
            },
            {
                "eventId": "2",
                "phoneNumber": NUMBER,
                "type": "TRANSFERRED",
                "effectiveDate": "2024-05-01",
                "carrier": "CMCC",
                "holder": {"idType": "CN_RESIDENT", "idNumber": ID_B},
            },
        ],
        source="test",
    )
    container.bindings.put("SHOP", [record("old", bound="2023-03-01")])
    seen: list[tuple[int, list[str]]] = []

    def outbox(conn: Any, drafts: Sequence[UnbindDraft]) -> None:
        # The request rows are visible inside the same transaction.
        rows = conn.execute(text("SELECT count(*) FROM unbind_requests")).scalar_one()
        seen.append((rows, [d.platform for d in drafts]))
        raise RuntimeError("the outbox is full")

    service = replace(container.bindings, _listeners=[])  # only this test's listener
    service.on_unbind_requested(outbox)
    state = service.store.number_state(NUMBER)
    assert state is not None
    with pytest.raises(RuntimeError):
        service.create_unbind_requests(state)
    assert seen == [(1, ["SHOP"])]
    with container.engine.connect() as conn:  # the failed listener undid the insert
        assert conn.execute(select(func.count()).select_from(unbind_requests)).scalar_one() == 0


def test_a_full_id_lookup_also_opens_the_accounts_view(container: Container) -> None:
    container.registry.report(
        [
            {
                "eventId": "1",
                "phoneNumber": NUMBER,
                "type": "ASSIGNED",
                "effectiveDate": "2023-02-01",
                "carrier": "CMCC",
                "holder": {"idType": "CN_RESIDENT", "idNumber": ID_A},
            }
        ],
        source="test",
    )
    sms = container.people.sms
    started = container.people.start_lookup("138 0013 8000", id_number=ID_A.lower())
    assert started.kind is LookupKind.NUMBERS
    code = sms.messages(NUMBER)[-1]["text"].split("验证码 ")[1][:6]  # type: ignore[attr-defined]
    session = container.people.verify_code(started.lookup_id, code)
    assert container.people.numbers(session.token).total == 1
    assert container.people.accounts(session.token).matched is True
