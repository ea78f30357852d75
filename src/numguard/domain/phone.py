"""Phone numbers: parsing, validation and the E.164 form used everywhere inside.

Malformed strings raise :class:`MalformedPhoneNumber` (CAMARA ``INVALID_ARGUMENT``); strings that
parse but name no valid number raise :class:`InvalidPhoneNumber` (CAMARA ``IDENTIFIER_NOT_FOUND``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

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
    if E164_SHAPE.fullmatch(stripped) is not None:
        verdict = _e164_validity(stripped)
        if verdict is not None:
            if not verdict:
                raise InvalidPhoneNumber(f"{stripped} is not a valid phone number")
            return stripped
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


# --------------------------------------------------------------------------------------------
# A fast exact validity check for E.164 input, from phonenumbers' own metadata.
#
# ``phonenumbers.parse`` + ``is_valid_number`` cost ~25 µs a number. For text of E.164 shape
# whose national part has no leading zero and cannot start with the region's national prefix
# (so parsing keeps every digit and formats back to the same text), validity is: the national
# significant number matches the region's general description and at least one number type's
# description (``_number_type_helper`` is not UNKNOWN), where a description matches when the
# length is one of its possible lengths (if it lists any) and its pattern matches the whole
# number. Calling codes shared by several regions pick the region as ``region_code_for_number``
# does. Anything else returns None and goes through phonenumbers itself.

_Validator = Callable[[str], bool]

_TYPE_FIELDS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


def _desc_parts(desc: PhoneNumberDesc | None) -> tuple[frozenset[int] | None, str] | None:
    """(possible lengths or None for any, pattern) of a description, None if it never matches."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(desc.possible_length) if desc.possible_length else None
    return lengths, desc.national_number_pattern


def _region_validator(metadata: PhoneMetadata) -> _Validator:
    """``_number_type_helper(nsn, metadata) != UNKNOWN``, one compiled regex per length."""
    general = _desc_parts(metadata.general_desc)
    if general is None:
        return lambda nsn: False
    descs = [getattr(metadata, field) for field in _TYPE_FIELDS]
    if not metadata.same_mobile_and_fixed_line_pattern:
        descs.append(metadata.mobile)
    types = [part for part in map(_desc_parts, descs) if part is not None]
    by_length: dict[int, re.Pattern[str]] = {}
    for length in range(1, 18):
        if general[0] is not None and length not in general[0]:
            continue
        alternatives = [
            pattern for lengths, pattern in types if lengths is None or length in lengths
        ]
        if alternatives:
            either = "|".join(f"(?:{pattern})" for pattern in alternatives)
            by_length[length] = re.compile(f"(?=(?:{general[1]})\\Z)(?:{either})\\Z")

    def valid(nsn: str) -> bool:
        pattern = by_length.get(len(nsn))
        return pattern is not None and pattern.match(nsn) is not None

    return valid


class _CallingCode:
    """What the fast check needs about one calling code."""

    __slots__ = ("national_prefix", "regions")

    def __init__(self, code: int) -> None:
        main_region = phonenumbers.region_code_for_country_code(code)
        main = PhoneMetadata.metadata_for_region_or_calling_code(code, main_region)
        prefix = main.national_prefix_for_parsing if main is not None else None
        self.national_prefix = re.compile(prefix) if prefix else None
        self.regions: list[tuple[re.Pattern[str] | None, _Validator]] = []
        region_codes = COUNTRY_CODE_TO_REGION_CODE[code]
        for region in region_codes:
            if len(region_codes) == 1:
                metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            else:
                metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
            if metadata is None:
                continue
            leading = None
            if len(region_codes) > 1 and metadata.leading_digits is not None:
                leading = re.compile(metadata.leading_digits)
            self.regions.append((leading, _region_validator(metadata)))

    def is_valid(self, nsn: str) -> bool:
        """``is_valid_number`` for a number with this code and national number *nsn*."""
        if len(self.regions) == 1:
            return self.regions[0][1](nsn)
        for leading, valid in self.regions:
            if leading is not None:
                if leading.match(nsn):
                    return valid(nsn)
            elif valid(nsn):
                return True
        return False


_CALLING_CODES: dict[int, _CallingCode] = {}


def _e164_validity(e164: str) -> bool | None:
    """Whether phonenumbers finds E.164-shaped *e164* valid, or None to ask phonenumbers itself.

    When this returns a bool, ``phonenumbers.parse(e164)`` formats back to *e164* unchanged.
    """
    for length in (1, 2, 3):
        code = int(e164[1 : 1 + length])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    nsn = e164[1 + length :]
    if nsn[:1] == "0":
        return None  # Italian leading zeros: let phonenumbers count them
    info = _CALLING_CODES.get(code)
    if info is None:
        info = _CALLING_CODES[code] = _CallingCode(code)
    if info.national_prefix is not None and info.national_prefix.match(nsn):
        return None  # parse might strip a national prefix
    return info.is_valid(nsn)


def is_fast_valid_e164(e164: str) -> bool:
    """Whether E.164-shaped *e164* is valid by the fast check alone.

    True means :func:`parse_phone_number` returns *e164* unchanged; False means it either
    refuses it or must ask phonenumbers (bulk readers then take the full path).
    """
    return _e164_validity(e164) is True


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
