"""Import throughput: `numguard import` against a plain bulk load of the same rows.

For SQLite and PostgreSQL it prints the rows/s of a full import (parse and validate every row,
hash the holder's ID, sort, apply the lifecycle, write events, states and tenures) next to the
rows/s of the plainest load of the same CSV rows into a table with the same columns and the same
unique key: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    python bench/bench_import.py [--events 1000000] [--skip-pg]

PostgreSQL: ``NUMGUARD_BENCH_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/numguard_bench``); the database is created if missing and
its registry tables are emptied before the run.
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


def import_rate(url: str, source: Path) -> tuple[float, float, int]:
    """Rows/s of a first import and of a re-import (all duplicates); accepted rows."""
    settings = load_settings({"NUMGUARD_DATABASE_URL": url, "NUMGUARD_SECRET_KEY": SECRET})
    container = build(settings, clock=lambda: NOON)
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
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
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
        results.append(("SQLite", first, again, plain, "executemany"))
        if not args.skip_pg:
            try:
                url = pg_prepare(PG_URL)
            except psycopg.OperationalError as exc:
                print(f"PostgreSQL skipped: {exc}".splitlines()[0])
            else:
                first_pg, again_pg, _ = import_rate(url, source)
                plain_pg = pg_plain_rate(url, source)
                results.append(("PostgreSQL", first_pg, again_pg, plain_pg, "COPY"))
        print(f"accepted {accepted:,} of {written:,} on the first import")
        print(f"{'database':<11} {'import':>10} {'re-import':>10} {'plain':>12}  ratio")
        for name, first_rate, again_rate, plain_rate, how in results:
            print(
                f"{name:<11} {first_rate:>10,.0f} {again_rate:>10,.0f} {plain_rate:>12,.0f}"
                f"  {first_rate / plain_rate:6.1%}  (rows/s; plain = {how})"
            )


if __name__ == "__main__":
    main()
