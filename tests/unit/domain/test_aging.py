"""The aging policy: per-jurisdiction freeze days, and how the setting is read."""

from __future__ import annotations

import pytest
from domain_builders import CN_NUMBER, IN_NUMBER, US_NUMBER

from numguard.domain.aging import DEFAULT_AGING_DAYS, AgingPolicy

UK_NUMBER = "+447400123456"
CA_NUMBER = "+16135550123"


@pytest.mark.parametrize(("e164", "days"), [(CN_NUMBER, 90), (US_NUMBER, 45), (IN_NUMBER, 90)])
def test_default_policy_freezes_cn_90_us_45_in_90_days(e164: str, days: int) -> None:
    assert AgingPolicy().days_for(e164) == days


def test_default_table_is_the_published_minimums() -> None:
    assert dict(DEFAULT_AGING_DAYS) == {"CN": 90, "US": 45, "IN": 90}


def test_jurisdiction_without_an_entry_gets_the_default_days() -> None:
    assert AgingPolicy().days_for(UK_NUMBER) == 90
    assert AgingPolicy(default_days=30).days_for(UK_NUMBER) == 30


def test_setting_is_parsed_into_days_per_region() -> None:
    policy = AgingPolicy.parse("CN=90,US=45")
    assert dict(policy.days_by_region) == {"CN": 90, "US": 45}
    assert policy.days_for(CN_NUMBER) == 90
    assert policy.days_for(US_NUMBER) == 45
    assert policy.days_for(IN_NUMBER) == 90  # not listed: the default


def test_setting_tolerates_spaces_lowercase_and_empty_items() -> None:
    policy = AgingPolicy.parse(" cn = 120 , us=30,, ", default_days=7)
    assert dict(policy.days_by_region) == {"CN": 120, "US": 30}
    assert policy.days_for(CN_NUMBER) == 120
    assert policy.days_for(US_NUMBER) == 30
    assert policy.days_for(UK_NUMBER) == 7


def test_empty_setting_means_the_default_everywhere() -> None:
    policy = AgingPolicy.parse("", default_days=60)
    assert policy.days_for(CN_NUMBER) == 60
    assert policy.days_for(US_NUMBER) == 60


def test_zero_days_is_allowed() -> None:
    assert AgingPolicy.parse("US=0").days_for(US_NUMBER) == 0


@pytest.mark.parametrize("text", ["CN", "CN=", "CN=x", "CN=-1", "CN=9.5", "CN:90"])
def test_setting_item_that_is_not_region_equals_days_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="REGION=DAYS"):
        AgingPolicy.parse(text)


@pytest.mark.parametrize("text", ["XX=30", "=30", "CHN=90"])
def test_unknown_region_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unknown region"):
        AgingPolicy.parse(text)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        AgingPolicy(days_by_region={"CN": -1})


@pytest.mark.parametrize("days_by_region", [{"US": 45, "CA": 30}, {"CA": 30, "US": 45}])
def test_shared_calling_code_follows_its_main_region_in_any_order(
    days_by_region: dict[str, int],
) -> None:
    policy = AgingPolicy(days_by_region=days_by_region)
    assert policy.days_for(US_NUMBER) == 45
    assert policy.days_for(CA_NUMBER) == 45


def test_policy_is_a_value() -> None:
    assert AgingPolicy.parse("CN=90,US=45,IN=90") == AgingPolicy()
    assert AgingPolicy.parse("CN=90") != AgingPolicy()
