"""The vectorised model against the real registry and guard, account by account.

A small simulated population is replayed day by day: its cancellations and reissues go in as
carrier events through ``RegistryService.report`` on a SQLite file, every check goes through
``CheckService.check``, every verdict through the guard's policies. The counts must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from numguard.adapters.cli.simulate import CROSSCHECK_DEFAULTS, crosscheck_on_sqlite
from numguard.bootstrap import Container, build
from numguard.settings import load_settings
from numguard.simulation import Parameters, resolve
from numguard.simulation.crosscheck import CrossCheckReport, cross_check
from tests.conftest import SECRET

pytestmark = pytest.mark.slow

PARAMS = Parameters().with_values({**CROSSCHECK_DEFAULTS, "population": 2000, "seed": 21})


def _rows(report: CrossCheckReport, what: str) -> int:
    return sum(r.replay for r in report.rows if r.what == what)


def test_all_measures_agree_with_the_registry_and_guard() -> None:
    report = crosscheck_on_sqlite(PARAMS, resolve(["all"])[0])
    differing = [r for r in report.rows if not r.agrees]
    assert not differing, differing
    assert not report.rejected
    assert report.agrees
    # The replay went through every branch that matters.
    assert _rows(report, "takeovers") > 0
    assert _rows(report, "blocked") > 0
    assert _rows(report, "registry answers yes") > 0
    assert _rows(report, "registry answers unknown") > 0
    assert _rows(report, "numbers reissued (reporting carrier)") > 50


@pytest.mark.parametrize("scenario", ["none", "checks", "dormancy"])
def test_single_measures_agree_too(scenario: str) -> None:
    params = PARAMS.with_values({"population": 1000, "years": 2.0, "seed": 4})
    report = crosscheck_on_sqlite(params, resolve([scenario])[0])
    assert report.agrees, [r for r in report.rows if not r.agrees]


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2000, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)


@pytest.fixture
def registry_90_days(tmp_path: Path) -> Iterator[tuple[Container, _Clock]]:
    clock = _Clock()
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": f"sqlite:///{tmp_path}/numguard.db",
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(tmp_path),
            "NUMGUARD_AGING_DAYS": "CN=90",
        }
    )
    container = build(settings, clock=clock)
    container.load_index()
    yield container, clock
    container.close()


def test_a_model_that_reissues_before_the_legal_freeze_is_caught(
    registry_90_days: tuple[Container, _Clock],
) -> None:
    container, clock = registry_90_days
    params = PARAMS.with_values({"population": 800, "years": 2.0})
    report = cross_check(
        params,
        resolve(["freeze-45"])[0],
        registry=container.registry,
        checks=container.checks,
        set_today=clock.set_day,
    )
    assert report.rejected.get("AGING_PERIOD_NOT_OVER", 0) > 0
    assert not report.agrees


def test_a_model_that_ignores_the_guard_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from numguard.simulation import policy_table  # noqa: PLC0415

    def everything_allowed(self: policy_table.PolicyTable, category: int) -> object:
        return (self.login[:, category] >= 0).reshape(-1)

    monkeypatch.setattr(policy_table.PolicyTable, "login_allowed", everything_allowed)
    params = PARAMS.with_values({"population": 1000, "years": 2.0})
    report = crosscheck_on_sqlite(params, resolve(["checks"])[0])
    assert not report.agrees
    assert any(r.what == "takeovers" and r.model > r.replay for r in report.rows)
