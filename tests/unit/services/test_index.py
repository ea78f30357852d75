"""The NumPy bulk path answers exactly as the domain's decide() does, for any facts and date."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from numguard.domain.answer import UNREPORTED_FACTS, decide
from numguard.domain.coverage import CarrierCoverage, CoverageMap
from numguard.domain.lifecycle import NumberState, NumberStatus
from numguard.services.index import (
    REASON_CODES,
    AnswerIndex,
    VectorCoverage,
    day_number,
    decide_many,
    number_key,
)

TODAY = date(2026, 11, 28)
BASE = date(2022, 1, 1)
CARRIERS = [
    CarrierCoverage("CMCC", date(2024, 1, 1), ("+86138", "+861390")),
    CarrierCoverage("CUCC", date(2025, 6, 1), ("+86130",)),
    CarrierCoverage("MVNO", date(2023, 3, 1), ()),
]
PREFIXES = ["+86138", "+861390", "+861391", "+86130", "+86137", "+1202"]

days = st.integers(min_value=0, max_value=(TODAY - BASE).days).map(lambda d: BASE + timedelta(d))


@st.composite
def states(draw: st.DrawFn) -> NumberState:
    prefix = draw(st.sampled_from(PREFIXES))
    rest = 15 - len(prefix) if prefix.startswith("+86") else 12 - len(prefix)
    number = prefix + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=rest, max_size=rest))
    )
    status = draw(st.sampled_from(list(NumberStatus)))
    if status is NumberStatus.UNREPORTED:
        return NumberState(number)
    known = draw(st.booleans())
    start = draw(days) if known else None
    ended = draw(days) if status is not NumberStatus.ACTIVE else None
    earlier = draw(st.none() | days)
    carrier = draw(st.sampled_from(["CMCC", "CUCC", "MVNO"]))
    return NumberState(
        number,
        status,
        carrier,
        None,
        start,
        known,
        ended_on=ended,
        earlier_change_on=earlier,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(states(), days, st.booleans()), min_size=1, max_size=40))
def test_bulk_answers_equal_the_domain_decision(
    cases: list[tuple[NumberState, date, bool]],
) -> None:
    coverage = CoverageMap(CARRIERS)
    index = AnswerIndex(merge_threshold=5)
    stored: dict[str, NumberState] = {}
    for state, _, _ in cases:
        if state.status is not NumberStatus.UNREPORTED:
            stored[state.phone_number] = state
    # half in the merged arrays, half in the delta: both paths must agree
    items = list(stored.values())
    index.update(items[: len(items) // 2])
    index.load([])  # merge what is there
    index.update(items[len(items) // 2 :])
    vector = VectorCoverage(coverage, index)
    keys = np.array([number_key(s.phone_number) for s, _, _ in cases], np.int64)
    on = np.array([day_number(d) for _, d, _ in cases], np.int32)
    found, facts = index.lookup_many(keys)
    reasons = decide_many(found, facts, vector, on)
    for i, (state, day, _) in enumerate(cases):
        current = stored.get(state.phone_number)
        looked_up = index.facts(state.phone_number)
        if current is None:
            assert looked_up is None
            facts_i, carrier = UNREPORTED_FACTS, None
        else:
            assert looked_up is not None
            facts_i, carrier = looked_up
            assert carrier == current.carrier
        covered, tracking = coverage.tracking_since(state.phone_number, carrier)
        expected = decide(facts_i, on=day, today=TODAY, covered=covered, tracking_since=tracking)
        assert REASON_CODES[int(reasons[i])] is expected.reason, (state, day)


def test_delta_overrides_merged_entry() -> None:
    index = AnswerIndex()
    number = "+8613800138000"
    index.update([NumberState(number, NumberStatus.ACTIVE, "CMCC", None, date(2024, 1, 1), True)])
    index.load([])
    index.update(
        [
            NumberState(
                number,
                NumberStatus.AGING,
                "CMCC",
                None,
                date(2024, 1, 1),
                True,
                ended_on=date(2025, 1, 1),
            )
        ]
    )
    found = index.facts(number)
    assert found is not None
    assert found[0].status is NumberStatus.AGING
    ok, facts = index.lookup_many(np.array([number_key(number)], np.int64))
    assert ok[0]
    assert facts.status[0] == 2
