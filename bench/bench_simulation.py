"""The policy simulator at country scale: 10 million numbers over 5 years, every scenario.

    .venv/bin/python bench/bench_simulation.py [--population 10000000] [--years 5]
                                               [--budget 60] [--report DIR]

Times one run of all ten scenarios (the default run of ``numguard simulate``) and prints the
wall time, the peak memory NumPy and Python allocated (tracemalloc) and the process's peak
resident size (getrusage). Exits with 1 when the run takes longer than the budget (issue 5
asks for under 60 s on the project's 2-core machine). Writing the report is timed apart.
Never part of `make test`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from numguard.simulation import Parameters, resolve, simulate
from numguard.simulation.report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds allowed")
    parser.add_argument("--report", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    params = Parameters(population=args.population, years=args.years, seed=args.seed)
    scenarios = resolve(None)
    tracemalloc.start()
    started = time.perf_counter()
    result = simulate(params, scenarios)
    elapsed = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    reissued = sum(r.reissued for r in result.scenarios)
    print(
        f"simulated {params.population:,} numbers x {params.years:g} years x "
        f"{len(scenarios)} scenarios: {elapsed:.1f} s "
        f"({params.population * len(scenarios) / elapsed / 1e6:.1f} M number-scenarios/s, "
        f"{reissued:,} reissues in all)"
    )
    print(
        f"peak memory: {traced_peak / 2**20:,.0f} MiB allocated (tracemalloc), "
        f"{rss_peak / 2**20:,.0f} MiB resident (getrusage)"
    )
    for r in result.scenarios:
        print(
            f"  {r.scenario.name:<14} reissued {r.reissued:>10,}  stale {100 * r.stale_share:5.1f} %"
            f"  exposed/1000 {float(r.per_1000(r.exposed).sum()):7,.0f}"
            f"  takeovers {int(r.takeovers.sum()):>10,}"
        )
    if args.report is not None:
        started = time.perf_counter()
        files = write_report(result, args.report)
        print(f"report written in {time.perf_counter() - started:.1f} s: {files.html}")
    if elapsed > args.budget:
        print(f"over budget: {elapsed:.1f} s > {args.budget:g} s", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
