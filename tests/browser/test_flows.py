"""The people's flows in a real browser, in Chinese and in English: 一证通查 2.0 with 焕新 and a
platform confirming, 一证通查 1.0, and the cancellation plan (tick, print, CSV)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Person, Portal, Screens

WORDS = {
    "zh-CN": {
        "phone": "手机号码",
        "suffix": "身份证号码后 6 位",
        "id": "身份证号码",
        "send": "获取验证码",
        "code": "短信验证码",
        "verify": "验证",
        "before": "在你持有这个号码之前绑定",
        "mine": "在你持有期间绑定",
        "renew": "发送解绑请求",
        "pending": "处理中",
        "done": "已解绑",
        "rejected": "被拒绝",
        "to_accounts": "查看这个号码绑定的账户",
        "no_accounts": "没有平台报告绑定在这个号码上的账户。",
        "refresh": "刷新",
        "keep": "收藏或打印跟踪链接",
        "tracked": "解绑请求进度",
        "financial": "金融",
        "print_page": "打印本页",
        "wrong": "还可以再试 4 次",
        "close": "注销账户",
        "unbind": "解绑手机号",
        "download": "下载 CSV",
        "print": "打印清单",
        "progress": "已完成 2 / 4",
        "numbers": "登记在你身份证名下的号码",
        "in_use": "使用中",
        "categories": "金融,社交,购物,生活服务",
    },
    "en": {
        "phone": "Phone number",
        "suffix": "Last 6 characters of your ID number",
        "id": "ID number",
        "send": "Send me a code",
        "code": "SMS code",
        "verify": "Verify",
        "before": "Bound before you held this number",
        "mine": "Bound during your tenure",
        "renew": "Send unbind requests",
        "pending": "Pending",
        "done": "Done",
        "rejected": "Rejected",
        "to_accounts": "See the accounts bound to this number",
        "no_accounts": "No platform reports an account bound to this number.",
        "refresh": "Refresh",
        "keep": "Bookmark or print your tracking link",
        "tracked": "Your unbind requests",
        "financial": "Financial",
        "print_page": "Print this page",
        "wrong": "You can try 4 more times",
        "close": "Close the account",
        "unbind": "Unbind the number",
        "download": "Download CSV",
        "print": "Print the checklist",
        "progress": "2 of 4 done",
        "numbers": "Numbers registered under your ID",
        "in_use": "In use",
        "categories": "Financial,Social,Shopping,Lifestyle",
    },
}


def _start(
    portal: Portal, page: Any, words: dict[str, str], kind: str, person: Person, screens: Screens
) -> None:
    """Fill the lookup form, read the SMS code from the file sink, and verify it."""
    page.goto(portal.url(f"/portal/lookup?kind={kind}"))
    page.get_by_label(words["phone"]).fill(person.phone)
    if kind == "numbers":
        page.get_by_label(words["id"], exact=True).fill(person.id_number)
    else:
        page.get_by_label(words["suffix"]).fill(person.id_suffix)
    screens.take(page, "lookup-start")
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url("**/portal/code")
    assert person.e164[-4:] in page.content()
    assert person.e164 not in page.content()
    screens.take(page, "code")
    page.get_by_label(words["code"]).fill(portal.sms_code(person))
    page.get_by_role("button", name=words["verify"]).click()


def test_new_holder_looks_up_renews_and_follows_a_platform_confirming(
    portal: Portal, browser: Any, page: Any, lang: str, screens: Screens
) -> None:
    words = WORDS[lang]
    person = portal.people[f"new-{lang}"]
    page.goto(portal.url("/portal/lookup?kind=accounts"))
    page.get_by_label(words["phone"]).fill(person.phone)
    page.get_by_label(words["suffix"]).fill(person.id_suffix)
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url("**/portal/code")
    real = portal.sms_code(person)
    wrong = "000000" if real != "000000" else "111111"
    page.get_by_label(words["code"]).fill(wrong)
    page.get_by_role("button", name=words["verify"]).click()
    error = page.locator("#code-error")
    expect(error).to_contain_text(words["wrong"])
    expect(page.locator("#error-summary")).to_be_focused()
    code_input = page.get_by_label(words["code"])
    assert code_input.get_attribute("aria-invalid") == "true"
    assert "code-error" in (code_input.get_attribute("aria-describedby") or "")
    screens.take(page, "code-wrong")
    code_input.fill(real)
    page.get_by_role("button", name=words["verify"]).click()
    page.wait_for_url("**/portal/accounts")

    before = page.locator(".tag.before")
    mine = page.locator(".tag.during")
    assert before.count() == 3
    assert mine.count() == 2
    assert before.first.inner_text() == words["before"]
    assert mine.first.inner_text() == words["mine"]
    html = page.content()
    # The previous holder's account references and dates never reach the page.
    assert "old-" not in html
    assert "2019-04-02" not in html
    assert "2020-02-20" not in html
    assert person.e164 not in html
    headings = page.locator('section[aria-labelledby^="cat-"] h2').all_inner_texts()
    assert headings == words["categories"].split(",")  # in the order of the plan
    screens.take(page, "accounts", doc="portal-accounts.png" if lang == "en" else None)

    page.get_by_role("button", name=words["renew"]).click()
    page.wait_for_url("**/portal/requests?sent=3")
    rows = page.locator("#requests tbody tr")
    assert rows.count() == 3
    assert page.locator(".tag.pending").count() == 3
    assert page.get_by_role("status").is_visible()
    screens.take(page, "requests-pending")

    listed = portal.api("GET", "/v1/unbind-requests", "BANK")
    assert listed.status_code == 200, listed.text
    mine_requests = [r for r in listed.json()["requests"] if r["phoneNumber"] == person.e164]
    assert len(mine_requests) == 1
    assert set(mine_requests[0]) >= {"requestId", "phoneNumber", "tenureStart", "accountRefs"}
    confirmed = portal.api(
        "POST", f"/v1/unbind-requests/{mine_requests[0]['requestId']}/confirm", "BANK"
    )
    assert confirmed.status_code == 200, confirmed.text
    pay = [
        r
        for r in portal.api("GET", "/v1/unbind-requests", "PAY").json()["requests"]
        if r["phoneNumber"] == person.e164
    ]
    reason = "the account holder proved who they are at a branch"
    rejected = portal.api(
        "POST", f"/v1/unbind-requests/{pay[0]['requestId']}/reject", "PAY", json={"reason": reason}
    )
    assert rejected.status_code == 200, rejected.text

    page.get_by_role("link", name=words["refresh"]).click()
    page.wait_for_url("**/portal/requests")
    done = page.locator(".tag.done")
    assert done.count() == 1
    assert done.inner_text() == words["done"]
    assert page.locator(".tag.rejected").inner_text() == words["rejected"]
    assert reason in page.locator("#requests").inner_text()
    assert page.locator(".tag.pending").count() == 1
    screens.take(page, "requests-done")

    # The tracking link works after the session: the service's clock moves past it, and a
    # fresh browser with no cookie at all opens the link (its token is in the fragment).
    expect(page.get_by_role("heading", name=words["keep"])).to_be_visible()
    link = page.locator("#tracking-link").inner_text()
    token = page.locator("#tracking-token").inner_text()
    assert link.endswith(f"/portal/track?lang={lang}#{token}")
    assert page.get_by_role("button", name=words["print_page"]).is_visible()
    portal.clock.offset += timedelta(minutes=20)
    try:
        page.get_by_role("link", name=words["refresh"]).click()
        page.wait_for_url("**/portal/lookup?kind=accounts&again=1")  # the session is over
        later = browser.new_context(locale=lang, viewport={"width": 412, "height": 860})
        try:
            tab = later.new_page()
            tab.goto(link)
            expect(tab.locator("#tracked")).to_be_visible()  # sent by the page's script
            assert tab.url.endswith("/portal/track")  # the token is in no address
            rows = tab.locator("#tracked tbody tr")
            assert rows.count() == 3
            table = tab.locator("#tracked").inner_text()
            assert "招商银行" in table
            assert words["financial"] in table
            assert tab.locator(".tag.done").inner_text() == words["done"]
            assert tab.locator(".tag.rejected").inner_text() == words["rejected"]
            assert reason in table
            html = tab.content()
            assert person.e164 not in html
            assert "old-" not in html
            assert tab.get_by_role("heading", level=1).inner_text() == words["tracked"]
            screens.take(tab, "tracking-link")
        finally:
            later.close()
    finally:
        portal.clock.offset -= timedelta(minutes=20)


def test_numbers_under_my_id(portal: Portal, page: Any, lang: str, screens: Screens) -> None:
    words = WORDS[lang]
    person = portal.people[f"numbers-{lang}"]
    _start(portal, page, words, "numbers", person, screens)
    page.wait_for_url("**/portal/numbers")
    assert page.get_by_role("heading", level=1).inner_text() == words["numbers"]
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    text = page.locator("tbody").inner_text()
    assert "中国移动" in text
    assert "中国联通" in text
    assert "****" in text
    assert person.e164[3:] not in page.content()
    assert page.locator(".tag.ACTIVE").first.inner_text() == words["in_use"]
    screens.take(page, "numbers")
    # A full-ID lookup opens the 2.0 view of the number too.
    page.get_by_role("link", name=words["to_accounts"]).click()
    page.wait_for_url("**/portal/accounts")
    assert page.locator(".tag.during").count() == 0
    assert words["no_accounts"] in page.content()


def test_cancellation_plan_ticks_prints_and_downloads(
    portal: Portal, page: Any, lang: str, screens: Screens
) -> None:
    words = WORDS[lang]
    person = portal.people[f"plan-{lang}"]
    _start(portal, page, words, "plan", person, screens)
    page.wait_for_url("**/portal/plan")
    items = page.locator("ol.checklist li")
    assert items.count() == 4
    texts = items.all_inner_texts()
    # Financial first, then social, shopping, lifestyle; the dormant shop account is closed.
    order = ["bank-plan", "chat-plan", "shop-plan", "food-plan"]
    assert "招商银行" in texts[0]
    assert "微信" in texts[1]
    assert "淘宝" in texts[2]
    assert words["close"] in texts[2]
    assert all(words["unbind"] in t for i, t in enumerate(texts) if i != 2)
    assert not any(ref in page.content() for ref in order)  # references are masked
    screens.take(page, "plan")

    page.get_by_role("checkbox").nth(0).check()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the keyboard ticks the second line
    assert page.locator("#progress").inner_text() == words["progress"]
    assert page.get_by_role("button", name=words["print"]).is_visible()
    page.reload()
    assert page.get_by_role("checkbox").nth(1).is_checked()  # kept on this device
    assert page.locator("#progress").inner_text() == words["progress"]
    screens.take(page, "plan-ticked")

    with page.expect_download() as info:
        page.get_by_role("button", name=words["download"]).click()
    download = info.value
    assert download.suggested_filename.startswith("numguard-plan-")
    content = download.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["category"] for r in rows] == ["FINANCIAL", "SOCIAL", "COMMERCE", "LIFESTYLE"]
    assert [r["action"] for r in rows] == ["UNBIND", "UNBIND", "CLOSE_ACCOUNT", "UNBIND"]
    assert [r["done"] for r in rows] == ["yes", "yes", "", ""]
    assert not any("plan-" in r["account"] for r in rows)

    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert not page.get_by_role("button", name=words["download"]).is_visible()
    screens.take(page, "plan-print")
    page.emulate_media(media="screen")
