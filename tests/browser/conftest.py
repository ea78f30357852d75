"""Browser tests: the real app under uvicorn on a free loopback port, driven by Debian's chromium.

One chromium per session; one server per session on a temporary SQLite database seeded through
the services and the HTTP API. Every page a test visits is saved as a PNG under
``var/screenshots/`` (``NUMGUARD_SCREENSHOT_DIR`` overrides); with ``NUMGUARD_DOC_SCREENSHOTS=1``
the pages the README shows are copied to ``docs/img/`` as well.

Without chromium or playwright the tests skip, except under ``CI=true``, where they fail: CI must
run them (``make test`` installs chromium through ``make browser``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from numguard.adapters.web.app import create_app
from numguard.bootstrap import Container, build
from numguard.settings import load_settings
from tests.conftest import SECRET

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


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}: run `make browser`")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the whole session."""
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
class Portal:
    """The running app: its address and the container behind it."""

    base_url: str
    container: Container
    data_dir: Path

    def url(self, path: str) -> str:
        return self.base_url + path


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


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The app on a fresh SQLite database, served on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("portal")
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": f"sqlite:///{data_dir}/portal.db",
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(data_dir),
            "NUMGUARD_LOG_LEVEL": "WARNING",
        }
    )
    container = build(settings)
    server, thread, base_url = _serve(container)
    try:
        yield Portal(base_url, container, data_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()


class Screens:
    """Saves full-page screenshots named ``<lang>/<nn>-<name>.png``, in visiting order."""

    def __init__(self, lang: str, flow: str) -> None:
        self.lang = lang
        self.flow = flow
        self.count = 0
        self.folder = SHOTS / lang
        self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, name: str, *, doc: str | None = None) -> Path:
        """Screenshot *page*; *doc* names the copy under docs/img/ when those are wanted."""
        self.count += 1
        path = self.folder / f"{self.flow}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if doc and os.environ.get("NUMGUARD_DOC_SCREENSHOTS") == "1":
            DOC_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOC_SHOTS / doc)
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
