"""The home page and the lookup form in a real browser, in both languages."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Portal, Screens

TITLES = {
    "zh-CN": "你的手机号，还连着谁的账户？",
    "en": "Which accounts still hang on your phone number?",
}
OTHER = {"zh-CN": "en", "en": "zh-CN"}


def test_home_speaks_the_browser_language_and_switches(
    portal: Portal, page: Any, lang: str, screens: Screens
) -> None:
    page.goto(portal.url("/"))
    assert page.locator("html").get_attribute("lang") == lang
    assert page.get_by_role("heading", level=1).inner_text() == TITLES[lang]
    assert page.locator('meta[name="viewport"]').count() == 1
    screens.take(page, "home")

    page.locator("a.lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", OTHER[lang])
    assert page.get_by_role("heading", level=1).inner_text() == TITLES[OTHER[lang]]
    # The choice is remembered: a plain visit stays in the chosen language.
    page.goto(portal.url("/"))
    assert page.locator("html").get_attribute("lang") == OTHER[lang]


def test_lookup_form_is_labelled_and_keyboard_usable(
    portal: Portal, page: Any, lang: str, screens: Screens
) -> None:
    page.goto(portal.url("/"))
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert skip.evaluate("e => e === document.activeElement")
    assert skip.is_visible()
    page.get_by_role("link", name={"zh-CN": "一证通查", "en": "Look up"}[lang]).click()
    page.wait_for_url("**/portal/lookup?kind=accounts")
    inputs = page.locator("form input:not([type=hidden])")
    assert inputs.count() == 2
    for i in range(inputs.count()):
        field_id = inputs.nth(i).get_attribute("id")
        assert page.locator(f'label[for="{field_id}"]').count() == 1
        assert inputs.nth(i).get_attribute("aria-describedby")
    page.get_by_label({"zh-CN": "手机号码", "en": "Phone number"}[lang]).focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    screens.take(page, "lookup-start")

    page.get_by_label({"zh-CN": "手机号码", "en": "Phone number"}[lang]).fill("12345")
    page.keyboard.press("Enter")  # the form submits from the keyboard
    phone_error = page.locator("#phone-error")
    expect(phone_error).to_contain_text(
        {"zh-CN": "这不是有效的手机号码", "en": "This is not a valid mobile number"}[lang]
    )
    expect(page.locator("#error-summary")).to_be_focused()
    assert page.locator("#id_suffix-error").is_visible()  # the empty ID field is named too
    page.locator("#error-summary a").first.click()
    expect(page.locator("#phone")).to_be_focused()
    screens.take(page, "lookup-errors")

    page.get_by_role(
        "link", name={"zh-CN": "名下的号码", "en": "Numbers under my ID"}[lang]
    ).click()
    page.wait_for_url("**/portal/lookup?kind=numbers")
    label = {"zh-CN": "身份证号码", "en": "ID number"}[lang]
    assert page.get_by_label(label, exact=True).get_attribute("maxlength") == "18"
    screens.take(page, "lookup-start-numbers")
