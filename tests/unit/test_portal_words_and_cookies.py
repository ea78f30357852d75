"""The portal's catalogues, language choice and signed cookies."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numguard.adapters.web.portal import cookies
from numguard.adapters.web.portal.i18n import EN, ZH, choose, from_accept_language, translate

KEY = b"k" * 32


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert ZH.keys() == EN.keys()
    for key in ZH:
        assert set(re.findall(r"{(\w+)}", ZH[key])) == set(re.findall(r"{(\w+)}", EN[key])), key


def test_translate_fills_placeholders_in_the_chosen_language() -> None:
    assert translate("en", "error.code_wrong", left=3) == (
        "That code is not right. You can try 3 more times."
    )
    assert "3" in translate("zh-CN", "error.code_wrong", left=3)
    said = translate("en", "error.too_soon", hours=48, minutes=10, until="2026-12-01 09:30")
    assert "48" in said
    assert "2026-12-01 09:30" in said
    for key in ("error.too_soon_pending", "error.too_soon_locked"):
        assert "2026-12-01 09:30" in translate("zh-CN", key, until="2026-12-01 09:30")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("fr-FR,fr;q=0.9", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr,en;q=0.5,zh;q=0.4", "en"),
        ("en;q=0.2,zh-CN;q=0.8", "zh-CN"),
        ("en;q=0,zh;q=0.1", "zh-CN"),
        ("en;q=oops", "zh-CN"),
    ],
)
def test_accept_language_picks_the_best_supported_language(
    header: str | None, expected: str
) -> None:
    assert from_accept_language(header) == expected


def test_query_beats_cookie_beats_header_and_unknown_values_are_ignored() -> None:
    assert choose("en", "zh-CN", "zh") == "en"
    assert choose(None, "en", "zh") == "en"
    assert choose("xx", None, "en") == "en"
    assert choose("xx", "yy", None) == "zh-CN"


@given(
    st.text(
        alphabet=st.characters(blacklist_characters="|", blacklist_categories=("Cs",)),
        max_size=60,
    )
)
def test_a_signed_value_reads_back_until_it_expires(value: str) -> None:
    signer = cookies.Signer(KEY, "portal/session")
    token = signer.sign(value, expires=1000)
    assert signer.unsign(token, now=999) == value
    assert signer.unsign(token, now=1000) is None


def test_a_tampered_or_repurposed_token_reads_as_absent() -> None:
    session = cookies.Signer(KEY, "portal/session")
    token = session.sign("lookup-1", expires=10**10)
    other = session.sign("lookup-2", expires=10**10)
    forged = token.split(".")[0] + "." + other.split(".")[1]
    assert session.unsign(forged, now=0) is None
    assert cookies.Signer(KEY, "portal/pending").unsign(token, now=0) is None
    assert cookies.Signer(b"x" * 32, "portal/session").unsign(token, now=0) is None
    for junk in ("", "abc", "a.b.c", "%%%.###", None):
        assert session.unsign(junk, now=0) is None


def test_csrf_needs_the_same_genuine_token_in_cookie_and_form() -> None:
    signer = cookies.Signer(KEY, "portal/csrf")
    token = cookies.new_csrf_token(signer, now=0)
    assert cookies.csrf_ok(signer, token, token, now=1)
    assert not cookies.csrf_ok(signer, token, None, now=1)
    assert not cookies.csrf_ok(signer, None, token, now=1)
    assert not cookies.csrf_ok(signer, token, cookies.new_csrf_token(signer, now=0), now=1)
    assert not cookies.csrf_ok(signer, token, token, now=cookies.CSRF_SECONDS + 1)
    made_elsewhere = cookies.new_csrf_token(cookies.Signer(b"y" * 32, "portal/csrf"), now=0)
    assert not cookies.csrf_ok(signer, made_elsewhere, made_elsewhere, now=1)
