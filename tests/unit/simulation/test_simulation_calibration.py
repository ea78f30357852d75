"""The model against the one published measurement it can be held to (Lee & Narayanan 2021)."""

from __future__ import annotations

from numguard.domain.aging import AgingPolicy
from numguard.simulation import CALIBRATION_TARGET, Parameters, resolve, simulate


def test_no_measures_with_the_us_freeze_reproduces_lee_and_narayanan() -> None:
    params = Parameters(population=200_000, region="US", seed=7)
    result = simulate(params, resolve(["none"]))
    calibration = result.calibration
    assert calibration is not None
    assert calibration.freeze_days == CALIBRATION_TARGET.freeze_days == 45
    assert calibration.comparable
    assert abs(calibration.share - 171 / 259) <= CALIBRATION_TARGET.tolerance, calibration.share
    assert calibration.within_tolerance


def test_the_calibration_holds_for_other_seeds_too() -> None:
    for seed in (1, 2, 3):
        result = simulate(Parameters(population=100_000, region="US", seed=seed), resolve(["none"]))
        assert abs(result["none"].popular_share - 171 / 259) <= CALIBRATION_TARGET.tolerance


def test_the_stated_tolerance_is_the_studys_own_confidence_interval() -> None:
    half_width = 1.96 * (CALIBRATION_TARGET.share * (1 - CALIBRATION_TARGET.share) / 259) ** 0.5
    assert abs(CALIBRATION_TARGET.tolerance - half_width) < 0.005


def test_the_freeze_comes_from_the_domains_aging_policy() -> None:
    for region in ("CN", "US", "IN"):
        assert (
            Parameters(population=10, region=region).aging_days()
            == AgingPolicy().days_by_region[region]
        )
    result = simulate(Parameters(population=1000, region="CN"), resolve(["none", "freeze-180"]))
    assert result["none"].freeze_days == 90
    assert result["freeze-180"].freeze_days == 180


def test_a_cn_run_says_its_calibration_is_not_comparable() -> None:
    result = simulate(Parameters(population=20_000, region="CN"), resolve(["none"]))
    assert result.calibration is not None
    assert not result.calibration.comparable


def test_a_run_with_freeze_45_calibrates_on_it_whatever_the_region() -> None:
    result = simulate(Parameters(population=20_000), resolve(["none", "freeze-45", "checks"]))
    assert result.calibration is not None
    assert result.calibration.scenario == "freeze-45"
    assert result.calibration.comparable
    assert simulate(Parameters(population=1000), resolve(["checks"])).calibration is None
