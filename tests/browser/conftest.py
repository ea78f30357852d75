"""Browser tests: the real app under uvicorn on a free loopback port, driven by Debian's chromium.

One chromium per session; one server per session on a temporary SQLite database seeded through
the services and the HTTP API. Every page a test visits is saved as a PNG under
``var/screenshots/`` (``NUMGUARD_SCREENSHOT_DIR`` overrides); with ``NUMGUARD_DOC_SCREENSHOTS=1``
the pages the README shows are copied to ``docs/img/`` as well.

Without chromium or playwright the tests skip, except under ``CI=true``, where they fail: CI must
run them (``make test`` installs chromium through ``make browser``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from numguard.adapters.web.app import create_app
from numguard.bootstrap import Container, build
from numguard.settings import load_settings
from tests.conftest import SECRET
from tests.unit.domain.domain_builders import make_cn_id

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("NUMGUARD_SCREENSHOT_DIR", ROOT / "var" / "screenshots"))
DOC_SHOTS = ROOT / "docs" / "img"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LANGS = ("zh-CN", "en")
A11Y_CHECKS = (Path(__file__).parent / "a11y.js").read_text("utf-8")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}: run `make browser`")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium per test module.

    Playwright's sync API runs an event loop on the main thread while it is open: closing it with
    the module keeps later tests free to call ``asyncio.run``.
    """
    executable = shutil.which("chromium")
    if executable is None:
        _missing("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415  optional tool
    except ImportError:
        _missing("playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Person:
    """Someone in the seeded world: a phone (national form, as a person types it) and an ID."""

    phone: str
    e164: str
    id_number: str

    @property
    def id_suffix(self) -> str:
        return self.id_number[-6:]


class MovableClock:
    """The wall clock plus an offset a test may move forward (and must put back)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Portal:
    """The running app: its address, the container behind it, and the seeded people."""

    base_url: str
    container: Container
    data_dir: Path
    clock: MovableClock = field(default_factory=MovableClock)
    platform_secrets: dict[str, tuple[str, str]] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        """Call the HTTP API as the client of platform *who*."""
        client_id, secret = self.platform_secrets[who]
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            token = http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            return http.request(method, path, headers=headers, **kwargs)

    def sms_code(self, person: Person) -> str:
        """The code in the latest text message sent to *person* (the file SMS gateway)."""
        sink = self.data_dir / "sms.jsonl"
        messages = [json.loads(line) for line in sink.read_text("utf-8").splitlines() if line]
        texts = [m["text"] for m in messages if m["to"] == person.e164]
        assert texts, f"no SMS to {person.e164}"
        found = re.search(r"\b(\d{6})\b", texts[-1])
        assert found, texts[-1]
        return found.group(1)


def _serve(container: Container) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(container), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="portal-uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The app on a fresh SQLite database, served on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("portal")
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": f"sqlite:///{data_dir}/portal.db",
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(data_dir),
            "NUMGUARD_LOG_LEVEL": "WARNING",
            "NUMGUARD_SMS_GATEWAY": "file",
        }
    )
    clock = MovableClock()
    container = build(settings, clock=clock)
    server, thread, base_url = _serve(container)
    try:
        portal = Portal(base_url, container, data_dir, clock)
        _seed(portal)
        yield portal
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()


PLATFORMS = (
    ("BANK", "招商银行", "FINANCIAL"),
    ("PAY", "支付宝", "FINANCIAL"),
    ("CHAT", "微信", "SOCIAL"),
    ("SHOP", "淘宝", "COMMERCE"),
    ("FOOD", "美团外卖", "LIFESTYLE"),
)


def _event(eid: str, kind: str, day: str, number: str, holder: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventId": eid,
        "phoneNumber": number,
        "type": kind,
        "effectiveDate": day,
        "carrier": "CMCC" if number.startswith(("+86138", "+86139")) else "CUCC",
    }
    if holder:
        record["holder"] = {"idType": "CN_RESIDENT", "idNumber": holder}
    return record


def _seed(portal: Portal) -> None:
    """Carriers, events, platforms and bindings: per language, a recycled number with a new
    holder (2.0 and 焕新), a long-held number (the plan) and a person with two numbers (1.0)."""
    c = portal.container
    now = datetime.now(UTC)
    recent = (c.today().replace(day=1)).isoformat()
    for code, name, prefixes in (
        ("CMCC", "中国移动", ["+86138", "+86139"]),
        ("CUCC", "中国联通", ["+86130"]),
    ):
        c.registry.add_carrier(
            code, name, tracking_since=date(2018, 1, 1), prefixes=prefixes, now=now
        )
    for code, name, category in PLATFORMS:
        c.bindings.add_platform(code, name, category=category)
        record, secret = c.clients.add_client(code.lower(), "platform", platform=code, now=now)
        portal.platform_secrets[code] = (record.client_id, secret)
    events: list[dict[str, Any]] = []
    bindings: dict[str, list[dict[str, Any]]] = {code: [] for code, _, _ in PLATFORMS}

    def bind(platform: str, ref: str, number: str, bound: str, active: str | None) -> None:
        bindings[platform].append(
            {"accountRef": ref, "phoneNumber": number, "boundAt": bound, "lastActiveAt": active}
        )

    for n, lang in enumerate(("zh-CN", "en"), start=1):
        new = Person(
            f"138 0000 0{n}01", f"+861380000{n:02d}01", make_cn_id("110105", date(1992, 3, n), 101)
        )
        old_id = make_cn_id("310104", date(1975, 6, n), 202)
        planner = Person(
            f"138 0000 0{n}02", f"+861380000{n:02d}02", make_cn_id("440305", date(1988, 8, n), 303)
        )
        holder = Person(
            f"139 0000 0{n}03", f"+861390000{n:02d}03", make_cn_id("330106", date(1980, 1, n), 404)
        )
        second = f"+861300000{n:02d}04"
        portal.people |= {f"new-{lang}": new, f"plan-{lang}": planner, f"numbers-{lang}": holder}
        a, p = new.e164, planner.e164
        events += [
            _event(f"{lang}-a1", "ASSIGNED", "2019-03-01", a, old_id),
            _event(f"{lang}-a2", "CANCELLED", "2022-03-01", a),
            _event(f"{lang}-a3", "RELEASED", "2022-06-01", a),
            _event(f"{lang}-a4", "ASSIGNED", "2022-07-01", a, new.id_number),
            _event(f"{lang}-p1", "ASSIGNED", "2019-01-15", p, planner.id_number),
            _event(f"{lang}-n1", "ASSIGNED", "2020-05-20", holder.e164, holder.id_number),
            _event(f"{lang}-n2", "ASSIGNED", "2021-09-09", second, holder.id_number),
        ]
        # The previous holder's accounts on the recycled number, and the new holder's own.
        bind("BANK", f"bank-old-{lang}-0001", a, "2019-04-02", "2022-01-10")
        bind("PAY", f"pay-old-{lang}-0002", a, "2020-02-20", "2021-12-01")
        bind("FOOD", f"food-old-{lang}-0003", a, "2019-09-09", None)
        bind("CHAT", f"chat-new-{lang}-0004", a, "2022-08-01", recent)
        bind("SHOP", f"shop-new-{lang}-0005", a, "2023-02-01", recent)
        # The planner's accounts: the shop one has slept for years (close it, do not unbind).
        bind("CHAT", f"chat-plan-{lang}-0006", p, "2019-02-01", recent)
        bind("SHOP", f"shop-plan-{lang}-0007", p, "2019-05-01", "2022-01-01")
        bind("BANK", f"bank-plan-{lang}-0008", p, "2019-03-01", recent)
        bind("FOOD", f"food-plan-{lang}-0009", p, "2020-07-07", recent)
    carrier, carrier_secret = c.clients.add_client("cmcc", "carrier", carrier="CMCC", now=now)
    cucc, cucc_secret = c.clients.add_client("cucc", "carrier", carrier="CUCC", now=now)
    with httpx.Client(base_url=portal.base_url, timeout=30) as http:
        for client, secret, name in (
            (carrier, carrier_secret, "CMCC"),
            (cucc, cucc_secret, "CUCC"),
        ):
            token = http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client.client_id,
                    "client_secret": secret,
                },
            ).json()["access_token"]
            mine = [e for e in events if e["carrier"] == name]
            reported = http.post(
                "/v1/lifecycle/events",
                json={"events": mine},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert reported.status_code == 200, reported.text
            assert reported.json()["accepted"] == len(mine), reported.text
    for code, items in bindings.items():
        response = portal.api("PUT", "/v1/bindings", code, json={"bindings": items})
        assert response.status_code == 200, response.text


class Screens:
    """Saves full-page screenshots named ``<lang>/<nn>-<name>.png``, in visiting order."""

    def __init__(self, lang: str, flow: str) -> None:
        self.lang = lang
        self.flow = flow
        self.count = 0
        self.folder = SHOTS / lang
        self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, name: str, *, doc: str | None = None) -> Path:
        """Screenshot *page*; *doc* names a copy under docs/img/ (NUMGUARD_DOC_SCREENSHOTS=1)."""
        self.count += 1
        # Phone-screen friendly: nothing sticks out sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than the screen"
        # Labels, language, one heading, and text contrast (WCAG AA).
        assert page.evaluate(A11Y_CHECKS) == [], name
        path = self.folder / f"{self.flow}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if doc and os.environ.get("NUMGUARD_DOC_SCREENSHOTS") == "1":
            # The README's copy is taken on a laptop-sized screen.
            DOC_SHOTS.mkdir(parents=True, exist_ok=True)
            size = page.viewport_size
            page.set_viewport_size({"width": 900, "height": 700})
            page.screenshot(path=str(DOC_SHOTS / doc), full_page=True)
            page.set_viewport_size(size)
        return path


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    """Each flow runs in Chinese and in English."""
    return str(request.param)


@pytest.fixture
def page(browser: Any, lang: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) with a phone-sized screen in *lang*."""
    context = browser.new_context(
        locale=lang,
        viewport={"width": 412, "height": 860},
        device_scale_factor=1,
        accept_downloads=True,
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screens(request: pytest.FixtureRequest, lang: str) -> Screens:
    """Where this test's screenshots go."""
    flow = request.node.originalname.removeprefix("test_").replace("_", "-")
    return Screens(lang, flow)
