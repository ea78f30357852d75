"""`numguard platform` and `numguard bindings import`, run as an operator would."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from numguard.adapters.storage.tables import bindings
from numguard.adapters.web.app import create_app
from numguard.bootstrap import build
from numguard.settings import load_settings
from tests.e2e.test_cli import Cli

HEADER = "accountRef,phoneNumber,category,boundAt,lastActiveAt\n"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def refs(cli: Cli, platform: str) -> set[tuple[str, str]]:
    container = build(load_settings(cli.env))
    try:
        with container.engine.connect() as conn:
            rows = conn.execute(bindings.select().where(bindings.c.platform == platform)).fetchall()
        return {(r.account_ref, r.phone_number) for r in rows}
    finally:
        container.close()


def test_a_platform_and_its_client(cli: Cli) -> None:
    added = cli.ok(
        "platform",
        "add",
        "bank",
        "--name",
        "示例银行",
        "--category",
        "financial",
        "--webhook",
        "https://bank.example/unbind",
    )
    assert "platform BANK (示例银行): FINANCIAL" in added.stdout
    # The webhook is the bank's signed subscription to unbind requests; its secret shows once.
    secret = re.search(
        r"signing secret \(shown once; give it to the platform\): (whsec_\S+)", added.stdout
    )
    assert secret, added.stdout
    again = cli.ok(
        "platform",
        "add",
        "BANK",
        "--name",
        "示例银行",
        "--category",
        "FINANCIAL",
        "--webhook",
        "https://bank.example/unbind",
    )
    assert "whsec_" not in again.stdout  # the same URL: the same subscription
    assert live_sinks(cli, "BANK") == ["https://bank.example/unbind"]
    moved = cli.ok(
        "platform",
        "add",
        "BANK",
        "--name",
        "示例银行",
        "--category",
        "FINANCIAL",
        "--webhook",
        "https://hooks.bank.example/unbind",
    )
    assert "whsec_" in moved.stdout
    assert secret.group(1) not in moved.stdout
    assert live_sinks(cli, "BANK") == ["https://hooks.bank.example/unbind"]
    private = cli(
        "platform",
        "add",
        "BANK",
        "--name",
        "示例银行",
        "--category",
        "FINANCIAL",
        "--webhook",
        "http://169.254.169.254/latest/meta-data/",
    )
    assert private.exit_code == 2
    assert private.stderr.startswith("error: SINK_NOT_PUBLIC:")
    assert live_sinks(cli, "BANK") == ["https://hooks.bank.example/unbind"]  # nothing changed
    client = cli.ok("client", "add", "bank api", "--role", "platform", "--platform", "BANK")
    assert "role:          platform (BANK)" in client.stdout
    unknown = cli("client", "add", "x", "--role", "platform", "--platform", "NOPE")
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "error: UNKNOWN_PLATFORM: platform NOPE is not registered"
    bad = cli("platform", "add", "shop", "--name", "Shop", "--category", "GROCERIES")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: INVALID_CATEGORY:")
    assert "BANK" in cli.ok("platform", "list").stdout


def live_sinks(cli: Cli, platform: str) -> list[str]:
    container = build(load_settings(cli.env))
    try:
        return [s.sink for s in container.notifications.subscriptions(platform)]
    finally:
        container.close()


def test_a_snapshot_replaces_the_platforms_bindings_and_is_idempotent(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("platform", "add", "SHOP", "--name", "Shop", "--category", "COMMERCE")
    cli.ok("platform", "add", "CHAT", "--name", "Chat", "--category", "SOCIAL")
    other = tmp_path / "chat.ndjson"
    other.write_text(
        json.dumps({"accountRef": "c1", "phoneNumber": "+8613800138000", "boundAt": "2024-01-01"})
        + "\n"
    )
    cli.ok("bindings", "import", str(other), "--platform", "CHAT")

    first = tmp_path / "shop.csv"
    first.write_text(
        HEADER
        + "u1,+8613800138000,,2024-01-01,2025-06-01\n"
        + "u2,138 0013 8001,COMMERCE,2024-02-01,\n"
        + "u3,+8613800138002,LIFESTYLE,2024-03-01,2024-03-05\n"
    )
    done = cli.ok("bindings", "import", str(first), "--platform", "shop")
    assert _row(done.stdout, "created") == 3
    again = cli.ok("bindings", "import", str(first), "--platform", "SHOP")
    assert _row(again.stdout, "unchanged") == 3
    assert _row(again.stdout, "created") == 0

    second = tmp_path / "shop2.csv"
    second.write_text(
        HEADER + "u1,+8613800138000,,2024-01-01,2025-07-01\nu4,+8613800138004,,2024-05-01,\n"
    )
    replaced = cli.ok("bindings", "import", str(second), "--platform", "SHOP")
    assert [_row(replaced.stdout, k) for k in ("created", "updated", "unchanged", "removed")] == [
        1,
        1,
        0,
        2,
    ]
    assert refs(cli, "SHOP") == {("u1", "+8613800138000"), ("u4", "+8613800138004")}
    assert refs(cli, "CHAT") == {("c1", "+8613800138000")}  # another platform's are untouched


def test_a_bad_record_rejects_the_whole_snapshot(cli: Cli, tmp_path: Path) -> None:
    cli.ok("platform", "add", "SHOP", "--name", "Shop", "--category", "COMMERCE")
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "u1,+8613800138000,,2024-01-01,\n")
    cli.ok("bindings", "import", str(good), "--platform", "SHOP")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "u2,+8613800138001,,2024-01-01,\nu3,not-a-number,,2024-01-01,\n")
    result = cli("bindings", "import", str(bad), "--platform", "SHOP")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: INVALID_SNAPSHOT: record 2:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert refs(cli, "SHOP") == {("u1", "+8613800138000")}  # nothing changed

    twice = tmp_path / "twice.ndjson"
    line = json.dumps(
        {"accountRef": "u9", "phoneNumber": "+8613800138009", "boundAt": "2024-01-01"}
    )
    twice.write_text(line + "\n" + line + "\n")
    dup = cli("bindings", "import", str(twice), "--platform", "SHOP")
    assert (dup.exit_code, dup.stderr.split(":")[1].strip()) == (2, "INVALID_SNAPSHOT")
    missing = cli("bindings", "import", str(good), "--platform", "NOPE")
    assert (missing.exit_code, missing.stderr.split(":")[1].strip()) == (2, "UNKNOWN_PLATFORM")


def _row(stdout: str, key: str) -> int:
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == key:
            return int(parts[1].replace(",", ""))
    raise AssertionError(f"no {key} row in {stdout!r}")


def test_the_demo_walks_renewal_end_to_end_as_printed(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    out = cli.ok("demo", "--no-serve", "--numbers", "3000", "--port", "8124").stdout
    found = re.search(r"look up (\+\d+) with ID suffix (\w{6}); the SMS code", out)
    bank = re.search(r"BANK=\$\(curl .* -d client_id=(\S+) -d client_secret=(\S+) \|", out)
    assert found, out
    assert bank, out
    phone, suffix = found.groups()
    database = cli.folder / "var" / "demo" / "numguard-demo.db"
    settings = load_settings({**cli.env, "NUMGUARD_DATABASE_URL": f"sqlite:///{database}"})
    container = build(settings)
    try:
        with TestClient(create_app(container)) as http:
            capsys.readouterr()
            started = http.post("/v1/lookups", json={"phoneNumber": phone, "idSuffix": suffix})
            assert started.status_code == 202
            console = capsys.readouterr().err  # the console SMS sender prints the code
            code = re.search(r"\[sms\] to \d{3}\*+\d{4}: .*?(\d{6})", console)
            assert code, console
            lookup = started.json()["lookupId"]
            verified = http.post(f"/v1/lookups/{lookup}/verify", json={"code": code.group(1)})
            session = {"Authorization": f"Bearer {verified.json()['sessionToken']}"}
            result = http.get(f"/v1/lookups/{lookup}", headers=session).json()
            assert result["matched"] is True
            assert result["accounts"]["boundBeforeYou"] == 4
            made = http.post(f"/v1/lookups/{lookup}/renewal", headers=session).json()
            assert len(made["created"]) == 4
            form = {
                "grant_type": "client_credentials",
                "client_id": bank.group(1),
                "client_secret": bank.group(2),
            }
            token = http.post("/oauth/token", data=form).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            pending = http.get("/v1/unbind-requests?status=pending", headers=headers).json()
            (request,) = pending["requests"]
            confirmed = http.post(
                f"/v1/unbind-requests/{request['requestId']}/confirm", headers=headers
            )
            assert confirmed.json()["status"] == "done"
            mine = http.get(f"/v1/lookups/{lookup}/unbind-requests", headers=session).json()
            assert sorted(r["status"] for r in mine["requests"]) == [
                "done",
                "pending",
                "pending",
                "pending",
            ]
    finally:
        container.close()
