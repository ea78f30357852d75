"""Streaming bulk checks: CSV or NDJSON in, the same format out, any size.

Used by ``POST /v1/checks/bulk`` and ``numguard check FILE --output FILE``. Input arrives as
arbitrary byte chunks; lines are cut across chunk borders correctly; rows are answered in
batches through :meth:`CheckService.check_many` (one audit entry per batch), so memory stays
bounded whatever the size.

CSV input needs a header with ``phoneNumber`` and ``specifiedDate`` (other columns are ignored);
NDJSON input has one object per line with those keys. Output columns (CSV) or keys (NDJSON):
``phoneNumber, specifiedDate, recycled, reason, phoneNumberRecycled, fcc, vendorCode`` and, for a
bad row, ``errorCode, errorMessage`` (CSV) or ``error: {code, message}`` (NDJSON).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import orjson

from numguard.domain.answer import to_camara, to_fcc, to_vendor_code
from numguard.errors import InvalidInput
from numguard.services.checks import BulkAnswers, CheckService
from numguard.services.index import REASON_CODES

Format = Literal["csv", "ndjson"]
BATCH = 65_536
OUTPUT_COLUMNS = (
    "phoneNumber",
    "specifiedDate",
    "recycled",
    "reason",
    "phoneNumberRecycled",
    "fcc",
    "vendorCode",
    "errorCode",
    "errorMessage",
)


class BadBulkInput(InvalidInput):
    """The bulk input cannot be read at all (header, encoding)."""

    code = "INVALID_ARGUMENT"


@dataclass
class BulkSummary:
    """Counts of a finished stream."""

    rows: int = 0
    by_answer: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        """Count *n* rows under *key* (yes, no, unknown, error)."""
        self.by_answer[key] = self.by_answer.get(key, 0) + n


def text_blocks(chunks: Iterable[bytes]) -> Iterator[list[str]]:
    """Lines of the input, a list per chunk, decoded once per chunk (cut only at newlines)."""
    rest = b""
    first = True
    for chunk in chunks:
        data = rest + chunk if rest else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        yield _decode(data[:cut], first).split("\n")
        first = False
    if rest:
        yield _decode(rest, first).split("\n")


def _decode(data: bytes, first: bool) -> str:
    try:
        return data.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        raise BadBulkInput("the input is not UTF-8 text") from exc


Row = tuple[str, str] | str
"""(phone, date) of a readable row, or the message of a row that cannot be read."""


def _csv_rows(blocks: Iterator[list[str]]) -> Iterator[list[Row]]:
    header: list[str] | None = None
    p = d = width = 0
    for lines in blocks:
        rows: list[Row] = []
        for raw in lines:
            line = raw.rstrip("\r")
            if not line.strip():
                continue
            if header is None:
                header = [c.strip() for c in next(csv.reader([line]))]
                if "phoneNumber" not in header or "specifiedDate" not in header:
                    raise BadBulkInput(
                        "the CSV header must name the columns phoneNumber and specifiedDate"
                    )
                p, d = header.index("phoneNumber"), header.index("specifiedDate")
                width = max(p, d) + 1
                continue
            cells = line.split(",") if '"' not in line else next(csv.reader([line]))
            if len(cells) < width:
                rows.append("the row has fewer columns than the header")
            else:
                rows.append((cells[p].strip(), cells[d].strip()))
        yield rows


def _ndjson_rows(blocks: Iterator[list[str]]) -> Iterator[list[Row]]:
    for lines in blocks:
        rows: list[Row] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                rows.append("the line is not a JSON object")
                continue
            if not isinstance(item, dict):
                rows.append("the line is not a JSON object")
                continue
            phone, day = item.get("phoneNumber"), item.get("specifiedDate")
            if not isinstance(phone, str) or not isinstance(day, str):
                rows.append("phoneNumber and specifiedDate must be strings")
                continue
            rows.append((phone, day))
        yield rows


def _suffixes() -> tuple[list[str], list[dict[str, Any]]]:
    """Every possible answer rendered once: index = reason code * 3 + held_now + 1."""
    csv_parts: list[str] = []
    json_parts: list[dict[str, Any]] = []
    for reason in range(len(REASON_CODES)):
        for held in (-1, 0, 1):
            answer = BulkAnswers(
                np.array([reason], np.uint8), np.array([held], np.int8), {}
            ).answer(0)
            assert answer is not None  # noqa: S101  no errors were given
            camara = to_camara(answer)
            camara_text = "" if camara is None else ("true" if camara else "false")
            csv_parts.append(
                f"{answer.recycled.value},{answer.reason.value},{camara_text},"
                f"{to_fcc(answer)},{int(to_vendor_code(answer))},,"
            )
            json_parts.append(
                {
                    "recycled": answer.recycled.value,
                    "reason": answer.reason.value,
                    "phoneNumberRecycled": camara,
                    "fcc": to_fcc(answer),
                    "vendorCode": int(to_vendor_code(answer)),
                }
            )
    return csv_parts, json_parts


_CSV_SUFFIX, _JSON_PARTS = _suffixes()


def _render(
    fmt: Format,
    *,
    rows: list[Row],
    e164s: list[str | None],
    answers: BulkAnswers,
    summary: BulkSummary,
) -> bytes:
    codes = (answers.reasons.astype(np.int64) * 3 + answers.held_now + 1).tolist()
    errors = answers.errors
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    chunks: list[bytes] = []
    lines: list[str] = []
    i = 0  # index among readable rows (what check_many saw)
    counts = [0] * len(_CSV_SUFFIX)
    bad = 0
    for row in rows:
        if isinstance(row, str):
            phone, day, code, message = "", "", "INVALID_ARGUMENT", row
        else:
            phone, day = row
            k = i
            i += 1
            if k not in errors:
                c = codes[k]
                counts[c] += 1
                e164 = e164s[k] or phone
                if fmt == "csv":
                    lines.append(f"{e164},{day},{_CSV_SUFFIX[c]}\n")
                else:
                    chunks.append(
                        orjson.dumps({"phoneNumber": e164, "specifiedDate": day, **_JSON_PARTS[c]})
                        + b"\n"
                    )
                continue
            code, message = errors[k].code, errors[k].message
        bad += 1
        if fmt == "csv":
            writer.writerow([phone, day, "", "", "", "", "", code, message])
            lines.append(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
        else:
            chunks.append(
                orjson.dumps(
                    {
                        "phoneNumber": phone,
                        "specifiedDate": day,
                        "error": {"code": code, "message": message},
                    }
                )
                + b"\n"
            )
    summary.rows += len(rows)
    if bad:
        summary.add("error", bad)
    for c, n in enumerate(counts):
        if n:
            summary.add(_JSON_PARTS[c]["recycled"], n)
    if fmt == "csv":
        return "".join(lines).encode()
    return b"".join(chunks)


def check_stream(
    chunks: Iterable[bytes],
    fmt: Format,
    checks: CheckService,
    *,
    client_id: str | None,
    correlator: str | None = None,
    summary: BulkSummary | None = None,
    batch: int = BATCH,
) -> Iterator[bytes]:
    """Answer every row of the input; yields output bytes batch by batch (CSV header first).

    A header that lacks the needed columns raises :class:`BadBulkInput` before anything is
    yielded; a bad row gets an error in its output row and the others are answered.
    """
    if fmt not in ("csv", "ndjson"):
        raise BadBulkInput("the format must be csv or ndjson")
    summary = summary if summary is not None else BulkSummary()
    blocks = text_blocks(chunks)
    row_blocks = _csv_rows(blocks) if fmt == "csv" else _ndjson_rows(blocks)
    pending: list[Row] = []

    def answer(rows: list[Row]) -> bytes:
        good = [r for r in rows if not isinstance(r, str)]
        e164s, answers = checks.check_many(
            [r[0] for r in good],
            [r[1] for r in good],
            client_id=client_id,
            correlator=correlator,
            protocol=f"bulk-{fmt}",
        )
        return _render(fmt, rows=rows, e164s=e164s, answers=answers, summary=summary)

    first = next(row_blocks, None)  # reads the header: a bad one raises before any output
    if fmt == "csv":
        yield (",".join(OUTPUT_COLUMNS) + "\n").encode()
    if first is None:
        return
    for rows in itertools.chain([first], row_blocks):
        pending.extend(rows)
        while len(pending) >= batch:
            yield answer(pending[:batch])
            pending = pending[batch:]
    if pending:
        yield answer(pending)
