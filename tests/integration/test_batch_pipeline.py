"""Batches computed from a snapshot and written later (the importer's pipeline) end as if
applied at write time: another writer in between, an event id taken meanwhile, chunks that
share a number. On SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from numguard.adapters.storage.tables import number_states, tenures
from numguard.bootstrap import Container
from numguard.services import registry as registry_module
from numguard.services.batch import LifecycleBatch
from numguard.services.events import Outcome, ParsedEvent, parse_record
from tests.integration.conftest import ID_A, ID_B, NUMBER, event

OTHER = "+8613900139000"


def parsed(
    c: Container,
    index: int,
    eid: str,
    kind: str,
    day: str,
    *,
    number: str = NUMBER,
    holder: str | None = None,
) -> ParsedEvent:
    record = event(eid, kind, day, number=number, holder=holder)
    item = parse_record(
        index, record, holder_key=c.registry.holder_key, default_region=c.registry.default_region
    )
    assert isinstance(item, ParsedEvent), item
    return item


def tenure_rows(c: Container, number: str = NUMBER) -> list[tuple[object, ...]]:
    with c.engine.connect() as conn:
        rows = conn.execute(
            select(tenures.c.ordinal, tenures.c.holder_masked, tenures.c.start, tenures.c.end)
            .where(tenures.c.phone_number == number)
            .order_by(tenures.c.ordinal)
        )
        return [tuple(r) for r in rows]


def status(c: Container, number: str = NUMBER) -> str:
    with c.engine.connect() as conn:
        return str(
            conn.execute(
                select(number_states.c.status).where(number_states.c.phone_number == number)
            ).scalar_one()
        )


def test_a_batch_prepared_before_another_writer_is_computed_again(registry: Container) -> None:
    r = registry.registry
    r.apply([parsed(registry, 0, "a1", "ASSIGNED", "2023-10-09", holder=ID_A)], source="t")
    stale = r.prepare([parsed(registry, 1, "c1", "CANCELLED", "2024-02-25")], source="t")
    # Another writer hands the number to B before the cancellation is written: written as
    # computed, the cancellation would close A's tenure again and leave B's open.
    r.apply([parsed(registry, 2, "t1", "TRANSFERRED", "2024-01-10", holder=ID_B)], source="t")
    committed = r.commit(stale)
    assert [x.outcome for x in committed.results] == [Outcome.ACCEPTED]
    assert status(registry) == "AGING"
    assert [(o, s, e) for o, _, s, e in tenure_rows(registry)] == [
        (1, date(2023, 10, 9), date(2024, 1, 10)),
        (2, date(2024, 1, 10), date(2024, 2, 25)),
    ]


@pytest.mark.parametrize(("own", "computed_again"), [(True, 0), (False, 1)])
def test_only_the_callers_own_writes_in_between_keep_the_batch_as_computed(
    registry: Container, monkeypatch: pytest.MonkeyPatch, own: bool, computed_again: int
) -> None:
    r = registry.registry
    first = r.prepare(
        [parsed(registry, 0, "a1", "ASSIGNED", "2023-10-09", holder=ID_A)], source="t"
    )
    second = r.prepare(
        [parsed(registry, 1, "a2", "ASSIGNED", "2023-11-01", number=OTHER, holder=ID_B)],
        source="t",
    )
    tick = r.commit(first).seq
    assert tick is not None
    batches: list[object] = []

    class Counted(LifecycleBatch):
        def __init__(self, *args: Any) -> None:
            batches.append(args)
            super().__init__(*args)

    monkeypatch.setattr(registry_module, "LifecycleBatch", Counted)
    # Told that the tick in between is its own (a write about other numbers), commit writes
    # the batch as computed; not told, it cannot know, and computes it again.
    committed = r.commit(second, ours=[tick] if own else [])
    assert [x.outcome for x in committed.results] == [Outcome.ACCEPTED]
    assert len(batches) == computed_again
    assert tenure_rows(registry, OTHER)[0][2] == date(2023, 11, 1)


def test_an_event_id_taken_meanwhile_is_settled_not_lost(registry: Container) -> None:
    r = registry.registry
    mine = r.prepare(
        [parsed(registry, 0, "x1", "ASSIGNED", "2023-10-09", number=OTHER, holder=ID_B)],
        source="t",
    )
    theirs = r.prepare(
        [parsed(registry, 1, "x1", "ASSIGNED", "2023-10-09", holder=ID_A)], source="t"
    )
    tick = r.commit(theirs).seq
    assert tick is not None
    # Counted as our own tick, the snapshot is trusted; the insert then breaks the unique
    # (carrier, event id) key, rolls back, and the batch is computed again.
    results = r.commit(mine, ours=[tick]).results
    assert [(x.outcome, x.reason) for x in results] == [(Outcome.REJECTED, "EVENT_ID_REUSED")]
    assert status(registry) == "ACTIVE"
    with registry.engine.connect() as conn:
        assert (
            conn.execute(
                select(number_states.c.phone_number).where(number_states.c.phone_number == OTHER)
            ).first()
            is None
        )


def test_the_pipeline_applies_chunks_in_order_even_when_they_share_a_number(
    registry: Container,
) -> None:
    interval = sys.getswitchinterval()
    chunks = [
        [parsed(registry, 0, "a1", "ASSIGNED", "2023-10-09", holder=ID_A)],
        [parsed(registry, 1, "o1", "ASSIGNED", "2023-10-10", number=OTHER, holder=ID_B)],
        [parsed(registry, 2, "c1", "CANCELLED", "2024-02-25")],  # waits for a1's write
        [parsed(registry, 3, "b1", "ASSIGNED", "2024-09-21", holder=ID_B)],
        [parsed(registry, 4, "a1", "ASSIGNED", "2023-10-09", holder=ID_A)],  # a duplicate
    ]
    results = []
    with registry.registry.pipeline(source="t") as pipeline:
        for chunk in chunks:
            results.extend(pipeline.put(chunk))
        results.extend(pipeline.close())
    assert sys.getswitchinterval() == interval
    assert sorted((x.index, x.outcome) for x in results) == [
        (0, Outcome.ACCEPTED),
        (1, Outcome.ACCEPTED),
        (2, Outcome.ACCEPTED),
        (3, Outcome.ACCEPTED),
        (4, Outcome.DUPLICATE),
    ]
    assert [(o, s, e) for o, _, s, e in tenure_rows(registry)] == [
        (1, date(2023, 10, 9), date(2024, 2, 25)),
        (2, date(2024, 9, 21), None),
    ]


def test_a_failed_write_surfaces_and_the_pipeline_still_closes(
    registry: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = sys.getswitchinterval()

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(registry.registry, "commit", broken)

    def run() -> None:
        with registry.registry.pipeline(source="t") as pipeline:
            pipeline.put([parsed(registry, 0, "a1", "ASSIGNED", "2023-10-09", holder=ID_A)])
            pipeline.close()

    with pytest.raises(RuntimeError, match="disk full"):
        run()
    assert sys.getswitchinterval() == interval


def test_on_an_empty_registry_nothing_is_read_and_a_reused_id_is_still_caught(
    registry: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[object] = []
    original = registry.registry.store.snapshot

    def counted() -> object:
        reads.append(1)
        return original()

    monkeypatch.setattr(registry.registry.store, "snapshot", counted)
    results = []
    with registry.registry.pipeline(source="t") as pipeline:
        results += pipeline.put([parsed(registry, 0, "x1", "ASSIGNED", "2023-10-09", holder=ID_A)])
        results += pipeline.put(
            [parsed(registry, 1, "x1", "ASSIGNED", "2023-10-09", number=OTHER, holder=ID_B)]
        )
        results += pipeline.close()
    assert reads == []
    assert sorted((x.index, x.outcome, x.reason) for x in results) == [
        (0, Outcome.ACCEPTED, None),
        (1, Outcome.REJECTED, "EVENT_ID_REUSED"),
    ]


def test_a_writer_between_chunks_of_an_empty_start_is_seen(registry: Container) -> None:
    results = []
    with registry.registry.pipeline(source="t") as pipeline:
        results += pipeline.put([parsed(registry, 0, "a1", "ASSIGNED", "2023-10-09", holder=ID_A)])
        registry.registry.apply(
            [parsed(registry, 9, "o1", "ASSIGNED", "2023-10-01", number=OTHER, holder=ID_A)],
            source="other",
        )
        results += pipeline.put(
            [parsed(registry, 1, "o2", "ASSIGNED", "2023-10-10", number=OTHER, holder=ID_B)]
        )
        results += pipeline.close()
    assert sorted((x.index, x.outcome, x.reason) for x in results) == [
        (0, Outcome.ACCEPTED, None),
        (1, Outcome.REJECTED, "ALREADY_ASSIGNED"),
    ]
    assert [h for _, h, _, _ in tenure_rows(registry, OTHER)] == [
        tenure_rows(registry)[0][1]  # A's masked ID: the other writer's holder stayed
    ]
