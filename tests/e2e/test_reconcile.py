"""`numguard reconcile` against a real registry: uvicorn on a free loopback port, over HTTP."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

from typer.testing import CliRunner, Result

from numguard.adapters.cli.main import app
from tests.e2e.live_registry import Registry, registry

__all__ = ["registry"]  # the fixture, served once for this module

AS_OF = "2026-11-28"  # the frozen clock's day

BINDINGS = """accountRef,phoneNumber,category,boundAt,lastActiveAt,factors
old-owner,+8613800138000,FINANCIAL,2023-05-01,2026-11-01,TOTP
new-owner,+8613800138000,SOCIAL,2024-07-01,2026-11-20,
dormant,+8613900139000,FINANCIAL,2023-03-01,2023-04-01,PASSKEY|PASSWORD
unknown-bank,+8615000150000,FINANCIAL,2025-01-01,2026-11-27,TOTP;PASSWORD
unknown-social,150 0015 0000,social,2025-01-01T09:30:00+08:00,,

bad-category,+8613900139000,BANKING,2024-01-01,,
bad-date,+8613900139000,FINANCIAL,2023-02-30,,
future,+8613900139000,FINANCIAL,2027-01-01,,
bad-phone,12345,OTHER,2024-01-01,,
short,+8613900139000
bad-factor,+8613900139000,OTHER,2024-01-01,,FINGERPRINT
unknown-bank-no-factor,+8615000150000,FINANCIAL,2025-01-01,2026-11-27,EMAIL
"""

EXPECTED = {  # accountRef: (line, answer, action, reasons, factors)
    "old-owner": ("2", "yes", "unbind", "BOUND_BEFORE_CURRENT_TENURE", "TOTP"),
    "new-owner": ("3", "no", "ok", "SAME_HOLDER_SINCE_BINDING", ""),
    "dormant": ("4", "no", "hibernate", "DORMANT;SAME_HOLDER_SINCE_BINDING", "PASSKEY"),
    "unknown-bank": ("5", "unknown", "step-up-next-login", "ANSWER_UNKNOWN", "TOTP"),
    "unknown-social": ("6", "unknown", "ok", "ANSWER_UNKNOWN", ""),
    "unknown-bank-no-factor": (
        "14",
        "unknown",
        "step-up-next-login",
        "ANSWER_UNKNOWN;NO_ACCEPTED_FACTOR",
        "",
    ),
}
REJECTED = {  # line: (accountRef, code)
    "8": ("bad-category", "INVALID_CATEGORY"),
    "9": ("bad-date", "INVALID_BOUND_AT"),
    "10": ("future", "BOUND_AT_AFTER_AS_OF"),
    "11": ("bad-phone", "IDENTIFIER_NOT_FOUND"),
    "12": ("", "WRONG_COLUMN_COUNT"),
    "13": ("bad-factor", "INVALID_FACTORS"),
}


def run(registry: Registry, folder: Path, *extra: str, text: str = BINDINGS) -> Result:
    source = folder / "bindings.csv"
    source.write_text(text, encoding="utf-8")
    client_id, secret = registry.client
    args = [
        "reconcile",
        str(source),
        "--registry",
        registry.url,
        "--out",
        str(folder / "actions.csv"),
        "--client-id",
        client_id,
        "--client-secret",
        secret,
        "--as-of",
        AS_OF,
        *extra,
    ]
    return CliRunner().invoke(app, args)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_each_binding_gets_the_guards_action_and_bad_rows_go_to_the_rejects(
    registry: Registry, tmp_path: Path
) -> None:
    result = run(registry, tmp_path)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    got = {
        r["accountRef"]: (r["line"], r["answer"], r["action"], r["reasons"], r["factors"])
        for r in rows(tmp_path / "actions.csv")
    }
    assert got == EXPECTED
    rejected = {
        r["line"]: (r["accountRef"], r["errorCode"]) for r in rows(tmp_path / "actions.rejects.csv")
    }
    assert rejected == REJECTED
    summary = json.loads((tmp_path / "actions.summary.json").read_text())
    assert summary["actions"] == {"unbind": 1, "hibernate": 1, "step-up-next-login": 2, "ok": 2}
    assert summary["rejected"] == 6
    assert summary["byCategory"]["FINANCIAL"] == {
        "unbind": 1,
        "hibernate": 1,
        "step-up-next-login": 2,
        "ok": 0,
    }
    assert summary["answers"] == {"yes": 1, "no": 2, "unknown": 3, "unreachable": 0}
    assert "INVALID_CATEGORY 1" in result.stdout
    assert "unbind" in result.stdout


def test_a_file_that_is_not_a_bindings_file_exits_2_and_writes_nothing(
    registry: Registry, tmp_path: Path
) -> None:
    result = run(registry, tmp_path, text="phoneNumber,specifiedDate\n+8613800138000,2024-01-01\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: NOT_A_BINDINGS_FILE: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "actions.csv").exists()
    assert not (tmp_path / "actions.summary.json").exists()


def test_wrong_credentials_exit_2(registry: Registry, tmp_path: Path) -> None:
    bad = Registry(registry.url, registry.container, (registry.client[0], "not-the-secret"))
    result = run(bad, tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: REGISTRY_REFUSED: ")
    assert not (tmp_path / "actions.csv").exists()


def _closed_port() -> str:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_registry_exits_2_by_default(registry: Registry, tmp_path: Path) -> None:
    down = Registry(_closed_port(), registry.container, registry.client)
    result = run(down, tmp_path, "--retries", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: REGISTRY_UNREACHABLE: ")
    assert not list(tmp_path.glob("actions*"))


def test_an_unreachable_registry_is_decided_by_the_fail_modes_when_asked(
    registry: Registry, tmp_path: Path
) -> None:
    down = Registry(_closed_port(), registry.container, registry.client)
    result = run(down, tmp_path, "--retries", "1", "--unreachable", "open")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    got = {
        r["accountRef"]: (r["answer"], r["action"], r["reasons"])
        for r in rows(tmp_path / "actions.csv")
    }
    assert got["old-owner"] == (
        "unreachable",
        "step-up-next-login",
        "REGISTRY_UNREACHABLE_FAIL_CLOSED",
    )
    assert got["new-owner"] == ("unreachable", "ok", "REGISTRY_UNREACHABLE_FAIL_OPEN")
    assert got["dormant"][1] == "hibernate"
    assert "decided without the registry" in result.stdout
