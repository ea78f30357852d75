"""Streaming bulk checks: any chunking, both formats, bad rows answered with errors, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import orjson
import pytest
from sqlalchemy import select

from numguard.adapters.storage.tables import audit_log
from numguard.bootstrap import Container, build
from numguard.services.audit import decode_items
from numguard.services.bulkfiles import BadBulkInput, BulkSummary, check_stream
from numguard.settings import load_settings
from tests.conftest import SECRET, FrozenClock

ID_A = "11010519491231002X"
ID_B = "110105199003070017"


@pytest.fixture
def registry(tmp_path: object, clock: FrozenClock) -> Iterator[Container]:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": f"sqlite:///{tmp_path}/b.db",
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
        }
    )
    container = build(settings, clock=clock)
    container.registry.add_carrier(
        "CMCC", "中国移动", tracking_since=date(2023, 1, 1), prefixes=["+86138"], now=clock()
    )
    holder = {"idType": "CN_RESIDENT", "idNumber": ID_A}
    container.registry.report(
        [
            {
                "eventId": "1",
                "phoneNumber": "+8613800138000",
                "type": "ASSIGNED",
                "effectiveDate": "2023-10-09",
                "carrier": "CMCC",
                "holder": holder,
            },
            {
                "eventId": "2",
                "phoneNumber": "+8613800138000",
                "type": "CANCELLED",
                "effectiveDate": "2024-02-25",
                "carrier": "CMCC",
            },
            {
                "eventId": "3",
                "phoneNumber": "+8613800138001",
                "type": "ASSIGNED",
                "effectiveDate": "2023-10-09",
                "carrier": "CMCC",
                "holder": holder,
            },
        ],
        source="test",
    )
    container.load_index()
    yield container
    container.close()


CSV_IN = (
    "id,phoneNumber,specifiedDate\n"
    "1,+8613800138000,2023-12-22\n"
    "2,138 0013 8001,2023-12-22\n"
    "3,+8613800138000,2099-01-01\n"
    "4,not-a-number,2023-12-22\n"
    "5,+12025550123,2023-12-22\n"
    "6,+8613800138001,2023-02-30\n"
    "7\n"
)


def run(
    container: Container, data: bytes, fmt: str, size: int, batch: int = 3
) -> tuple[bytes, BulkSummary]:
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    summary = BulkSummary()
    out = b"".join(
        check_stream(chunks, fmt, container.checks, client_id="c", summary=summary, batch=batch)
    )  # type: ignore[arg-type]
    return out, summary


@pytest.mark.parametrize("size", [1, 7, 1 << 20])
def test_csv_rows_are_answered_in_order_whatever_the_chunking(
    registry: Container, size: int
) -> None:
    out, summary = run(registry, CSV_IN.encode(), "csv", size)
    lines = out.decode().splitlines()
    assert lines[0].startswith(
        "phoneNumber,specifiedDate,recycled,reason,phoneNumberRecycled,fcc,vendorCode"
    )
    rows = [line.split(",") for line in lines[1:]]
    assert [r[2] or r[7] for r in rows] == [
        "yes",
        "no",
        "OUT_OF_RANGE",
        "INVALID_PHONE_NUMBER",
        "unknown",
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
    ]
    assert rows[0][:7] == [
        "+8613800138000",
        "2023-12-22",
        "yes",
        "HOLDER_CHANGED",
        "true",
        "yes",
        "3",
    ]
    assert rows[1][0] == "+8613800138001"  # national input answered in E.164
    assert summary.rows == 7
    assert summary.by_answer == {"yes": 1, "no": 1, "unknown": 1, "error": 4}


def test_ndjson_in_ndjson_out(registry: Container) -> None:
    data = b'{"phoneNumber":"+8613800138000","specifiedDate":"2023-12-22"}\n[1]\n{"phoneNumber":"+8613800138001","specifiedDate":"2023-12-22"}'
    out, _ = run(registry, data, "ndjson", 5)
    items = [orjson.loads(line) for line in out.splitlines()]
    assert items[0]["phoneNumberRecycled"] is True
    assert items[1]["error"]["code"] == "INVALID_ARGUMENT"
    assert items[2] == {
        "phoneNumber": "+8613800138001",
        "specifiedDate": "2023-12-22",
        "recycled": "no",
        "reason": "SAME_HOLDER",
        "phoneNumberRecycled": False,
        "fcc": "no",
        "vendorCode": 2,
    }


def test_a_header_without_the_columns_is_refused(registry: Container) -> None:
    with pytest.raises(BadBulkInput):
        run(registry, b"number,date\n+8613800138000,2023-12-22\n", "csv", 100)


def test_every_batch_is_audited_with_its_items(registry: Container) -> None:
    run(registry, CSV_IN.encode(), "csv", 100, batch=3)
    with registry.engine.connect() as conn:
        entries = conn.execute(select(audit_log).where(audit_log.c.kind == "BULK_CHECK")).all()
    assert len(entries) == 3  # 7 rows in batches of 3
    items = sum(len(decode_items(e.items)) for e in entries)
    assert items == 3  # answered rows only; rows with errors are counted in the detail
    for entry in entries:
        assert b"8613800138000" not in (entry.items or b"")
