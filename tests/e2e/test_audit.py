"""The audit trail over HTTP, on SQLite and PostgreSQL: who asked what, when, and what was answered.

Every check, report and token request leaves an entry in the append-only ``audit_log``; numbers
appear only as keyed hashes.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.exc import DBAPIError

from numguard.adapters.storage.tables import audit_log, lifecycle_events
from numguard.services.audit import AuditEntry, decode_items
from numguard.services.index import REASON_CODES
from tests.e2e.conftest import ID_A, ID_B, Api, ev

CAMARA = "/number-recycling/v0.2/check"
NATIVE = "/v1/checks"
EVENTS = "/v1/lifecycle/events"
REISSUED = "+8613800138000"
KEPT = "+8613900139000"
INVALID = "+861380013800"  # E.164 in shape, but no valid number
WORLD = [
    ev("a1", "ASSIGNED", "2023-10-09", REISSUED, holder=ID_A),
    ev("a2", "CANCELLED", "2024-02-25", REISSUED),
    ev("b1", "ASSIGNED", "2024-09-21", REISSUED, holder=ID_B),
    ev("s1", "ASSIGNED", "2023-10-09", KEPT, holder=ID_A),
]


class DroppedEntries:
    """An audit store that keeps nothing (used only to shut down after a failed write)."""

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Drop *entries*."""


def rows(api: Api) -> list[Row[Any]]:
    api.container.audit.flush()
    with api.container.engine.connect() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.id)))


def camara(api: Api, number: str, day: str, headers: dict[str, str], correlator: str) -> Any:
    return api.http.post(
        CAMARA,
        json={"phoneNumber": number, "specifiedDate": day},
        headers={**headers, "x-correlator": correlator},
    )


def test_every_check_report_and_token_is_audited_with_keyed_number_hashes(
    api_on_both: Api,
) -> None:
    api = api_on_both
    platform_id, carrier_id = api.platform[0], api.carrier[0]
    reported = api.http.post(
        EVENTS,
        json={"events": WORLD},
        headers={**api.bearer(api.carrier), "x-correlator": "report-1"},
    )
    assert reported.status_code == 200
    headers = api.bearer(api.platform)

    assert camara(api, REISSUED, "2023-12-22", headers, "cam-1").json() == {
        "phoneNumberRecycled": True
    }
    assert camara(api, KEPT, "2023-12-22", headers, "cam-2").json() == {
        "phoneNumberRecycled": False
    }
    assert camara(api, INVALID, "2023-12-22", headers, "cam-bad").status_code == 404
    assert camara(api, KEPT, "2099-01-01", headers, "cam-future").status_code == 400
    native_pairs = [
        (REISSUED, "2024-05-01"),
        (KEPT, "2024-01-02"),
        ("not a number", "2024-01-03"),
        ("139 0013 9000", "2024-01-04"),
    ]
    native = api.http.post(
        NATIVE,
        json={"checks": [{"phoneNumber": n, "specifiedDate": d} for n, d in native_pairs]},
        headers={**headers, "x-correlator": "native-1"},
    )
    assert native.status_code == 200
    answers = native.json()["results"]

    entries = rows(api)
    hasher = api.container.checks.hasher
    by_kind: dict[str, list[Row[Any]]] = {}
    for row in entries:
        by_kind.setdefault(row.kind, []).append(row)
        assert row.at == api.clock()

    checks = by_kind["CHECK"]
    assert [
        (r.client_id, r.correlator, r.number_hash, r.specified_date, r.answer) for r in checks
    ] == [
        (platform_id, "cam-1", hasher.hex(REISSUED), date(2023, 12, 22), "yes:HOLDER_CHANGED"),
        (platform_id, "cam-2", hasher.hex(KEPT), date(2023, 12, 22), "no:SAME_HOLDER"),
        (platform_id, "cam-bad", None, date(2023, 12, 22), "error:IDENTIFIER_NOT_FOUND"),
        (platform_id, "cam-future", hasher.hex(KEPT), date(2099, 1, 1), "error:OUT_OF_RANGE"),
    ]
    assert all(json.loads(r.detail) == {"protocol": "camara"} for r in checks)
    # the hash is keyed: not a plain digest anyone could recompute from the number
    for plain in (
        hashlib.blake2b(REISSUED.encode(), digest_size=16).hexdigest(),
        hashlib.sha256(REISSUED.encode()).hexdigest(),
        hashlib.md5(REISSUED.encode()).hexdigest(),  # noqa: S324  only compared against
    ):
        assert plain not in {r.number_hash for r in checks}

    [bulk] = by_kind["BULK_CHECK"]
    assert (bulk.client_id, bulk.correlator) == (platform_id, "native-1")
    detail = json.loads(bulk.detail)
    assert (detail["protocol"], detail["count"], detail["errors"], detail["yes"]) == (
        "native",
        4,
        1,
        1,
    )
    items = decode_items(bulk.items)
    answered = [
        (n, d, a) for (n, d), a in zip(native_pairs, answers, strict=True) if "error" not in a
    ]
    assert len(items) == len(answered) == 3
    for item, (_, day, answer) in zip(items, answered, strict=True):
        assert item["number_hash"] == hasher.raw(answer["phoneNumber"])
        assert int(item["day"]) == (date.fromisoformat(day) - date(1970, 1, 1)).days
        assert REASON_CODES[int(item["answer"])].value == answer["reason"]

    [report] = by_kind["REPORT"]
    assert (report.client_id, report.correlator) == (carrier_id, "report-1")
    assert json.loads(report.detail)["counts"] == {"accepted": 4, "duplicate": 0, "rejected": 0}

    tokens = by_kind["TOKEN"]
    assert {(t.client_id, json.loads(t.detail)["scope"]) for t in tokens} == {
        (carrier_id, "lifecycle:write number-recycling:check"),
        (platform_id, "number-recycling:check"),
    }
    assert set(by_kind) == {"CHECK", "BULK_CHECK", "REPORT", "TOKEN"}

    # no raw number, in any form, anywhere in the table (nor any holder's ID number)
    text = " ".join(
        repr(value) + (repr(zlib.decompress(value)) if isinstance(value, bytes) else "")
        for row in entries
        for value in row
    )
    for raw in (REISSUED, KEPT, REISSUED[1:], KEPT[1:], REISSUED[3:], KEPT[3:], ID_A, ID_B):
        assert raw not in text
    assert "139 0013 9000" not in text


def test_a_check_of_an_invalid_number_is_audited_as_an_error(api_on_both: Api) -> None:
    api = api_on_both
    response = camara(api, INVALID, "2024-01-01", api.bearer(api.platform), "bad-number")
    assert response.status_code == 404
    [check] = [r for r in rows(api) if r.kind == "CHECK"]
    assert check.client_id == api.platform[0]
    assert check.correlator == "bad-number"
    assert check.answer.startswith("error:")
    assert check.specified_date == date(2024, 1, 1)
    assert check.number_hash is None


def test_a_check_with_the_longest_valid_correlator_is_audited(api_on_both: Api) -> None:
    """CAMARA allows x-correlator up to 256 characters; the audit must keep what it echoes."""
    api = api_on_both
    api.report(WORLD)
    longest = "c" * 256
    headers = {**api.bearer(api.platform), "x-correlator": longest}
    single = api.http.post(
        CAMARA, json={"phoneNumber": KEPT, "specifiedDate": "2024-01-01"}, headers=headers
    )
    assert single.status_code == 200
    assert single.headers["x-correlator"] == longest
    later = camara(api, KEPT, "2024-01-01", api.bearer(api.platform), "later")
    assert later.status_code == 200
    try:
        checks = [r for r in rows(api) if r.kind == "CHECK"]
        assert [r.correlator for r in checks] == [longest, "later"]
    except BaseException:
        # An entry the database refuses stays queued for ever and would fail the app's
        # shutdown too: once seen, let the queue drain into nowhere so teardown runs as usual.
        api.container.audit.store = DroppedEntries()
        raise


@pytest.mark.parametrize("path", [NATIVE, EVENTS])
def test_a_list_or_a_report_with_the_longest_valid_correlator_is_audited(
    api_on_both: Api, path: str
) -> None:
    api = api_on_both
    longest = "r" * 256
    if path == NATIVE:
        api.report(WORLD)
        who = api.platform
        body: dict[str, object] = {"checks": [{"phoneNumber": KEPT, "specifiedDate": "2024-01-01"}]}
    else:
        who = api.carrier
        body = {"events": WORLD}
    response = api.http.post(path, json=body, headers={**api.bearer(who), "x-correlator": longest})
    assert response.status_code == 200
    assert response.headers["x-correlator"] == longest
    kind = "BULK_CHECK" if path == NATIVE else "REPORT"
    assert [r.correlator for r in rows(api) if r.kind == kind] == [longest]


def test_audit_log_and_lifecycle_events_refuse_update_and_delete(api_on_both: Api) -> None:
    api = api_on_both
    api.report(WORLD)
    camara(api, KEPT, "2024-01-01", api.bearer(api.platform), "c-1")
    before = rows(api)
    assert before
    engine = api.container.engine
    with engine.connect() as conn:
        events_before = list(conn.execute(select(lifecycle_events).order_by(lifecycle_events.c.id)))
    assert len(events_before) == len(WORLD)
    statements = [
        update(audit_log).values(answer="no:SAME_HOLDER", correlator="forged"),
        update(audit_log).where(audit_log.c.kind == "CHECK").values(client_id="someone-else"),
        delete(audit_log),
        delete(audit_log).where(audit_log.c.kind == "TOKEN"),
        update(lifecycle_events).values(effective_date=date(2020, 1, 1)),
        update(lifecycle_events).where(lifecycle_events.c.event_id == "a2").values(type="PORTED"),
        delete(lifecycle_events),
        delete(lifecycle_events).where(lifecycle_events.c.event_id == "b1"),
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    assert rows(api) == before
    with engine.connect() as conn:
        events_after = list(conn.execute(select(lifecycle_events).order_by(lifecycle_events.c.id)))
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar() == len(before)
    assert events_after == events_before
