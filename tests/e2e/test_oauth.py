"""POST /oauth/token: the RFC 6749 §4.4 client credentials grant, driven over HTTP."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from tests.e2e.conftest import Api

TOKEN = "/oauth/token"
CHECK = "/v1/checks"
ONE_CHECK = {"checks": [{"phoneNumber": "+8613800138000", "specifiedDate": "2024-01-01"}]}


def form(who: tuple[str, str], **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": who[0],
        "client_secret": who[1],
        **extra,
    }


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def check_with(api: Api, token: str) -> int:
    response = api.http.post(CHECK, json=ONE_CHECK, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def test_a_form_encoded_request_gets_a_bearer_token_that_answers_checks(api: Api) -> None:
    response = api.http.post(TOKEN, data=form(api.platform))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "number-recycling:check"
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert check_with(api, body["access_token"]) == 200


def test_a_form_with_a_charset_parameter_is_form_encoded_too(api: Api) -> None:
    response = api.http.post(
        TOKEN,
        content="&".join(f"{k}={v}" for k, v in form(api.platform).items()).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.status_code == 200, response.text


def test_the_token_response_must_not_be_cached(api: Api) -> None:
    response = api.http.post(TOKEN, data=form(api.platform))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def test_a_json_body_is_refused_as_an_invalid_request(api: Api) -> None:
    response = api.http.post(TOKEN, json=form(api.platform))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"]
    assert "access_token" not in response.json()
    assert response.headers["cache-control"] == "no-store"


def test_a_repeated_parameter_is_an_invalid_request(api: Api) -> None:
    body = "&".join(f"{k}={v}" for k, v in form(api.platform).items()) + "&scope=a&scope=b"
    response = api.http.post(
        TOKEN,
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_http_basic_credentials_work(api: Api) -> None:
    client_id, secret = api.platform
    response = api.http.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )
    assert response.status_code == 200, response.text
    assert check_with(api, response.json()["access_token"]) == 200


def test_basic_credentials_with_a_wrong_secret_are_refused(api: Api) -> None:
    client_id, _ = api.platform
    response = api.http.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=basic(client_id, "nope")
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


def test_a_wrong_secret_and_an_unknown_client_look_exactly_the_same(api: Api) -> None:
    client_id, secret = api.platform
    wrong_secret = api.http.post(TOKEN, data=form((client_id, secret + "x")))
    unknown_client = api.http.post(TOKEN, data=form(("ng_nobody_like_this", secret)))
    for response in (wrong_secret, unknown_client):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
        assert response.headers["cache-control"] == "no-store"
        assert "access_token" not in response.json()
    assert wrong_secret.content == unknown_client.content
    assert client_id not in wrong_secret.text


def test_missing_credentials_are_an_invalid_client(api: Api) -> None:
    response = api.http.post(TOKEN, data={"grant_type": "client_credentials"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", "CLIENT"])
def test_a_grant_type_other_than_client_credentials_is_unsupported(api: Api, grant: str) -> None:
    response = api.http.post(TOKEN, data=form(api.platform, grant_type=grant))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_missing_grant_type_is_an_invalid_request(api: Api) -> None:
    """RFC 6749 §4.4.2: grant_type is REQUIRED; §5.2: a missing parameter is invalid_request."""
    client_id, secret = api.platform
    response = api.http.post(TOKEN, data={"client_id": client_id, "client_secret": secret})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_credentials_in_basic_and_in_the_body_at_once_are_refused(api: Api) -> None:
    """RFC 6749 §2.3: the client MUST NOT use more than one authentication method per request."""
    client_id, secret = api.platform
    response = api.http.post(TOKEN, data=form(api.platform), headers=basic(client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "access_token" not in response.json()


@pytest.mark.parametrize(
    ("who", "scope"),
    [
        ("platform", "lifecycle:write"),
        ("platform", "admin"),
        ("platform", "number-recycling:check admin"),
        ("carrier", "admin"),
        ("platform", "no-such:scope"),
    ],
)
def test_a_scope_the_client_lacks_is_an_invalid_scope(api: Api, who: str, scope: str) -> None:
    party = api.platform if who == "platform" else api.carrier
    response = api.http.post(TOKEN, data=form(party, scope=scope))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "access_token" not in response.json()


def test_a_narrower_scope_is_granted_and_enforced(api: Api) -> None:
    response = api.http.post(TOKEN, data=form(api.carrier, scope="lifecycle:write"))
    assert response.status_code == 200
    assert response.json()["scope"] == "lifecycle:write"
    token = response.json()["access_token"]
    denied = api.http.post(CHECK, json=ONE_CHECK, headers={"Authorization": f"Bearer {token}"})
    assert (denied.status_code, denied.json()["code"]) == (403, "PERMISSION_DENIED")


def test_a_token_works_until_expires_in_and_not_a_second_longer(api: Api) -> None:
    issued_at = api.clock()
    response = api.http.post(TOKEN, data=form(api.platform))
    token, expires_in = response.json()["access_token"], response.json()["expires_in"]
    api.clock.now = issued_at + timedelta(seconds=expires_in - 1)
    assert check_with(api, token) == 200
    api.clock.now = issued_at + timedelta(seconds=expires_in + 1)
    expired = api.http.post(CHECK, json=ONE_CHECK, headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert expired.json()["code"] == "UNAUTHENTICATED"
    assert expired.json()["status"] == 401
    assert expired.headers["www-authenticate"].startswith("Bearer")
    # the same client simply asks again
    assert check_with(api, api.token(api.platform)) == 200


def test_a_disabled_client_s_token_stops_working_and_it_gets_no_new_one(api: Api) -> None:
    token = api.token(api.platform)
    assert check_with(api, token) == 200  # verified once, so it sits in the token cache
    api.container.clients.disable_client(api.platform[0], api.clock())
    refused = api.http.post(CHECK, json=ONE_CHECK, headers={"Authorization": f"Bearer {token}"})
    assert (refused.status_code, refused.json()["code"]) == (401, "UNAUTHENTICATED")
    again = api.http.post(TOKEN, data=form(api.platform))
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    unknown = api.http.post(TOKEN, data=form(("ng_nobody_like_this", api.platform[1])))
    assert again.content == unknown.content
    # other clients are untouched
    assert check_with(api, api.token(api.carrier)) == 200
