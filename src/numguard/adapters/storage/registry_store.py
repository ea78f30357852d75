"""SQL implementation of the registry store (SQLite and PostgreSQL through SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, tuple_, update

from numguard.adapters.storage.tables import (
    carrier_prefixes,
    carriers,
    lifecycle_events,
    number_states,
    registry_clock,
    tenures,
)
from numguard.domain.coverage import CarrierCoverage
from numguard.domain.identity import HolderRef, IdType
from numguard.domain.lifecycle import NumberState, NumberStatus
from numguard.services.ports import ChangeSet, StoredState

_CHUNK = 500


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def state_from_row(row: Any) -> NumberState:
    """Rebuild a domain state from a ``number_states`` row."""
    holder = None
    if row.holder_hash is not None:
        holder = HolderRef(
            IdType(row.holder_id_type), row.holder_hash, row.holder_suffix_hash, row.holder_masked
        )
    return NumberState(
        phone_number=row.phone_number,
        status=NumberStatus(row.status),
        carrier=row.carrier,
        holder=holder,
        tenure_start=row.tenure_start,
        tenure_start_known=bool(row.tenure_start_known),
        ended_on=row.ended_on,
        earlier_change_on=row.earlier_change_on,
        aging_ends_on=row.aging_ends_on,
        last_event_on=row.last_event_on,
    )


def _state_values(stored: StoredState, seq: int) -> dict[str, Any]:
    s = stored.state
    h = s.holder
    return {
        "phone_number": s.phone_number,
        "status": s.status.value,
        "carrier": s.carrier,
        "holder_id_type": h.id_type.value if h else None,
        "holder_hash": h.id_hash if h else None,
        "holder_suffix_hash": h.suffix_hash if h else None,
        "holder_masked": h.masked if h else None,
        "tenure_start": s.tenure_start,
        "tenure_start_known": s.tenure_start_known,
        "ended_on": s.ended_on,
        "earlier_change_on": s.earlier_change_on,
        "aging_ends_on": s.aging_ends_on,
        "last_event_on": s.last_event_on,
        "tenure_ordinal": stored.tenure_ordinal,
        "seq": seq,
    }


class SqlRegistryTransaction:
    """One write transaction; ``seq`` is this transaction's tick of the registry clock."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.seq = int(
            connection.execute(
                update(registry_clock)
                .where(registry_clock.c.id == 1)
                .values(seq=registry_clock.c.seq + 1)
                .returning(registry_clock.c.seq)
            ).scalar_one()
        )

    def existing_fingerprints(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        found: dict[tuple[str, str], str] = {}
        table = lifecycle_events.c
        for chunk in _chunks(list(keys)):
            rows = self.connection.execute(
                select(table.carrier, table.event_id, table.fingerprint).where(
                    tuple_(table.carrier, table.event_id).in_(chunk)
                )
            )
            for carrier, event_id, fp in rows:
                found[(carrier, event_id)] = fp
        return found

    def load_states(self, numbers: Iterable[str]) -> dict[str, StoredState]:
        found: dict[str, StoredState] = {}
        for chunk in _chunks(list(numbers)):
            rows = self.connection.execute(
                select(number_states).where(number_states.c.phone_number.in_(chunk))
            )
            for row in rows:
                found[row.phone_number] = StoredState(state_from_row(row), row.tenure_ordinal)
        return found

    def write(self, changes: ChangeSet) -> None:
        conn = self.connection
        event_rows = []
        for record in changes.events:
            e, h = record.event, record.event.holder
            event_rows.append(
                {
                    "carrier": e.carrier,
                    "event_id": e.event_id,
                    "phone_number": e.phone_number,
                    "type": e.type.value,
                    "effective_date": e.effective_date,
                    "holder_id_type": h.id_type.value if h else None,
                    "holder_hash": h.id_hash if h else None,
                    "holder_suffix_hash": h.suffix_hash if h else None,
                    "holder_masked": h.masked if h else None,
                    "to_carrier": e.to_carrier,
                    "fingerprint": record.fingerprint,
                    "seq": self.seq,
                    "source": record.source,
                }
            )
        if event_rows:
            conn.execute(insert(lifecycle_events), event_rows)
        inserts = [
            _state_values(s, self.seq)
            for n, s in changes.states.items()
            if n in changes.new_numbers
        ]
        updates = [
            {**_state_values(s, self.seq), "b_number": n}
            for n, s in changes.states.items()
            if n not in changes.new_numbers
        ]
        if inserts:
            conn.execute(insert(number_states), inserts)
        if updates:
            columns = {c: bindparam(c) for c in updates[0] if c not in ("phone_number", "b_number")}
            conn.execute(
                update(number_states)
                .where(number_states.c.phone_number == bindparam("b_number"))
                .values(**columns),
                updates,
            )
        new_tenures = [
            {
                "phone_number": t.phone_number,
                "ordinal": t.ordinal,
                "holder_id_type": t.holder_id_type,
                "holder_hash": t.holder_hash,
                "holder_suffix_hash": t.holder_suffix_hash,
                "holder_masked": t.holder_masked,
                "start": t.start,
                "end": t.end,
                "end_reason": t.end_reason,
            }
            for t in changes.tenures
            if t.is_new
        ]
        ended = [
            {
                "b_number": t.phone_number,
                "b_ordinal": t.ordinal,
                "end": t.end,
                "end_reason": t.end_reason,
            }
            for t in changes.tenures
            if not t.is_new
        ]
        if new_tenures:
            conn.execute(insert(tenures), new_tenures)
        if ended:
            conn.execute(
                update(tenures)
                .where(
                    tenures.c.phone_number == bindparam("b_number"),
                    tenures.c.ordinal == bindparam("b_ordinal"),
                )
                .values(end=bindparam("end"), end_reason=bindparam("end_reason")),
                ended,
            )


class SqlRegistryStore:
    """Registry storage on one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlRegistryTransaction]:
        with self.engine.begin() as connection:
            yield SqlRegistryTransaction(connection)

    def carriers(self) -> list[CarrierCoverage]:
        with self.engine.connect() as conn:
            prefixes: dict[str, list[str]] = {}
            for prefix, code in conn.execute(
                select(carrier_prefixes.c.prefix, carrier_prefixes.c.carrier)
            ):
                prefixes.setdefault(code, []).append(prefix)
            return [
                CarrierCoverage(code, since, tuple(sorted(prefixes.get(code, []))))
                for code, since in conn.execute(select(carriers.c.code, carriers.c.tracking_since))
            ]

    def carrier_names(self) -> dict[str, str]:
        """Carrier display names by code."""
        with self.engine.connect() as conn:
            return {
                code: name for code, name in conn.execute(select(carriers.c.code, carriers.c.name))
            }

    def add_carrier(
        self, coverage: CarrierCoverage, name: str, *, now: datetime
    ) -> CarrierCoverage:
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(carriers.c.code).where(carriers.c.code == coverage.code)
            ).first()
            values = {"name": name, "tracking_since": coverage.tracking_since}
            if exists:
                conn.execute(
                    update(carriers).where(carriers.c.code == coverage.code).values(**values)
                )
            else:
                conn.execute(insert(carriers).values(code=coverage.code, created_at=now, **values))
            if coverage.prefixes:
                conn.execute(
                    delete(carrier_prefixes).where(carrier_prefixes.c.carrier == coverage.code)
                )
                conn.execute(
                    insert(carrier_prefixes),
                    [{"prefix": p, "carrier": coverage.code} for p in coverage.prefixes],
                )
        return coverage

    def states_since(self, seq: int) -> Iterator[tuple[int, NumberState]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(number_states).where(number_states.c.seq > seq).order_by(number_states.c.seq)
            )
            for row in rows:
                yield row.seq, state_from_row(row)

    def all_states(self) -> Iterator[tuple[int, NumberState]]:
        return self.states_since(-1)

    def current_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(registry_clock.c.seq)).scalar_one())

    def tenures_of(self, phone_number: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(tenures)
                .where(tenures.c.phone_number == phone_number)
                .order_by(tenures.c.ordinal)
            )
            return [dict(row._mapping) for row in rows]


def today_utc() -> date:
    """Today's date in UTC (the registry's calendar)."""
    return datetime.now().astimezone().date()
