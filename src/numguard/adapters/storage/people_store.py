"""SQL storage of platforms, bindings, unbind requests and lookups (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    insert,
    select,
    text,
    tuple_,
    update,
)

from numguard.adapters.storage.registry_store import state_from_row
from numguard.adapters.storage.tables import (
    bindings,
    lookups,
    notification_events,
    number_states,
    platforms,
    tenures,
    unbind_request_items,
    unbind_requests,
    webhook_deliveries,
)
from numguard.domain.binding import Binding, Category
from numguard.domain.lifecycle import NumberState
from numguard.domain.notification import NotificationType
from numguard.services.bindings import (
    PlatformRecord,
    StoredUnbindRequest,
    UnbindDraft,
    UnbindListener,
    UnbindState,
    unbind_delivery,
)
from numguard.services.people import LookupBlocked, LookupKind, LookupRecord, LookupState

_CHUNK = 500
"""Keys per IN (...) query: well inside SQLite's and PostgreSQL's parameter limits."""


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _must(value: datetime | None) -> datetime:
    aware = _aware(value)
    assert aware is not None  # noqa: S101  NOT NULL columns
    return aware


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _platform(row: Any) -> PlatformRecord:
    return PlatformRecord(
        row.code,
        row.name,
        Category(row.category),
        row.contact,
        row.webhook_url,
        _must(row.created_at),
    )


def _binding(row: Any) -> Binding:
    return Binding(
        row.platform,
        row.account_ref,
        row.phone_number,
        Category(row.category),
        row.bound_at,
        row.last_active_at,
    )


def _same(row: Any, b: Binding) -> bool:
    return bool(
        row.category == b.category.value
        and row.bound_at == b.bound_at
        and row.last_active_at == b.last_active_at
    )


def _values(platform: str, b: Binding, now: datetime) -> dict[str, Any]:
    return {
        "platform": platform,
        "account_ref": b.account_ref,
        "phone_number": b.phone_number,
        "category": b.category.value,
        "bound_at": b.bound_at,
        "last_active_at": b.last_active_at,
        "updated_at": now,
    }


def _changes(row: Any, b: Binding, now: datetime) -> dict[str, Any]:
    """The update of stored binding *row* to *b* (its parameters for :func:`_update`)."""
    return {
        "row_id": row.id,
        "category": b.category.value,
        "bound_at": b.bound_at,
        "last_active_at": b.last_active_at,
        "updated_at": now,
    }


def _update(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """Apply :func:`_changes` parameter sets in one executemany."""
    if not changes:
        return
    conn.execute(
        update(bindings)
        .where(bindings.c.id == bindparam("row_id"))
        .values(
            category=bindparam("category"),
            bound_at=bindparam("bound_at"),
            last_active_at=bindparam("last_active_at"),
            updated_at=bindparam("updated_at"),
        ),
        changes,
    )


class SqlBindingStore:
    """The :class:`~numguard.services.bindings.BindingStore` on one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # platforms --------------------------------------------------------------------------------

    def upsert_platform(self, record: PlatformRecord) -> PlatformRecord:
        """Insert the platform or update its name, category, contact and webhook."""
        values = {
            "name": record.name,
            "category": record.category.value,
            "contact": record.contact,
            "webhook_url": record.webhook_url,
        }
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(platforms.c.code).where(platforms.c.code == record.code)
            ).first()
            if exists:
                conn.execute(
                    update(platforms).where(platforms.c.code == record.code).values(**values)
                )
            else:
                conn.execute(
                    insert(platforms).values(
                        code=record.code, created_at=record.created_at, **values
                    )
                )
        return record

    def get_platform(self, code: str) -> PlatformRecord | None:
        """The platform with this code, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(platforms).where(platforms.c.code == code)).first()
        return _platform(row) if row is not None else None

    def list_platforms(self) -> list[PlatformRecord]:
        """Every platform, by code."""
        with self.engine.connect() as conn:
            return [
                _platform(r) for r in conn.execute(select(platforms).order_by(platforms.c.code))
            ]

    # bindings ---------------------------------------------------------------------------------

    def _existing(
        self, conn: Connection, platform: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        found: dict[tuple[str, str], Any] = {}
        for part in _chunks(keys):
            rows = conn.execute(
                select(bindings).where(
                    bindings.c.platform == platform,
                    tuple_(bindings.c.account_ref, bindings.c.phone_number).in_(list(part)),
                )
            )
            for row in rows:
                found[(row.account_ref, row.phone_number)] = row
        return found

    def put_bindings(self, platform: str, items: Sequence[Binding], now: datetime) -> list[str]:
        """Upsert in one transaction; per item ``created``, ``updated`` or ``unchanged``."""
        with self.engine.begin() as conn:
            return self._put(conn, platform, items, now)

    def _put(
        self, conn: Connection, platform: str, items: Sequence[Binding], now: datetime
    ) -> list[str]:
        existing = self._existing(conn, platform, [(b.account_ref, b.phone_number) for b in items])
        outcomes: list[str] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for b in items:
            row = existing.get((b.account_ref, b.phone_number))
            if row is None:
                inserts.append(_values(platform, b, now))
                outcomes.append("created")
            elif _same(row, b):
                outcomes.append("unchanged")
            else:
                updates.append(_changes(row, b, now))
                outcomes.append("updated")
        if inserts:
            conn.execute(insert(bindings), inserts)
        _update(conn, updates)
        return outcomes

    def delete_bindings(self, platform: str, keys: Sequence[tuple[str, str]]) -> list[bool]:
        """Delete (account_ref, phone) keys in one transaction; per item whether it existed."""
        with self.engine.begin() as conn:
            existing = self._existing(conn, platform, keys)
            ids = [existing[k].id for k in dict.fromkeys(keys) if k in existing]
            for part in _chunks(ids):
                conn.execute(delete(bindings).where(bindings.c.id.in_(list(part))))
        gone: set[tuple[str, str]] = set()
        result = []
        for key in keys:
            result.append(key in existing and key not in gone)
            gone.add(key)
        return result

    def bindings_of(self, phone_number: str, platform: str | None = None) -> list[Binding]:
        """Bindings on a number (of one platform, or of all), by platform and account."""
        query = select(bindings).where(bindings.c.phone_number == phone_number)
        if platform is not None:
            query = query.where(bindings.c.platform == platform)
        query = query.order_by(bindings.c.platform, bindings.c.account_ref)
        with self.engine.connect() as conn:
            return [_binding(r) for r in conn.execute(query)]

    def replace_bindings(
        self, platform: str, chunks: Iterable[Sequence[Binding]], now: datetime
    ) -> tuple[int, int, int, int]:
        """Make the platform's bindings exactly those in *chunks*, in one transaction.

        The platform's current keys are read once into memory (about 100 bytes a binding);
        each chunk is compared against them and only differences are written (changed rows by
        the id already read, without a second query).
        """
        created = updated = unchanged = 0
        with self.engine.begin() as conn:
            current: dict[tuple[str, str], Any] = {
                (r.account_ref, r.phone_number): r
                for r in conn.execute(select(bindings).where(bindings.c.platform == platform))
            }
            for chunk in chunks:
                inserts: list[dict[str, Any]] = []
                changed: list[dict[str, Any]] = []
                for b in chunk:
                    row = current.pop((b.account_ref, b.phone_number), None)
                    if row is None:
                        inserts.append(_values(platform, b, now))
                    elif _same(row, b):
                        unchanged += 1
                    else:
                        changed.append(_changes(row, b, now))
                if inserts:
                    conn.execute(insert(bindings), inserts)
                    created += len(inserts)
                _update(conn, changed)
                updated += len(changed)
            stale = [r.id for r in current.values()]
            for part in _chunks(stale):
                conn.execute(delete(bindings).where(bindings.c.id.in_(list(part))))
        return created, updated, unchanged, len(stale)

    # the registry's view of a number -----------------------------------------------------------

    def number_state(self, phone_number: str) -> NumberState | None:
        """The number's current state, or None when nothing was ever reported."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(number_states).where(number_states.c.phone_number == phone_number)
            ).first()
        return state_from_row(row) if row is not None else None

    def numbers_of_holder(self, id_hash: str) -> list[NumberState]:
        """States of the numbers whose current (or, if cancelled, last) holder has *id_hash*."""
        with self.engine.connect() as conn:
            phones = select(tenures.c.phone_number).where(tenures.c.holder_hash == id_hash)
            rows = conn.execute(
                select(number_states)
                .where(
                    number_states.c.phone_number.in_(phones),
                    number_states.c.holder_hash == id_hash,
                )
                .order_by(number_states.c.carrier, number_states.c.phone_number)
            )
            return [state_from_row(r) for r in rows]

    # unbind requests --------------------------------------------------------------------------

    def open_unbind_request_platforms(self, phone_number: str, tenure_start: date) -> set[str]:
        """Platforms with a pending request for this number and tenure."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(unbind_requests.c.platform).where(
                    unbind_requests.c.phone_number == phone_number,
                    unbind_requests.c.tenure_start == tenure_start,
                    unbind_requests.c.status == UnbindState.PENDING.value,
                )
            )
            return {str(r[0]) for r in rows}

    def insert_unbind_requests(
        self, drafts: Sequence[UnbindDraft], listeners: Sequence[UnbindListener]
    ) -> None:
        """Insert requests and their items, and run *listeners*, in one transaction."""
        with self.engine.begin() as conn:
            insert_unbind_requests(conn, drafts)
            for listener in listeners:
                listener(conn, drafts)

    def _requests(
        self, conn: Connection, where: Any, order: Any, limit: int | None = None
    ) -> list[StoredUnbindRequest]:
        query = select(unbind_requests).where(where).order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        rows = list(conn.execute(query))
        refs: dict[str, list[str]] = {r.id: [] for r in rows}
        ids = list(refs)
        for part in _chunks(ids):
            for request_id, ref in conn.execute(
                select(unbind_request_items.c.request_id, unbind_request_items.c.account_ref)
                .where(unbind_request_items.c.request_id.in_(list(part)))
                .order_by(unbind_request_items.c.account_ref)
            ):
                refs[request_id].append(ref)
        deliveries = _unbind_deliveries(conn, rows)
        return [
            StoredUnbindRequest(
                r.id,
                r.platform,
                r.phone_number,
                r.tenure_start,
                UnbindState(r.status),
                _must(r.created_at),
                r.due_on,
                _aware(r.resolved_at),
                r.reason,
                unbind_delivery(deliveries.get(r.id, ())),
                tuple(refs[r.id]),
            )
            for r in rows
        ]

    def unbind_request(self, request_id: str) -> StoredUnbindRequest | None:
        """One request with its account references, or None."""
        with self.engine.connect() as conn:
            found = self._requests(conn, unbind_requests.c.id == request_id, [unbind_requests.c.id])
        return found[0] if found else None

    def unbind_requests_for(
        self, phone_number: str, tenure_start: date
    ) -> list[StoredUnbindRequest]:
        """Requests for a number made in a tenure, newest first."""
        with self.engine.connect() as conn:
            return self._requests(
                conn,
                and_(
                    unbind_requests.c.phone_number == phone_number,
                    unbind_requests.c.tenure_start == tenure_start,
                ),
                [unbind_requests.c.created_at.desc(), unbind_requests.c.platform],
            )

    def unbind_requests_of_platform(
        self, platform: str, status: UnbindState | None, limit: int
    ) -> list[StoredUnbindRequest]:
        """A platform's requests, oldest first (optionally of one status)."""
        where = unbind_requests.c.platform == platform
        if status is not None:
            where = and_(where, unbind_requests.c.status == status.value)
        with self.engine.connect() as conn:
            return self._requests(
                conn, where, [unbind_requests.c.created_at, unbind_requests.c.id], limit
            )

    def resolve_unbind_request(
        self, request_id: str, status: UnbindState, reason: str | None, now: datetime
    ) -> bool:
        """Resolve a pending request; DONE also deletes its bindings. One transaction."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(unbind_requests)
                .where(
                    unbind_requests.c.id == request_id,
                    unbind_requests.c.status == UnbindState.PENDING.value,
                )
                .values(status=status.value, reason=reason, resolved_at=now)
            ).rowcount
            if not changed:
                return False
            if status is UnbindState.DONE:
                row = conn.execute(
                    select(unbind_requests.c.platform, unbind_requests.c.phone_number).where(
                        unbind_requests.c.id == request_id
                    )
                ).one()
                refs = select(unbind_request_items.c.account_ref).where(
                    unbind_request_items.c.request_id == request_id
                )
                conn.execute(
                    delete(bindings).where(
                        bindings.c.platform == row.platform,
                        bindings.c.phone_number == row.phone_number,
                        bindings.c.account_ref.in_(refs),
                    )
                )
        return True


_UNBIND_EVENT = str(NotificationType.BINDING_UNBIND_REQUESTED)


def _unbind_deliveries(conn: Connection, rows: Sequence[Any]) -> dict[str, list[tuple[str, int]]]:
    """``(status, attempts)`` of the outbox deliveries of each request's signed event (the
    outbox writes it with the cause ``unbind:<request id>`` for the request's platform)."""
    found: dict[str, list[tuple[str, int]]] = {}
    e, d = notification_events.c, webhook_deliveries.c
    for part in _chunks(rows):
        query = (
            select(e.cause, d.status, d.attempts)
            .join(webhook_deliveries, d.event == e.id)
            .where(
                e.platform.in_(sorted({r.platform for r in part})),
                e.cause.in_([f"unbind:{r.id}" for r in part]),
                e.type == _UNBIND_EVENT,
            )
        )
        for cause, status, attempts in conn.execute(query):
            found.setdefault(cause.removeprefix("unbind:"), []).append((status, int(attempts)))
    return found


def insert_unbind_requests(conn: Connection, drafts: Sequence[UnbindDraft]) -> None:
    """The one place unbind request rows are inserted (inside the caller's transaction)."""
    if not drafts:
        return
    conn.execute(
        insert(unbind_requests),
        [
            {
                "id": d.request_id,
                "platform": d.platform,
                "phone_number": d.phone_number,
                "tenure_start": d.tenure_start,
                "status": UnbindState.PENDING.value,
                "created_at": d.created_at,
                "due_on": d.due_on,
                "resolved_at": None,
                "reason": None,
            }
            for d in drafts
        ],
    )
    conn.execute(
        insert(unbind_request_items),
        [
            {"request_id": d.request_id, "account_ref": ref}
            for d in drafts
            for ref in d.account_refs
        ],
    )


# lookups --------------------------------------------------------------------------------------


def _lookup(row: Any) -> LookupRecord:
    return LookupRecord(
        lookup_id=row.id,
        phone_number=row.phone_number,
        kind=LookupKind(row.kind),
        claim_type=row.claim_type,
        claim_hash=row.claim_hash,
        code_hash=row.code_hash,
        code_expires_at=_must(row.code_expires_at),
        attempts=row.attempts,
        status=LookupState(row.status),
        created_at=_must(row.created_at),
        verified_at=_aware(row.verified_at),
        session_hash=row.session_hash,
        session_expires_at=_aware(row.session_expires_at),
        locked_at=_aware(row.locked_at),
    )


class SqlLookupStore:
    """The :class:`~numguard.services.people.LookupStore` on one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        record: LookupRecord,
        since: datetime,
        blocked: Callable[[Sequence[LookupRecord]], LookupBlocked | None],
    ) -> LookupBlocked | None:
        """Insert *record* unless *blocked*, given the number's lookups created after *since*,
        names something in the way; returns None when inserted, else that answer.

        Check and insert are one transaction that concurrent starts of the same number cannot
        interleave with: on PostgreSQL a transaction-scoped advisory lock per number; on SQLite
        the database's write lock, taken before reading.
        """
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                digest = hashlib.blake2b(record.phone_number.encode(), digest_size=8).digest()
                key = int.from_bytes(digest, "big", signed=True)
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            else:
                # Take SQLite's write lock before reading, so two starts cannot both pass.
                conn.execute(
                    update(lookups).where(lookups.c.id == record.lookup_id).values(attempts=0)
                )
            recent = [
                _lookup(row)
                for row in conn.execute(
                    select(lookups).where(
                        lookups.c.phone_number == record.phone_number,
                        lookups.c.created_at > since,
                    )
                )
            ]
            in_the_way = blocked(recent)
            if in_the_way is not None:
                return in_the_way
            conn.execute(
                insert(lookups).values(
                    id=record.lookup_id,
                    phone_number=record.phone_number,
                    kind=record.kind.value,
                    claim_type=record.claim_type,
                    claim_hash=record.claim_hash,
                    code_hash=record.code_hash,
                    code_expires_at=record.code_expires_at,
                    attempts=record.attempts,
                    status=record.status.value,
                    created_at=record.created_at,
                    verified_at=None,
                    session_hash=None,
                    session_expires_at=None,
                )
            )
        return None

    def discard(self, lookup_id: str) -> None:
        """Remove a lookup whose code could not be sent (so the person may try again)."""
        with self.engine.begin() as conn:
            conn.execute(delete(lookups).where(lookups.c.id == lookup_id))

    def get(self, lookup_id: str) -> LookupRecord | None:
        """The lookup with this id, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(lookups).where(lookups.c.id == lookup_id)).first()
        return _lookup(row) if row is not None else None

    def wrong_attempt(self, lookup_id: str, max_attempts: int, now: datetime) -> int:
        """Count one wrong code (atomically); the lookup locks at *max_attempts*, at *now*."""
        with self.engine.begin() as conn:
            conn.execute(
                update(lookups)
                .where(lookups.c.id == lookup_id, lookups.c.status == LookupState.PENDING.value)
                .values(attempts=lookups.c.attempts + 1)
            )
            conn.execute(
                update(lookups)
                .where(
                    lookups.c.id == lookup_id,
                    lookups.c.status == LookupState.PENDING.value,
                    lookups.c.attempts >= max_attempts,
                )
                .values(status=LookupState.LOCKED.value, locked_at=now)
            )
            return int(
                conn.execute(
                    select(lookups.c.attempts).where(lookups.c.id == lookup_id)
                ).scalar_one()
            )

    def verify(
        self, lookup_id: str, session_hash: str, session_expires_at: datetime, now: datetime
    ) -> bool:
        """Spend the code and start the session; False when it was not pending any more, or
        its code had expired at *now* (a new lookup of the number may have started since)."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(lookups)
                .where(
                    lookups.c.id == lookup_id,
                    lookups.c.status == LookupState.PENDING.value,
                    lookups.c.code_expires_at > now,
                )
                .values(
                    status=LookupState.VERIFIED.value,
                    verified_at=now,
                    session_hash=session_hash,
                    session_expires_at=session_expires_at,
                )
            ).rowcount
        return bool(changed)
