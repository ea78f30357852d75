"""Bulk check engine in-process: answers per second against 10 million numbers.

    .venv/bin/python bench/bench_engine.py [--numbers 10000000] [--queries 1000000]

Builds an answer index of N numbers with random facts spread over the three demo carriers'
ranges, then times the vectorised engine (lookup + decide_many) on M random queries, 80% of them
for reported numbers. Prints the figures; never part of `make test`.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np

from numguard.domain.coverage import CarrierCoverage, CoverageMap
from numguard.services.index import (
    AnswerIndex,
    VectorCoverage,
    day_number,
    decide_many,
    held_now_many,
)

PREFIXES = {
    "CMCC": ["+86134", "+86135", "+86136", "+86137", "+86138", "+86139", "+86150", "+86151"],
    "CUCC": ["+86130", "+86131", "+86132", "+86155", "+86156"],
    "CTCC": ["+86133", "+86153", "+86180", "+86189"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    today = day_number(date(2026, 11, 28))
    carriers = [CarrierCoverage(code, date(2024, 11, 28), tuple(p)) for code, p in PREFIXES.items()]
    index = AnswerIndex()
    coverage = CoverageMap(carriers)
    vector = VectorCoverage(coverage, index)
    all_prefixes = np.array([int(p[1:]) for ps in PREFIXES.values() for p in ps], np.int64)
    t0 = time.perf_counter()
    keys = np.unique(
        all_prefixes[rng.integers(0, len(all_prefixes), args.numbers)] * 10**8
        + rng.integers(0, 10**8, args.numbers)
    )
    n = len(keys)
    status = rng.choice(np.array([1, 2, 3], np.int8), n, p=[0.9, 0.07, 0.03])
    start = (today - rng.integers(0, 3650, n)).astype(np.int32)
    known = rng.random(n) < 0.8
    last_change = np.where(rng.random(n) < 0.3, today - rng.integers(0, 1500, n), -(2**31)).astype(
        np.int32
    )
    carrier = rng.integers(0, 3, n).astype(np.int16)
    index.load_arrays(keys, status, start, known, last_change, carrier)
    print(f"index: {n:,} numbers built in {time.perf_counter() - t0:.1f} s")

    hits = keys[rng.integers(0, n, int(args.queries * 0.8))]
    misses = all_prefixes[
        rng.integers(0, len(all_prefixes), args.queries - len(hits))
    ] * 10**8 + rng.integers(0, 10**8, args.queries - len(hits))
    queries = np.concatenate([hits, misses])
    rng.shuffle(queries)
    days = (today - rng.integers(0, 2000, len(queries))).astype(np.int32)
    best = float("inf")
    for _ in range(args.rounds):
        t = time.perf_counter()
        found, facts = index.lookup_many(queries)
        reasons = decide_many(found, facts, vector, days)
        held_now_many(found, facts)
        best = min(best, time.perf_counter() - t)
    rate = len(queries) / best
    print(
        f"bulk in-process: {len(queries):,} checks in {best * 1000:.0f} ms = {rate:,.0f} checks/s (best of {args.rounds})"
    )
    print(f"answer mix: {np.bincount(reasons, minlength=7).tolist()} (reason codes)")


if __name__ == "__main__":
    main()
