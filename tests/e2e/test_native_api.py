"""The native API over HTTP: lists of checks, carrier reports, and the carriers' coverage."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import ID_A, ID_B, Api, ev

CHECKS = "/v1/checks"
EVENTS = "/v1/lifecycle/events"
CAMARA = "/number-recycling/v0.2/check"

REISSUED = "+8613800138000"  # A from 2023-10-09, cancelled 2024-02-25, B from 2024-09-21
KEPT = "+8613900139000"  # A from 2023-10-09 without a break
CANCELLED_NOW = "+8613900000004"  # A from 2023-10-09, cancelled 2026-11-01 (in its freeze)
UNREPORTED = "+8613900000009"  # in CMCC's range, never reported
NOT_COVERED = "+8613700137000"  # in no carrier's range

WORLD = [
    ev("a1", "ASSIGNED", "2023-10-09", REISSUED, holder=ID_A),
    ev("a2", "CANCELLED", "2024-02-25", REISSUED),
    ev("b1", "ASSIGNED", "2024-09-21", REISSUED, holder=ID_B),
    ev("s1", "ASSIGNED", "2023-10-09", KEPT, holder=ID_A),
    ev("c1", "ASSIGNED", "2023-10-09", CANCELLED_NOW, holder=ID_A),
    ev("c2", "CANCELLED", "2026-11-01", CANCELLED_NOW),
]
EVENT_DATES = {"2023-10-09", "2024-02-25", "2024-09-21", "2026-11-01"}
DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")


def pairs(*items: tuple[str, str]) -> dict[str, object]:
    return {"checks": [{"phoneNumber": n, "specifiedDate": d} for n, d in items]}


def post_checks(api: Api, body: object, headers: dict[str, str]) -> Any:
    return api.http.post(CHECKS, json=body, headers=headers)


def keys_in(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(v) for v in value))
    return set()


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


# checks ----------------------------------------------------------------------------------------


def test_one_pair_gets_every_encoding_of_its_answer(api: Api) -> None:
    api.report(WORLD)
    response = post_checks(api, pairs((KEPT, "2024-01-01")), api.bearer(api.platform))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "results": [
            {
                "phoneNumber": KEPT,
                "specifiedDate": "2024-01-01",
                "recycled": "no",
                "reason": "SAME_HOLDER",
                "phoneNumberRecycled": False,
                "fcc": "no",
                "vendorCode": 2,
            }
        ]
    }


MANY = [
    # (number, date, recycled, reason, phoneNumberRecycled, fcc, vendorCode)
    (REISSUED, "2023-12-22", "yes", "HOLDER_CHANGED", True, "yes", 1),
    (REISSUED, "2024-05-01", "yes", "HOLDER_STARTED_AFTER", True, "yes", 1),
    (REISSUED, "2024-10-01", "no", "SAME_HOLDER", False, "no", 2),
    (KEPT, "2023-11-11", "no", "SAME_HOLDER", False, "no", 2),
    (KEPT, "2023-01-05", "yes", "HOLDER_STARTED_AFTER", True, "yes", 1),
    (CANCELLED_NOW, "2024-06-01", "yes", "HOLDER_CHANGED", True, "yes", 3),
    (CANCELLED_NOW, "2026-11-20", "yes", "NOT_HELD", True, "yes", 3),
    (UNREPORTED, "2024-06-01", "no", "NO_CHANGE_REPORTED", False, "no", 2),
    (UNREPORTED, "2022-06-01", "unknown", "BEFORE_TRACKING", None, "no data", 0),
    (NOT_COVERED, "2024-06-01", "unknown", "NOT_COVERED", None, "no data", 0),
]


def test_many_pairs_answer_in_order_in_the_tri_state_and_every_encoding(api_on_both: Api) -> None:
    api = api_on_both
    assert api.report(WORLD)["accepted"] == len(WORLD)
    response = post_checks(api, pairs(*[(m[0], m[1]) for m in MANY]), api.bearer(api.platform))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(MANY)
    for row, (number, day, recycled, reason, camara, fcc, vendor) in zip(
        results, MANY, strict=True
    ):
        assert row == {
            "phoneNumber": number,
            "specifiedDate": day,
            "recycled": recycled,
            "reason": reason,
            "phoneNumberRecycled": camara,
            "fcc": fcc,
            "vendorCode": vendor,
        }, (number, day)


def test_the_native_list_and_the_camara_check_give_the_same_answer(api: Api) -> None:
    api.report(WORLD)
    headers = api.bearer(api.platform)
    known = [m for m in MANY if m[4] is not None]
    native = post_checks(api, pairs(*[(m[0], m[1]) for m in known]), headers).json()["results"]
    for row, (number, day, *_rest) in zip(native, known, strict=True):
        single = api.http.post(
            CAMARA, json={"phoneNumber": number, "specifiedDate": day}, headers=headers
        )
        assert single.status_code == 200, single.text
        assert single.json()["phoneNumberRecycled"] == row["phoneNumberRecycled"], (number, day)


def test_a_national_form_is_answered_in_e164(api: Api) -> None:
    api.report(WORLD)
    response = post_checks(api, pairs(("139 0013 9000", "2023-11-11")), api.bearer(api.platform))
    row = response.json()["results"][0]
    assert (row["phoneNumber"], row["recycled"], row["vendorCode"]) == (KEPT, "no", 2)


def test_bad_rows_get_their_own_error_and_good_rows_still_answer(api: Api) -> None:
    api.report(WORLD)
    response = post_checks(
        api,
        pairs(
            (KEPT, "2023-11-11"),
            ("not a number", "2024-01-01"),
            ("+861380013800", "2024-01-01"),  # the shape of E.164, but no valid number
            (KEPT, "2024-02-30"),
            (KEPT, "01/02/2024"),
            (KEPT, "2099-01-01"),
            (REISSUED, "2023-12-22"),
        ),
        api.bearer(api.platform),
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r.get("recycled") for r in results] == ["no", None, None, None, None, None, "yes"]
    errors = [(r["phoneNumber"], r["specifiedDate"], r["error"]["code"]) for r in results[1:6]]
    assert errors == [
        ("not a number", "2024-01-01", "INVALID_PHONE_NUMBER"),
        ("+861380013800", "2024-01-01", "IDENTIFIER_NOT_FOUND"),
        (KEPT, "2024-02-30", "INVALID_ARGUMENT"),
        (KEPT, "01/02/2024", "INVALID_ARGUMENT"),
        (KEPT, "2099-01-01", "OUT_OF_RANGE"),
    ]
    for row in results[1:6]:
        assert set(row) == {"phoneNumber", "specifiedDate", "error"}
        assert row["error"]["message"]


def test_ten_thousand_pairs_are_answered_and_one_more_is_refused(api: Api) -> None:
    api.report(WORLD)
    headers = api.bearer(api.platform)
    most = pairs(*[(REISSUED, "2023-12-22")] * 10_000)
    answered = post_checks(api, most, headers)
    assert answered.status_code == 200
    results = answered.json()["results"]
    assert len(results) == 10_000
    assert {r["vendorCode"] for r in results} == {1}
    too_many = post_checks(api, pairs(*[(REISSUED, "2023-12-22")] * 10_001), headers)
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "INVALID_ARGUMENT"
    assert too_many.json()["status"] == 400


@pytest.mark.parametrize(
    "body",
    [
        {"checks": []},
        {},
        {"checks": [{"phoneNumber": KEPT}]},
        {"checks": [{"phoneNumber": KEPT, "specifiedDate": "2024-01-01", "holder": "x"}]},
        [{"phoneNumber": KEPT, "specifiedDate": "2024-01-01"}],
    ],
    ids=["empty", "no checks", "no date", "extra field", "not an object"],
)
def test_a_request_that_does_not_fit_the_schema_is_invalid(api: Api, body: object) -> None:
    response = post_checks(api, body, api.bearer(api.platform))
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"


def test_checks_need_a_token_with_the_check_scope(api: Api) -> None:
    body = pairs((KEPT, "2024-01-01"))
    missing = post_checks(api, body, {})
    assert (missing.status_code, missing.json()["code"]) == (401, "UNAUTHENTICATED")
    write_only = post_checks(api, body, api.bearer(api.carrier, "lifecycle:write"))
    assert (write_only.status_code, write_only.json()["code"]) == (403, "PERMISSION_DENIED")


def test_answers_carry_no_holder_data_and_no_date_but_the_one_sent(api_on_both: Api) -> None:
    api = api_on_both
    api.report(WORLD)
    sent = [(m[0], m[1]) for m in MANY] + [("+861380013800", "2024-03-03")]
    response = post_checks(api, pairs(*sent), api.bearer(api.platform))
    assert response.status_code == 200
    results = response.json()["results"]
    allowed_keys = {
        "phoneNumber",
        "specifiedDate",
        "recycled",
        "reason",
        "phoneNumberRecycled",
        "fcc",
        "vendorCode",
        "error",
        "code",
        "message",
    }
    for row, (_, day) in zip(results, sent, strict=True):
        texts = strings_in(row)
        assert keys_in(row) <= allowed_keys
        dates_found = {d for t in texts for d in DATE_LIKE.findall(t)}
        assert dates_found == {day}, row
    text = response.text
    for secret in (ID_A, ID_B, ID_A[:6], ID_A[-4:], ID_B[-4:], "holder", "*"):
        assert secret not in text
    assert not EVENT_DATES & set(DATE_LIKE.findall(text))


# reports ---------------------------------------------------------------------------------------


def report(api: Api, events: object, headers: dict[str, str]) -> Any:
    return api.http.post(EVENTS, json={"events": events}, headers=headers)


def test_a_platform_may_not_report_events(api: Api) -> None:
    response = report(api, WORLD[:1], api.bearer(api.platform))
    assert (response.status_code, response.json()["code"]) == (403, "PERMISSION_DENIED")
    answer = post_checks(api, pairs((REISSUED, "2024-10-01")), api.bearer(api.platform))
    assert answer.json()["results"][0]["reason"] == "NO_CHANGE_REPORTED"  # nothing was applied


def test_reporting_needs_a_token(api: Api) -> None:
    response = report(api, WORLD[:1], {})
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


def test_a_carrier_may_report_only_its_own_events(api: Api) -> None:
    foreign = "+8613000000001"  # CUCC's range
    response = report(
        api,
        [
            ev("u1", "ASSIGNED", "2024-01-01", foreign, holder=ID_A, carrier="CUCC"),
            ev("m1", "ASSIGNED", "2024-01-01", KEPT, holder=ID_A),
        ],
        api.bearer(api.carrier),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 1)
    first, second = body["results"]
    assert (first["index"], first["eventId"], first["outcome"]) == (0, "u1", "rejected")
    assert first["reason"] == "CARRIER_NOT_ALLOWED"
    assert first["message"]
    assert (second["index"], second["eventId"], second["outcome"]) == (1, "m1", "accepted")
    assert "reason" not in second
    # the refused event changed nothing: the CUCC number is still unreported
    answer = post_checks(api, pairs((foreign, "2024-06-01")), api.bearer(api.platform))
    assert answer.json()["results"][0]["reason"] == "NO_CHANGE_REPORTED"


def test_an_admin_may_report_for_any_carrier(api: Api) -> None:
    foreign = "+8613000000001"
    response = report(
        api,
        [
            ev("u1", "ASSIGNED", "2024-01-01", foreign, holder=ID_A, carrier="CUCC"),
            ev("m1", "ASSIGNED", "2024-01-01", KEPT, holder=ID_A),
        ],
        api.bearer(api.admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    answer = post_checks(api, pairs((foreign, "2023-12-01")), api.bearer(api.platform))
    assert answer.json()["results"][0]["reason"] == "HOLDER_STARTED_AFTER"


def test_more_than_the_batch_limit_is_refused_and_nothing_is_applied(api: Api) -> None:
    events = [
        ev(f"e{i}", "ASSIGNED", "2024-01-01", f"+86139{i:08d}", holder=ID_A) for i in range(10_001)
    ]
    response = report(api, events, api.bearer(api.carrier))
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_ARGUMENT")
    answer = post_checks(api, pairs(("+8613900000000", "2023-12-01")), api.bearer(api.platform))
    assert answer.json()["results"][0]["reason"] == "NO_CHANGE_REPORTED"


@pytest.mark.parametrize(
    "content",
    [b'{"events": [', b"not json", b"", b'["a"]', b'{"events": []}', b'{"events": {}}'],
    ids=["truncated", "garbage", "empty", "a list", "no events", "events not a list"],
)
def test_a_malformed_body_is_invalid(api: Api, content: bytes) -> None:
    response = api.http.post(
        EVENTS,
        content=content,
        headers={**api.bearer(api.carrier), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "INVALID_ARGUMENT",
        "message": response.json()["message"],
    }


def test_resending_a_batch_changes_nothing(api_on_both: Api) -> None:
    api = api_on_both
    first = api.report(WORLD)
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (len(WORLD), 0, 0)
    headers = api.bearer(api.platform)
    before = post_checks(api, pairs(*[(m[0], m[1]) for m in MANY]), headers).json()
    again = api.report(WORLD)
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, len(WORLD), 0)
    assert {r["outcome"] for r in again["results"]} == {"duplicate"}  # type: ignore[union-attr]
    assert post_checks(api, pairs(*[(m[0], m[1]) for m in MANY]), headers).json() == before


def test_every_rejected_event_says_why_and_the_good_ones_are_applied(api: Api) -> None:
    future = date(2026, 12, 25).isoformat()
    events: list[object] = [
        ev("ok", "ASSIGNED", "2024-01-01", KEPT, holder=ID_A),
        "not an object",
        ev("", "ASSIGNED", "2024-01-01", holder=ID_A),
        ev("bad-number", "ASSIGNED", "2024-01-01", "12", holder=ID_A),
        ev("bad-type", "SOLD", "2024-01-01", holder=ID_A),
        ev("bad-date", "ASSIGNED", "2024-02-30", holder=ID_A),
        ev("no-holder", "ASSIGNED", "2024-01-01"),
        ev("bad-id", "ASSIGNED", "2024-01-01", holder="123"),
        ev("to-nowhere", "PORTED", "2024-01-01", to="NOSUCH"),
        ev("out-of-range", "ASSIGNED", "2024-01-01", "+8613000000002", holder=ID_A),
        ev("no-range", "ASSIGNED", "2024-01-01", "+8613700137000", holder=ID_A),
        ev("not-cancelled", "RESTORED", "2024-03-01", KEPT),
        ev("twice", "ASSIGNED", "2024-06-01", KEPT, holder=ID_B),
        ev("later", "ASSIGNED", future, "+8613900000078", holder=ID_A),
    ]
    response = report(api, events, api.bearer(api.carrier))
    assert response.status_code == 200, response.text
    body = response.json()
    reasons = [(r["index"], r["outcome"], r.get("reason")) for r in body["results"]]
    assert reasons == [
        (0, "accepted", None),
        (1, "rejected", "INVALID_FIELD"),
        (2, "rejected", "INVALID_EVENT_ID"),
        (3, "rejected", "INVALID_PHONE_NUMBER"),
        (4, "rejected", "INVALID_TYPE"),
        (5, "rejected", "INVALID_DATE"),
        (6, "rejected", "HOLDER_REQUIRED"),
        (7, "rejected", "INVALID_ID_NUMBER"),
        (8, "rejected", "UNKNOWN_CARRIER"),
        (9, "rejected", "NUMBER_NOT_IN_CARRIER_RANGE"),
        (10, "rejected", "NUMBER_NOT_IN_CARRIER_RANGE"),
        (11, "rejected", "NOT_CANCELLED"),
        (12, "rejected", "ALREADY_ASSIGNED"),
        (13, "rejected", "FUTURE_DATE"),
    ]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 0, 13)
    assert all(r["message"] for r in body["results"] if r["outcome"] == "rejected")
    assert ID_A not in response.text
    assert ID_B not in response.text
    # an id used again for other content is refused, and the first event stands
    reused = report(
        api, [ev("ok", "ASSIGNED", "2024-02-02", KEPT, holder=ID_B)], api.bearer(api.carrier)
    )
    assert reused.json()["results"][0]["reason"] == "EVENT_ID_REUSED"
    answer = post_checks(api, pairs((KEPT, "2024-01-01")), api.bearer(api.platform))
    assert answer.json()["results"][0]["reason"] == "SAME_HOLDER"


# carriers --------------------------------------------------------------------------------------


def test_carriers_lists_codes_names_tracking_dates_and_prefixes_without_a_token(api: Api) -> None:
    response = api.http.get("/v1/carriers")
    assert response.status_code == 200
    assert response.json() == {
        "carriers": [
            {
                "code": "CMCC",
                "name": "中国移动",
                "trackingSince": "2023-01-01",
                "prefixes": ["+86138", "+86139"],
            },
            {
                "code": "CUCC",
                "name": "中国联通",
                "trackingSince": "2023-01-01",
                "prefixes": ["+86130"],
            },
        ]
    }


def test_a_newly_registered_carrier_is_listed(api: Api) -> None:
    api.container.registry.add_carrier(
        "CTCC",
        "中国电信",
        tracking_since=date(2024, 5, 1),
        prefixes=["+86189", "+86133"],
        now=api.clock(),
    )
    carriers = orjson.loads(api.http.get("/v1/carriers").content)["carriers"]
    assert [c["code"] for c in carriers] == ["CMCC", "CTCC", "CUCC"]
    assert carriers[1] == {
        "code": "CTCC",
        "name": "中国电信",
        "trackingSince": "2024-05-01",
        "prefixes": ["+86133", "+86189"],
    }
