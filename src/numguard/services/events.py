"""Reading reported events: from API/NDJSON records or CSV rows to domain events.

Validation never raises for a single bad record: it returns a rejection with a machine code, so
a batch or a file reports every bad record and still applies the good ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from numguard.domain.identity import holder_from_id
from numguard.domain.lifecycle import EventType, LifecycleEvent
from numguard.domain.phone import parse_phone_number
from numguard.domain.records import record
from numguard.errors import NumguardError

CSV_COLUMNS = (
    "eventId",
    "phoneNumber",
    "type",
    "effectiveDate",
    "carrier",
    "holderIdType",
    "holderIdNumber",
    "toCarrier",
)
"""The CSV header of an events file, in order."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CARRIER = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
_EVENT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_HOLDER_EVENTS = frozenset({EventType.ASSIGNED, EventType.TRANSFERRED})
_EVENT_TYPES = {t.value: t for t in EventType}


class Outcome(StrEnum):
    """What became of one reported event."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@record
class EventResult:
    """The outcome of one event, in the order the events were sent."""

    index: int
    event_id: str | None
    outcome: Outcome
    reason: str | None = None
    message: str | None = None


@record
class ParsedEvent:
    """A well-formed event with its position in the batch or file."""

    index: int
    event: LifecycleEvent
    fingerprint: str


def fingerprint(event: LifecycleEvent) -> str:
    """A digest of an event's content: the same id with other content is a conflict."""
    return fingerprint_of(
        str(event.type),  # a StrEnum's str() is its value, without the slow .value
        event.phone_number,
        event.effective_date.isoformat(),
        event.holder.id_hash if event.holder else "",
        event.to_carrier or "",
    )


def fingerprint_of(kind: str, phone: str, day: str, holder_hash: str, to_carrier: str) -> str:
    """:func:`fingerprint` from the event's fields as text (type value, E.164 number, ISO
    date, holder hash or ``""``, destination carrier or ``""``)."""
    text = f"{kind}|{phone}|{day}|{holder_hash}|{to_carrier}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad("INVALID_FIELD", f"{key} must be a string")
    value = value.strip()
    return value or None


class _Bad(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_record(
    index: int,
    record: Mapping[str, Any],
    *,
    holder_key: bytes,
    default_region: str,
) -> ParsedEvent | EventResult:
    """Validate one event record (API/NDJSON shape, or a CSV row with flattened holder)."""
    event_id: str | None = None
    try:
        event_id = _text(record, "eventId")
        if event_id is None or not _EVENT_ID.match(event_id):
            raise _Bad("INVALID_EVENT_ID", "eventId must be 1-128 printable ASCII characters")
        phone_text = _text(record, "phoneNumber")
        if phone_text is None:
            raise _Bad("MISSING_FIELD", "phoneNumber is required")
        try:
            phone = parse_phone_number(phone_text, default_region)
        except NumguardError as exc:
            raise _Bad("INVALID_PHONE_NUMBER", exc.message) from exc
        type_text = _text(record, "type")
        kind = _EVENT_TYPES.get((type_text or "").upper())
        if kind is None:
            allowed = ", ".join(t.value for t in EventType)
            raise _Bad("INVALID_TYPE", f"type must be one of {allowed}")
        date_text = _text(record, "effectiveDate")
        if date_text is None or not _DATE.match(date_text):
            raise _Bad("INVALID_DATE", "effectiveDate must be YYYY-MM-DD")
        try:
            effective = date.fromisoformat(date_text)
        except ValueError as exc:
            raise _Bad("INVALID_DATE", f"{date_text} is not a calendar date") from exc
        carrier = (_text(record, "carrier") or "").upper()
        if not _CARRIER.match(carrier):
            raise _Bad("INVALID_CARRIER", "carrier must be a code of 2-32 letters and digits")
        to_carrier = _text(record, "toCarrier")
        if to_carrier is not None:
            to_carrier = to_carrier.upper()
            if not _CARRIER.match(to_carrier):
                raise _Bad("INVALID_CARRIER", "toCarrier must be a carrier code")
        holder_type, holder_number = _holder_fields(record)
        holder = None
        if holder_number is not None:
            try:
                holder = holder_from_id(holder_key, holder_type or "CN_RESIDENT", holder_number)
            except NumguardError as exc:
                raise _Bad(exc.code, exc.message) from exc
        elif kind in _HOLDER_EVENTS:
            raise _Bad("HOLDER_REQUIRED", f"{kind.value} needs the holder's identity")
    except _Bad as bad:
        return EventResult(index, event_id, Outcome.REJECTED, bad.code, bad.message)
    event = LifecycleEvent(
        event_id=event_id,
        phone_number=phone,
        type=kind,
        effective_date=effective,
        carrier=carrier,
        holder=holder,
        to_carrier=to_carrier,
    )
    return ParsedEvent(index, event, fingerprint(event))


def _holder_fields(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    holder = record.get("holder")
    if holder is not None:
        if not isinstance(holder, Mapping):
            raise _Bad("INVALID_FIELD", "holder must be an object with idType and idNumber")
        return _text(holder, "idType"), _text(holder, "idNumber")
    return _text(record, "holderIdType"), _text(record, "holderIdNumber")
