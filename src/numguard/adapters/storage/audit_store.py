"""SQL implementation of the audit store (append-only table, enforced by triggers)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, insert

from numguard.adapters.storage.tables import audit_log
from numguard.services.audit import AuditEntry


class SqlAuditStore:
    """Appends audit entries to ``audit_log``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in one transaction."""
        if not entries:
            return
        with self.engine.begin() as conn:
            conn.execute(insert(audit_log), [e.row() for e in entries])
