"""SQL implementation of the audit store (append-only table, enforced by triggers)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from numguard.services.audit import COLUMNS, AuditEntry


class SqlAuditStore:
    """Appends audit entries to ``audit_log`` with one DBAPI executemany per batch.

    The statement goes straight to the driver (no per-row SQLAlchemy processing): single
    checks are audited at the rate they are answered, thousands per second.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        # Built once from constant column names; values always travel as parameters.
        self._sql = (
            f"INSERT INTO audit_log ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join([marker] * len(COLUMNS))})"
        )

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in one transaction."""
        if not entries:
            return
        rows = [e.row() for e in entries]
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self._sql, rows)
