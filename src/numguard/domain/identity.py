"""Holders' identities: the system never keeps a raw ID number.

An identity document number is turned into a keyed hash (HMAC-SHA256 with a server secret), a
keyed hash of its last six characters (so a person can later prove "phone + ID suffix"), and a
masked form for display (``1101**********1234``). The raw value lives only inside the request
that carried it.
"""

from __future__ import annotations

import hmac
import re
from enum import StrEnum
from operator import mul
from typing import Protocol

from numguard.domain.records import record
from numguard.errors import InvalidInput


class IdType(StrEnum):
    """Kinds of identity document a carrier registers a holder with."""

    CN_RESIDENT = "CN_RESIDENT"  # 居民身份证, 18 characters with an ISO 7064 check digit
    HK_MACAO_PERMIT = "HK_MACAO_PERMIT"  # 港澳居民来往内地通行证
    TW_PERMIT = "TW_PERMIT"  # 台湾居民来往大陆通行证
    FOREIGN_PERMANENT = "FOREIGN_PERMANENT"  # 外国人永久居留身份证
    PASSPORT = "PASSPORT"
    OTHER = "OTHER"


class InvalidIdNumber(InvalidInput):
    """An identity document number that cannot be right."""

    code = "INVALID_ID_NUMBER"


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"
_CN_SHAPE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
_CN_ZERO_SUM = ord("0") * sum(_CN_WEIGHTS)
"""The weighted sum of the ASCII codes of seventeen zeros: what to take off the bytes' sum."""
_GENERIC_SHAPE = re.compile(r"^[0-9A-Z]{5,20}$")
_SEPARATORS = re.compile(r"[\s-]")
_ID_TYPES = {t.value: t for t in IdType}
_MAC_PREFIXES = {t: (f"{t.value}:", f"{t.value}:suffix:") for t in IdType}
"""What precedes the ID number, and its last six characters, in the hashed texts."""


@record
class HolderRef:
    """What the system keeps about a holder: hashes and a masked form, never the number."""

    id_type: IdType
    id_hash: str
    suffix_hash: str
    masked: str


def normalize_id_number(id_type: IdType, id_number: str) -> str:
    """Uppercase, strip separators, and check the document's own rules."""
    value = _SEPARATORS.sub("", id_number).upper()
    if id_type is IdType.CN_RESIDENT:
        if not _CN_SHAPE.match(value):
            raise InvalidIdNumber("a resident ID number has 18 characters: 17 digits and a check")
        # The shape admits ASCII digits only: weigh their byte codes and take the zeros off.
        total = sum(map(mul, value[:17].encode(), _CN_WEIGHTS)) - _CN_ZERO_SUM
        if _CN_CHECK[total % 11] != value[17]:
            raise InvalidIdNumber("the resident ID number's check character is wrong")
    elif not _GENERIC_SHAPE.match(value):
        raise InvalidIdNumber("an ID number has 5 to 20 letters and digits")
    return value


def mask_id_number(value: str) -> str:
    """Keep the first four and last four characters, e.g. ``1101**********1234``."""
    if len(value) <= 8:
        return value[:1] + "*" * (len(value) - 2) + value[-1:]
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


class _Mac(Protocol):
    """What both ``hmac.HMAC`` and OpenSSL's HMAC object offer."""

    def copy(self) -> _Mac: ...
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def _keyed_sha256(key: bytes) -> _Mac:
    """An HMAC-SHA256 object with *key* absorbed: OpenSSL's own where there is one, since
    copying and hashing then stay in C (``hmac.HMAC`` wraps it in Python calls that cost
    about as much as hashing a short ID)."""
    try:
        from _hashlib import hmac_new  # noqa: PLC0415  CPython with OpenSSL (the usual build)
    except ImportError:  # pragma: no cover - a Python built without OpenSSL
        return hmac.new(key, digestmod="sha256")
    return hmac_new(key, digestmod="sha256")


_KEYED: dict[bytes, _Mac] = {}
"""An HMAC-SHA256 object per key with the key already absorbed, copied for every message."""


def _mac(key: bytes, text: str) -> str:
    keyed = _KEYED.get(key)
    if keyed is None:
        if len(_KEYED) >= 16:  # keys are few (one per server secret): never grow unbounded
            _KEYED.clear()
        keyed = _KEYED[key] = _keyed_sha256(key)
    mac = keyed.copy()
    mac.update(text.encode())
    return mac.hexdigest()


def id_suffix_hash(key: bytes, id_type: IdType, suffix: str) -> str:
    """Keyed hash of the last six characters of an ID number, for "phone + ID suffix" checks."""
    cleaned = _SEPARATORS.sub("", suffix).upper()
    return _mac(key, f"{id_type.value}:suffix:{cleaned[-6:]}")


def holder_from_id(key: bytes, id_type: IdType | str, id_number: str) -> HolderRef:
    """Turn a raw ID into the only form the system keeps."""
    kind = _ID_TYPES.get(id_type) if isinstance(id_type, str) else None
    if kind is None:
        try:
            kind = IdType(id_type)
        except ValueError as exc:
            allowed = ", ".join(t.value for t in IdType)
            raise InvalidIdNumber(f"unknown ID type {id_type!r}; use one of {allowed}") from exc
    value = normalize_id_number(kind, id_number)
    prefix, suffix_prefix = _MAC_PREFIXES[kind]
    # *value* is normalized already: its suffix needs no cleaning (as id_suffix_hash would do).
    return HolderRef(
        kind,
        _mac(key, prefix + value),
        _mac(key, suffix_prefix + value[-6:]),
        mask_id_number(value),
    )
