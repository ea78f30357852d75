"""SMS gateways and their settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from numguard.adapters.sms.gateways import ConsoleSms, FileSms, HttpSms, sms_from_settings
from numguard.errors import Unavailable
from numguard.settings import SettingsError, load_settings

SECRET = "x" * 40
NUMBER = "+8613800138000"


def test_the_console_sender_prints_the_text_with_the_number_masked() -> None:
    out = io.StringIO()
    ConsoleSms(out).send(NUMBER, "code 123456")
    assert out.getvalue() == "[sms] to 138****8000: code 123456\n"


def test_the_file_sink_keeps_every_message(tmp_path: Path) -> None:
    sink = FileSms(tmp_path / "sub" / "sms.jsonl")
    sink.send(NUMBER, "一")
    sink.send("+8613900139000", "二")
    assert [m["text"] for m in sink.messages()] == ["一", "二"]
    assert [m["text"] for m in sink.messages(NUMBER)] == ["一"]


def test_the_http_provider_gets_json_and_the_configured_header() -> None:
    seen: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    sms = HttpSms(
        "https://sms.test/send",
        auth_header="X-Api-Key: k-123",
        transport=httpx.MockTransport(provider),
    )
    sms.send(NUMBER, "code 654321")
    assert json.loads(seen[0].content) == {"to": NUMBER, "text": "code 654321"}
    assert seen[0].headers["X-Api-Key"] == "k-123"
    bearer = HttpSms(
        "https://sms.test/send", auth_header="Bearer t", transport=httpx.MockTransport(provider)
    )
    bearer.send(NUMBER, "x")
    assert seen[1].headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(503),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
    ],
    ids=["5xx", "unreachable"],
)
def test_a_provider_failure_is_unavailable(answer: object) -> None:
    sms = HttpSms("https://sms.test/send", transport=httpx.MockTransport(answer))  # type: ignore[arg-type]
    with pytest.raises(Unavailable) as caught:
        sms.send(NUMBER, "x")
    assert caught.value.code == "SMS_UNAVAILABLE"


def test_the_gateway_comes_from_the_settings(tmp_path: Path) -> None:
    base = {"NUMGUARD_SECRET_KEY": SECRET, "NUMGUARD_DATA_DIR": str(tmp_path)}
    assert isinstance(sms_from_settings(load_settings(base)), ConsoleSms)
    filed = sms_from_settings(load_settings({**base, "NUMGUARD_SMS_GATEWAY": "file"}))
    assert isinstance(filed, FileSms)
    assert filed.path == tmp_path / "sms.jsonl"
    http = load_settings(
        {**base, "NUMGUARD_SMS_GATEWAY": "http", "NUMGUARD_SMS_HTTP_URL": "https://sms.test"}
    )
    assert isinstance(sms_from_settings(http), HttpSms)
    with pytest.raises(SettingsError, match="NUMGUARD_SMS_HTTP_URL"):
        load_settings({**base, "NUMGUARD_SMS_GATEWAY": "http"})
    with pytest.raises(SettingsError, match="console, file or http"):
        load_settings({**base, "NUMGUARD_SMS_GATEWAY": "pigeon"})


def test_lookup_and_unbind_settings_have_their_defaults_and_can_change(tmp_path: Path) -> None:
    base = {"NUMGUARD_SECRET_KEY": SECRET, "NUMGUARD_DATA_DIR": str(tmp_path)}
    default = load_settings(base)
    assert (
        default.lookup_code_ttl_seconds,
        default.lookup_max_attempts,
        default.lookup_interval_hours,
        default.unbind_deadline_working_days,
        default.plan_dormant_days,
    ) == (600, 5, 24.0, 5, 365)
    changed = load_settings(
        {
            **base,
            "NUMGUARD_LOOKUP_INTERVAL_HOURS": "1",
            "NUMGUARD_LOOKUP_MAX_ATTEMPTS": "3",
            "NUMGUARD_PLAN_DORMANT_DAYS": "180",
        }
    )
    assert (changed.lookup_interval_hours, changed.lookup_max_attempts) == (1.0, 3)
    assert changed.plan_dormant_days == 180
