"""Signed cookies for the portal: the CSRF double-submit token and the lookup session.

A value is signed with an HMAC keyed per purpose from the server secret and carries its own
expiry, so a cookie that was tampered with, copied to another purpose or kept past its time reads
as absent. Session cookies are ``HttpOnly`` and ``SameSite=Strict``, and ``Secure`` on HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

CSRF_COOKIE = "ng_csrf"
CSRF_SECONDS = 12 * 3600
PENDING_COOKIE = "ng_pending"
SESSION_COOKIE = "ng_session"
SESSION_SECONDS = 15 * 60
TRACKING_COOKIE = "ng_tracking"
"""The 焕新 tracking token, kept for the requests page while the lookup's session lasts."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signer:
    """Signs short text values for one *purpose* with an expiry (seconds since the epoch)."""

    key: bytes
    purpose: str

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key, self.purpose.encode() + b"\0" + payload, hashlib.sha256).digest()

    def sign(self, value: str, *, expires: int) -> str:
        """``payload.mac``, both URL-safe base64; *value* must not contain ``|``."""
        if "|" in value:
            raise ValueError("a signed value must not contain '|'")
        payload = f"{value}|{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def unsign(self, token: str | None, *, now: int) -> str | None:
        """The value of a genuine, unexpired *token*; ``None`` for anything else."""
        if not token or token.count(".") != 1 or len(token) > 2048:
            return None
        encoded, _, mac = token.partition(".")
        try:
            payload, given = _unb64(encoded), _unb64(mac)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(self._mac(payload), given):
            return None
        value, _, expires = payload.decode(errors="replace").rpartition("|")
        if not expires.isdigit() or int(expires) <= now:
            return None
        return value


def new_csrf_token(signer: Signer, now: int) -> str:
    """A fresh random double-submit token, signed so that only this server could have made it."""
    return signer.sign(secrets.token_urlsafe(18), expires=now + CSRF_SECONDS)


def csrf_ok(signer: Signer, cookie: str | None, submitted: str | None, now: int) -> bool:
    """The form's token equals the cookie's and the cookie is genuine and unexpired."""
    if not cookie or not submitted:
        return False
    if not hmac.compare_digest(cookie.encode(), submitted.encode()):
        return False
    return signer.unsign(cookie, now=now) is not None
