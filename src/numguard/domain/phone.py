"""Phone numbers: parsing, validation and the E.164 form used everywhere inside.

Malformed strings raise :class:`MalformedPhoneNumber` (CAMARA ``INVALID_ARGUMENT``); strings that
parse but name no valid number raise :class:`InvalidPhoneNumber` (CAMARA ``IDENTIFIER_NOT_FOUND``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from numguard.errors import InvalidInput, NotFound

E164_SHAPE = re.compile(r"^\+[1-9][0-9]{4,14}$")
"""The CAMARA ``PhoneNumber`` schema pattern."""

_NATIONAL_CHARS = re.compile(r"^[0-9+()\-. ]{3,32}$")


class MalformedPhoneNumber(InvalidInput):
    """The text is not a phone number at all."""

    code = "INVALID_PHONE_NUMBER"


class InvalidPhoneNumber(NotFound):
    """The text has the shape of a phone number, but no such number can exist."""

    code = "IDENTIFIER_NOT_FOUND"


def is_e164_shape(text: str) -> bool:
    """Whether *text* matches the CAMARA E.164 pattern (``+`` and 5 to 15 digits)."""
    # fullmatch, not match: ``$`` also matches before a trailing newline.
    return E164_SHAPE.fullmatch(text) is not None


@lru_cache(maxsize=1 << 18)
def parse_phone_number(text: str, default_region: str = "CN") -> str:
    """Return the E.164 form of *text*, accepting national input for *default_region*.

    >>> parse_phone_number("138 0013 8000")
    '+8613800138000'
    """
    stripped = text.strip()
    if not stripped or not _NATIONAL_CHARS.match(stripped):
        raise MalformedPhoneNumber(f"{text!r} is not a phone number")
    try:
        parsed = phonenumbers.parse(stripped, default_region)
    except phonenumbers.NumberParseException as exc:
        raise MalformedPhoneNumber(f"{text!r} is not a phone number") from exc
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not is_e164_shape(e164):
        raise MalformedPhoneNumber(f"{text!r} is not a phone number")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{e164} is not a valid phone number")
    return str(e164)


def calling_code(e164: str) -> int:
    """The country calling code of an E.164 number (``86`` for ``+8613800138000``)."""
    digits = e164[1:]
    for length in (1, 2, 3):
        code = int(digits[:length])
        if phonenumbers.region_code_for_country_code(code) != "ZZ":
            return code
    raise MalformedPhoneNumber(f"{e164} has no known country calling code")


def mask_phone_number(e164: str) -> str:
    """The masked national form shown to people, e.g. ``138****8000``."""
    national = e164[1 + len(str(calling_code(e164))) :]
    if len(national) <= 4:
        # Keeping two digits on each side would show all of a short number (+690 7290).
        return national[:1] + "*" * (len(national) - 1)
    if len(national) <= 7:
        return national[:2] + "*" * (len(national) - 4) + national[-2:]
    return national[:3] + "*" * (len(national) - 7) + national[-4:]
