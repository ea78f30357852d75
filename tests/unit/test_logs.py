"""Structured logs: one JSON object per line, with tokens, secrets and ID numbers blanked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import jwt
import pytest

from numguard.adapters.web.logs import JsonFormatter, scrub

TOKEN = jwt.encode(
    {"sub": "ng_abc", "scope": "number-recycling:check", "exp": 2_000_000_000},
    "k" * 32,
    algorithm="HS256",
)
ID_X = "11010519491231002X"
ID_DIGITS = "110105199003070017"


def test_a_jwt_is_blanked_wherever_it_appears() -> None:
    out = scrub(f"Authorization: Bearer {TOKEN} from 10.0.0.1")
    assert TOKEN not in out
    assert out == "Authorization: Bearer [redacted] from 10.0.0.1"
    assert TOKEN.split(".")[1] not in scrub(f"token={TOKEN}&x=1")


def test_a_client_secret_parameter_is_blanked_and_the_rest_kept() -> None:
    out = scrub("grant_type=client_credentials&client_secret=s3cr3t-Value_x&scope=admin")
    assert "s3cr3t" not in out
    assert out == "grant_type=client_credentials&[redacted]&scope=admin"
    assert "s3cr3t" not in scrub("body was client_secret=s3cr3t and more")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"holder {ID_X} assigned", ID_X),
        (f"holder {ID_X.lower()} assigned", ID_X.lower()),
        (f'{{"idNumber": "{ID_DIGITS}"}}', ID_DIGITS),
        (f"id={ID_DIGITS},type=CN_RESIDENT", ID_DIGITS),
        (f"身份证号 {ID_DIGITS} 已登记", ID_DIGITS),
        (f"身份证号{ID_DIGITS}已登记", ID_DIGITS),
        (f"holderIdNumber:{ID_X}", ID_X),
    ],
    ids=[
        "X check digit",
        "x check digit",
        "json",
        "key=value",
        "zh spaced",
        "zh adjoining",
        "colon",
    ],
)
def test_an_18_character_resident_id_number_is_blanked(text: str, secret: str) -> None:
    out = scrub(text)
    assert secret not in out
    assert secret[6:14] not in out  # not even the birth date
    assert "[redacted]" in out


def test_phone_numbers_and_ordinary_text_pass_unchanged() -> None:
    text = "check +8613800138000 on 2023-12-22 for ng_abc: yes (HOLDER_CHANGED) in 0.4 ms"
    assert scrub(text) == text


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("numguard.test_logs")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log, stream
    log.handlers[:] = []
    log.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_each_record_is_one_json_object_on_one_line(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger
    log.info("first %s", "line")
    log.warning("a message\nspread over\nthree lines")
    entries = lines(stream)
    assert len(entries) == 2
    first, second = entries
    assert set(first) == {"ts", "level", "logger", "msg"}
    assert (first["level"], first["logger"], first["msg"]) == (
        "INFO",
        "numguard.test_logs",
        "first line",
    )
    assert second["level"] == "WARNING"
    assert second["msg"] == "a message\nspread over\nthree lines"
    stamp = datetime.fromisoformat(str(first["ts"]))
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_messages_and_their_arguments_are_scrubbed(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger
    log.info("token %s for holder %s", TOKEN, ID_X)
    log.info("form: client_secret=abcDEF123&grant_type=client_credentials")
    out = stream.getvalue()
    for secret in (TOKEN, ID_X, "abcDEF123"):
        assert secret not in out
    assert [e["msg"] for e in lines(stream)] == [
        "token [redacted] for holder [redacted]",
        "form: [redacted]&grant_type=client_credentials",
    ]


def test_exception_text_is_included_on_the_same_line_and_scrubbed(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger
    try:
        raise ValueError(f"bad holder {ID_DIGITS} with token {TOKEN} client_secret=hunter2")
    except ValueError:
        log.exception("report failed")
    [entry] = lines(stream)
    assert entry["level"] == "ERROR"
    assert entry["msg"] == "report failed"
    exc = str(entry["exc"])
    assert "Traceback" in exc
    assert "ValueError: bad holder [redacted] with token [redacted] [redacted]" in exc
    for secret in (ID_DIGITS, TOKEN, "hunter2"):
        assert secret not in stream.getvalue()


def test_extra_fields_are_part_of_the_object(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    """The formatter documents ``{"ts", "level", "logger", "msg", ...extra}``."""
    log, stream = logger
    log.info("client added", extra={"client_id": "ng_abc", "role": "platform"})
    [entry] = lines(stream)
    assert entry["msg"] == "client added"
    assert (entry.get("client_id"), entry.get("role")) == ("ng_abc", "platform")
