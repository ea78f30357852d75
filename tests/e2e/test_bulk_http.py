"""POST /v1/checks/bulk: CSV or NDJSON in, the same format out, streamed."""

from __future__ import annotations

from tests.e2e.conftest import ID_A, Api, ev


def test_bulk_csv_over_http(api: Api) -> None:
    api.report([ev("1", "ASSIGNED", "2023-10-09", holder=ID_A), ev("2", "CANCELLED", "2024-02-25")])
    rows = "".join(f"+8613800138000,2023-12-{d:02d}\n" for d in range(1, 29))
    response = api.http.post(
        "/v1/checks/bulk",
        content=("phoneNumber,specifiedDate\n" + rows).encode(),
        headers={**api.bearer(api.platform), "Content-Type": "text/csv", "x-correlator": "bulk-1"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-correlator"] == "bulk-1"
    lines = response.text.splitlines()
    assert len(lines) == 29
    assert all(line.split(",")[2] == "yes" for line in lines[1:])


def test_bulk_refuses_an_unknown_content_type_and_a_bad_header(api: Api) -> None:
    headers = api.bearer(api.platform)
    wrong_type = api.http.post(
        "/v1/checks/bulk", content=b"x", headers={**headers, "Content-Type": "text/plain"}
    )
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (400, "INVALID_ARGUMENT")
    bad_header = api.http.post(
        "/v1/checks/bulk", content=b"a,b\n1,2\n", headers={**headers, "Content-Type": "text/csv"}
    )
    assert (bad_header.status_code, bad_header.json()["code"]) == (400, "INVALID_ARGUMENT")


def test_bulk_needs_the_check_scope(api: Api) -> None:
    response = api.http.post(
        "/v1/checks/bulk",
        content=b"phoneNumber,specifiedDate\n",
        headers={**api.bearer(api.carrier, "lifecycle:write"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 403


def test_bulk_ndjson_over_http(api: Api) -> None:
    api.report([ev("1", "ASSIGNED", "2023-10-09", holder=ID_A)])
    body = b'{"phoneNumber":"+8613800138000","specifiedDate":"2024-01-01"}\n'
    response = api.http.post(
        "/v1/checks/bulk",
        content=body,
        headers={**api.bearer(api.platform), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200
    assert b'"recycled":"no"' in response.content
