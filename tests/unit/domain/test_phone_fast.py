"""The fast E.164 validity check agrees with phonenumbers on every number it answers for."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numguard.domain.phone import (
    E164_SHAPE,
    InvalidPhoneNumber,
    MalformedPhoneNumber,
    _e164_validity,
    parse_phone_number,
)

# Shared codes (+1, +7, +44, +39, +262, +590, +599, +47, +358, +61, +212), a leading-zero country
# (+39), a non-geographic code (+800, +979) and the common single-region ones.
CALLING_CODES = (
    86, 1, 44, 91, 49, 39, 7, 852, 853, 886, 33, 81, 61, 55, 262, 590, 599, 47, 358, 212, 800,
    979, 882, 888, 290, 379, 672, 34, 20, 27, 234, 971, 351, 64, 65,
)  # fmt: skip


def _reference(text: str) -> tuple[str, str]:
    """What parse_phone_number answered before the fast check: phonenumbers all the way."""
    try:
        parsed = phonenumbers.parse(text.strip(), "CN")
    except phonenumbers.NumberParseException:
        return ("malformed", "")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if E164_SHAPE.fullmatch(e164) is None:
        return ("malformed", "")
    if not phonenumbers.is_valid_number(parsed):
        return ("invalid", f"{e164} is not a valid phone number")
    return ("valid", e164)


def _ours(text: str) -> tuple[str, str]:
    try:
        return ("valid", parse_phone_number.__wrapped__(text))
    except InvalidPhoneNumber as exc:
        return ("invalid", exc.message)
    except MalformedPhoneNumber:
        return ("malformed", "")


def _check(text: str) -> None:
    assert _ours(text) == _reference(text), text
    stripped = text.strip()
    verdict = _e164_validity(stripped)
    if verdict is not None:
        parsed = phonenumbers.parse(stripped)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == stripped
        assert verdict == phonenumbers.is_valid_number(parsed), text


def _e164(code: int, national: str) -> str:
    return f"+{code}{national}"[:16]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CALLING_CODES),
    st.text(alphabet="0123456789", min_size=2, max_size=13),
)
def test_random_digits_after_known_calling_codes(code: int, national: str) -> None:
    text = _e164(code, national)
    if E164_SHAPE.fullmatch(text):
        _check(text)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=7, max_size=10))
def test_chinese_mobile_shapes(second: str, rest: str) -> None:
    _check(f"+861{second}{rest}")


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from("123456789"), st.text(alphabet="0123456789", min_size=6, max_size=10))
def test_chinese_fixed_line_shapes(area: str, rest: str) -> None:
    _check(f"+86{area}{rest}")


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=5, max_size=15))
def test_any_e164_shaped_digits(digits: str) -> None:
    text = "+" + digits
    if E164_SHAPE.fullmatch(text):
        _check(text)


def _all_examples() -> list[str]:
    numbers: set[str] = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.add(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return sorted(numbers)


def test_example_numbers_of_every_region_and_type_and_their_neighbours() -> None:
    examples = _all_examples()
    assert len(examples) > 1000
    answered = 0
    for number in examples:
        variants = {number, number[:-1], number + "5", number[:-1] + "0", number[:-1] + "9"}
        variants |= {number[:4] + "9" + number[5:], number[:-2]}
        for text in variants:
            if E164_SHAPE.fullmatch(text):
                _check(text)
                answered += _e164_validity(text) is not None
    assert answered > len(examples)  # the fast check answers most of them itself


@pytest.mark.parametrize(
    "text",
    ["+8613800138000", " +8613800138000 ", "+8617912345678", "+390612345678", "+16502530000"],
)
def test_known_numbers(text: str) -> None:
    _check(text)
