"""Checks over HTTP: single CAMARA checks/s next to a bare FastAPI endpoint, and bulk checks/s.

    .venv/bin/python bench/bench_http.py [--numbers 100000] [--seconds 10] [--bulk-rows 1000000]

Needs `wrk` (Debian package `wrk`; installed on demand when apt-get is available). Both servers
run the same way (uvicorn, one worker, uvloop + httptools, no access log) on 127.0.0.1; wrk
uses one thread and 64 connections, so on a 2-core machine the server has one core and the load
generator the other. Prints the figures; never part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from numguard.bootstrap import build
from numguard.services.demo_world import generate_world
from numguard.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-0123456789-0123456789-abcdef"  # noqa: S105  a throwaway bench key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk is needed: apt-get install wrk")


@contextmanager
def server(app: str, env: dict[str, str], factory: bool) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                probe = "/readyz" if factory else "/docs"
                if httpx.get(url + probe, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"{app} did not become ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


LUA = """
local bodies = {BODIES}
local i = 0
request = function()
  i = (i % #bodies) + 1
  return wrk.format("POST", nil, {HEADERS}, bodies[i])
end
"""


def run_wrk(wrk: str, url: str, bodies: list[str], headers: dict[str, str], seconds: int) -> float:
    lua_bodies = "{" + ",".join("[[" + b + "]]" for b in bodies) + "}"
    lua_headers = "{" + ",".join(f'["{k}"]="{v}"' for k, v in headers.items()) + "}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("{BODIES}", lua_bodies).replace("{HEADERS}", lua_headers))
    out = subprocess.run(
        [wrk, "-t1", "-c64", f"-d{seconds}s", "-s", script.name, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    os.unlink(script.name)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} requests failed:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--bulk-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    wrk = ensure_wrk()
    data = Path(tempfile.mkdtemp(prefix="numguard-bench-"))
    env = {
        "NUMGUARD_DATA_DIR": str(data),
        "NUMGUARD_SECRET_KEY": SECRET,
        "NUMGUARD_RATE_LIMIT_PER_SECOND": "0",
        "NUMGUARD_TOKEN_TTL_SECONDS": "3600",
        "NUMGUARD_LOG_LEVEL": "WARNING",
    }
    container = build(load_settings(env))
    now = datetime.now(UTC)
    world = generate_world(seed=1, numbers=args.numbers, today=container.today())
    for carrier in world.carriers:
        container.registry.add_carrier(
            carrier.code,
            carrier.name,
            tracking_since=carrier.tracking_since,
            prefixes=carrier.prefixes,
            now=now,
        )
    t = time.perf_counter()
    for start in range(0, len(world.events), 50_000):
        container.registry.report(world.events[start : start + 50_000], source="bench")
    print(
        f"world: {args.numbers:,} numbers, {len(world.events):,} events loaded in {time.perf_counter() - t:.1f} s"
    )
    client, _ = container.clients.add_client("bench", "platform", now=now)
    token = container.clients.issue_token(client, None, now).access_token
    container.close()
    numbers = sorted({str(e["phoneNumber"]) for e in world.events})
    rng = random.Random(1)
    today = datetime.now(UTC).date()
    bodies = [
        f'{{"phoneNumber":"{rng.choice(numbers)}","specifiedDate":"{(today - timedelta(days=rng.randrange(1, 900))).isoformat()}"}}'
        for _ in range(1000)
    ]
    json_headers = {"Content-Type": "application/json"}
    with server("bench.bare_app:app", {}, factory=False) as url:
        bare = run_wrk(wrk, url + "/check", bodies, json_headers, args.seconds)
    auth = {**json_headers, "Authorization": f"Bearer {token}"}
    with server("numguard.adapters.web.app:create_app", env, factory=True) as url:
        single = run_wrk(wrk, url + "/number-recycling/v0.2/check", bodies, auth, args.seconds)
        if not args.bulk_rows:
            print(
                f"bare FastAPI endpoint: {bare:,.0f} req/s; CAMARA single check: {single:,.0f} req/s ({single / bare:.0%})"
            )
            return
        rows = ["phoneNumber,specifiedDate"]
        for _ in range(args.bulk_rows):
            rows.append(
                f"{rng.choice(numbers)},{(today - timedelta(days=rng.randrange(1, 900))).isoformat()}"
            )
        payload = ("\n".join(rows) + "\n").encode()
        t = time.perf_counter()
        with httpx.stream(
            "POST",
            url + "/v1/checks/bulk",
            content=payload,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            timeout=600,
        ) as response:
            response.raise_for_status()
            lines = sum(chunk.count(b"\n") for chunk in response.iter_bytes())
        bulk = time.perf_counter() - t
    print(f"bare FastAPI endpoint:     {bare:>10,.0f} req/s")
    print(
        f"CAMARA single check:       {single:>10,.0f} req/s  ({single / bare:.0%} of bare; auth, parse, index, audit)"
    )
    print(
        f"bulk over HTTP (CSV):      {args.bulk_rows / bulk:>10,.0f} checks/s  ({args.bulk_rows:,} rows in {bulk:.2f} s, {lines - 1:,} answers)"
    )
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
