"""Notifications to platforms: event types, the CloudEvents envelope, Standard Webhooks signing.

Pure functions shared by the registry (which signs) and the guard library (which verifies), so
both sides agree byte for byte.

- **Events** are CloudEvents 1.0 in the structured JSON mode. ``type`` is reverse-DNS:
  ``org.numguard.number.disconnected``; subscriptions name the short form
  (``number.disconnected``), see :class:`NotificationType`.
- **Signatures** follow Standard Webhooks: the headers ``webhook-id`` (the event id, the same on
  every retry), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
  (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, several space-separated during a
  key rotation). Secrets are ``whsec_<base64 of 24 random bytes>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

SPEC_VERSION = "1.0"
"""The CloudEvents version of every event."""

TYPE_PREFIX = "org.numguard."
"""The reverse-DNS prefix of every CloudEvents ``type``."""

SECRET_PREFIX = "whsec_"  # noqa: S105  the prefix of every secret, not a secret
"""How a Standard Webhooks signing secret starts."""

SECRET_BYTES = 24
"""Random bytes in a new signing secret (192 bits)."""

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class NotificationType(StrEnum):
    """What a platform can subscribe to (the short form of the CloudEvents ``type``)."""

    NUMBER_DISCONNECTED = "number.disconnected"
    """The holder cancelled the number: their tenure ended, the aging period started."""
    NUMBER_HOLDER_CHANGED = "number.holder-changed"
    """A new tenure opened after an earlier one (assigned again after release, or 过户)."""
    NUMBER_REISSUE_PENDING = "number.reissue-pending"
    """The aging period ends within the configured days: unbind before a new holder exists."""
    BINDING_UNBIND_REQUESTED = "binding.unbind-requested"
    """The number's current holder asked (焕新) to drop bindings made before their tenure."""

    @property
    def cloudevents_type(self) -> str:
        """The CloudEvents ``type``: ``org.numguard.`` and the short form."""
        return TYPE_PREFIX + self.value


NOTIFICATION_TYPES: dict[str, NotificationType] = {t.value: t for t in NotificationType}
"""Short form to type."""


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret (the prefix is optional); ValueError if not
    base64."""
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ValueError("a signing secret is whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a signing secret must not be empty")
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``{id}.{timestamp}.{body}``."""
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signed_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery attempt (and its content type)."""
    return {
        HEADER_ID: message_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature(key, message_id, timestamp, body),
        "content-type": "application/cloudevents+json",
    }


def signature_matches(
    keys: list[bytes], message_id: str, timestamp: int, body: bytes, header: str
) -> bool:
    """Whether any ``v1`` signature in *header* (space-separated) is right for any key.

    Compares in constant time; other versions (``v1a,`` asymmetric) are ignored.
    """
    offered = [
        part[3:].encode() for part in header.split() if part.startswith("v1,") and len(part) > 3
    ]
    found = False
    for key in keys:
        expected = signature(key, message_id, timestamp, body)[3:].encode()
        for candidate in offered:
            # No early exit: every comparison runs whatever matched.
            found |= hmac.compare_digest(expected, candidate)
    return found


@dataclass(frozen=True, slots=True)
class Notification:
    """One event about one number for one platform, as the outbox keeps it."""

    event_id: str
    type: NotificationType
    phone_number: str
    effective_date: date
    created_at: datetime
    detail: Mapping[str, Any] | None = None
    """Extra fields of ``data`` (the unbind request's id, dates and account references)."""


def event_data(notification: Notification) -> dict[str, Any]:
    """The ``data`` member: the number, the effective date, and the type's own fields.

    Nothing about any holder is ever in it.
    """
    data: dict[str, Any] = {
        "phoneNumber": notification.phone_number,
        "effectiveDate": notification.effective_date.isoformat(),
    }
    if notification.detail:
        for name, value in notification.detail.items():
            data.setdefault(name, value)
    return data


def cloud_event(notification: Notification, source: str) -> dict[str, Any]:
    """The CloudEvents 1.0 structured-mode JSON object of *notification*."""
    created = notification.created_at.astimezone(UTC)
    return {
        "specversion": SPEC_VERSION,
        "id": notification.event_id,
        "source": source,
        "type": notification.type.cloudevents_type,
        "subject": notification.phone_number,
        "time": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": event_data(notification),
    }


def event_body(notification: Notification, source: str) -> bytes:
    """The exact bytes POSTed: compact JSON, keys in a fixed order, UTF-8."""
    return json.dumps(
        cloud_event(notification, source), ensure_ascii=False, separators=(",", ":")
    ).encode()


@dataclass(frozen=True, slots=True)
class DeliverySchedule:
    """When to try a failed delivery again: exponential backoff with jitter, within a window.

    Attempt *n* (1 for the first) that fails waits ``base * factor**(n-1)`` seconds, capped at
    ``max_delay``, of which the last ``jitter`` fraction is random (so many deliveries failing
    together do not come back together). Once the next try would fall after ``window`` seconds
    from the delivery's start, the delivery is dead-lettered instead.
    """

    base: float = 5.0
    factor: float = 2.0
    max_delay: float = 7200.0
    window: float = 86_400.0
    jitter: float = 0.5

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds to wait after failed attempt *attempt*; *rand* is uniform in [0, 1)."""
        ceiling = min(self.max_delay, self.base * self.factor ** max(0, attempt - 1))
        return ceiling * (1.0 - self.jitter) + ceiling * self.jitter * rand
