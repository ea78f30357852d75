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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import orjson

from numguard.domain.answer import to_camara, to_fcc, to_vendor_code
from numguard.errors import InvalidInput
from numguard.services.checks import BulkAnswers, CheckService

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


def lines_of(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split byte chunks into lines (without the end of line), whatever the chunk borders."""
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _text(line: bytes) -> str:
    try:
        return line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise BadBulkInput("the input is not UTF-8 text") from exc


def _csv_rows(lines: Iterator[bytes]) -> Iterator[tuple[str, str] | str]:
    """(phone, date) per data row, or an error message for a row that cannot be read."""
    header_line = next((h for h in lines if h.strip()), None)
    if header_line is None:
        return
    header = [c.strip() for c in next(csv.reader([_text(header_line)]))]
    if "phoneNumber" not in header or "specifiedDate" not in header:
        raise BadBulkInput("the CSV header must name the columns phoneNumber and specifiedDate")
    p, d = header.index("phoneNumber"), header.index("specifiedDate")
    width = max(p, d) + 1
    for raw in lines:
        line = _text(raw)
        if not line.strip():
            continue
        cells = line.split(",") if '"' not in line else next(csv.reader([line]))
        if len(cells) < width:
            yield "the row has fewer columns than the header"
            continue
        yield cells[p].strip(), cells[d].strip()


def _ndjson_rows(lines: Iterator[bytes]) -> Iterator[tuple[str, str] | str]:
    for raw in lines:
        if not raw.strip():
            continue
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield "the line is not a JSON object"
            continue
        if not isinstance(item, dict):
            yield "the line is not a JSON object"
            continue
        phone, day = item.get("phoneNumber"), item.get("specifiedDate")
        if not isinstance(phone, str) or not isinstance(day, str):
            yield "phoneNumber and specifiedDate must be strings"
            continue
        yield phone, day


def _render(
    fmt: Format,
    *,
    rows: list[tuple[str, str] | str],
    e164s: list[str | None],
    answers: BulkAnswers,
    positions: list[int],
    summary: BulkSummary,
) -> bytes:
    out: list[bytes] = []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    at = {pos: i for i, pos in enumerate(positions)}
    for pos, row in enumerate(rows):
        if isinstance(row, str):
            phone, day, code, message = "", "", "INVALID_ARGUMENT", row
            answer = None
        else:
            phone, day = row
            i = at[pos]
            answer = answers.answer(i)
            if answer is None:
                err = answers.errors[i]
                code, message = err.code, err.message
            else:
                phone = e164s[i] or phone
        summary.rows += 1
        if answer is None:
            summary.add("error")
            if fmt == "csv":
                writer.writerow([phone, day, "", "", "", "", "", code, message])
            else:
                out.append(
                    orjson.dumps(
                        {
                            "phoneNumber": phone,
                            "specifiedDate": day,
                            "error": {"code": code, "message": message},
                        }
                    )
                    + b"\n"
                )
            continue
        summary.add(answer.recycled.value)
        camara = to_camara(answer)
        if fmt == "csv":
            camara_text = "" if camara is None else ("true" if camara else "false")
            buffer.write(
                f"{phone},{day},{answer.recycled.value},{answer.reason.value},{camara_text},"
                f"{to_fcc(answer)},{int(to_vendor_code(answer))},,\n"
            )
        else:
            out.append(
                orjson.dumps(
                    {
                        "phoneNumber": phone,
                        "specifiedDate": day,
                        "recycled": answer.recycled.value,
                        "reason": answer.reason.value,
                        "phoneNumberRecycled": camara,
                        "fcc": to_fcc(answer),
                        "vendorCode": int(to_vendor_code(answer)),
                    }
                )
                + b"\n"
            )
    if fmt == "csv":
        return buffer.getvalue().encode()
    return b"".join(out)


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
    lines = lines_of(chunks)
    rows = _csv_rows(lines) if fmt == "csv" else _ndjson_rows(lines)
    pending: list[tuple[str, str] | str] = []
    started = False

    def flush() -> bytes:
        good = [(pos, r) for pos, r in enumerate(pending) if not isinstance(r, str)]
        numbers = [r[0] for _, r in good]
        dates = [r[1] for _, r in good]
        e164s, answers = checks.check_many(
            numbers, dates, client_id=client_id, correlator=correlator, protocol=f"bulk-{fmt}"
        )
        return _render(
            fmt,
            rows=pending,
            e164s=e164s,
            answers=answers,
            positions=[pos for pos, _ in good],
            summary=summary,
        )

    for row in rows:
        if not started:
            started = True
            if fmt == "csv":
                yield (",".join(OUTPUT_COLUMNS) + "\n").encode()
        pending.append(row)
        if len(pending) >= batch:
            yield flush()
            pending = []
    if not started and fmt == "csv":
        yield (",".join(OUTPUT_COLUMNS) + "\n").encode()
    if pending:
        yield flush()
