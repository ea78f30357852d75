"""The :class:`~numguard.services.people.SmsGateway` adapters.

- :class:`ConsoleSms` prints each message on stderr: for a machine of one's own and the demo.
- :class:`FileSms` appends one JSON object a line (``{"at", "to", "text"}``): tests read codes
  from it, and it survives the process.
- :class:`HttpSms` POSTs ``{"to", "text"}`` as JSON to a provider's URL, with an optional
  ``Authorization``-style header from the settings (``Name: value``, or a bare value sent as
  ``Authorization``). A timeout, a refused connection or a 4xx/5xx answer is
  :class:`~numguard.errors.Unavailable`, so the lookup is not kept and may be retried.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import httpx

from numguard.domain.phone import mask_phone_number
from numguard.errors import Unavailable
from numguard.services.people import SmsGateway
from numguard.settings import Settings


class ConsoleSms:
    """Prints messages on a stream (stderr by default); the number is shown masked."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, phone_number: str, text: str) -> None:
        """Print ``[sms] to 138****8000: <text>``."""
        stream = self._stream if self._stream is not None else sys.stderr
        print(f"[sms] to {mask_phone_number(phone_number)}: {text}", file=stream, flush=True)


class FileSms:
    """Appends each message to a file as one JSON line."""

    def __init__(self, path: str | Path, *, clock: type[datetime] = datetime) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._clock = clock

    def send(self, phone_number: str, text: str) -> None:
        """Append ``{"at", "to", "text"}``."""
        line = json.dumps(
            {"at": self._clock.now(UTC).isoformat(), "to": phone_number, "text": text},
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def messages(self, phone_number: str | None = None) -> list[dict[str, str]]:
        """Every message sent so far (to one number, if given), oldest first."""
        if not self.path.exists():
            return []
        found = [json.loads(line) for line in self.path.read_text("utf-8").splitlines() if line]
        return [m for m in found if phone_number is None or m["to"] == phone_number]


class HttpSms:
    """Sends through an HTTP SMS provider."""

    def __init__(
        self,
        url: str,
        *,
        auth_header: str | None = None,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        if auth_header:
            name, sep, value = auth_header.partition(":")
            if sep and name.strip() and " " not in name.strip():
                headers[name.strip()] = value.strip()
            else:
                headers["Authorization"] = auth_header.strip()
        self.url = url
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def send(self, phone_number: str, text: str) -> None:
        """POST ``{"to", "text"}``; any failure is Unavailable."""
        try:
            response = self._client.post(self.url, json={"to": phone_number, "text": text})
        except httpx.HTTPError as exc:
            raise Unavailable("the SMS provider cannot be reached", code="SMS_UNAVAILABLE") from exc
        if response.status_code >= 400:
            raise Unavailable(
                f"the SMS provider refused the message ({response.status_code})",
                code="SMS_UNAVAILABLE",
            )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


def sms_from_settings(settings: Settings) -> SmsGateway:
    """The gateway *settings* name (``NUMGUARD_SMS_GATEWAY``)."""
    if settings.sms_gateway == "file":
        assert settings.sms_file is not None  # noqa: S101  load_settings fills it in
        return FileSms(settings.sms_file)
    if settings.sms_gateway == "http":
        assert settings.sms_http_url is not None  # noqa: S101  load_settings requires it
        return HttpSms(settings.sms_http_url, auth_header=settings.sms_http_auth_header)
    return ConsoleSms()
