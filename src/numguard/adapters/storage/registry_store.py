"""SQL implementation of the registry store (SQLite and PostgreSQL through SQLAlchemy Core)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    exists,
    insert,
    select,
    tuple_,
    update,
)

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
from numguard.services.ports import ChangeSet, StoredState, WriteConflict

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


_POINT_QUERIES = 256
"""Up to this many keys, SQLite reads them one by one (a few µs each) instead of a join."""

_FINGERPRINT_OF = "SELECT fingerprint FROM lifecycle_events WHERE carrier = ? AND event_id = ?"

_COPY_THRESHOLD = 1000
"""From this many events on, PostgreSQL writes with COPY."""


def _write_path(dialect: str, events: int) -> str:
    """How a change set of *events* events is written: ``"sqlite"`` (multi-row ``VALUES``),
    ``"postgresql"`` (``COPY``) or ``"core"`` (SQLAlchemy Core: other databases, and small
    writes on PostgreSQL)."""
    if dialect == "sqlite" or (dialect == "postgresql" and events >= _COPY_THRESHOLD):
        return dialect
    return "core"


_EVENT_COLUMNS = (
    "carrier",
    "event_id",
    "phone_number",
    "type",
    "effective_date",
    "holder_id_type",
    "holder_hash",
    "holder_suffix_hash",
    "holder_masked",
    "to_carrier",
    "fingerprint",
    "source",
    "seq",
)
_STATE_COLUMNS = (
    "phone_number",
    "status",
    "carrier",
    "holder_id_type",
    "holder_hash",
    "holder_suffix_hash",
    "holder_masked",
    "tenure_start",
    "tenure_start_known",
    "ended_on",
    "earlier_change_on",
    "aging_ends_on",
    "last_event_on",
    "tenure_ordinal",
    "seq",
)
_TENURE_COLUMNS = (
    "phone_number",
    "ordinal",
    "holder_id_type",
    "holder_hash",
    "holder_suffix_hash",
    "holder_masked",
    "start",
    "end",
    "end_reason",
)


_STATUSES = {s.value: s for s in NumberStatus}
_ID_TYPES = {t.value: t for t in IdType}


@dataclass(slots=True)
class _WriteRows:
    """A change set as the driver's values in the column orders above, without the ``seq``
    column (last in each order), which only the write transaction knows."""

    dialect: str
    events: list[tuple[Any, ...]]
    new_states: list[tuple[Any, ...]]
    old_states: list[tuple[Any, ...]]
    new_tenures: list[tuple[Any, ...]]
    ended: list[tuple[Any, ...]]


class _IsoDays(dict[date | None, str | None]):
    """Dates as SQLite stores them (ISO text, as SQLAlchemy's ``Date`` type does), memoised:
    a batch has a few thousand distinct dates in hundreds of thousands of fields, and a
    lookup costs a fraction of ``isoformat``."""

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, key: date | None) -> str | None:
        value = None if key is None else key.isoformat()
        self[key] = value
        return value


class _SameDays(dict[date | None, date | None]):
    """Dates as psycopg takes them (the date itself), in the shape of :class:`_IsoDays`."""

    def __missing__(self, key: date | None) -> date | None:
        self[key] = key
        return key


class _Days(dict[Any, date | None]):
    """Dates read through the driver (SQLite hands back ISO text, psycopg a date), memoised:
    a registry has a few thousand distinct dates and millions of them in rows."""

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, key: Any) -> date | None:
        value = key if isinstance(key, date) else date.fromisoformat(key)
        self[key] = value
        return value


def _states_of(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[NumberState, int, int]]:
    """(state, tenure ordinal, seq) from driver rows in :data:`_STATE_COLUMNS` order."""
    holders: dict[tuple[str, str, str, str], HolderRef] = {}
    days = _Days()
    for r in rows:
        holder = None
        if r[4] is not None:
            key = (r[3], r[4], r[5], r[6])
            holder = holders.get(key)
            if holder is None:
                holder = HolderRef(_ID_TYPES[r[3]], r[4], r[5], r[6])
                holders[key] = holder
        state = NumberState(
            phone_number=r[0],
            status=_STATUSES[r[1]],
            carrier=r[2],
            holder=holder,
            tenure_start=days[r[7]],
            tenure_start_known=bool(r[8]),
            ended_on=days[r[9]],
            earlier_change_on=days[r[10]],
            aging_ends_on=days[r[11]],
            last_event_on=days[r[12]],
        )
        yield state, int(r[13]), int(r[14])


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _update_sql(table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    where = " AND ".join(f'"{k}" = ?' for k in keys)
    return f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608


_MAX_VARIABLES = 32_766
"""SQLite's default limit of parameters in one statement (since 3.32)."""


def _insert_many(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    seq: int | None = None,
) -> None:
    """SQLite: insert *rows* with multi-row ``VALUES`` statements of up to ~32k parameters.

    Each statement binds its parameters at once and then runs without Python's lock for all
    its rows; ``executemany`` steps row by row and takes the lock back after every row, so a
    write overlapping other Python work (:class:`~numguard.services.registry.BatchPipeline`)
    waited for the lock once a row and ran several times slower.
    """
    if not rows:
        return
    # With *seq*, the last column takes that integer in every row (rows leave it out).
    marks = ["?" for _ in columns] if seq is None else [*("?" for _ in columns[1:]), str(int(seq))]
    width = len(columns) if seq is None else len(columns) - 1
    connection = cursor.connection
    limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(limit, _MAX_VARIABLES) // width)
    row_marks = "(" + ", ".join(marks) + ")"
    head = f"INSERT INTO {table} ({_quoted(columns)}) VALUES "  # noqa: S608  fixed names
    full = head + ", ".join(row_marks for _ in range(per))
    chain = itertools.chain.from_iterable
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        sql = full if len(part) == per else head + ", ".join(row_marks for _ in part)
        cursor.execute(sql, list(chain(part)))


def _copy(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    seq: int | None = None,
) -> None:
    """PostgreSQL ``COPY ... FROM STDIN`` of *rows* (psycopg 3); with *seq*, the rows leave
    out the last column and every row takes *seq* there."""
    if not rows:
        return
    with cursor.copy(f"COPY {table} ({_quoted(columns)}) FROM STDIN") as copy:
        write_row = copy.write_row
        if seq is None:
            for row in rows:
                write_row(row)
        else:
            tick = (seq,)
            for row in rows:
                write_row(row + tick)


class _SqlRegistryReads:
    """Reads of many keys on one connection, through the driver: on SQLite one statement over
    a ``json_each`` array of the keys joined to the indexed table, on PostgreSQL ``unnest``
    joins; SQLAlchemy Core on other databases."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def _cursor(self) -> Any:
        """A DBAPI cursor on this connection."""
        return self.connection.connection.cursor()

    def existing_fingerprints(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Fingerprints of events already stored under these (carrier, event id) keys."""
        wanted = sorted(keys)  # probes in index order walk the B-tree pages in order
        if not wanted:
            return {}
        if self.dialect == "sqlite":
            return self._sqlite_fingerprints(wanted)
        if self.dialect == "postgresql":
            cur = self._cursor()
            try:
                cur.execute(
                    "SELECT e.carrier, e.event_id, e.fingerprint"
                    " FROM unnest(%s::text[], %s::text[]) AS k(carrier, event_id)"
                    " JOIN lifecycle_events e"
                    " ON e.carrier = k.carrier AND e.event_id = k.event_id",
                    ([k[0] for k in wanted], [k[1] for k in wanted]),
                )
                return {(c, e): fp for c, e, fp in cur.fetchall()}
            finally:
                cur.close()
        found: dict[tuple[str, str], str] = {}
        table = lifecycle_events.c
        for chunk in _chunks(wanted):
            rows = self.connection.execute(
                select(table.carrier, table.event_id, table.fingerprint).where(
                    tuple_(table.carrier, table.event_id).in_(chunk)
                )
            )
            for carrier, event_id, fp in rows:
                found[(carrier, event_id)] = fp
        return found

    def _sqlite_fingerprints(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        cur = self._cursor()
        try:
            if len(wanted) <= _POINT_QUERIES:
                found: dict[tuple[str, str], str] = {}
                for key in wanted:
                    cur.execute(_FINGERPRINT_OF, key)
                    row = cur.fetchone()
                    if row is not None:
                        found[key] = row[0]
                return found
            # One statement over a JSON array of the keys (CROSS JOIN keeps it outside: one
            # index probe per key): it runs without Python's lock from start to end, where
            # filling a key table row by row took the lock back after every row.
            cur.execute(
                "SELECT e.carrier, e.event_id, e.fingerprint FROM json_each(?) k"
                " CROSS JOIN lifecycle_events e"
                " WHERE e.carrier = k.value ->> 0 AND e.event_id = k.value ->> 1",
                (orjson.dumps(wanted).decode(),),
            )
            return {(c, e): fp for c, e, fp in cur.fetchall()}
        finally:
            cur.close()

    def load_states(self, numbers: Iterable[str]) -> dict[str, StoredState]:
        """Current states of these numbers (absent ones are not in the result)."""
        wanted = sorted(numbers)
        if not wanted:
            return {}
        if self.dialect in ("sqlite", "postgresql"):
            return self._load_states_raw(wanted)
        found: dict[str, StoredState] = {}
        for chunk in _chunks(wanted):
            rows = self.connection.execute(
                select(number_states).where(number_states.c.phone_number.in_(chunk))
            )
            for row in rows:
                found[row.phone_number] = StoredState(state_from_row(row), row.tenure_ordinal)
        return found

    def _load_states_raw(self, wanted: list[str]) -> dict[str, StoredState]:
        columns = ", ".join(f"s.{name}" for name in _STATE_COLUMNS)
        cur = self._cursor()
        try:
            if self.dialect == "postgresql":
                cur.execute(
                    f"SELECT {columns} FROM unnest(%s::text[]) AS k(phone_number)"  # noqa: S608  fixed column names
                    " JOIN number_states s ON s.phone_number = k.phone_number",
                    (wanted,),
                )
                rows = cur.fetchall()
            elif len(wanted) <= _POINT_QUERIES:
                rows = []
                for number in wanted:
                    cur.execute(
                        f"SELECT {columns} FROM number_states s WHERE s.phone_number = ?",  # noqa: S608
                        (number,),
                    )
                    rows.extend(cur.fetchall())
            else:
                cur.execute(
                    f"SELECT {columns} FROM json_each(?) k CROSS JOIN number_states s"  # noqa: S608
                    " WHERE s.phone_number = k.value",
                    (orjson.dumps(wanted).decode(),),
                )
                rows = cur.fetchall()
        finally:
            cur.close()
        return {
            state.phone_number: StoredState(state, ordinal)
            for state, ordinal, _ in _states_of(rows)
        }


def encode(changes: ChangeSet, dialect: str) -> _WriteRows:
    """The change set as rows for *dialect*'s fast path (see :class:`_WriteRows`)."""
    # The enums are StrEnums: str() gives the value, several times faster than .value.
    days: Mapping[date | None, Any] = _IsoDays() if dialect == "sqlite" else _SameDays()
    flag: Callable[[bool], Any] = int if dialect == "sqlite" else bool
    day = days.__getitem__
    events: list[tuple[Any, ...]] = []
    for record in changes.events:
        e, h = record.event, record.event.holder
        events.append(
            (
                e.carrier,
                e.event_id,
                e.phone_number,
                str(e.type),
                day(e.effective_date),
                str(h.id_type) if h else None,
                h.id_hash if h else None,
                h.suffix_hash if h else None,
                h.masked if h else None,
                e.to_carrier,
                record.fingerprint,
                record.source,
            )
        )
    new_states: list[tuple[Any, ...]] = []
    old_states: list[tuple[Any, ...]] = []
    for number, stored in changes.states.items():
        s, h = stored.state, stored.state.holder
        row = (
            number,
            str(s.status),
            s.carrier,
            str(h.id_type) if h else None,
            h.id_hash if h else None,
            h.suffix_hash if h else None,
            h.masked if h else None,
            day(s.tenure_start),
            flag(s.tenure_start_known),
            day(s.ended_on),
            day(s.earlier_change_on),
            day(s.aging_ends_on),
            day(s.last_event_on),
            stored.tenure_ordinal,
        )
        (new_states if number in changes.new_numbers else old_states).append(row)
    new_tenures: list[tuple[Any, ...]] = []
    ended: list[tuple[Any, ...]] = []
    for t in changes.tenures:
        if t.is_new:
            new_tenures.append(
                (
                    t.phone_number,
                    t.ordinal,
                    t.holder_id_type,
                    t.holder_hash,
                    t.holder_suffix_hash,
                    t.holder_masked,
                    day(t.start),
                    day(t.end),
                    t.end_reason,
                )
            )
        else:
            ended.append((day(t.end), t.end_reason, t.phone_number, t.ordinal))
    return _WriteRows(dialect, events, new_states, old_states, new_tenures, ended)


class SqlRegistrySnapshot(_SqlRegistryReads):
    """Reads outside a write transaction; ``seq`` is the registry clock, read first, so every
    write these reads may miss has a higher tick."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.seq = int(connection.execute(select(registry_clock.c.seq)).scalar_one())


_UNIQUE_SQLITE = frozenset({1555, 2067})
"""SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE."""


def _unique_violation(exc: BaseException) -> bool:
    """Whether *exc* (a driver error, or SQLAlchemy's wrapper of one) broke a unique key."""
    error = getattr(exc, "orig", None) or exc
    return (
        getattr(error, "sqlite_errorcode", None) in _UNIQUE_SQLITE
        or getattr(error, "sqlstate", None) == "23505"
    )


class SqlRegistryTransaction(_SqlRegistryReads):
    """One write transaction; ``seq`` is this transaction's tick of the registry clock.

    Writes of many rows go through the driver directly: multi-row ``VALUES`` on SQLite;
    ``COPY`` on PostgreSQL (into the table, or into a temporary table for updates). Other
    databases, and small writes on PostgreSQL, use SQLAlchemy Core. All of it, and the reads,
    run in the one transaction.
    """

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.seq = int(
            connection.execute(
                update(registry_clock)
                .where(registry_clock.c.id == 1)
                .values(seq=registry_clock.c.seq + 1)
                .returning(registry_clock.c.seq)
            ).scalar_one()
        )

    def write(self, changes: ChangeSet) -> None:
        """Append the events, upsert the states, insert and update the tenures."""
        path = _write_path(self.dialect, len(changes.events))
        if path == "sqlite":
            self._write_sqlite(changes)
        elif path == "postgresql":
            self._write_postgres(changes)
        else:
            self._write_core(changes)

    # fast paths -----------------------------------------------------------------------------

    def _encoded(self, changes: ChangeSet) -> _WriteRows:
        """The change set's rows: as encoded before the transaction, or now."""
        done = changes.encoded
        if isinstance(done, _WriteRows) and done.dialect == self.dialect:
            return done
        return encode(changes, self.dialect)

    def _write_sqlite(self, changes: ChangeSet) -> None:
        rows = self._encoded(changes)
        seq = self.seq
        cur = self._cursor()
        try:
            _insert_many(cur, "lifecycle_events", _EVENT_COLUMNS, rows.events, seq)
            _insert_many(cur, "number_states", _STATE_COLUMNS, rows.new_states, seq)
            if rows.old_states:
                cur.executemany(
                    _update_sql("number_states", _STATE_COLUMNS[1:], ("phone_number",)),
                    [(*r[1:], seq, r[0]) for r in rows.old_states],
                )
            _insert_many(cur, "tenures", _TENURE_COLUMNS, rows.new_tenures)
            if rows.ended:
                cur.executemany(
                    _update_sql("tenures", ("end", "end_reason"), ("phone_number", "ordinal")),
                    rows.ended,
                )
        finally:
            cur.close()

    def _write_postgres(self, changes: ChangeSet) -> None:
        rows = self._encoded(changes)
        seq = self.seq
        cur = self._cursor()
        try:
            _copy(cur, "lifecycle_events", _EVENT_COLUMNS, rows.events, seq)
            _copy(cur, "number_states", _STATE_COLUMNS, rows.new_states, seq)
            _copy(cur, "tenures", _TENURE_COLUMNS, rows.new_tenures)
            if rows.old_states:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS ng_state_updates"
                    " (LIKE number_states) ON COMMIT DELETE ROWS"
                )
                cur.execute("TRUNCATE ng_state_updates")
                _copy(cur, "ng_state_updates", _STATE_COLUMNS, rows.old_states, seq)
                sets = ", ".join(f'"{c}" = u."{c}"' for c in _STATE_COLUMNS[1:])
                cur.execute(
                    f"UPDATE number_states s SET {sets} FROM ng_state_updates u"  # noqa: S608
                    " WHERE s.phone_number = u.phone_number"
                )
            if rows.ended:
                cur.execute(
                    'CREATE TEMP TABLE IF NOT EXISTS ng_tenure_ends ("end" date,'
                    " end_reason varchar(16), phone_number varchar(16), ordinal integer)"
                    " ON COMMIT DELETE ROWS"
                )
                cur.execute("TRUNCATE ng_tenure_ends")
                _copy(
                    cur,
                    "ng_tenure_ends",
                    ("end", "end_reason", "phone_number", "ordinal"),
                    rows.ended,
                )
                cur.execute(
                    'UPDATE tenures t SET "end" = u."end", end_reason = u.end_reason'
                    " FROM ng_tenure_ends u"
                    " WHERE t.phone_number = u.phone_number AND t.ordinal = u.ordinal"
                )
        finally:
            cur.close()

    def _write_core(self, changes: ChangeSet) -> None:
        """SQLAlchemy Core: any database, and small batches on PostgreSQL."""
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
            columns: dict[str, Any] = {
                c: bindparam(c) for c in updates[0] if c not in ("phone_number", "b_number")
            }
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
        try:
            with self.engine.begin() as connection:
                yield SqlRegistryTransaction(connection)
        except Exception as exc:
            if _unique_violation(exc):
                raise WriteConflict(str(exc).splitlines()[0]) from exc
            raise

    @contextmanager
    def snapshot(self) -> Iterator[SqlRegistrySnapshot]:
        with self.engine.connect() as connection:
            yield SqlRegistrySnapshot(connection)

    def existing_fingerprints(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Fingerprints of events stored under these keys, read outside any write transaction
        (events are never updated or deleted: what this finds stays true)."""
        with self.engine.connect() as conn:
            return _SqlRegistryReads(conn).existing_fingerprints(keys)

    def encode(self, changes: ChangeSet) -> ChangeSet:
        """*changes* with its rows made for this database's fast write path, which the write
        transaction then takes as they are: a bulk writer does that Python work beside the
        previous chunk's write instead of inside its own."""
        dialect = self.engine.dialect.name
        if _write_path(dialect, len(changes.events)) == "core":
            return changes  # SQLAlchemy Core takes no rows
        return replace(changes, encoded=encode(changes, dialect))

    def empty_at(self) -> int | None:
        with self.engine.connect() as conn:
            seq = conn.execute(
                select(registry_clock.c.seq).where(
                    ~exists().select_from(lifecycle_events), ~exists().select_from(number_states)
                )
            ).scalar()
            return None if seq is None else int(seq)

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
                str(r[0]): str(r[1]) for r in conn.execute(select(carriers.c.code, carriers.c.name))
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
        """States changed after *seq*, in seq order (read through the driver on SQLite and
        PostgreSQL: building 800k states through SQLAlchemy rows took 16 s, now about 4 s)."""
        with self.engine.connect() as conn:
            if conn.dialect.name not in ("sqlite", "postgresql"):
                result = conn.execute(
                    select(number_states)
                    .where(number_states.c.seq > seq)
                    .order_by(number_states.c.seq)
                )
                for row in result:
                    yield row.seq, state_from_row(row)
                return
            mark = "?" if conn.dialect.name == "sqlite" else "%s"
            cur = conn.connection.cursor()
            try:
                cur.execute(
                    f"SELECT {_quoted(_STATE_COLUMNS)} FROM number_states"  # noqa: S608
                    f" WHERE seq > {mark} ORDER BY seq",
                    (seq,),
                )
                while rows := cur.fetchmany(10_000):
                    for state, _, tick in _states_of(rows):
                        yield tick, state
            finally:
                cur.close()

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
