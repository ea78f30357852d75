"""Carrier coverage: which carrier's range holds a number, and from when reports are complete."""

from __future__ import annotations

from datetime import date

from domain_builders import HOLDER_A, days, event, replay

from numguard.domain.answer import NumberFacts, Recycled, decide
from numguard.domain.coverage import CarrierCoverage, CoverageMap
from numguard.domain.lifecycle import EventType

CMCC = CarrierCoverage("CMCC", date(2023, 1, 1), ("+86138", "+86139"))
CUCC = CarrierCoverage("CUCC", date(2024, 1, 1), ("+86130", "+861380013"))
CTCC = CarrierCoverage("CTCC", date(2022, 1, 1))  # reports, holds no ranges
COVERAGE = CoverageMap([CMCC, CUCC, CTCC])


def test_number_in_a_carriers_range_is_held_by_that_carrier() -> None:
    assert COVERAGE.range_holder("+8613912345678") is CMCC
    assert COVERAGE.range_holder("+8613012345678") is CUCC


def test_longest_prefix_wins() -> None:
    assert COVERAGE.range_holder("+8613800138000") is CUCC
    assert COVERAGE.range_holder("+8613800238000") is CMCC


def test_number_outside_every_range_has_no_range_holder() -> None:
    assert COVERAGE.range_holder("+8618912345678") is None
    assert CoverageMap([]).range_holder("+8613912345678") is None


def test_number_in_a_range_is_covered_from_that_carriers_tracking_since() -> None:
    assert COVERAGE.tracking_since("+8613912345678", None) == (True, date(2023, 1, 1))
    assert COVERAGE.tracking_since("+8613912345678", "CMCC") == (True, date(2023, 1, 1))


def test_number_ported_in_is_covered_by_the_reporting_carrier() -> None:
    assert COVERAGE.tracking_since("+8618912345678", "CTCC") == (True, date(2022, 1, 1))


def test_coverage_starts_at_the_later_of_range_holder_and_current_carrier() -> None:
    assert COVERAGE.tracking_since("+8613912345678", "CUCC") == (True, date(2024, 1, 1))
    assert COVERAGE.tracking_since("+8613012345678", "CTCC") == (True, date(2024, 1, 1))


def test_number_nobody_reports_is_not_covered() -> None:
    assert COVERAGE.tracking_since("+8618912345678", None) == (False, None)
    assert COVERAGE.tracking_since("+8618912345678", "UNKNOWN-MVNO") == (False, None)


def test_later_carrier_with_the_same_code_replaces_the_earlier_one() -> None:
    newer = CarrierCoverage("CMCC", date(2024, 6, 1), ("+86150",))
    coverage = CoverageMap([CMCC, newer])
    assert coverage.carriers["CMCC"] is newer
    assert coverage.range_holder("+8615012345678") is newer


def test_coverage_decides_between_unknown_and_not_recycled() -> None:
    ported_in = replay(
        [event(EventType.PORTED, date(2024, 3, 1), holder=HOLDER_A, to_carrier="CUCC")]
    )
    today = date(2024, 12, 1)
    covered, since = COVERAGE.tracking_since("+8613912345678", ported_in.carrier)
    assert since is not None
    facts = NumberFacts.of(ported_in)
    before = decide(facts, on=since - days(1), today=today, covered=covered, tracking_since=since)
    after = decide(facts, on=since, today=today, covered=covered, tracking_since=since)
    assert before.recycled is Recycled.UNKNOWN
    assert after.recycled is Recycled.NO
