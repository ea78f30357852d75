"""Operations over HTTP: health, readiness, Prometheus metrics, x-correlator, errors, OpenAPI."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ID_A, Api, ev

CAMARA = "/number-recycling/v0.2/check"
NATIVE = "/v1/checks"
EVENTS = "/v1/lifecycle/events"
NUMBER = "+8613800138000"


def metrics(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``/metrics`` by (name, labels)."""
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_healthz_answers_while_the_process_runs(api: Api) -> None:
    response = api.http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_200_with_the_index_loaded_and_503_while_it_loads(api: Api) -> None:
    api.report([ev("1", "ASSIGNED", "2024-01-01", holder=ID_A)])
    ready = api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "problems": [], "numbers": 1}
    api.container.ready.clear()
    try:
        loading = api.http.get("/readyz")
    finally:
        api.container.ready.set()
    assert loading.status_code == 503
    assert loading.json()["status"] == "not ready"
    assert loading.json()["problems"] == ["answer index is loading"]


def test_metrics_count_requests_latency_checks_and_events(api: Api) -> None:
    carrier = api.bearer(api.carrier)
    platform = api.bearer(api.platform)
    before = metrics(api)
    events = [
        ev("1", "ASSIGNED", "2023-10-09", holder=ID_A),
        ev("2", "CANCELLED", "2024-02-25"),
        ev("x", "ASSIGNED", "2024-01-01", holder="123"),
    ]
    assert api.http.post(EVENTS, json={"events": events}, headers=carrier).status_code == 200
    assert api.http.post(EVENTS, json={"events": events[:1]}, headers=carrier).status_code == 200
    checks = [
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-01"},
        {"phoneNumber": NUMBER, "specifiedDate": "2023-12-02"},
        {"phoneNumber": "+8613700137000", "specifiedDate": "2024-01-01"},
        {"phoneNumber": "nope", "specifiedDate": "2024-01-01"},
    ]
    assert api.http.post(NATIVE, json={"checks": checks}, headers=platform).status_code == 200
    assert api.http.post(NATIVE, json={"checks": []}, headers=platform).status_code == 400
    assert api.http.get("/healthz").status_code == 200
    after = metrics(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "numguard_http_requests_total"
    assert delta(requests, route=EVENTS, method="POST", status="200") == 2
    assert delta(requests, route=NATIVE, method="POST", status="200") == 1
    assert delta(requests, route=NATIVE, method="POST", status="400") == 1
    assert delta(requests, route="/healthz", method="GET", status="200") == 1
    latency = "numguard_http_request_duration_seconds"
    assert delta(f"{latency}_count", route=NATIVE) == 2
    assert delta(f"{latency}_sum", route=NATIVE) > 0
    assert delta(f"{latency}_bucket", route=NATIVE, le="+Inf") == 2
    checked = "numguard_checks_total"
    assert delta(checked, answer="yes", protocol="native") == 2
    assert delta(checked, answer="unknown", protocol="native") == 1
    assert delta(checked, answer="error", protocol="native") == 1
    assert delta(checked, answer="no", protocol="native") == 0
    reported = "numguard_events_total"
    assert delta(reported, outcome="accepted") == 2
    assert delta(reported, outcome="rejected") == 1
    assert delta(reported, outcome="duplicate") == 1


def test_camara_checks_are_counted_under_their_own_route(api: Api) -> None:
    headers = api.bearer(api.platform)
    before = metrics(api)
    response = api.http.post(
        CAMARA, json={"phoneNumber": NUMBER, "specifiedDate": "2024-01-01"}, headers=headers
    )
    assert response.status_code == 200
    after = metrics(api)
    labels = {"route": CAMARA, "method": "POST", "status": "200"}
    assert (
        value(after, "numguard_checks_total", answer="no", protocol="camara")
        - value(before, "numguard_checks_total", answer="no", protocol="camara")
        == 1
    )
    assert (
        value(after, "numguard_http_requests_total", **labels)
        - value(before, "numguard_http_requests_total", **labels)
        == 1
    )
    count = "numguard_http_request_duration_seconds_count"
    assert value(after, count, route=CAMARA) - value(before, count, route=CAMARA) == 1


@pytest.mark.parametrize(
    "correlator",
    ["has space", "a" * 257, "a" * 300, "semi;colon,comma", "quote'd", "pct%20"],
    ids=["space", "257 chars", "300 chars", "comma", "quote", "percent"],
)
def test_an_invalid_x_correlator_is_refused(api: Api, correlator: str) -> None:
    headers = {**api.bearer(api.platform), "x-correlator": correlator}
    response = api.http.post(
        CAMARA, json={"phoneNumber": NUMBER, "specifiedDate": "2024-01-01"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "INVALID_ARGUMENT",
        "message": response.json()["message"],
    }
    assert "x-correlator" in response.json()["message"]
    assert "x-correlator" not in response.headers
    # refused before any route runs, even one that needs no token
    health = api.http.get("/healthz", headers={"x-correlator": correlator})
    assert (health.status_code, health.json()["code"]) == (400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "correlator",
    ["", "b4333c46-49c0-4f62-80d7-f0ef930f1c46", "a-b_c:d;e.f/g<h>{i}", "z" * 256],
    ids=["empty", "uuid", "every allowed symbol", "256 chars"],
)
def test_a_valid_x_correlator_is_echoed(api: Api, correlator: str) -> None:
    response = api.http.get("/healthz", headers={"x-correlator": correlator})
    assert response.status_code == 200
    assert response.headers["x-correlator"] == correlator


def test_an_unknown_route_is_a_404_in_the_house_shape(api: Api) -> None:
    response = api.http.get("/v1/no-such-thing")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"status", "code", "message"}
    assert (body["status"], body["code"]) == (404, "NOT_FOUND")
    assert body["message"]


def test_a_wrong_method_is_a_405_in_the_house_shape(api: Api) -> None:
    response = api.http.get(NATIVE)
    assert response.status_code == 405
    body = response.json()
    assert (body["status"], body["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert set(body) == {"status", "code", "message"}


def test_docs_and_the_openapi_document_are_served(api: Api) -> None:
    docs = api.http.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text
    spec = api.http.get("/openapi.json")
    assert spec.status_code == 200
    document = spec.json()
    assert document["openapi"].startswith("3.")
    operation = document["paths"][CAMARA]["post"]
    assert operation["operationId"] == "checkNumberRecycling"
    assert "x-correlator" in [p["name"] for p in operation.get("parameters", [])]
    assert {"200", "400", "401", "403", "404", "422", "429"} <= set(operation["responses"])
    for path in (NATIVE, "/v1/checks/bulk", EVENTS, "/v1/carriers", "/oauth/token"):
        assert path in document["paths"], path
