"""Import throughput: `numguard import` against two plain bulk loads.

For SQLite and PostgreSQL it prints the rows/s of a full import (parse and validate every row,
hash the holder's ID, sort, apply the lifecycle, write events, states and tenures) and of a
re-import of the same file (all duplicates), next to two baselines:

* raw CSV: the plainest load of the same CSV rows into ONE table with the same columns and the
  same unique key (``executemany`` on SQLite, ``COPY`` of the file on PostgreSQL);
* stored rows: the rows the import left in ``lifecycle_events``, ``number_states`` and
  ``tenures`` are read back (not timed) and loaded into a fresh database (file) whose schema is
  made by the project's own migrations (``numguard.adapters.storage.db.upgrade``), so with the
  same indexes, unique keys and append-only triggers: ``executemany`` per table on SQLite,
  ``COPY`` per table (text format, the bytes ``COPY ... TO STDOUT`` gave) on PostgreSQL, all in
  one transaction. Autoincrement ids are left to the database, as the import does.

SQLite connections of both baselines run the project's own pragmas (WAL, 64 MiB page cache:
:data:`numguard.adapters.storage.db.SQLITE_PRAGMAS`), as the import's do.

Every figure is input events per second (events in the CSV / seconds), so the import's share of
each baseline reads directly; the stored-rows baseline is the cost of writing what the import
writes, with nothing computed.

    python bench/bench_import.py [--events 1000000] [--skip-pg]

PostgreSQL: ``NUMGUARD_BENCH_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/numguard_bench``); the database is created if missing and
its registry tables are emptied before the run; the stored-rows load uses a database named after
it with ``_plain`` appended, dropped and created for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from numguard.adapters.storage.db import SQLITE_PRAGMAS, make_engine, upgrade
from numguard.bootstrap import build
from numguard.services.demo_world import DEMO_CARRIERS, iter_events, write_events_csv
from numguard.services.importer import import_file
from numguard.settings import load_settings

TODAY = date(2026, 11, 28)
NOON = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
SECRET = "bench-secret-that-is-long-enough-0123456789abcdef"  # noqa: S105  a throwaway database
PG_URL = os.environ.get(
    "NUMGUARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/numguard_bench"
)
PLAIN_DDL = """
CREATE TABLE plain_events (
    event_id varchar(128) NOT NULL,
    phone_number varchar(16) NOT NULL,
    type varchar(16) NOT NULL,
    effective_date date NOT NULL,
    carrier varchar(32) NOT NULL,
    holder_id_type varchar(24),
    holder_id_number varchar(32),
    to_carrier varchar(32),
    UNIQUE (carrier, event_id)
)
"""
STORED_TABLES = ("lifecycle_events", "number_states", "tenures")
"""The tables an import writes, in the order the stored-rows baseline loads them."""


def stored_columns(conn: sqlite3.Connection | psycopg.Connection, table: str) -> list[str]:
    """The columns of *table* an import gives values for: all but an autoincrement ``id``."""
    if isinstance(conn, sqlite3.Connection):
        names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    else:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                (table,),
            )
        ]
    return [n for n in names if n != "id"]


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _order(table: str) -> str:
    """Insertion order where the table has an autoincrement id."""
    return "" if table == "number_states" else " ORDER BY id"


def import_rate(url: str, source: Path) -> tuple[float, float, int]:
    """Rows/s of a first import and of a re-import (all duplicates); accepted rows."""
    settings = load_settings({"NUMGUARD_DATABASE_URL": url, "NUMGUARD_SECRET_KEY": SECRET})
    container = build(settings, clock=lambda: NOON)
    container.registry.off_states_changed(container.index.update)  # as `numguard import` does
    try:
        for carrier in DEMO_CARRIERS:
            container.registry.add_carrier(
                carrier.code,
                carrier.name,
                tracking_since=date(2024, 11, 28),
                prefixes=carrier.prefixes,
                now=NOON,
            )
        first = import_file(source, container.registry)
        again = import_file(source, container.registry)
    finally:
        container.close()
    return first.rows_per_second, again.rows_per_second, first.accepted


def sqlite_plain_rate(path: Path, source: Path) -> float:
    """Rows/s of csv.reader + executemany into a plain table with the same unique key."""
    conn = sqlite3.connect(path)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    conn.execute(PLAIN_DDL)
    started = time.perf_counter()
    with source.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = 0
        while batch := list(itertools.islice(reader, 100_000)):
            conn.executemany("INSERT INTO plain_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
            rows += len(batch)
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return rows / seconds


def sqlite_stored_rate(source_db: Path, path: Path, events: int) -> tuple[float, int]:
    """Events/s of executemany of the rows the import stored into a migrated fresh file."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    loads = []
    with sqlite3.connect(source_db) as source:
        for table in STORED_TABLES:
            columns = stored_columns(source, table)
            rows = source.execute(
                f"SELECT {_quoted(columns)} FROM {table}{_order(table)}"  # noqa: S608
            ).fetchall()
            marks = ", ".join("?" for _ in columns)
            insert = f"INSERT INTO {table} ({_quoted(columns)}) VALUES ({marks})"  # noqa: S608
            loads.append((insert, rows))
    source.close()
    conn = sqlite3.connect(path)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    started = time.perf_counter()
    conn.execute("BEGIN")
    for sql, rows in loads:
        conn.executemany(sql, rows)
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return events / seconds, sum(len(rows) for _, rows in loads)


def pg_stored_rate(url: str, events: int) -> tuple[float, int]:
    """Events/s of COPY per table of the rows the import stored into a migrated fresh database."""
    parsed = make_url(url)
    fresh = f"{parsed.database or 'numguard_bench'}_plain"
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    target = parsed.set(database=fresh).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
        conn.execute(f'CREATE DATABASE "{fresh}"')
    try:
        engine = make_engine(target)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        loads = []
        with psycopg.connect(url) as source, source.cursor() as cur:
            for table in STORED_TABLES:
                columns = stored_columns(source, table)
                select = f"SELECT {_quoted(columns)} FROM {table}{_order(table)}"  # noqa: S608
                with cur.copy(f"COPY ({select}) TO STDOUT") as copy:
                    data = b"".join(bytes(block) for block in copy)
                loads.append((f"COPY {table} ({_quoted(columns)}) FROM STDIN", data))
            total = 0
            for table in STORED_TABLES:
                row = source.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
                total += row[0] if row else 0
        with psycopg.connect(target) as conn:
            started = time.perf_counter()
            with conn.cursor() as cur:
                for sql, data in loads:
                    with cur.copy(sql) as copy:
                        for at in range(0, len(data), 1 << 20):
                            copy.write(data[at : at + (1 << 20)])
            conn.commit()
            seconds = time.perf_counter() - started
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
    return events / seconds, total


def pg_prepare(url: str) -> str:
    """Create the bench database if missing, empty its registry tables; the psycopg URL."""
    parsed = make_url(url)
    name = parsed.database or "numguard_bench"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename = ANY(%s)",
                (
                    [
                        "lifecycle_events",
                        "number_states",
                        "tenures",
                        "carrier_prefixes",
                        "carriers",
                        "clients",
                        "audit_log",
                        "plain_events",
                    ],
                ),
            )
        ]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
        conn.execute("DROP TABLE IF EXISTS plain_events")
    return plain


def pg_plain_rate(url: str, source: Path) -> float:
    """Rows/s of COPY ... FROM STDIN (CSV) into a plain table with the same unique key."""
    with psycopg.connect(url) as conn:
        conn.execute(PLAIN_DDL)
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY plain_events FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            source.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM plain_events").fetchone()
        conn.execute("DROP TABLE plain_events")
        conn.commit()
    return (rows[0] if rows else 0) / seconds


def main() -> None:
    """Generate the events file, run both databases, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="numguard-bench-") as folder:
        work = Path(folder)
        source = work / "events.csv"
        numbers = max(int(args.events / 1.2), 3)  # a little more than needed: ~1.27 events each
        started = time.perf_counter()
        written = write_events_csv(
            itertools.islice(iter_events(seed=5, numbers=numbers, today=TODAY), args.events),
            source,
        )
        print(
            f"{written:,} events ({source.stat().st_size / 1e6:.0f} MB) written in "
            f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs"
        )
        results = []
        first, again, accepted = import_rate(f"sqlite:///{work}/registry.db", source)
        plain = sqlite_plain_rate(work / "plain.db", source)
        stored, stored_rows = sqlite_stored_rate(work / "registry.db", work / "stored.db", written)
        results.append(("SQLite", first, again, plain, stored, "executemany"))
        if not args.skip_pg:
            try:
                url = pg_prepare(PG_URL)
            except psycopg.OperationalError as exc:
                print(f"PostgreSQL skipped: {exc}".splitlines()[0])
            else:
                first_pg, again_pg, _ = import_rate(url, source)
                plain_pg = pg_plain_rate(url, source)
                stored_pg, stored_rows_pg = pg_stored_rate(url, written)
                if stored_rows_pg != stored_rows:
                    print(f"PostgreSQL stored {stored_rows_pg:,} rows, SQLite {stored_rows:,}")
                results.append(("PostgreSQL", first_pg, again_pg, plain_pg, stored_pg, "COPY"))
        print(
            f"accepted {accepted:,} of {written:,} on the first import, which stored "
            f"{stored_rows:,} rows in {', '.join(STORED_TABLES)}"
        )
        print("events/s of input events; share = import / baseline")
        print(
            f"{'database':<11} {'import':>10} {'re-import':>10}"
            f" {'raw CSV':>12} {'share':>6} {'stored rows':>12} {'share':>6}  baselines by"
        )
        for name, first_rate, again_rate, plain_rate, stored_rate, how in results:
            print(
                f"{name:<11} {first_rate:>10,.0f} {again_rate:>10,.0f}"
                f" {plain_rate:>12,.0f} {first_rate / plain_rate:>6.1%}"
                f" {stored_rate:>12,.0f} {first_rate / stored_rate:>6.1%}  {how}"
            )


if __name__ == "__main__":
    main()
