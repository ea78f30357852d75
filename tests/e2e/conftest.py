"""An app on a real database with a world, clients and tokens, driven over HTTP (TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from numguard.adapters.web.app import create_app
from numguard.bootstrap import Container, build
from numguard.settings import load_settings
from tests.conftest import SECRET, FrozenClock

ID_A = "11010519491231002X"
ID_B = "110105199003070017"


@dataclass
class Api:
    """The HTTP client plus the credentials of the demo parties."""

    http: TestClient
    container: Container
    clock: FrozenClock
    platform: tuple[str, str]
    carrier: tuple[str, str]
    admin: tuple[str, str]

    def token(self, who: tuple[str, str], scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials", "client_id": who[0], "client_secret": who[1]}
        if scope:
            form["scope"] = scope
        response = self.http.post("/oauth/token", data=form)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def bearer(self, who: tuple[str, str], scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who, scope)}"}

    def report(self, events: list[dict[str, object]]) -> dict[str, object]:
        response = self.http.post(
            "/v1/lifecycle/events", json={"events": events}, headers=self.bearer(self.carrier)
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


def ev(
    eid: str,
    kind: str,
    day: str,
    number: str = "+8613800138000",
    *,
    holder: str | None = None,
    to: str | None = None,
    carrier: str = "CMCC",
) -> dict[str, object]:
    """One event record in the API shape."""
    record: dict[str, object] = {
        "eventId": eid,
        "phoneNumber": number,
        "type": kind,
        "effectiveDate": day,
        "carrier": carrier,
    }
    if holder:
        record["holder"] = {"idType": "CN_RESIDENT", "idNumber": holder}
    if to:
        record["toCarrier"] = to
    return record


def make_api(url: str, tmp_path: object, clock: FrozenClock, **env: str) -> Iterator[Api]:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": url,
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
            **env,
        }
    )
    container = build(settings, clock=clock)
    now = clock()
    registry = container.registry
    registry.add_carrier(
        "CMCC", "中国移动", tracking_since=date(2023, 1, 1), prefixes=["+86138", "+86139"], now=now
    )
    registry.add_carrier(
        "CUCC", "中国联通", tracking_since=date(2023, 1, 1), prefixes=["+86130"], now=now
    )
    platform, p_secret = container.clients.add_client("bank", "platform", now=now)
    carrier, c_secret = container.clients.add_client("cmcc", "carrier", carrier="CMCC", now=now)
    admin, a_secret = container.clients.add_client("ops", "admin", now=now)
    with TestClient(create_app(container)) as http:
        yield Api(
            http,
            container,
            clock,
            (platform.client_id, p_secret),
            (carrier.client_id, c_secret),
            (admin.client_id, a_secret),
        )
    container.close()


@pytest.fixture
def api(tmp_path: object, clock: FrozenClock) -> Iterator[Api]:
    """The app on a SQLite file."""
    yield from make_api(f"sqlite:///{tmp_path}/api.db", tmp_path, clock)


@pytest.fixture
def api_on_both(database_url: str, tmp_path: object, clock: FrozenClock) -> Iterator[Api]:
    """The app on SQLite and on PostgreSQL."""
    yield from make_api(database_url, tmp_path, clock)


def days_ago(clock: FrozenClock, n: int) -> str:
    return (clock().date() - timedelta(days=n)).isoformat()
