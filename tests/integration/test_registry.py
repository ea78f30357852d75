"""The registry service on a real database (SQLite and PostgreSQL): events in, answers out."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from numguard.adapters.storage import registry_store
from numguard.adapters.storage.tables import lifecycle_events, number_states, tenures
from numguard.bootstrap import Container, build
from numguard.domain.answer import Recycled
from numguard.services.events import Outcome
from numguard.settings import load_settings
from tests.conftest import SECRET, FrozenClock
from tests.integration.conftest import ID_A, ID_B, NUMBER, event

CAMARA_STORY = [
    event("a1", "ASSIGNED", "2023-10-09", holder=ID_A),
    event("a2", "CANCELLED", "2024-02-25"),
    event("b1", "ASSIGNED", "2024-09-21", holder=ID_B),
]


def answer(c: Container, number: str, day: str) -> Recycled:
    return c.checks.check(number, date.fromisoformat(day), client_id="test").answer.recycled


def test_camara_scenarios_answer_as_the_spec_says(registry: Container) -> None:
    summary = registry.registry.report(CAMARA_STORY, source="test")
    assert [r.outcome for r in summary.results] == [Outcome.ACCEPTED] * 3
    assert answer(registry, NUMBER, "2023-12-22") is Recycled.YES
    assert answer(registry, NUMBER, "2024-05-01") is Recycled.YES  # nobody held it then
    assert answer(registry, NUMBER, "2024-09-21") is Recycled.NO  # B's own start date


def test_reissue_inside_the_aging_period_is_rejected_and_changes_nothing(
    registry: Container,
) -> None:
    registry.registry.report(CAMARA_STORY[:2], source="test")
    before = registry.store.tenures_of(NUMBER)
    summary = registry.registry.report(
        [event("b0", "ASSIGNED", "2024-04-01", holder=ID_B)], source="test"
    )
    assert summary.results[0].outcome is Outcome.REJECTED
    assert summary.results[0].reason == "AGING_PERIOD_NOT_OVER"
    assert registry.store.tenures_of(NUMBER) == before
    with registry.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(lifecycle_events)).scalar_one() == 2


def test_resending_a_batch_changes_nothing(registry: Container) -> None:
    registry.registry.report(CAMARA_STORY, source="test")
    with registry.engine.connect() as conn:
        before = [
            conn.execute(select(t).order_by(*t.primary_key.columns)).all()
            for t in (number_states, tenures)
        ]
    again = registry.registry.report(CAMARA_STORY, source="test")
    assert [r.outcome for r in again.results] == [Outcome.DUPLICATE] * 3
    with registry.engine.connect() as conn:
        after = [
            conn.execute(select(t).order_by(*t.primary_key.columns)).all()
            for t in (number_states, tenures)
        ]
    assert after[1] == before[1]
    assert [r[:-1] for r in after[0]] == [r[:-1] for r in before[0]]  # only the seq column moved


def test_reused_event_id_with_other_content_is_rejected(registry: Container) -> None:
    registry.registry.report(CAMARA_STORY[:1], source="test")
    changed = event("a1", "ASSIGNED", "2023-10-10", holder=ID_A)
    result = registry.registry.report([changed], source="test").results[0]
    assert (result.outcome, result.reason) == (Outcome.REJECTED, "EVENT_ID_REUSED")


def test_port_restore_and_transfer(registry: Container) -> None:
    other, third = "+8613900139000", "+8613900139001"
    registry.registry.report(
        [
            event("p1", "ASSIGNED", "2023-10-09", number=other, holder=ID_A),
            event("p2", "PORTED", "2024-03-01", number=other, to="CUCC"),
            event("r1", "ASSIGNED", "2023-10-09", holder=ID_A),
            event("r2", "CANCELLED", "2024-01-10"),
            event("r3", "RESTORED", "2024-02-01"),
            event("t1", "ASSIGNED", "2023-10-09", number=third, holder=ID_A),
            event("t2", "TRANSFERRED", "2024-06-01", number=third, holder=ID_B),
        ],
        source="test",
    )
    assert answer(registry, other, "2023-12-01") is Recycled.NO  # a port is not a change
    assert answer(registry, NUMBER, "2023-12-01") is Recycled.NO  # a restore keeps the tenure
    assert answer(registry, third, "2023-12-01") is Recycled.YES  # 过户 is a change
    # after the port, only the new carrier may report about the number
    late = registry.registry.report(
        [event("p3", "CANCELLED", "2024-05-01", number=other)], source="test"
    )
    assert late.results[0].reason == "CARRIER_MISMATCH"


def test_a_carrier_client_reports_only_for_its_carrier(registry: Container) -> None:
    result = registry.registry.report(
        CAMARA_STORY[:1], source="test", allowed_carrier="CUCC"
    ).results[0]
    assert (result.outcome, result.reason) == (Outcome.REJECTED, "CARRIER_NOT_ALLOWED")


def test_a_number_enters_service_only_from_its_range_holder(registry: Container) -> None:
    result = registry.registry.report(
        [event("x1", "ASSIGNED", "2024-01-01", carrier="CUCC", holder=ID_A)], source="test"
    ).results[0]
    assert result.reason == "NUMBER_NOT_IN_CARRIER_RANGE"


def test_bad_fields_are_rejected_per_event_and_good_ones_apply(registry: Container) -> None:
    records = [
        event("ok", "ASSIGNED", "2023-10-09", holder=ID_A),
        event("bad-date", "ASSIGNED", "2023-13-09", holder=ID_A),
        event("bad-type", "EXPLODED", "2023-10-09"),
        event(
            "bad-id", "ASSIGNED", "2023-10-09", number="+8613900139000", holder="110105194912310021"
        ),
        event("bad-no", "ASSIGNED", "2023-10-09", number="+86123", holder=ID_A),
        event("future", "CANCELLED", "2027-01-01"),
    ]
    results = registry.registry.report(records, source="test").results
    assert [(r.outcome.value, r.reason) for r in results] == [
        ("accepted", None),
        ("rejected", "INVALID_DATE"),
        ("rejected", "INVALID_TYPE"),
        ("rejected", "INVALID_ID_NUMBER"),
        ("rejected", "INVALID_PHONE_NUMBER"),
        ("rejected", "FUTURE_DATE"),
    ]


def test_a_crash_while_writing_leaves_nothing_half_done(
    registry: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = registry_store.SqlRegistryTransaction.write

    def crash_after_writing(self: registry_store.SqlRegistryTransaction, changes: object) -> None:
        original(self, changes)  # type: ignore[arg-type]
        raise RuntimeError("power cut")

    monkeypatch.setattr(registry_store.SqlRegistryTransaction, "write", crash_after_writing)
    with pytest.raises(RuntimeError):
        registry.registry.report(CAMARA_STORY, source="test")
    with registry.engine.connect() as conn:
        for table in (lifecycle_events, number_states, tenures):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    monkeypatch.undo()
    assert registry.registry.report(CAMARA_STORY, source="test").count(Outcome.ACCEPTED) == 3


def test_another_process_writes_and_the_index_catches_up(
    registry: Container, clock: FrozenClock, database_url: str, tmp_path: object
) -> None:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": database_url,
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
        }
    )
    writer = build(settings, clock=clock)
    try:
        writer.registry.report(CAMARA_STORY, source="other-process")
    finally:
        writer.close()
    assert answer(registry, NUMBER, "2023-12-22") is Recycled.NO  # not seen yet: no tenure ended
    assert registry.catch_up() == 1
    assert answer(registry, NUMBER, "2023-12-22") is Recycled.YES


def test_no_raw_id_number_is_stored(registry: Container) -> None:
    registry.registry.report(CAMARA_STORY, source="test")
    with registry.engine.connect() as conn:
        for table in (lifecycle_events, number_states, tenures):
            for row in conn.execute(select(table)).all():
                text = " ".join(str(v) for v in row)
                assert ID_A not in text
                assert ID_B not in text
                assert ID_A[-6:] not in text
