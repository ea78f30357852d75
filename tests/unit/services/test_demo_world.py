"""The synthetic demo world: deterministic, plausible, and accepted event by event by the domain.

Every check here replays events through ``apply_event`` and answers through ``decide`` on its
own, so the generator's self-checks are not what the tests rely on.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numguard.domain.aging import AgingPolicy
from numguard.domain.answer import NumberFacts, Recycled, decide
from numguard.domain.coverage import CoverageMap
from numguard.domain.identity import holder_from_id
from numguard.domain.lifecycle import (
    Applied,
    EventType,
    LifecycleEvent,
    NumberState,
    NumberStatus,
    apply_event,
)
from numguard.domain.phone import parse_phone_number
from numguard.services.demo_world import (
    CSV_COLUMNS,
    DEMO_CARRIERS,
    DemoWorld,
    generate_world,
    iter_events,
    resident_id_check_char,
    write_events_csv,
    write_events_ndjson,
)

TODAY = date(2026, 11, 28)
KEY = b"demo-world-tests"
POLICY = AgingPolicy()
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"
ALL_TYPES = {t.value for t in EventType}
HOLDER_TYPES = {EventType.ASSIGNED.value, EventType.TRANSFERRED.value}
CSV_HEADER = "eventId,phoneNumber,type,effectiveDate,carrier,holderIdType,holderIdNumber,toCarrier"

Record = Mapping[str, Any]


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    """The world the demo shows: seed 1, 12,000 numbers, two years."""
    return generate_world(seed=1, numbers=12_000, today=TODAY)


def by_number(events: Iterable[Record]) -> dict[str, list[Record]]:
    numbers: dict[str, list[Record]] = defaultdict(list)
    for record in events:
        numbers[record["phoneNumber"]].append(record)
    return numbers


def lifecycle_event(record: Record) -> LifecycleEvent:
    holder = record.get("holder")
    return LifecycleEvent(
        event_id=record["eventId"],
        phone_number=record["phoneNumber"],
        type=EventType(record["type"]),
        effective_date=date.fromisoformat(record["effectiveDate"]),
        carrier=record["carrier"],
        holder=holder_from_id(KEY, holder["idType"], holder["idNumber"]) if holder else None,
        to_carrier=record.get("toCarrier"),
    )


def replay(records: list[Record], today: date = TODAY) -> NumberState:
    """Apply one number's records in order; fail on the first the lifecycle rejects."""
    state = NumberState(records[0]["phoneNumber"])
    for record in records:
        outcome = apply_event(state, lifecycle_event(record), policy=POLICY, today=today)
        assert isinstance(outcome, Applied), (record, outcome)
        state = outcome.state
    return state


def answer(world_carriers: Iterable[Any], records: list[Record], on: date, today: date) -> Recycled:
    state = replay(records, today)
    coverage = CoverageMap(c.coverage() for c in world_carriers)
    covered, since = coverage.tracking_since(records[0]["phoneNumber"], state.carrier)
    facts = NumberFacts.of(state)
    return decide(facts, on=on, today=today, covered=covered, tracking_since=since).recycled


def day(record: Record) -> date:
    return date.fromisoformat(record["effectiveDate"])


def read_csv(path: Path) -> list[Record]:
    records: list[Record] = []
    with path.open(newline="", encoding="utf-8") as src:
        for row in csv.DictReader(src):
            record: dict[str, Any] = {k: row[k] for k in CSV_COLUMNS[:5]}
            if row["holderIdType"]:
                record["holder"] = {
                    "idType": row["holderIdType"],
                    "idNumber": row["holderIdNumber"],
                }
            if row["toCarrier"]:
                record["toCarrier"] = row["toCarrier"]
            records.append(record)
    return records


def read_ndjson(path: Path) -> list[Record]:
    with path.open(encoding="utf-8") as src:
        return [json.loads(line) for line in src]


# -- determinism ------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_world() -> None:
    first = generate_world(seed=7, numbers=2_000, today=TODAY)
    again = generate_world(seed=7, numbers=2_000, today=TODAY)
    other = generate_world(seed=8, numbers=2_000, today=TODAY)
    assert first.events == again.events
    assert first.examples == again.examples
    assert first.events != other.events


def test_iter_events_streams_exactly_the_events_of_generate_world(world: DemoWorld) -> None:
    streamed = iter_events(seed=1, numbers=12_000, today=TODAY)
    assert list(streamed) == world.events


# -- shape of the world -----------------------------------------------------------------------


def test_twelve_thousand_numbers_give_two_years_of_every_kind_of_event(world: DemoWorld) -> None:
    events = world.events
    assert len(events) >= 12_000
    assert len(by_number(events)) == 12_000
    assert {e["type"] for e in events} == ALL_TYPES
    assert world.tracking_since in (TODAY - timedelta(days=730), TODAY - timedelta(days=731))
    in_window = [day(e) for e in events if day(e) >= world.tracking_since]
    assert min(in_window) <= world.tracking_since + timedelta(days=7)
    assert max(in_window) == TODAY
    assert max(day(e) for e in events) <= TODAY
    assert min(day(e) for e in events) < world.tracking_since - timedelta(days=5 * 365)


def test_most_numbers_come_from_the_onboarding_snapshot_and_churn_is_a_few_percent(
    world: DemoWorld,
) -> None:
    numbers = by_number(world.events)
    snapshot = sum(1 for evs in numbers.values() if day(evs[0]) < world.tracking_since)
    assert 0.9 < snapshot / len(numbers) < 0.99  # some numbers are first issued in the window
    counts = Counter(e["type"] for e in world.events if day(e) >= world.tracking_since)
    per_year = {t: counts[t] / len(numbers) / 2 for t in ALL_TYPES}
    assert 0.02 < per_year["CANCELLED"] < 0.1
    assert 0 < per_year["PORTED"] < per_year["CANCELLED"]
    assert 0 < per_year["TRANSFERRED"] < per_year["CANCELLED"]
    assert 0 < counts["RESTORED"] < counts["CANCELLED"] / 4
    assert 0 < counts["RELEASED"] < counts["CANCELLED"]


def test_events_are_ordered_by_date_then_event_id(world: DemoWorld) -> None:
    keys = [(e["effectiveDate"], e["eventId"]) for e in world.events]
    assert keys == sorted(keys)


def test_event_ids_are_unique_per_carrier_and_name_their_carrier(world: DemoWorld) -> None:
    ids = [(e["carrier"], e["eventId"]) for e in world.events]
    assert len(set(ids)) == len(ids)
    assert all(event_id.startswith(f"{carrier}-") for carrier, event_id in ids)


def test_records_carry_holder_and_to_carrier_only_where_the_format_says(world: DemoWorld) -> None:
    codes = {c.code for c in DEMO_CARRIERS}
    base = {"eventId", "phoneNumber", "type", "effectiveDate", "carrier"}
    for e in world.events:
        extra = set(e) - base
        if e["type"] in HOLDER_TYPES:
            assert extra == {"holder"}
            assert e["holder"]["idType"] == "CN_RESIDENT"
        elif e["type"] == "PORTED":
            assert extra == {"toCarrier"}
            assert e["toCarrier"] in codes - {e["carrier"]}
        else:
            assert extra == set()
        assert e["carrier"] in codes


def test_phone_numbers_are_valid_and_in_a_demo_carriers_range(world: DemoWorld) -> None:
    coverage = CoverageMap(c.coverage() for c in world.carriers)
    numbers = sorted(by_number(world.events))
    assert all(coverage.range_holder(n) is not None for n in numbers)
    for number in numbers[::40]:
        assert parse_phone_number(number) == number


def test_holder_ids_are_valid_resident_ids_of_adults(world: DemoWorld) -> None:
    for e in world.events:
        if "holder" not in e:
            continue
        value = e["holder"]["idNumber"]
        # ISO 7064 MOD 11-2 from its definition: weights 2**(i) mod 11 from the right, sum == 1.
        digits = [10 if ch == "X" else int(ch) for ch in value]
        assert sum(d * pow(2, 17 - i, 11) for i, d in enumerate(digits)) % 11 == 1
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        assert 18 <= (day(e) - born).days / 365.25 <= 76


def test_check_character_matches_the_domain_validation() -> None:
    first17 = "11010119880312123"
    assert resident_id_check_char(first17) == "0"
    holder_from_id(KEY, "CN_RESIDENT", first17 + "0")


# -- the lifecycle accepts everything ---------------------------------------------------------


def test_every_number_replays_cleanly_through_the_lifecycle(world: DemoWorld) -> None:
    statuses: Counter[NumberStatus] = Counter()
    for records in by_number(world.events).values():
        dates = [day(r) for r in records]
        assert dates == sorted(set(dates)), "one event a day at most, in date order"
        statuses[replay(records).status] += 1
    assert statuses[NumberStatus.ACTIVE] > 0.9 * sum(statuses.values())
    assert statuses[NumberStatus.AGING] > 0
    assert statuses[NumberStatus.RELEASED] > 0


def test_reissues_come_from_the_range_holder_and_ports_hand_over_reporting(
    world: DemoWorld,
) -> None:
    coverage = CoverageMap(c.coverage() for c in world.carriers)
    reissues = reported_after_port = cross_carrier_reissues = 0
    for number, records in by_number(world.events).items():
        range_holder = coverage.range_holder(number)
        assert range_holder is not None
        for before, after in pairwise(records):
            if after["type"] == "ASSIGNED":
                assert after["carrier"] == range_holder.code
                reissues += 1
                cross_carrier_reissues += before["carrier"] != after["carrier"]
            if before["type"] == "PORTED":
                assert after["carrier"] == before["toCarrier"] or after["type"] == "ASSIGNED"
                reported_after_port += 1
    assert reissues > 100
    assert reported_after_port > 0
    assert cross_carrier_reissues > 0  # a ported, cancelled number goes home for its reissue


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    numbers=st.integers(min_value=3, max_value=300),
    years=st.floats(min_value=0.5, max_value=4.0),
    today=st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
)
def test_any_world_replays_cleanly(seed: int, numbers: int, years: float, today: date) -> None:
    built = generate_world(seed=seed, numbers=numbers, today=today, years=years)
    for records in by_number(built.events).values():
        replay(records, today)


# -- the examples -----------------------------------------------------------------------------


def test_the_three_examples_answer_as_claimed(world: DemoWorld) -> None:
    numbers = by_number(world.events)
    assert set(world.examples) == {"recycled", "not_recycled", "ported"}
    for example in world.examples.values():
        records = numbers[example.phone_number]
        got = answer(world.carriers, records, example.specified_date, TODAY)
        assert got is (Recycled.YES if example.expected else Recycled.NO), example
        assert example.phone_number in example.story


def test_the_recycled_example_asks_about_a_date_in_the_old_holders_tenure(
    world: DemoWorld,
) -> None:
    example = world.examples["recycled"]
    records = by_number(world.events)[example.phone_number]
    old, cancel = records[0], records[1]
    new = next(r for r in records[2:] if r["type"] == "ASSIGNED")
    assert cancel["type"] == "CANCELLED"
    assert day(old) <= example.specified_date < day(cancel)
    assert new["holder"] != old["holder"]
    assert example.expected is True


def test_the_not_recycled_example_is_one_unbroken_tenure(world: DemoWorld) -> None:
    example = world.examples["not_recycled"]
    (only,) = by_number(world.events)[example.phone_number]
    assert only["type"] == "ASSIGNED"
    assert day(only) <= example.specified_date
    assert example.expected is False


def test_the_ported_example_asks_about_a_date_before_the_port(world: DemoWorld) -> None:
    example = world.examples["ported"]
    records = by_number(world.events)[example.phone_number]
    assert [r["type"] for r in records] == ["ASSIGNED", "PORTED"]
    assert day(records[0]) <= example.specified_date < day(records[1])
    assert day(records[1]) >= world.tracking_since
    assert example.expected is False


def test_even_the_smallest_world_has_its_examples() -> None:
    tiny = generate_world(seed=3, numbers=3, today=TODAY, years=0.5)
    assert set(tiny.examples) == {"recycled", "not_recycled", "ported"}


@pytest.mark.parametrize(("numbers", "years"), [(2, 2.0), (100, 0.4)])
def test_worlds_too_small_for_the_examples_are_refused(numbers: int, years: float) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_world(seed=1, numbers=numbers, today=TODAY, years=years)


# -- files ------------------------------------------------------------------------------------


def test_csv_and_ndjson_files_round_trip(world: DemoWorld, tmp_path: Path) -> None:
    events = world.events[-3_000:]
    assert write_events_csv(events, tmp_path / "e.csv") == len(events)
    assert write_events_ndjson(events, tmp_path / "e.ndjson") == len(events)
    assert (tmp_path / "e.csv").read_text(encoding="utf-8").splitlines()[0] == CSV_HEADER
    assert read_csv(tmp_path / "e.csv") == events
    assert read_ndjson(tmp_path / "e.ndjson") == events


def test_writers_take_a_stream(tmp_path: Path) -> None:
    stream = iter_events(seed=2, numbers=500, today=TODAY)
    written = write_events_csv(stream, tmp_path / "s.csv")
    assert written == len(read_csv(tmp_path / "s.csv")) >= 500


# -- the hand-checked sample ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> list[Record]:
    records = read_csv(EXAMPLES_DIR / "events-sample.csv")
    assert (EXAMPLES_DIR / "events-sample.csv").read_text().splitlines()[0] == CSV_HEADER
    assert read_ndjson(EXAMPLES_DIR / "events-sample.ndjson") == records
    return records


def test_the_sample_files_replay_cleanly(sample: list[Record]) -> None:
    assert 12 <= len(sample) <= 20
    assert {r["type"] for r in sample} == ALL_TYPES
    keys = [(r["effectiveDate"], r["eventId"]) for r in sample]
    assert keys == sorted(keys)
    assert len({(r["carrier"], r["eventId"]) for r in sample}) == len(sample)
    for records in by_number(sample).values():
        replay(records)


def test_the_sample_tells_the_camara_story(sample: list[Record]) -> None:
    numbers = by_number(sample)
    story = numbers["+8613800138000"]
    assert [(r["type"], r["effectiveDate"]) for r in story] == [
        ("ASSIGNED", "2023-10-09"),
        ("CANCELLED", "2024-02-25"),
        ("RELEASED", "2024-05-25"),
        ("ASSIGNED", "2024-09-21"),
    ]
    assert story[0]["holder"] != story[3]["holder"]

    def ask(number: str, on: date) -> Recycled:
        return answer(DEMO_CARRIERS, numbers[number], on, TODAY)

    assert ask("+8613800138000", date(2024, 1, 1)) is Recycled.YES  # A's account
    assert ask("+8613800138000", date(2024, 10, 1)) is Recycled.NO  # B's account
    assert ask("+8618912345678", date(2025, 1, 1)) is Recycled.NO  # restored during the freeze
    assert ask("+8613012345678", date(2025, 1, 1)) is Recycled.YES  # 过户 to a new holder


def test_the_sample_ported_number_goes_home_for_its_reissue(sample: list[Record]) -> None:
    ported = by_number(sample)["+8613912345678"]
    assert [(r["type"], r["carrier"]) for r in ported] == [
        ("ASSIGNED", "CMCC"),
        ("PORTED", "CMCC"),
        ("CANCELLED", "CTCC"),
        ("ASSIGNED", "CMCC"),
    ]
    assert ported[1]["toCarrier"] == "CTCC"


def test_a_world_without_numbers_has_no_events() -> None:
    assert list(iter_events(seed=1, numbers=0, today=TODAY)) == []
