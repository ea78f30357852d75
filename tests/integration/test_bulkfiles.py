"""Bulk files answer exactly what single checks answer, whatever the chunking and the format."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest

from numguard.bootstrap import Container, build
from numguard.domain.answer import to_camara, to_fcc, to_vendor_code
from numguard.errors import NumguardError
from numguard.services.bulkfiles import OUTPUT_COLUMNS, BulkSummary, check_stream
from numguard.services.checks import parse_date
from numguard.services.demo_world import DemoWorld, generate_world
from numguard.services.events import Outcome
from numguard.settings import load_settings

SECRET = "bulkfiles-test-secret-that-is-long-enough-0123456789"
TODAY = date(2026, 11, 28)
NOON = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate_world(seed=3, numbers=300, today=TODAY)


@pytest.fixture
def registry(world: DemoWorld, tmp_path: object) -> Iterator[Container]:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": f"sqlite:///{tmp_path}/bulk.db",
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
        }
    )
    container = build(settings, clock=lambda: NOON)
    for carrier in world.carriers:
        container.registry.add_carrier(
            carrier.code,
            carrier.name,
            tracking_since=carrier.tracking_since,
            prefixes=carrier.prefixes,
            now=NOON,
        )
    summary = container.registry.report(world.events, source="test")
    assert summary.count(Outcome.ACCEPTED) == len(world.events)
    container.load_index()
    yield container
    container.close()


def questions(world: DemoWorld, n: int, seed: int) -> list[tuple[str, str]]:
    """Reported numbers (E.164 and national), unknown and malformed numbers, odd dates."""
    rng = random.Random(seed)
    numbers = sorted({e["phoneNumber"] for e in world.events})
    out: list[tuple[str, str]] = []
    for _ in range(n):
        roll = rng.random()
        number = rng.choice(numbers)
        if roll < 0.1:
            number = f"{number[3:6]} {number[6:10]} {number[10:]}"  # national form
        elif roll < 0.15:
            number = "+8613" + "".join(rng.choice("0123456789") for _ in range(9))
        elif roll < 0.18:
            number = rng.choice(["+86123", "abc", '"quoted, text"', "١٢٣", "+1202555012"])
        day = (TODAY - timedelta(days=rng.randrange(0, 1200))).isoformat()
        if rng.random() < 0.05:
            day = rng.choice(["2023-02-30", "2099-01-01", "yesterday", "2024-1-1"])
        out.append((number, day))
    return out


def expected(container: Container, number: str, day: str) -> dict[str, object]:
    """What the single-check path says for one row."""
    try:
        result = container.checks.check(number, parse_date(day), client_id="test")
    except NumguardError as exc:
        return {"error": exc.code}
    answer = result.answer
    return {
        "phoneNumber": result.phone_number,
        "recycled": answer.recycled.value,
        "reason": answer.reason.value,
        "phoneNumberRecycled": to_camara(answer),
        "fcc": to_fcc(answer),
        "vendorCode": int(to_vendor_code(answer)),
    }


def split(data: bytes, rng: random.Random) -> list[bytes]:
    chunks, at = [], 0
    while at < len(data):
        size = rng.choice([1, 2, 3, 17, 100, 4096])
        chunks.append(data[at : at + size])
        at += size
    return chunks


def csv_input(rows: list[tuple[str, str]], newline: str = "\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(["specifiedDate", "note", "phoneNumber"])
    for number, day in rows:
        writer.writerow([day, "x", number])
    return buffer.getvalue().encode()


@pytest.mark.parametrize(("seed", "newline"), [(1, "\n"), (2, "\r\n")])
def test_csv_answers_equal_single_checks_whatever_the_chunking(
    registry: Container, world: DemoWorld, seed: int, newline: str
) -> None:
    rows = questions(world, 700, seed)
    summary = BulkSummary()
    out = b"".join(
        check_stream(
            split(csv_input(rows, newline), random.Random(seed)),
            "csv",
            registry.checks,
            client_id="test",
            summary=summary,
            batch=97,
        )
    )
    answers = list(csv.DictReader(io.StringIO(out.decode())))
    assert list(answers[0].keys()) == list(OUTPUT_COLUMNS)
    assert len(answers) == len(rows)
    for (number, day), got in zip(rows, answers, strict=True):
        want = expected(registry, number, day)
        if "error" in want:
            assert (got["phoneNumber"], got["recycled"], got["errorCode"]) == (
                number,
                "",
                want["error"],
            )
            assert got["errorMessage"]
            continue
        camara = want["phoneNumberRecycled"]
        assert got == {
            "phoneNumber": want["phoneNumber"],
            "specifiedDate": day,
            "recycled": want["recycled"],
            "reason": want["reason"],
            "phoneNumberRecycled": "" if camara is None else str(camara).lower(),
            "fcc": want["fcc"],
            "vendorCode": str(want["vendorCode"]),
            "errorCode": "",
            "errorMessage": "",
        }
    counted = Counter(a["recycled"] or "error" for a in answers)
    assert summary.rows == len(rows)
    assert summary.by_answer == dict(counted)


def test_ndjson_answers_equal_single_checks_and_every_line_is_json(
    registry: Container, world: DemoWorld
) -> None:
    rows = questions(world, 500, 9)
    data = b"".join(
        orjson.dumps({"phoneNumber": n, "specifiedDate": d, "extra": [1]}) + b"\n" for n, d in rows
    )
    out = b"".join(
        check_stream(
            split(data, random.Random(9)), "ndjson", registry.checks, client_id="test", batch=64
        )
    )
    answers = [orjson.loads(line) for line in out.splitlines()]
    assert len(answers) == len(rows)
    for (number, day), got in zip(rows, answers, strict=True):
        want = expected(registry, number, day)
        if "error" in want:
            assert got["phoneNumber"] == number
            assert got["error"]["code"] == want["error"]
            continue
        assert got == {**want, "specifiedDate": day}


def test_rows_that_cannot_be_read_get_an_error_and_the_rest_are_answered(
    registry: Container, world: DemoWorld
) -> None:
    number = world.examples["not_recycled"].phone_number
    day = world.examples["not_recycled"].specified_date.isoformat()
    data = f'\n{{"phoneNumber":"{number}","specifiedDate":"{day}"}}\n{{"phoneNumber":1}}\nnot json\n"text"\n\n'.encode()
    out = b"".join(check_stream([data], "ndjson", registry.checks, client_id="test"))
    answers = [orjson.loads(line) for line in out.splitlines()]
    assert answers[0]["phoneNumberRecycled"] is False
    assert [a.get("error", {}).get("code") for a in answers[1:]] == ["INVALID_ARGUMENT"] * 3
