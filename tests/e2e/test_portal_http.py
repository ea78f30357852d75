"""The portal over plain HTTP: cookies, CSRF, languages, and the pages' safety headers."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Api


def _cookie_header(response: httpx.Response, name: str) -> str:
    headers = response.headers.get_list("set-cookie")
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, headers
    return str(found[0])


def test_the_first_page_sets_an_httponly_strict_csrf_cookie(api: Api) -> None:
    response = api.http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    cookie = _cookie_header(response, "ng_csrf").lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_form_without_the_csrf_token_changes_nothing(api: Api) -> None:
    api.http.get("/")
    response = api.http.post("/portal/logout", data={"csrf": "forged"})
    assert response.status_code == 403
    assert "页面已过期" in response.text
    english = api.http.post("/portal/logout?lang=en", data={})
    assert english.status_code == 403
    assert "This page has expired" in english.text


def test_the_language_comes_from_the_query_then_the_cookie_then_the_header(api: Api) -> None:
    assert '<html lang="zh-CN">' in api.http.get("/").text
    assert '<html lang="en">' in api.http.get("/", headers={"accept-language": "en-GB"}).text
    chosen = api.http.get("/?lang=en")
    assert '<html lang="en">' in chosen.text
    assert "ng_lang=en" in _cookie_header(chosen, "ng_lang")
    assert '<html lang="en">' in api.http.get("/", headers={"accept-language": "zh-CN"}).text


def test_an_unknown_portal_page_is_a_page_and_the_api_keeps_json_errors(api: Api) -> None:
    page = api.http.get("/portal/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    api_error = api.http.get("/v1/no-such-thing")
    assert api_error.status_code == 404
    assert api_error.json()["code"] == "NOT_FOUND"
    assert api.http.get("/portal/static/portal.css").status_code == 200
