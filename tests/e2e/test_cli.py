"""The `numguard` command line, run as an operator would, on SQLite files under tmp_path."""

from __future__ import annotations

import base64
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from numguard.adapters.cli.main import app, demo_app
from numguard.adapters.storage.tables import carriers, clients, lifecycle_events
from numguard.bootstrap import build
from numguard.services.events import CSV_COLUMNS
from numguard.settings import load_settings

SECRET = "cli-test-secret-that-is-long-enough-0123456789"
ID_A = "11010519491231002X"
ID_B = "110105199003070017"
NUMBER = "+8613800138000"


class Cli:
    """Runs the app with the environment pointing at one test's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.database = folder / "cli.db"
        self.env = {
            "NUMGUARD_DATA_DIR": str(folder / "var"),
            "NUMGUARD_DATABASE_URL": f"sqlite:///{self.database}",
            "NUMGUARD_SECRET_KEY": SECRET,
        }
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), env=self.env)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    def count(self, table: object) -> int:
        container = build(load_settings(self.env))
        try:
            with container.engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
        finally:
            container.close()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def add_cmcc(cli: Cli) -> None:
    cli.ok(
        "carrier",
        "add",
        "CMCC",
        "--name",
        "中国移动",
        "--tracking-since",
        "2023-01-01",
        "--prefix",
        "+86138",
        "--prefix",
        "+86139",
    )


def write_events(path: Path) -> Path:
    rows = [
        ["a1", NUMBER, "ASSIGNED", "2023-10-09", "CMCC", "CN_RESIDENT", ID_A, ""],
        ["a2", NUMBER, "CANCELLED", "2024-02-25", "CMCC", "", "", ""],
        ["b1", NUMBER, "ASSIGNED", "2024-09-21", "CMCC", "CN_RESIDENT", ID_B, ""],
        ["c1", "+8613900139000", "ASSIGNED", "2023-10-09", "CMCC", "CN_RESIDENT", ID_A, ""],
        ["bad", "+8613900139001", "ASSIGNED", "2023-10-09", "CMCC", "CN_RESIDENT", "12345", ""],
    ]
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return path


def test_carriers_are_added_and_listed(cli: Cli) -> None:
    add_cmcc(cli)
    cli.ok("carrier", "add", "CUCC", "--name", "中国联通", "--prefix", "+86130")
    listed = cli.ok("carrier", "list").stdout
    assert "CMCC" in listed
    assert "中国移动" in listed
    assert "+86138 +86139" in listed
    assert "CUCC" in listed
    assert "2023-01-01" in listed


def test_a_client_secret_is_shown_once_and_stored_only_as_a_hash(cli: Cli) -> None:
    add_cmcc(cli)
    out = cli.ok("client", "add", "Carrier ops", "--role", "carrier", "--carrier", "CMCC").stdout
    client_id = re.search(r"client_id:\s+(\S+)", out)
    secret = re.search(r"client_secret:\s+(\S+)", out)
    assert client_id
    assert secret
    assert "cannot show it again" in out
    stored = b"".join(p.read_bytes() for p in cli.folder.glob("cli.db*"))
    assert client_id.group(1).encode() in stored
    assert secret.group(1).encode() not in stored


def test_import_then_check_a_file(cli: Cli, tmp_path: Path) -> None:
    add_cmcc(cli)
    events = write_events(tmp_path / "events.csv")
    out = cli.ok("import", str(events)).stdout
    assert re.search(r"accepted\s+4", out)
    assert re.search(r"rejected\s+1", out)
    rejects = (tmp_path / "events.rejects.csv").read_text().splitlines()
    assert rejects[1].startswith("6,bad,INVALID_ID_NUMBER,")
    again = cli.ok("import", str(events)).stdout
    assert re.search(r"duplicates\s+4", again)
    assert re.search(r"accepted\s+0", again)

    questions = tmp_path / "questions.csv"
    questions.write_text(
        "ref,phoneNumber,specifiedDate\n"
        f"1,{NUMBER},2023-12-22\n"
        "2,139 0013 9000,2023-12-22\n"
        "3,not-a-number,2023-12-22\n"
    )
    answers = tmp_path / "answers.csv"
    summary = cli.ok("check", str(questions), "--output", str(answers)).stdout
    assert re.search(r"rows\s+3", summary)
    with answers.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["phoneNumber"], r["recycled"], r["errorCode"]) for r in rows] == [
        (NUMBER, "yes", ""),
        ("+8613900139000", "no", ""),
        ("not-a-number", "", "INVALID_PHONE_NUMBER"),
    ]
    assert rows[0]["phoneNumberRecycled"] == "true"
    assert rows[0]["vendorCode"] == "1"


def test_a_phone_bound_token_names_the_number(cli: Cli) -> None:
    token = cli.ok(
        "token",
        "issue",
        "--phone",
        "138 0013 8000",
        "--scope",
        "number-recycling:check",
        "--ttl",
        "120",
    ).stdout.splitlines()[0]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["phone_number"] == NUMBER
    assert claims["scope"] == "number-recycling:check"
    assert claims["exp"] - claims["iat"] == 120


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (
            ["carrier", "add", "CUCC", "--name", "联通", "--tracking-since", "2024-13-01"],
            "INVALID_ARGUMENT",
        ),
        (["carrier", "add", "CUCC", "--name", "联通", "--prefix", "+86138"], "INVALID_ARGUMENT"),
        (["carrier", "add", "CUCC", "--name", "联通", "--prefix", "86130"], "INVALID_ARGUMENT"),
        (["client", "add", "x", "--role", "king"], "INVALID_ARGUMENT"),
        (["client", "add", "x", "--role", "carrier", "--carrier", "NOPE"], "UNKNOWN_CARRIER"),
        (["client", "add", "x", "--role", "platform", "--carrier", "CMCC"], "INVALID_ARGUMENT"),
        (
            ["token", "issue", "--phone", "12", "--scope", "number-recycling:check"],
            "INVALID_PHONE_NUMBER",
        ),
        (["token", "issue", "--phone", NUMBER, "--scope", "rule:world"], "invalid_scope"),
        (["import", "missing.csv"], "INVALID_ARGUMENT"),
        (["check", "missing.csv", "--output", "out.csv"], "INVALID_ARGUMENT"),
    ],
)
def test_bad_input_exits_2_with_one_line_on_stderr_and_changes_nothing(
    cli: Cli, args: list[str], code: str
) -> None:
    add_cmcc(cli)
    before = (cli.count(carriers), cli.count(clients))
    result = cli(*args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {code}: ")
    assert (cli.count(carriers), cli.count(clients)) == before


def test_a_file_with_a_wrong_header_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    add_cmcc(cli)
    events = tmp_path / "wrong.csv"
    events.write_text("phone,type\n+8613800138000,ASSIGNED\n")
    result = cli("import", str(events))
    assert (result.exit_code, len(result.stderr.splitlines())) == (2, 1)
    assert result.stderr.startswith("error: INVALID_ARGUMENT: the CSV header must be exactly")
    assert cli.count(lifecycle_events) == 0
    questions = tmp_path / "q.csv"
    questions.write_text("number,date\n+8613800138000,2024-01-01\n")
    result = cli("check", str(questions), "--output", str(tmp_path / "a.csv"))
    assert (result.exit_code, len(result.stderr.splitlines())) == (2, 1)
    assert not (tmp_path / "a.csv").exists()
    assert not (tmp_path / "a.csv.part").exists()


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("frobnicate").exit_code == 2
    assert cli("carrier", "add", "CMCC").exit_code == 2  # --name is required
    assert cli("serve", "--port", "not-a-port").exit_code == 2


def test_the_installed_entry_point_reports_bad_input_on_one_line(cli: Cli) -> None:
    script = Path(sys.executable).with_name("numguard")
    done = subprocess.run(
        [str(script), "carrier", "add", "X1", "--name", "x", "--tracking-since", "yesterday"],
        env={**cli.env, "PATH": str(script.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: INVALID_ARGUMENT: --tracking-since must be a date in YYYY-MM-DD form, not 'yesterday'"
    ]


def test_db_upgrade_is_idempotent(cli: Cli) -> None:
    first = cli.ok("db", "upgrade").stdout
    second = cli.ok("db", "upgrade").stdout
    assert "revision" in first
    assert first == second


def test_the_demo_builds_a_world_and_its_curl_examples_answer_as_printed(cli: Cli) -> None:
    result = cli.ok("demo", "--no-serve", "--numbers", "10000", "--port", "8123")
    out = result.stdout
    token_curl = [
        line.strip()
        for line in out.splitlines()
        if line.strip().startswith("curl -s -X POST http://127.0.0.1:8123/oauth/token")
    ]
    checks = [
        line.strip()
        for line in out.splitlines()
        if line.strip().startswith(
            "curl -s -X POST http://127.0.0.1:8123/number-recycling/v0.2/check"
        )
    ]
    assert len(token_curl) == 1
    assert len(checks) == 3
    assert all('-H "Authorization: Bearer $TOKEN"' in c for c in checks)
    assert re.search(r"TOKEN=\$\(curl .* \| python3 -c ", out)
    expected = re.findall(r'expect \{"phoneNumberRecycled":(true|false)\}', out)
    assert expected == ["true", "false", "false"]
    client_id = re.search(r"client_id=(\S+)", token_curl[0])
    secret = re.search(r"client_secret=(\S+)", token_curl[0])
    assert client_id
    assert secret
    database = cli.folder / "var" / "demo" / "numguard-demo.db"
    assert database.exists()
    settings = load_settings({**cli.env, "NUMGUARD_DATABASE_URL": f"sqlite:///{database}"})
    report = re.search(
        r"Policy simulator report .*: (http://127\.0\.0\.1:8123(\S+)) \(also (\S+)\)", out
    )
    assert report, out
    container = build(settings)
    try:
        with TestClient(demo_app(container, Path(report.group(3)))) as http:
            page = http.get(report.group(2))
            assert page.status_code == 200
            assert "<img" in page.text
            assert "freeze-180" in page.text
            chart = re.search(r'<img[^>]+src="([^"]+\.png)"', page.text)
            assert chart
            image = http.get(report.group(2) + chart.group(1))
            assert image.status_code == 200
            assert image.content.startswith(b"\x89PNG")
            form = {
                "grant_type": "client_credentials",
                "client_id": client_id.group(1),
                "client_secret": secret.group(1),
                "scope": "number-recycling:check",
            }
            token = http.post("/oauth/token", data=form).json()["access_token"]
            for command, answer in zip(checks, expected, strict=True):
                body = json.loads(command.split("-d '", 1)[1].rstrip("'"))
                response = http.post(
                    "/number-recycling/v0.2/check",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
                assert response.json() == {"phoneNumberRecycled": answer == "true"}
    finally:
        container.close()
