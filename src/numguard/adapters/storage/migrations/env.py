"""Alembic environment: runs migrations on the engine numguard hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from numguard.adapters.storage.tables import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only via numguard's own entry points
    raise RuntimeError("run migrations with `numguard db upgrade`")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
