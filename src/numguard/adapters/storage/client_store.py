"""SQL storage of API clients (SQLite and PostgreSQL through SQLAlchemy Core)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from numguard.adapters.storage.tables import carriers, clients, platforms
from numguard.errors import Conflict
from numguard.services.auth import ClientRecord, Role, format_scopes, parse_scopes


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def client_from_row(row: Any) -> ClientRecord:
    """Rebuild a :class:`ClientRecord` from a ``clients`` row."""
    created_at = _aware(row.created_at)
    assert created_at is not None  # noqa: S101  the column is NOT NULL
    return ClientRecord(
        client_id=row.client_id,
        name=row.name,
        role=Role(row.role),
        carrier=row.carrier,
        secret_hash=row.secret_hash,
        scopes=parse_scopes(row.scopes),
        rate_per_second=row.rate_per_second,
        created_at=created_at,
        disabled_at=_aware(row.disabled_at),
        platform=row.platform,
    )


class SqlClientStore:
    """The :class:`~numguard.services.auth.ClientStore` on the ``clients`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_client(self, record: ClientRecord) -> None:
        """Store a new client; an existing id (or an unknown carrier) is a Conflict."""
        values = {
            "client_id": record.client_id,
            "name": record.name,
            "role": record.role.value,
            "carrier": record.carrier,
            "secret_hash": record.secret_hash,
            "scopes": format_scopes(record.scopes),
            "rate_per_second": record.rate_per_second,
            "created_at": record.created_at,
            "disabled_at": record.disabled_at,
            "platform": record.platform,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(clients).values(**values))
        except IntegrityError as exc:
            raise Conflict(
                f"client {record.client_id} exists or carrier {record.carrier} is not registered"
            ) from exc

    def get_client(self, client_id: str) -> ClientRecord | None:
        """The client with this id, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
        return client_from_row(row) if row is not None else None

    def list_clients(self) -> list[ClientRecord]:
        """Every client, oldest first."""
        query = select(clients).order_by(clients.c.created_at, clients.c.client_id)
        with self.engine.connect() as conn:
            return [client_from_row(row) for row in conn.execute(query)]

    def disable_client(self, client_id: str, now: datetime) -> ClientRecord | None:
        """Mark the client disabled at *now* (kept if already disabled); None if unknown."""
        with self.engine.begin() as conn:
            conn.execute(
                update(clients)
                .where(clients.c.client_id == client_id, clients.c.disabled_at.is_(None))
                .values(disabled_at=now)
            )
            row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
        return client_from_row(row) if row is not None else None

    def platform_exists(self, code: str) -> bool:
        """Whether *code* is a registered platform (for ``ClientService(platform_exists=...)``)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(platforms.c.code).where(platforms.c.code == code)).first()
        return found is not None

    def carrier_exists(self, code: str) -> bool:
        """Whether *code* is a registered carrier (for ``ClientService(carrier_exists=...)``)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(carriers.c.code).where(carriers.c.code == code)).first()
        return found is not None
