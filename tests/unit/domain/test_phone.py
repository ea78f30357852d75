"""Phone numbers: parsing to E.164, the two kinds of bad input, calling codes and masking."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numguard.domain.phone import (
    InvalidPhoneNumber,
    MalformedPhoneNumber,
    calling_code,
    is_e164_shape,
    mask_phone_number,
    parse_phone_number,
)
from numguard.errors import ErrorKind, InvalidInput, NotFound


def _example_numbers() -> list[str]:
    """One valid E.164 example number (mobile, else fixed line) of every supported region."""
    numbers = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                numbers.add(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    return sorted(numbers)


EXAMPLE_NUMBERS = _example_numbers()


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "138.0013.8000",
        "(138) 0013 8000",
        "  13800138000  ",
        "+86 138 0013 8000",
        "+8613800138000",
    ],
)
def test_national_and_international_input_give_the_same_e164(text: str) -> None:
    assert parse_phone_number(text) == "+8613800138000"


def test_national_input_is_read_in_the_default_region_given() -> None:
    assert parse_phone_number("(201) 555-0123", "US") == "+12015550123"
    assert parse_phone_number("98765 43210", "IN") == "+919876543210"


def test_international_input_ignores_the_default_region() -> None:
    assert parse_phone_number("+1 201 555 0123", "CN") == "+12015550123"


@pytest.mark.parametrize(
    "text", ["", "   ", "abc", "12", "138 0013 8000 ext", "+999 1234 5678", "+0123456", "1" * 40]
)
def test_text_that_is_no_phone_number_is_malformed(text: str) -> None:
    with pytest.raises(MalformedPhoneNumber) as caught:
        parse_phone_number(text)
    assert caught.value.code == "INVALID_PHONE_NUMBER"
    assert caught.value.kind is ErrorKind.INVALID
    assert isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize("text", ["+86 100 0000 0000", "1380013800", "+1 000 555 0123"])
def test_number_shaped_text_naming_no_real_number_is_not_found(text: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_phone_number(text)
    assert caught.value.code == "IDENTIFIER_NOT_FOUND"
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert isinstance(caught.value, NotFound)


@pytest.mark.parametrize("e164", EXAMPLE_NUMBERS)
def test_every_regions_valid_number_parses_to_itself(e164: str) -> None:
    assert parse_phone_number(e164) == e164
    assert is_e164_shape(e164)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+()-. x", max_size=24))
def test_any_text_parses_to_e164_or_raises_one_of_the_two_phone_errors(text: str) -> None:
    try:
        e164 = parse_phone_number(text)
    except (MalformedPhoneNumber, InvalidPhoneNumber):
        return  # any other exception fails the test
    assert is_e164_shape(e164)
    assert parse_phone_number(e164) == e164


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+8613800138000", True),
        ("+12015550123", True),
        ("+12345", True),
        ("+1234", False),  # fewer than 5 digits
        ("+1234567890123456", False),  # more than 15 digits
        ("8613800138000", False),  # no plus
        ("+0613800138000", False),  # no calling code starts with 0
        ("+86 13800138000", False),
        ("+8613800138000\n", False),
    ],
)
def test_e164_shape_is_the_camara_pattern(text: str, *, expected: bool) -> None:
    assert is_e164_shape(text) is expected


@pytest.mark.parametrize(
    ("e164", "code"),
    [
        ("+8613800138000", 86),
        ("+12015550123", 1),
        ("+919876543210", 91),
        ("+6907290", 690),
        ("+442071838750", 44),
    ],
)
def test_calling_code_is_read_from_the_front(e164: str, code: int) -> None:
    assert calling_code(e164) == code


def test_calling_code_that_does_not_exist_is_malformed() -> None:
    with pytest.raises(MalformedPhoneNumber):
        calling_code("+99912345678")


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613800138000", "138****8000"),
        ("+12015550123", "201***0123"),
        ("+919876543210", "987***3210"),
    ],
)
def test_mask_keeps_the_first_three_and_last_four_national_digits(e164: str, masked: str) -> None:
    assert mask_phone_number(e164) == masked


@pytest.mark.parametrize("e164", EXAMPLE_NUMBERS)
def test_mask_hides_some_digits_of_every_valid_number(e164: str) -> None:
    national = e164[1 + len(str(calling_code(e164))) :]
    masked = mask_phone_number(e164)
    assert len(masked) == len(national), "the mask has one character per national digit"
    assert "*" in masked
    shown = [c for c in masked if c != "*"]
    assert len(shown) < len(national)
    for position, char in enumerate(masked):
        assert char in ("*", national[position])


def test_mask_of_a_four_digit_national_number_does_not_reveal_it() -> None:
    # Tokelau (+690) numbers have four national digits.
    masked = mask_phone_number("+6907290")
    assert masked != "7290"
    assert masked.count("*") >= 2
