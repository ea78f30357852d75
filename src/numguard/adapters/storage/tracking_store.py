"""SQL storage of 焕新 tracking tokens: the SHA-256 of each token and what it may read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from numguard.adapters.storage.tables import unbind_tracking
from numguard.services.people import TrackingGrant


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlTrackingStore:
    """The :class:`~numguard.services.people.TrackingStore` on one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, grant: TrackingGrant) -> None:
        """Store a new grant (its token hash is the key)."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(unbind_tracking).values(
                    token_hash=grant.token_hash,
                    phone_number=grant.phone_number,
                    tenure_start=grant.tenure_start,
                    created_at=grant.created_at,
                    expires_at=grant.expires_at,
                )
            )

    def get(self, token_hash: str) -> TrackingGrant | None:
        """The grant with this token hash, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(unbind_tracking).where(unbind_tracking.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        return TrackingGrant(
            row.token_hash,
            row.phone_number,
            row.tenure_start,
            _aware(row.created_at),
            _aware(row.expires_at),
        )
