"""Fixtures and event builders shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from numguard.bootstrap import Container, build
from numguard.settings import load_settings
from tests.conftest import SECRET, FrozenClock

ID_A = "11010519491231002X"
ID_B = "110105199003070017"
NUMBER = "+8613800138000"


def event(
    eid: str,
    kind: str,
    day: str,
    *,
    number: str = NUMBER,
    carrier: str = "CMCC",
    holder: str | None = None,
    to: str | None = None,
) -> dict[str, object]:
    record: dict[str, object] = {
        "eventId": eid,
        "phoneNumber": number,
        "type": kind,
        "effectiveDate": day,
        "carrier": carrier,
    }
    if holder:
        record["holder"] = {"idType": "CN_RESIDENT", "idNumber": holder}
    if to:
        record["toCarrier"] = to
    return record


@pytest.fixture
def registry(database_url: str, clock: FrozenClock, tmp_path: object) -> Iterator[Container]:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": database_url,
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
        }
    )
    container = build(settings, clock=clock)
    container.registry.add_carrier(
        "CMCC",
        "中国移动",
        tracking_since=date(2023, 1, 1),
        prefixes=["+86138", "+86139"],
        now=clock(),
    )
    container.registry.add_carrier(
        "CUCC", "中国联通", tracking_since=date(2023, 1, 1), prefixes=["+86130"], now=clock()
    )
    container.load_index()
    yield container
    container.close()
