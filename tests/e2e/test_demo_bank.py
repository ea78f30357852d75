"""The demo's reference bank, through HTTP: the whole demo app under uvicorn on a free port, its
webhook deliveries made by the in-process worker to the bank's own endpoint."""

from __future__ import annotations

import gc
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import httpx
import pytest
import uvicorn

from numguard.adapters.cli.main import demo_app
from numguard.bootstrap import Container, build
from numguard.services.auth import Role
from numguard.services.demo_bindings import DEMO_PLATFORMS, demo_bindings
from numguard.services.demo_world import DemoWorld, generate_world
from numguard.settings import load_settings
from tests.conftest import SECRET


@dataclass
class Demo:
    url: str
    container: Container
    world: DemoWorld
    bank: object

    def page(self) -> str:
        return httpx.get(f"{self.url}/demo-bank/", timeout=10).text

    def login(self, phone: str, code: str | None = None) -> str:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            sent = http.post("/demo-bank/sms", data={"phone": phone})
            assert sent.status_code == 200
            found = re.search(r"<strong id='code'>(\d{6})</strong>", sent.text)
            assert found is not None, sent.text
            done = http.post(
                "/demo-bank/login", data={"phone": phone, "code": code or found.group(1)}
            )
            assert done.status_code == 200
            return done.text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    container = build(
        load_settings(
            {
                "NUMGUARD_DATABASE_URL": f"sqlite:///{folder}/demo.db",
                "NUMGUARD_SECRET_KEY": SECRET,
                "NUMGUARD_DATA_DIR": str(folder),
                "NUMGUARD_LOG_LEVEL": "WARNING",
                "NUMGUARD_SERVE_WORKER": "1",
                "NUMGUARD_WORKER_POLL_SECONDS": "0.05",
                "NUMGUARD_WEBHOOK_ALLOW_PRIVATE": "true",  # the bank listens on 127.0.0.1
            }
        )
    )
    world = generate_world(seed=1, numbers=400, today=container.today())
    for c in world.carriers:
        container.registry.add_carrier(
            c.code,
            c.name,
            tracking_since=c.tracking_since,
            prefixes=c.prefixes,
            now=container.now(),
        )
    container.registry.report(world.events, source="test")
    made = demo_bindings(world)
    for platform in DEMO_PLATFORMS:
        container.bindings.add_platform(platform.code, platform.name, category=platform.category)
        container.bindings.import_snapshot(
            platform.code, made.records[platform.code], client_id="t"
        )
    record, secret = container.clients.add_client(
        "bank", Role.PLATFORM, platform=DEMO_PLATFORMS[0].code, now=container.now()
    )
    people = SimpleNamespace(bindings=made, bank_client=(record.client_id, secret))
    (folder / "report").mkdir()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = demo_app(container, folder / "report" / "index.html", people=people, base_url=url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Demo(url, container, world, people)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()
        gc.collect()  # an unclosed connection would show here as a ResourceWarning (an error)


def suggested(page: str) -> list[str]:
    return re.findall(r"<li><code>(\+\d+)</code>", page)


def test_the_new_holder_of_a_reissued_number_is_stepped_up_with_the_reason(demo: Demo) -> None:
    reissued, _ = suggested(demo.page())
    assert reissued == demo.bank.bindings.phone_number  # type: ignore[attr-defined]
    page = demo.login(reissued)
    # the previous holder's account is stepped up (and, long unused, also hibernated)
    assert re.search(r"data-decision='(STEP_UP|HIBERNATE)'", page)
    assert "<code>BOUND_BEFORE_CURRENT_TENURE</code>: the number changed holder" in page
    assert "Confirm with your TOTP" in page
    assert "Welcome" not in page


def test_the_current_holder_logs_in_to_their_own_account(demo: Demo) -> None:
    _, kept = suggested(demo.page())
    page = demo.login(kept)
    assert "data-decision='ALLOW'" in page
    assert "Welcome: you are logged in to account" in page
    assert "SAME_HOLDER_SINCE_BINDING" in page


def test_a_wrong_sms_code_opens_nothing(demo: Demo) -> None:
    _, kept = suggested(demo.page())
    page = demo.login(kept, code="000000x")
    assert "wrong or expired SMS code" in page
    assert "data-decision" not in page


def test_the_bank_lists_the_signed_webhooks_it_received_and_refuses_forged_ones(
    demo: Demo,
) -> None:
    _, kept = suggested(demo.page())
    today = date.today().isoformat()
    accepted = 0
    for carrier in demo.world.carriers:  # the number's current carrier accepts the report
        summary = demo.container.registry.report(
            [
                {
                    "eventId": f"bank-test-{carrier.code}",
                    "phoneNumber": kept,
                    "type": "CANCELLED",
                    "effectiveDate": today,
                    "carrier": carrier.code,
                }
            ],
            source="test",
        )
        accepted += sum(r.outcome.value == "accepted" for r in summary.results)
    assert accepted == 1
    deadline = time.monotonic() + 20
    while f"<td><code>{kept}</code></td>" not in (page := demo.page()):
        assert time.monotonic() < deadline, page
        time.sleep(0.1)
    assert "number.disconnected" in page
    forged = httpx.post(
        f"{demo.url}/demo-bank/webhooks",
        content=b'{"id":"x"}',
        headers={
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(time.time())),
            "webhook-signature": "v1,AAAA",
        },
        timeout=10,
    )
    assert forged.status_code == 401
