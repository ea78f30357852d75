"""``numguard worker --once`` delivers what is due to a real receiver, with the real clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from typer.testing import CliRunner

from numguard.adapters.cli.main import app
from numguard.bootstrap import build
from numguard.settings import load_settings
from tests.conftest import SECRET
from tests.integration.test_notifications import ID_A, Receiver, event

NUMBER = "+8613800138000"


def test_worker_once_delivers_the_due_events(tmp_path: Path) -> None:
    env = {
        "NUMGUARD_DATABASE_URL": f"sqlite:///{tmp_path}/worker.db",
        "NUMGUARD_SECRET_KEY": SECRET,
        "NUMGUARD_DATA_DIR": str(tmp_path),
        "NUMGUARD_LOG_FORMAT": "console",
        "NUMGUARD_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver listens on 127.0.0.1
    }
    receiver = Receiver({}, lambda: datetime.now(UTC))  # the real clock, as the CLI has
    receiver.start()
    try:
        c = build(load_settings(env))
        c.registry.add_carrier(
            "CMCC", "中国移动", tracking_since=date(2023, 1, 1), prefixes=["+86138"], now=c.now()
        )
        c.bindings.add_platform("BANK", "A bank", category="FINANCIAL")
        c.bindings.put(
            "BANK", [{"accountRef": "a-1", "phoneNumber": NUMBER, "boundAt": "2023-11-01"}]
        )
        made = c.notifications.subscribe(
            "BANK", receiver.url("bank"), ["number.disconnected"], None
        )
        receiver.secrets["bank"] = made.secret
        c.registry.report(
            [
                event("a1", "ASSIGNED", "2023-10-09", NUMBER, ID_A),
                event("c1", "CANCELLED", "2024-02-25", NUMBER),
            ],
            source="test",
        )
        c.close()
        result = CliRunner().invoke(app, ["worker", "--once"], env=env)
        assert result.exit_code == 0, result.output
        assert "delivered 1," in result.output
        assert [e.phone_number for e in receiver.events("bank")] == [NUMBER]
        assert made.secret not in result.output
    finally:
        receiver.stop()
