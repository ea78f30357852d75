"""The recycling answer (DESIGN.md §3) on the CAMARA scenarios, and its protocol translations."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from domain_builders import HOLDER_A, HOLDER_B, answer, days, event, replay
from hypothesis import given, settings
from hypothesis import strategies as st

from numguard.domain.answer import (
    UNREPORTED_FACTS,
    AnswerReason,
    NumberFacts,
    Recycled,
    RecyclingAnswer,
    SpecifiedDateInFuture,
    VendorCode,
    decide,
    to_camara,
    to_fcc,
    to_vendor_code,
)
from numguard.domain.lifecycle import EventType, NumberState, NumberStatus
from numguard.errors import ErrorKind, OutOfRange

E = EventType
TODAY = date(2024, 12, 1)

A_ASSIGNED = date(2023, 10, 9)
A_CANCELLED = date(2024, 2, 25)
B_ASSIGNED = date(2024, 9, 21)


def camara_recycled_number() -> NumberState:
    """The CAMARA example: A from 2023-10-09 to 2024-02-25, B since 2024-09-21."""
    return replay(
        [
            event(E.ASSIGNED, A_ASSIGNED, holder=HOLDER_A),
            event(E.CANCELLED, A_CANCELLED),
            event(E.RELEASED, A_CANCELLED + days(90)),
            event(E.ASSIGNED, B_ASSIGNED, holder=HOLDER_B),
        ],
        today=TODAY,
    )


def held_without_a_break() -> NumberState:
    return replay([event(E.ASSIGNED, A_ASSIGNED, holder=HOLDER_A)], today=TODAY)


def check(
    state: NumberState, on: date, *, covered: bool = True, tracking_since: date | None = None
) -> RecyclingAnswer:
    return answer(state, on, today=TODAY, covered=covered, tracking_since=tracking_since)


# --- the CAMARA scenarios ------------------------------------------------------------------


def test_b_assigned_after_the_cn_aging_period_is_accepted() -> None:
    state = camara_recycled_number()
    assert state.holder == HOLDER_B
    assert A_CANCELLED + days(90) <= B_ASSIGNED


def test_check_since_before_the_cancellation_answers_recycled() -> None:
    result = check(camara_recycled_number(), date(2023, 12, 22))
    assert result == RecyclingAnswer(Recycled.YES, AnswerReason.HOLDER_CHANGED, held_now=True)
    assert to_camara(result) is True
    assert to_fcc(result) == "yes"
    assert to_vendor_code(result) is VendorCode.RECYCLED


def test_number_held_without_a_break_is_not_recycled_since_its_start() -> None:
    result = check(held_without_a_break(), A_ASSIGNED)
    assert result == RecyclingAnswer(Recycled.NO, AnswerReason.SAME_HOLDER, held_now=True)
    assert to_camara(result) is False
    assert to_fcc(result) == "no"
    assert to_vendor_code(result) is VendorCode.NOT_RECYCLED


def test_number_held_without_a_break_is_recycled_since_before_its_start() -> None:
    result = check(held_without_a_break(), A_ASSIGNED - days(1))
    assert result.recycled is Recycled.YES
    assert result.reason is AnswerReason.HOLDER_STARTED_AFTER


@pytest.mark.parametrize(
    "on",
    [A_CANCELLED, A_CANCELLED + days(1), A_CANCELLED + days(90), B_ASSIGNED - days(1)],
    ids=str,
)
def test_date_inside_the_gap_between_holders_answers_recycled(on: date) -> None:
    assert check(camara_recycled_number(), on).recycled is Recycled.YES


def test_check_since_the_new_holders_first_day_is_not_recycled() -> None:
    result = check(camara_recycled_number(), B_ASSIGNED)
    assert result.recycled is Recycled.NO
    assert result.reason is AnswerReason.SAME_HOLDER


def test_port_answers_not_recycled() -> None:
    state = replay(
        [
            event(E.ASSIGNED, A_ASSIGNED, holder=HOLDER_A),
            event(E.PORTED, date(2024, 3, 1), to_carrier="CUCC"),
        ],
        today=TODAY,
    )
    for on in (A_ASSIGNED, date(2023, 12, 22), date(2024, 3, 1), TODAY):
        assert check(state, on).recycled is Recycled.NO


def test_transfer_answers_recycled_up_to_and_including_its_day() -> None:
    transferred_on = date(2024, 3, 1)
    state = replay(
        [
            event(E.ASSIGNED, A_ASSIGNED, holder=HOLDER_A),
            event(E.TRANSFERRED, transferred_on, holder=HOLDER_B),
        ],
        today=TODAY,
    )
    assert check(state, date(2023, 12, 22)).recycled is Recycled.YES
    assert check(state, transferred_on).recycled is Recycled.YES
    assert check(state, transferred_on + days(1)).recycled is Recycled.NO
    assert to_vendor_code(check(state, date(2023, 12, 22))) is VendorCode.RECYCLED


def test_restore_during_the_freeze_answers_not_recycled() -> None:
    state = replay(
        [
            event(E.ASSIGNED, A_ASSIGNED, holder=HOLDER_A),
            event(E.CANCELLED, A_CANCELLED),
            event(E.RESTORED, A_CANCELLED + days(10)),
        ],
        today=TODAY,
    )
    for on in (A_ASSIGNED, date(2023, 12, 22), A_CANCELLED, A_CANCELLED + days(5), TODAY):
        assert check(state, on).recycled is Recycled.NO


def test_number_cancelled_now_is_recycled_and_reported_as_cancelled() -> None:
    state = replay(
        [event(E.ASSIGNED, A_ASSIGNED, holder=HOLDER_A), event(E.CANCELLED, A_CANCELLED)],
        today=TODAY,
    )
    before = check(state, date(2023, 12, 22))
    after = check(state, A_CANCELLED + days(1))
    assert before == RecyclingAnswer(Recycled.YES, AnswerReason.HOLDER_CHANGED, held_now=False)
    assert after == RecyclingAnswer(Recycled.YES, AnswerReason.NOT_HELD, held_now=False)
    assert to_vendor_code(before) is VendorCode.CANCELLED_NOW
    assert to_vendor_code(after) is VendorCode.CANCELLED_NOW
    assert to_camara(after) is True


def test_released_number_is_not_held() -> None:
    state = replay(
        [
            event(E.ASSIGNED, A_ASSIGNED, holder=HOLDER_A),
            event(E.CANCELLED, A_CANCELLED),
            event(E.RELEASED, A_CANCELLED + days(90)),
        ],
        today=TODAY,
    )
    result = check(state, TODAY)
    assert result == RecyclingAnswer(Recycled.YES, AnswerReason.NOT_HELD, held_now=False)


# --- unknown ---------------------------------------------------------------------------------

TRACKING_SINCE = date(2024, 1, 1)


def held_since_before_tracking() -> NumberState:
    """First news of the number is a port: its holder's tenure began at some unknown date."""
    item = event(E.PORTED, date(2024, 3, 1), holder=HOLDER_A, to_carrier="CUCC")
    return replay([item], today=TODAY)


@pytest.mark.parametrize(
    "facts",
    [NumberFacts.of(held_since_before_tracking()), UNREPORTED_FACTS],
    ids=["first-event-ported", "never-reported"],
)
def test_number_held_since_before_tracking_is_unknown_before_tracking_since(
    facts: NumberFacts,
) -> None:
    for on in (date(2020, 1, 1), TRACKING_SINCE - days(1)):
        result = decide(facts, on=on, today=TODAY, covered=True, tracking_since=TRACKING_SINCE)
        assert result.recycled is Recycled.UNKNOWN
        assert result.reason is AnswerReason.BEFORE_TRACKING
        assert to_camara(result) is None
        assert to_fcc(result) == "no data"
        assert to_vendor_code(result) is VendorCode.CANNOT_TELL


@pytest.mark.parametrize(
    "facts",
    [NumberFacts.of(held_since_before_tracking()), UNREPORTED_FACTS],
    ids=["first-event-ported", "never-reported"],
)
def test_number_held_since_before_tracking_is_not_recycled_from_tracking_since(
    facts: NumberFacts,
) -> None:
    for on in (TRACKING_SINCE, date(2024, 2, 1), date(2024, 6, 1), TODAY):
        result = decide(facts, on=on, today=TODAY, covered=True, tracking_since=TRACKING_SINCE)
        assert result.recycled is Recycled.NO
        assert result.reason is AnswerReason.NO_CHANGE_REPORTED


def test_never_reported_number_is_neither_held_nor_free_now() -> None:
    result = decide(
        UNREPORTED_FACTS, on=TODAY, today=TODAY, covered=True, tracking_since=TRACKING_SINCE
    )
    assert result.held_now is None


def test_without_complete_tracking_a_number_held_since_before_tracking_is_always_unknown() -> None:
    for on in (date(2020, 1, 1), TODAY):
        result = check(held_since_before_tracking(), on, tracking_since=None)
        assert result.recycled is Recycled.UNKNOWN


def test_recorded_change_answers_even_before_tracking_since() -> None:
    state = replay(
        [
            event(E.PORTED, date(2024, 3, 1), holder=HOLDER_A, to_carrier="CUCC"),
            event(E.TRANSFERRED, date(2024, 4, 1), carrier="CUCC", holder=HOLDER_B),
        ],
        today=TODAY,
    )
    result = check(state, date(2020, 1, 1), tracking_since=date(2024, 6, 1))
    assert result.recycled is Recycled.YES


def test_number_no_reporting_carrier_covers_is_unknown() -> None:
    result = check(camara_recycled_number(), date(2023, 12, 22), covered=False)
    assert result == RecyclingAnswer(Recycled.UNKNOWN, AnswerReason.NOT_COVERED, held_now=None)
    assert to_vendor_code(result) is VendorCode.CANNOT_TELL


def test_specified_date_in_the_future_is_out_of_range() -> None:
    with pytest.raises(SpecifiedDateInFuture) as caught:
        check(camara_recycled_number(), TODAY + days(1))
    assert isinstance(caught.value, OutOfRange)
    assert caught.value.kind is ErrorKind.OUT_OF_RANGE
    assert caught.value.code == "OUT_OF_RANGE"


def test_specified_date_in_the_future_is_refused_even_for_an_uncovered_number() -> None:
    with pytest.raises(SpecifiedDateInFuture):
        decide(
            UNREPORTED_FACTS, on=TODAY + days(1), today=TODAY, covered=False, tracking_since=None
        )


def test_specified_date_today_is_answered() -> None:
    assert check(camara_recycled_number(), TODAY).recycled is Recycled.NO


# --- translations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recycled", "held_now", "camara", "fcc", "vendor"),
    [
        (Recycled.YES, True, True, "yes", 1),
        (Recycled.YES, None, True, "yes", 1),
        (Recycled.YES, False, True, "yes", 3),
        (Recycled.NO, True, False, "no", 2),
        (Recycled.NO, None, False, "no", 2),
        (Recycled.UNKNOWN, True, None, "no data", 0),
        (Recycled.UNKNOWN, False, None, "no data", 0),
        (Recycled.UNKNOWN, None, None, "no data", 0),
    ],
)
def test_protocols_only_translate_the_one_answer(
    recycled: Recycled, held_now: bool | None, camara: bool | None, fcc: str, vendor: int
) -> None:
    result = RecyclingAnswer(recycled, AnswerReason.HOLDER_CHANGED, held_now)
    assert to_camara(result) is camara
    assert to_fcc(result) == fcc
    assert to_vendor_code(result) == vendor


def test_vendor_codes_are_the_published_integers() -> None:
    assert [int(c) for c in VendorCode] == [0, 1, 2, 3]
    assert VendorCode.CANNOT_TELL == 0
    assert VendorCode.CANCELLED_NOW == 3


def test_answer_facts_carry_no_holder_data() -> None:
    names = {f.name for f in dataclasses.fields(NumberFacts)}
    assert names == {"status", "tenure_start", "tenure_start_known", "last_change_on"}


# --- properties of decide -------------------------------------------------------------------

RANK = {Recycled.YES: 2, Recycled.UNKNOWN: 1, Recycled.NO: 0}
DATES = st.dates(min_value=date(2015, 1, 1), max_value=TODAY)


@st.composite
def number_facts(draw: st.DrawFn) -> NumberFacts:
    status = draw(st.sampled_from(NumberStatus))
    known = draw(st.booleans())
    start = draw(DATES) if known else draw(st.none() | DATES)
    return NumberFacts(status, start, known, draw(st.none() | DATES))


@settings(max_examples=300, deadline=None)
@given(
    number_facts(),
    st.lists(DATES, min_size=2, max_size=6, unique=True),
    st.none() | DATES,
)
def test_earlier_dates_are_never_less_recycled(
    facts: NumberFacts, ons: list[date], tracking_since: date | None
) -> None:
    ranks = [
        RANK[
            decide(facts, on=on, today=TODAY, covered=True, tracking_since=tracking_since).recycled
        ]
        for on in sorted(ons)
    ]
    assert ranks == sorted(ranks, reverse=True)


@settings(max_examples=200, deadline=None)
@given(number_facts(), DATES, st.none() | DATES, st.booleans())
def test_held_now_says_whether_the_number_is_held(
    facts: NumberFacts, on: date, tracking_since: date | None, covered: bool
) -> None:
    result = decide(facts, on=on, today=TODAY, covered=covered, tracking_since=tracking_since)
    if not covered:
        assert result.recycled is Recycled.UNKNOWN
        assert result.held_now is None
    elif facts.status is NumberStatus.UNREPORTED:
        assert result.held_now is None
    else:
        assert result.held_now is (facts.status is NumberStatus.ACTIVE)
