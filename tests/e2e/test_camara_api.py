"""CAMARA Number Recycling over HTTP: the spec's scenarios and every error code it defines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.conftest import ID_A, ID_B, Api, ev, make_api

CHECK = "/number-recycling/v0.2/check"
NUMBER = "+8613800138000"
STORY = [
    ev("a1", "ASSIGNED", "2023-10-09", holder=ID_A),
    ev("a2", "CANCELLED", "2024-02-25"),
    ev("b1", "ASSIGNED", "2024-09-21", holder=ID_B),
    ev("s1", "ASSIGNED", "2023-10-09", "+8613900139000", holder=ID_A),
]


def check(
    api: Api, body: dict[str, object], headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    response = api.http.post(CHECK, json=body, headers=headers)
    return response.status_code, response.json()


def test_scenario_2_a_reissued_number_answers_true(api_on_both: Api) -> None:
    api = api_on_both
    assert api.report(STORY)["accepted"] == 4
    headers = api.bearer(api.platform, "number-recycling:check")
    assert check(api, {"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"}, headers) == (
        200,
        {"phoneNumberRecycled": True},
    )
    # nobody held the number between the cancellation and the reissue: true as well
    assert check(api, {"phoneNumber": NUMBER, "specifiedDate": "2024-05-01"}, headers)[1] == {
        "phoneNumberRecycled": True
    }


def test_scenario_1_a_number_held_without_a_break_answers_false_for_its_start_date(
    api_on_both: Api,
) -> None:
    api = api_on_both
    api.report(STORY)
    headers = api.bearer(api.platform)
    assert check(
        api, {"phoneNumber": "+8613900139000", "specifiedDate": "2023-10-09"}, headers
    ) == (200, {"phoneNumberRecycled": False})
    assert check(api, {"phoneNumber": NUMBER, "specifiedDate": "2024-09-21"}, headers)[1] == {
        "phoneNumberRecycled": False
    }


def test_port_false_transfer_true_restore_false_and_early_reissue_rejected(api: Api) -> None:
    result = api.report(
        [
            ev("p1", "ASSIGNED", "2023-10-09", "+8613900000001", holder=ID_A),
            ev("p2", "PORTED", "2024-03-01", "+8613900000001", to="CUCC"),
            ev("t1", "ASSIGNED", "2023-10-09", "+8613900000002", holder=ID_A),
            ev("t2", "TRANSFERRED", "2024-03-01", "+8613900000002", holder=ID_B),
            ev("r1", "ASSIGNED", "2023-10-09", "+8613900000003", holder=ID_A),
            ev("r2", "CANCELLED", "2024-01-10", "+8613900000003"),
            ev("r3", "RESTORED", "2024-02-01", "+8613900000003"),
            ev("x1", "ASSIGNED", "2023-10-09", "+8613900000004", holder=ID_A),
            ev("x2", "CANCELLED", "2024-01-10", "+8613900000004"),
            ev("x3", "ASSIGNED", "2024-02-10", "+8613900000004", holder=ID_B),
        ]
    )
    rejected = [r for r in result["results"] if r["outcome"] == "rejected"]  # type: ignore[union-attr]
    assert [(r["eventId"], r["reason"]) for r in rejected] == [("x3", "AGING_PERIOD_NOT_OVER")]
    headers = api.bearer(api.platform)
    day = "2023-12-01"
    assert check(api, {"phoneNumber": "+8613900000001", "specifiedDate": day}, headers)[1] == {
        "phoneNumberRecycled": False
    }
    assert check(api, {"phoneNumber": "+8613900000002", "specifiedDate": day}, headers)[1] == {
        "phoneNumberRecycled": True
    }
    assert check(api, {"phoneNumber": "+8613900000003", "specifiedDate": day}, headers)[1] == {
        "phoneNumberRecycled": False
    }
    # the rejected reissue changed nothing: the number is still cancelled, nobody holds it
    answer = api.http.post(
        "/v1/checks",
        json={"checks": [{"phoneNumber": "+8613900000004", "specifiedDate": day}]},
        headers=headers,
    )
    assert answer.json()["results"][0]["vendorCode"] == 3


def test_x_correlator_is_echoed(api: Api) -> None:
    api.report(STORY)
    response = api.http.post(
        CHECK,
        json={"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"},
        headers={**api.bearer(api.platform), "x-correlator": "b4333c46-49c0-4f62"},
    )
    assert response.headers["x-correlator"] == "b4333c46-49c0-4f62"


ERROR_CASES = [
    # (case, body, token kind, status, code)
    (
        "bad date format",
        {"phoneNumber": NUMBER, "specifiedDate": "22/12/2023"},
        "client",
        400,
        "INVALID_ARGUMENT",
    ),
    (
        "impossible date",
        {"phoneNumber": NUMBER, "specifiedDate": "2023-02-30"},
        "client",
        400,
        "INVALID_ARGUMENT",
    ),
    (
        "number without +",
        {"phoneNumber": "8613800138000", "specifiedDate": "2023-12-22"},
        "client",
        400,
        "INVALID_ARGUMENT",
    ),
    (
        "unknown field",
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-22", "foo": 1},
        "client",
        400,
        "INVALID_ARGUMENT",
    ),
    (
        "date in the future",
        {"phoneNumber": NUMBER, "specifiedDate": "2099-01-01"},
        "client",
        400,
        "OUT_OF_RANGE",
    ),
    (
        "date before complete records",
        {"phoneNumber": "+8613900000009", "specifiedDate": "2022-06-01"},
        "client",
        400,
        "OUT_OF_RANGE",
    ),
    (
        "no token",
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"},
        "none",
        401,
        "UNAUTHENTICATED",
    ),
    (
        "expired token",
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"},
        "expired",
        401,
        "UNAUTHENTICATED",
    ),
    (
        "forged token",
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"},
        "forged",
        401,
        "UNAUTHENTICATED",
    ),
    (
        "token without the check scope",
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"},
        "write-only",
        403,
        "PERMISSION_DENIED",
    ),
    (
        "well-formed but invalid number",
        {"phoneNumber": "+861380013800", "specifiedDate": "2023-12-22"},
        "client",
        404,
        "IDENTIFIER_NOT_FOUND",
    ),
    (
        "another country",
        {"phoneNumber": "+12025550123", "specifiedDate": "2023-12-22"},
        "client",
        422,
        "SERVICE_NOT_APPLICABLE",
    ),
    (
        "no carrier's range",
        {"phoneNumber": "+8613700137000", "specifiedDate": "2023-12-22"},
        "client",
        422,
        "SERVICE_NOT_APPLICABLE",
    ),
    (
        "client token, no number",
        {"specifiedDate": "2023-12-22"},
        "client",
        422,
        "MISSING_IDENTIFIER",
    ),
    (
        "phone token and a number",
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"},
        "phone",
        422,
        "UNNECESSARY_IDENTIFIER",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "kind", "status", "code"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_every_camara_error_code(
    api: Api, case: str, body: dict[str, object], kind: str, status: int, code: str
) -> None:
    api.report(STORY)
    now = api.clock()
    if kind == "none":
        headers: dict[str, str] = {}
    elif kind == "client":
        headers = api.bearer(api.platform)
    elif kind == "write-only":
        headers = api.bearer(api.carrier, "lifecycle:write")
    elif kind == "phone":
        token = api.container.clients.issue_phone_token(
            NUMBER, "number-recycling:check", now=now
        ).access_token
        headers = {"Authorization": f"Bearer {token}"}
    elif kind == "forged":
        token = api.token(api.platform)
        headers = {"Authorization": f"Bearer {token[:-4]}AAAA"}
    else:  # expired
        token = api.token(api.platform)
        api.clock.now = now + timedelta(hours=2)
        headers = {"Authorization": f"Bearer {token}"}
    response = api.http.post(CHECK, json=body, headers=headers)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["code"] == code
    assert payload["status"] == status
    assert payload["message"]


def test_a_phone_bound_token_checks_its_own_number(api: Api) -> None:
    api.report(STORY)
    token = api.container.clients.issue_phone_token(
        NUMBER, "number-recycling:check", now=api.clock()
    ).access_token
    status, body = check(api, {"specifiedDate": "2023-12-22"}, {"Authorization": f"Bearer {token}"})
    assert (status, body) == (200, {"phoneNumberRecycled": True})


def test_too_many_requests(tmp_path: object, clock: object) -> None:

    for api in make_api(
        f"sqlite:///{tmp_path}/rl.db",
        tmp_path,
        clock,
        NUMGUARD_RATE_LIMIT_PER_SECOND="1",
        NUMGUARD_RATE_LIMIT_BURST="2",
    ):  # type: ignore[arg-type]
        headers = api.bearer(api.platform)
        statuses = [
            api.http.post(
                CHECK, json={"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"}, headers=headers
            ).status_code
            for _ in range(5)
        ]
        assert 429 in statuses
        limited = api.http.post(
            CHECK, json={"phoneNumber": NUMBER, "specifiedDate": "2023-12-22"}, headers=headers
        )
        assert limited.status_code == 429
        assert limited.json()["code"] == "TOO_MANY_REQUESTS"
        assert int(limited.headers["Retry-After"]) >= 1
