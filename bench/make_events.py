"""Write a synthetic lifecycle-event file for import benchmarks.

    python bench/make_events.py --events 1000000 --out var/events-1m.csv
    python bench/make_events.py --events 1000000 --out var/events-1m.ndjson --format ndjson

The file holds at least ``--events`` events (a little more: whole numbers' histories are never
cut), in (effectiveDate, eventId) order, from :func:`numguard.services.demo_world.iter_events`.
The same ``--seed`` and ``--today`` always give the same file.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import date
from pathlib import Path

from numguard.services.demo_world import iter_events, write_events_csv, write_events_ndjson

PILOT_NUMBERS = 20_000
"""Numbers in the pilot run that measures events per number for the chosen window."""
MARGIN = 1.01
"""Extra numbers over the estimate, so one pass almost always yields enough events."""


def numbers_for(events: int, *, seed: int, today: date, years: float) -> int:
    """How many numbers give at least *events* events, estimated from a small pilot world."""
    pilot = sum(1 for _ in iter_events(seed=seed, numbers=PILOT_NUMBERS, today=today, years=years))
    return max(3, math.ceil(events / (pilot / PILOT_NUMBERS) * MARGIN))


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, write the file and report how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, required=True, help="at least this many events")
    parser.add_argument("--out", type=Path, required=True, help="the file to write")
    parser.add_argument("--format", choices=("csv", "ndjson"), default="csv")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=float, default=2.0, help="tracking window (default 2)")
    parser.add_argument(
        "--today", type=date.fromisoformat, default=date.today(), help="YYYY-MM-DD, default today"
    )
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be positive")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write = write_events_csv if args.format == "csv" else write_events_ndjson

    started = time.perf_counter()
    numbers = numbers_for(args.events, seed=args.seed, today=args.today, years=args.years)
    while True:
        events = iter_events(seed=args.seed, numbers=numbers, today=args.today, years=args.years)
        written = write(events, args.out)
        if written >= args.events:
            break
        numbers = math.ceil(numbers * args.events / written * MARGIN)  # rare: try once more
    elapsed = time.perf_counter() - started
    print(
        f"wrote {written:,} events for {numbers:,} numbers to {args.out} ({args.format}) "
        f"in {elapsed:.1f} s ({written / elapsed:,.0f} events/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
