"""The portal over plain HTTP: cookies, CSRF, languages, and the pages' safety headers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import FrozenClock
from tests.e2e.conftest import Api, ev, make_api
from tests.unit.domain.domain_builders import make_cn_id


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


# The lookup flow over HTTP: errors in words, the session cookie, no probing -------------------

NEW_ID = make_cn_id("110105", date(1992, 3, 1), 101)
OTHER_ID = make_cn_id("310104", date(1975, 6, 1), 202)
PHONE = "+8613800138000"


@pytest.fixture
def portal_api(tmp_path: Path, clock: FrozenClock) -> Iterator[Api]:
    """The app with the file SMS gateway and one number held since 2023."""
    for api in make_api(
        f"sqlite:///{tmp_path}/portal.db", tmp_path, clock, NUMGUARD_SMS_GATEWAY="file"
    ):
        api.report([ev("p1", "ASSIGNED", "2023-01-01", PHONE, holder=NEW_ID)])
        yield api


def _csrf(api: Api) -> str:
    page = api.http.get("/portal/lookup")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def _start(api: Api, suffix: str, phone: str = PHONE, lang: str = "zh-CN") -> httpx.Response:
    return api.http.post(
        f"/portal/lookup?lang={lang}",
        data={"csrf": _csrf(api), "kind": "accounts", "phone": phone, "id_suffix": suffix},
        follow_redirects=False,
    )


def _code(tmp_path: Path) -> str:
    lines = (tmp_path / "sms.jsonl").read_text("utf-8").splitlines()
    found = re.search(r"\b(\d{6})\b", json.loads(lines[-1])["text"])
    assert found
    return found.group(1)


def _verify(api: Api, code: str) -> httpx.Response:
    return api.http.post(
        "/portal/code", data={"csrf": _csrf(api), "code": code}, follow_redirects=False
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_verified_lookup_lives_in_a_strict_httponly_cookie_that_expires(
    portal_api: Api, tmp_path: Path
) -> None:
    started = _start(portal_api, NEW_ID[-6:])
    assert (started.status_code, started.headers["location"]) == (303, "/portal/code")
    verified = _verify(portal_api, _code(tmp_path))
    assert (verified.status_code, verified.headers["location"]) == (303, "/portal/accounts")
    cookie = _cookie_header(verified, "ng_session").lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "max-age=900" in cookie
    assert NEW_ID[-6:].lower() not in cookie
    page = portal_api.http.get("/portal/accounts")
    assert page.status_code == 200
    assert "138****8000" in page.text
    assert PHONE not in page.text

    # After the service's session ends, the page asks to verify again.
    portal_api.clock.now += timedelta(seconds=901)
    expired = portal_api.http.get("/portal/accounts", follow_redirects=False)
    assert expired.status_code == 303
    assert "again=1" in expired.headers["location"]
    assert "已结束或已过期" in portal_api.http.get(expired.headers["location"]).text


def test_matching_and_mismatching_ids_get_the_same_answer_until_the_code(
    portal_api: Api, tmp_path: Path
) -> None:
    matching = _start(portal_api, NEW_ID[-6:])
    page_after_match = portal_api.http.get("/portal/code").text
    portal_api.http.cookies.clear()
    second_number = "+8613800138001"
    portal_api.report([ev("p2", "ASSIGNED", "2023-01-01", second_number, holder=NEW_ID)])
    mismatching = _start(portal_api, OTHER_ID[-6:], phone=second_number)
    page_after_mismatch = portal_api.http.get("/portal/code").text
    assert matching.status_code == mismatching.status_code == 303
    assert matching.headers["location"] == mismatching.headers["location"]

    def scrub(html: str) -> str:
        return re.sub(r'value="[^"]+"', "", html).replace("8001", "8000")

    assert scrub(page_after_match) == scrub(page_after_mismatch)
    # Once the code proves the phone, the mismatch is said, and nothing is shown.
    _verify(portal_api, _code(tmp_path))
    result = portal_api.http.get("/portal/accounts")
    assert "不符" in result.text
    assert "<table" not in result.text


def test_wrong_codes_count_down_then_lock_in_the_chosen_language(
    portal_api: Api, tmp_path: Path
) -> None:
    _start(portal_api, NEW_ID[-6:], lang="en")
    wrong = _wrong(_code(tmp_path))
    for left in (4, 3, 2, 1):
        answer = _verify(portal_api, wrong)
        assert answer.status_code == 400
        assert f"You can try {left} more times." in answer.text
        assert 'aria-describedby="code-hint code-error"' in answer.text
    locked = _verify(portal_api, wrong)
    assert locked.status_code == 403
    assert "Too many wrong codes" in locked.text
    # The lookup is gone from the cookie: even the right code cannot open it now.
    after = _verify(portal_api, _code(tmp_path))
    assert after.status_code == 303
    assert "again=1" in after.headers["location"]


def test_a_malformed_code_costs_no_try_and_an_old_code_has_expired(
    portal_api: Api, tmp_path: Path
) -> None:
    _start(portal_api, NEW_ID[-6:])
    short = _verify(portal_api, "12345")
    assert short.status_code == 400
    assert "验证码是 6 位数字" in short.text
    assert "还可以再试 4 次" in _verify(portal_api, _wrong(_code(tmp_path))).text
    portal_api.clock.now += timedelta(minutes=11)
    late = _verify(portal_api, _code(tmp_path))
    assert late.status_code == 400
    assert "验证码已过期（有效期 10 分钟）" in late.text


def test_one_code_at_a_time_one_verified_lookup_a_day_and_bad_input_in_words(
    portal_api: Api, tmp_path: Path
) -> None:
    assert _start(portal_api, NEW_ID[-6:]).status_code == 303
    again = _start(portal_api, NEW_ID[-6:], lang="en")
    assert again.status_code == 400
    assert "A code was already sent to this number and is still valid" in again.text
    assert "start again after 2026-11-28 12:10 (Beijing time)" in again.text
    _verify(portal_api, _code(tmp_path))
    portal_api.clock.now += timedelta(hours=1)
    later = _start(portal_api, NEW_ID[-6:])
    assert later.status_code == 400
    assert (
        "这个号码 24 小时内已经查询过一次。请在 2026-11-29 12:00（北京时间）之后再试。"
        in later.text
    )
    bad_phone = _start(portal_api, NEW_ID[-6:], phone="12345", lang="en")
    assert "This is not a valid mobile number" in bad_phone.text
    assert 'id="phone-error"' in bad_phone.text
    assert 'aria-invalid="true"' in bad_phone.text
    bad_suffix = _start(portal_api, "12A45!", phone="+8613800138002")
    assert "请输入身份证号码的最后 6 位" in bad_suffix.text
    assert 'id="id_suffix-error"' in bad_suffix.text
    assert len((tmp_path / "sms.jsonl").read_text().splitlines()) == 1


def test_results_need_a_verified_session_and_logout_ends_it(
    portal_api: Api, tmp_path: Path
) -> None:
    for path in ("/portal/accounts", "/portal/numbers", "/portal/requests", "/portal/plan"):
        answer = portal_api.http.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert "/portal/lookup" in answer.headers["location"]
    portal_api.http.cookies.set("ng_session", "accounts x.y")
    forged = portal_api.http.get("/portal/accounts")
    assert "已结束或已过期" in forged.text
    portal_api.http.cookies.clear()
    _start(portal_api, NEW_ID[-6:])
    _verify(portal_api, _code(tmp_path))
    assert portal_api.http.get("/portal/accounts").status_code == 200
    out = portal_api.http.post(
        "/portal/logout", data={"csrf": _csrf(portal_api)}, follow_redirects=False
    )
    assert (out.status_code, out.headers["location"]) == (303, "/?ended=1")
    assert 'ng_session=""' in _cookie_header(out, "ng_session")
    assert "验证信息已清除" in portal_api.http.get(out.headers["location"]).text
    after = portal_api.http.get("/portal/accounts", follow_redirects=False)
    assert after.status_code == 303


def test_renewal_from_the_portal_is_idempotent_and_turns_overdue(
    tmp_path: Path, clock: FrozenClock
) -> None:
    recycled = "+8613900139000"
    for api in make_api(
        f"sqlite:///{tmp_path}/renew.db",
        tmp_path,
        clock,
        NUMGUARD_SMS_GATEWAY="file",
        NUMGUARD_LOOKUP_SESSION_SECONDS="3000000",
    ):
        api.report(
            [
                ev("r1", "ASSIGNED", "2023-01-02", recycled, holder=OTHER_ID),
                ev("r2", "CANCELLED", "2023-03-01", recycled),
                ev("r3", "RELEASED", "2023-06-01", recycled),
                ev("r4", "ASSIGNED", "2023-07-01", recycled, holder=NEW_ID),
            ]
        )
        bindings = api.container.bindings
        bindings.add_platform("BANK", "示例银行", category="FINANCIAL")
        item = {
            "accountRef": "previous-holder-01",
            "phoneNumber": recycled,
            "boundAt": "2023-02-01",
        }
        assert bindings.put("BANK", [item]).counts()["created"] == 1
        _start(api, NEW_ID[-6:], phone=recycled)
        _verify(api, _code(tmp_path))
        page = api.http.get("/portal/accounts").text
        assert "在你持有这个号码之前绑定" in page
        assert "previous-holder-01" not in page
        assert "2023-02-01" not in page

        forged = api.http.post("/portal/renew", data={"csrf": "x"}, follow_redirects=False)
        assert forged.status_code == 403
        assert 'data-request="' not in api.http.get("/portal/requests").text
        sent = api.http.post("/portal/renew", data={"csrf": _csrf(api)}, follow_redirects=False)
        assert sent.headers["location"] == "/portal/requests?sent=1"
        assert "处理中" in api.http.get("/portal/requests").text
        again = api.http.post("/portal/renew", data={"csrf": _csrf(api)}, follow_redirects=False)
        assert again.headers["location"] == "/portal/requests?sent=0"
        assert api.http.get("/portal/requests").text.count('data-request="') == 1

        api.clock.now += timedelta(days=10)
        assert "已逾期" in api.http.get("/portal/requests").text


def test_after_renewal_a_tracking_link_shows_the_statuses_without_a_session(
    tmp_path: Path, clock: FrozenClock
) -> None:
    recycled = "+8613900139000"
    for api in make_api(
        f"sqlite:///{tmp_path}/track.db", tmp_path, clock, NUMGUARD_SMS_GATEWAY="file"
    ):
        api.report(
            [
                ev("t1", "ASSIGNED", "2023-01-02", recycled, holder=OTHER_ID),
                ev("t2", "TRANSFERRED", "2023-07-01", recycled, holder=NEW_ID),
            ]
        )
        bindings = api.container.bindings
        bindings.add_platform("BANK", "示例银行", category="FINANCIAL")
        item = {
            "accountRef": "previous-holder-01",
            "phoneNumber": recycled,
            "boundAt": "2023-02-01",
        }
        assert bindings.put("BANK", [item]).counts()["created"] == 1
        _start(api, NEW_ID[-6:], phone=recycled)
        _verify(api, _code(tmp_path))
        api.http.post("/portal/renew", data={"csrf": _csrf(api)})
        page = api.http.get("/portal/requests").text
        link = re.search(r'id="tracking-link">([^<]+)</a>', page)
        assert link is not None
        path, _, token = link.group(1).partition("#")
        assert path.endswith("/portal/track?lang=zh-CN")
        assert re.fullmatch(r"trk_[A-Za-z0-9_-]{43}", token)
        assert f'<code id="tracking-token">{token}</code>' in page
        assert "2026-12-28 12:00（北京时间）之前" in page  # 30 days
        # The token is only ever in a fragment or a form: never in an address the server sees.
        assert not re.search(r'(href|action)="[^"#]*trk_', page)

        clock.now += timedelta(days=3)  # the lookup session is long over
        api.http.cookies.clear()
        form = api.http.get("/portal/track?lang=en")
        assert form.status_code == 200
        assert 'id="track-form"' in form.text
        assert token not in form.text
        shown = api.http.post("/portal/track", data={"csrf": _csrf(api), "token": token})
        assert shown.status_code == 200
        assert '<html lang="en">' in shown.text
        assert "示例银行" in shown.text
        assert "Financial" in shown.text
        assert "Pending" in shown.text
        for hidden in (recycled, "139****9000", "previous-holder-01", "2023-02-01"):
            assert hidden not in shown.text
        assert "ng_session" not in api.http.cookies

        request_id = bindings.platform_requests("BANK")[0].request_id
        bindings.confirm_unbind("BANK", request_id)
        refreshed = api.http.post("/portal/track", data={"csrf": _csrf(api), "token": token})
        assert "Done" in refreshed.text

        wrong = api.http.post("/portal/track", data={"csrf": _csrf(api), "token": token[:-1]})
        assert wrong.status_code == 400
        assert "This tracking code is not valid or has expired" in wrong.text
        forged = api.http.post("/portal/track", data={"csrf": "x", "token": token})
        assert forged.status_code == 403
