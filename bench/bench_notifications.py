"""What the outbox costs the import path, and how fast the worker signs and sends.

Applies 100,000 CANCELLED events (batches of 10,000) to numbers that 20% of which have a bank
binding, once with nobody subscribed and once with a subscription, on SQLite and PostgreSQL,
and prints the seconds per batch and the events written. Then one worker delivers them to a
transport that answers 204 without a network, to time signing and bookkeeping.

    .venv/bin/python bench/bench_notifications.py [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import create_engine, text

from numguard.bootstrap import build
from numguard.settings import load_settings

SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105  a throwaway bench key
NUMBERS = 100_000
BATCH = 10_000


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Accept:
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return 204


def number(i: int) -> str:
    return f"+86138{i:08d}"


def run(url: str, subscribed: bool, data_dir: str) -> None:
    clock = Clock()
    settings = load_settings(
        {"NUMGUARD_DATABASE_URL": url, "NUMGUARD_SECRET_KEY": SECRET, "NUMGUARD_DATA_DIR": data_dir}
    )
    c = build(settings, clock=clock)
    c.registry.add_carrier(
        "CMCC", "CMCC", tracking_since=date(2023, 1, 1), prefixes=["+86138"], now=clock()
    )
    c.bindings.add_platform("BANK", "Bank", category="FINANCIAL")
    bound = [
        {"accountRef": f"a{i}", "phoneNumber": number(i), "boundAt": "2023-06-01"}
        for i in range(0, NUMBERS, 5)
    ]
    for start in range(0, len(bound), 10_000):
        c.bindings.put("BANK", bound[start : start + 10_000])
    holder = {"idType": "CN_RESIDENT", "idNumber": "11010519491231002X"}
    for start in range(0, NUMBERS, BATCH):
        c.registry.report(
            [
                {
                    "eventId": f"a{i}",
                    "phoneNumber": number(i),
                    "type": "ASSIGNED",
                    "effectiveDate": "2023-05-01",
                    "carrier": "CMCC",
                    "holder": holder,
                }
                for i in range(start, start + BATCH)
            ],
            source="bench",
        )
    if subscribed:
        c.notifications.subscribe(
            "BANK", "https://bank.example/hook", ["number.disconnected"], None
        )
    began = time.perf_counter()
    for start in range(0, NUMBERS, BATCH):
        c.registry.report(
            [
                {
                    "eventId": f"c{i}",
                    "phoneNumber": number(i),
                    "type": "CANCELLED",
                    "effectiveDate": "2024-02-25",
                    "carrier": "CMCC",
                }
                for i in range(start, start + BATCH)
            ],
            source="bench",
        )
    applied = time.perf_counter() - began
    with c.engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM notification_events")).scalar_one()
    line = (
        f"{c.engine.dialect.name:<10} subscribed={subscribed!s:<5} "
        f"{NUMBERS:,} CANCELLED in {applied:.2f} s ({applied / (NUMBERS / BATCH) * 1000:.0f} ms"
        f" a batch of {BATCH:,}), outbox events {events:,}"
    )
    if subscribed:
        worker = c.delivery_worker(Accept(), batch=256)
        began = time.perf_counter()
        sent = 0
        while (result := worker.run_once()).delivered:
            sent += result.delivered
        spent = time.perf_counter() - began
        line += f"; worker delivered {sent:,} in {spent:.2f} s ({sent / spent:,.0f}/s)"
    print(line, flush=True)
    c.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for subscribed in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{folder}/bench.db", subscribed, folder)
        name = f"numguard_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            with tempfile.TemporaryDirectory() as folder:
                run(args.pg.rsplit("/", 1)[0] + f"/{name}", subscribed, folder)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
