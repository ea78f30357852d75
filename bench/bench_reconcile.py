"""Reconcile 10 million bindings against a local registry over HTTP, end to end.

Builds (once, cached under ``--folder``) a realistic registry world on SQLite: the demo world's
carriers and ``--numbers`` numbers with two years of lifecycle events (``iter_events``, loaded with
``numguard import``), and a platform's bindings file of ``--bindings`` rows: accounts on the
world's numbers (a few in national form), on numbers outside every carrier's ranges (the registry
says "unknown"), and a few broken rows, bound up to six years ago, with activity dates and
non-phone factors. Then it starts ``numguard serve`` on 127.0.0.1, runs ``numguard reconcile``
against it as a separate process, and prints the time, the rate, the peak memory of both processes
and the machine's load.

    .venv/bin/python bench/bench_reconcile.py [--bindings 10000000] [--numbers 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import numpy as np

from numguard.bootstrap import build
from numguard.services.demo_world import (
    DEMO_CARRIERS,
    iter_events,
    tracking_window_start,
    write_events_csv,
)
from numguard.services.importer import import_file
from numguard.settings import load_settings

SECRET = "bench-secret-that-is-long-enough-0123456789abcdef"  # noqa: S105  a throwaway database
TARGET_SECONDS = 300.0
YEARS = 2.0
CATEGORIES = np.array([b"FINANCIAL", b"SOCIAL", b"COMMERCE", b"LIFESTYLE", b"OTHER"])
CATEGORY_SHARE = [0.2, 0.3, 0.25, 0.15, 0.1]
FACTOR_SETS = np.array(
    [b"", b"PASSWORD", b"PASSWORD|TOTP", b"PASSKEY", b"EMAIL|PASSWORD", b"TRUSTED_DEVICE", b"TOTP"]
)
FACTOR_SHARE = [0.3, 0.3, 0.1, 0.05, 0.15, 0.05, 0.05]
UNCOVERED_PREFIX = 8619900000000  # +86199: in no demo carrier's ranges
CHUNK = 1_000_000


def env_for(folder: Path) -> dict[str, str]:
    return {
        "NUMGUARD_DATA_DIR": str(folder),
        "NUMGUARD_DATABASE_URL": f"sqlite:///{folder / 'world.db'}",
        "NUMGUARD_SECRET_KEY": SECRET,
        "NUMGUARD_LOG_LEVEL": "WARNING",
    }


def build_world(folder: Path, numbers: int, seed: int, today: date) -> tuple[np.ndarray, str, str]:
    """The world's numbers (E.164 digits as int64) and a platform client; cached on disk."""
    meta_path = folder / "world.json"
    wanted = {"numbers": numbers, "seed": seed, "today": today.isoformat(), "years": YEARS}
    if meta_path.exists() and json.loads(meta_path.read_text()).get("world") == wanted:
        meta = json.loads(meta_path.read_text())
        print(f"world: reusing {folder / 'world.db'}")
        return np.load(folder / "numbers.npy"), meta["client_id"], meta["client_secret"]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    events = folder / "events.csv"
    written = write_events_csv(
        iter_events(seed=seed, numbers=numbers, today=today, years=YEARS), events
    )
    settings = load_settings(env_for(folder))
    container = build(settings)
    try:
        since = tracking_window_start(today, YEARS)
        for carrier in DEMO_CARRIERS:
            container.registry.add_carrier(
                carrier.code,
                carrier.name,
                tracking_since=since,
                prefixes=carrier.prefixes,
                now=container.now(),
            )
        report = import_file(events, container.registry)
        record, secret = container.clients.add_client("Bench bank", "platform", now=container.now())
    finally:
        container.close()
    phones = np.loadtxt(events, dtype="S16", delimiter=",", skiprows=1, usecols=1)
    world = np.unique(np.char.lstrip(phones, b"+").astype(np.int64))
    np.save(folder / "numbers.npy", world)
    events.unlink()
    meta = {"world": wanted, "client_id": record.client_id, "client_secret": secret}
    meta_path.write_text(json.dumps(meta))
    print(
        f"world: {len(world):,} numbers, {written:,} events ({report.accepted:,} accepted) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return world, record.client_id, secret


def write_bindings(path: Path, world: np.ndarray, rows: int, seed: int, today: date) -> None:
    """A platform's bindings file, written in chunks with NumPy (cached on disk)."""
    meta = path.with_suffix(".json")
    wanted = {"rows": rows, "seed": seed, "today": today.isoformat(), "world": len(world)}
    if path.exists() and meta.exists() and json.loads(meta.read_text()) == wanted:
        print(f"bindings: reusing {path} ({path.stat().st_size / 1e6:,.0f} MB)")
        return
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    today_day = (today - date(1970, 1, 1)).days
    with path.open("wb") as out:
        out.write(b"accountRef,phoneNumber,category,boundAt,lastActiveAt,factors\n")
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            kind = rng.random(n)
            number = world[rng.integers(0, len(world), n)]
            uncovered = kind < 0.05
            number = np.where(uncovered, UNCOVERED_PREFIX + rng.integers(0, 10**8, n), number)
            phone = np.char.add(b"+", number.astype("S15"))
            national = (kind >= 0.05) & (kind < 0.07)
            phone = np.where(national, (number - 86 * 10**11).astype("S15"), phone)
            broken = kind > 0.999
            bound = today_day - rng.integers(0, int(6 * 365.25), n)
            last = bound + (rng.random(n) * (today_day - bound)).astype(np.int64)
            bound_text = bound.astype("datetime64[D]").astype("S10")
            last_text = np.where(
                rng.random(n) < 0.1, b"", last.astype("datetime64[D]").astype("S10")
            )
            bound_text = np.where(broken, b"2023-02-30", bound_text)
            category = CATEGORIES[rng.choice(len(CATEGORIES), n, p=CATEGORY_SHARE)]
            factors = FACTOR_SETS[rng.choice(len(FACTOR_SETS), n, p=FACTOR_SHARE)]
            account = np.char.add(b"acct-", np.arange(start, start + n).astype("S10"))
            parts: list[bytes] = [b""] * (12 * n)
            for i, column in enumerate((account, phone, category, bound_text, last_text, factors)):
                parts[2 * i :: 12] = column.tolist()
                parts[2 * i + 1 :: 12] = [b"," if i < 5 else b"\n"] * n
            out.write(b"".join(parts))
    meta.write_text(json.dumps(wanted))
    print(
        f"bindings: {rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB "
        f"in {time.perf_counter() - started:.0f} s"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 600.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise SystemExit("numguard serve exited")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as reply:  # noqa: S310  loopback
                if reply.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("numguard serve did not become ready")


def tree(pid: int) -> list[int]:
    """*pid* and its descendants (uvicorn's worker processes)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found.extend(tree(int(child)))
    return found


def peak_rss_mb(pid: int) -> float:
    """The largest VmHWM among *pid* and its descendants, in MB."""
    peaks = [0]
    for member in tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks) / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU of *pid* and its descendants so far."""
    total = 0
    for member in tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", type=int, default=10_000_000)
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=Path("var/bench-reconcile"))
    parser.add_argument("--workers", type=int, default=1, help="numguard serve --workers")
    parser.add_argument("--in-flight", type=int, default=3)
    args = parser.parse_args()
    today = date.today()
    world, client_id, secret = build_world(args.folder, args.numbers, args.seed, today)
    bindings = args.folder / f"bindings-{args.bindings}.csv"
    write_bindings(bindings, world, args.bindings, args.seed, today)
    numguard = str(Path(sys.executable).with_name("numguard"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **env_for(args.folder)}
    server = subprocess.Popen(
        [numguard, "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        ready = wait_ready(url, server)
        print(f"registry: {url}, ready in {ready:.0f} s (answer index loaded)")
        out = args.folder / "actions.csv"
        load_before = os.getloadavg()
        server_cpu = cpu_seconds(server.pid)
        started = time.perf_counter()
        child = subprocess.Popen(
            [
                numguard,
                "reconcile",
                str(bindings),
                "--registry",
                url,
                "--out",
                str(out),
                "--client-id",
                client_id,
                "--client-secret",
                secret,
                "--in-flight",
                str(args.in_flight),
            ],
            env={**os.environ, "COLUMNS": "120"},
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"numguard reconcile failed with {os.waitstatus_to_exitcode(status)}")
        summary = json.loads(out.with_name("actions.summary.json").read_text())
        server_peak = peak_rss_mb(server.pid)
        server_cpu = cpu_seconds(server.pid) - server_cpu
    finally:
        server.terminate()
        server.wait(timeout=60)
    rows = summary["rows"]
    verdict = "within" if seconds < TARGET_SECONDS else "MISSES"
    print(
        f"\nreconcile: {rows:,} bindings in {seconds:.1f} s = {rows / seconds:,.0f} bindings/s "
        f"({verdict} the {TARGET_SECONDS:.0f} s target)\n"
        f"  actions {summary['actions']}, rejected {summary['rejected']:,}\n"
        f"  answers {summary['answers']}\n"
        f"  peak memory: reconcile {usage.ru_maxrss / 1024:,.0f} MB, registry {server_peak:,.0f} MB"
        f" (largest process of {args.workers})\n"
        f"  CPU: reconcile {usage.ru_utime + usage.ru_stime:.1f} s, registry {server_cpu:.1f} s\n"
        f"  load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
