"""Bulk checks in-process through the streaming file path (parse CSV, answer, audit, render).

.venv/bin/python bench/bench_bulkfile.py [--numbers 100000] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta

from numguard.bootstrap import build
from numguard.services.bulkfiles import check_stream
from numguard.services.demo_world import generate_world
from numguard.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="numguard-bench-")
    container = build(load_settings({"NUMGUARD_DATA_DIR": data, "NUMGUARD_SECRET_KEY": "b" * 40}))
    now = datetime.now(UTC)
    world = generate_world(seed=1, numbers=args.numbers, today=container.today())
    for c in world.carriers:
        container.registry.add_carrier(
            c.code, c.name, tracking_since=c.tracking_since, prefixes=c.prefixes, now=now
        )
    for start in range(0, len(world.events), 50_000):
        container.registry.report(world.events[start : start + 50_000], source="bench")
    container.load_index()
    numbers = sorted({str(e["phoneNumber"]) for e in world.events})
    rng = random.Random(1)
    today = container.today()
    text = "phoneNumber,specifiedDate\n" + "".join(
        f"{rng.choice(numbers)},{(today - timedelta(days=rng.randrange(1, 900))).isoformat()}\n"
        for _ in range(args.rows)
    )
    payload = text.encode()
    chunks = [payload[i : i + (1 << 20)] for i in range(0, len(payload), 1 << 20)]
    t = time.perf_counter()
    size = sum(len(b) for b in check_stream(chunks, "csv", container.checks, client_id="bench"))
    seconds = time.perf_counter() - t
    print(
        f"bulk file in-process: {args.rows:,} rows in {seconds:.2f} s = {args.rows / seconds:,.0f} checks/s ({size / 1e6:.0f} MB out)"
    )
    container.close()


if __name__ == "__main__":
    main()
