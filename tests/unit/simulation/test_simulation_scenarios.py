"""Scenario sanity: measures never make things worse, and each works where it should."""

from __future__ import annotations

import numpy as np
import pytest

from numguard.simulation import Parameters, SimulationResult, resolve, simulate

PARAMS = Parameters(population=150_000, seed=3)


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return simulate(PARAMS, resolve(None))


def _exposed(result: SimulationResult, name: str) -> float:
    r = result[name]
    return float(r.per_1000(r.exposed).sum())


def test_every_scenario_has_reissued_numbers(result: SimulationResult) -> None:
    for r in result.scenarios:
        assert r.reissued > 1000, r.scenario.name


@pytest.mark.parametrize(
    "measure", ["reminder", "checks", "notifications", "dormancy", "renewal", "all"]
)
def test_no_measure_makes_anything_worse_than_none(result: SimulationResult, measure: str) -> None:
    none, with_measure = result["none"], result[measure]
    assert _exposed(result, measure) <= _exposed(result, "none")
    assert (
        with_measure.takeovers.sum() / with_measure.reissued <= none.takeovers.sum() / none.reissued
    )
    assert with_measure.misdelivered.sum() <= none.misdelivered.sum()
    assert with_measure.stale_share <= none.stale_share


def test_all_measures_together_beat_every_single_one(result: SimulationResult) -> None:
    for single in ("reminder", "checks", "notifications", "dormancy", "renewal", "freeze-180"):
        assert _exposed(result, "all") < _exposed(result, single)
        assert result["all"].takeovers.sum() < result[single].takeovers.sum()


def test_a_longer_freeze_leaves_fewer_stale_bindings(result: SimulationResult) -> None:
    shares = [result[f"freeze-{d}"].popular_share for d in (45, 90, 180)]
    assert shares[0] > shares[1] > shares[2]
    exposed = [_exposed(result, f"freeze-{d}") for d in (45, 90, 180)]
    assert exposed[0] > exposed[1] > exposed[2]


def test_the_cn_default_freeze_is_freeze_90(result: SimulationResult) -> None:
    assert result["none"].freeze_days == 90
    assert _exposed(result, "none") == _exposed(result, "freeze-90")


def test_only_guard_measures_block_attempts(result: SimulationResult) -> None:
    for name in ("none", "reminder", "notifications", "renewal", "freeze-180"):
        assert result[name].blocked.sum() == 0, name
    for name in ("checks", "dormancy", "all"):
        assert result[name].blocked.sum() > 0, name


def test_checks_protect_financial_accounts_most(result: SimulationResult) -> None:
    none, checks = result["none"], result["checks"]
    kept = checks.exposed / np.maximum(none.exposed, 1)
    assert kept[0] == kept.min()  # FINANCIAL: highest adoption, fails closed on unknown


def test_renewal_acts_after_reissue(result: SimulationResult) -> None:
    # 焕新 is the new holder's request: the bindings were there at reissue, but fewer
    # attempts find them and fewer messages go astray.
    assert _exposed(result, "renewal") == _exposed(result, "none")
    assert result["renewal"].takeovers.sum() < result["none"].takeovers.sum()
    assert result["renewal"].misdelivered.sum() < result["none"].misdelivered.sum()


def test_monthly_series_add_up_to_the_totals(result: SimulationResult) -> None:
    for r in result.scenarios:
        assert r.monthly["reissued"].sum() == r.reissued
        assert r.monthly["stale_numbers"].sum() == r.stale_numbers
        assert r.monthly["exposed"].sum() == r.exposed.sum()
        assert r.monthly["takeovers"].sum() == r.takeovers.sum()
        assert r.monthly["misdelivered"].sum() == pytest.approx(r.misdelivered.sum(), rel=1e-9)


def test_without_new_holder_attempts_there_are_no_takeovers() -> None:
    quiet = PARAMS.with_values({"population": 20_000, "attempt_share": 0.0})
    result = simulate(quiet, resolve(["none"]))
    assert result["none"].takeovers.sum() == 0
    assert result["none"].exposed.sum() > 0
