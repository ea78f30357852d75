"""The number lifecycle: the transition table, every guard, and what events do to tenures."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from datetime import date

import pytest
from domain_builders import (
    CN_NUMBER,
    CN_POLICY,
    HOLDER_A,
    HOLDER_B,
    US_NUMBER,
    days,
    event,
    replay,
)

from numguard.domain.aging import AgingPolicy
from numguard.domain.lifecycle import (
    INVALID_IN_STATE,
    TRANSITIONS,
    Applied,
    EndReason,
    EventType,
    LifecycleEvent,
    NumberState,
    NumberStatus,
    Outcome,
    Rejected,
    RejectReason,
    TenureChange,
    TenureChangeKind,
    apply_event,
)

E, S, K = EventType, NumberStatus, TenureChangeKind

ASSIGNED_ON = date(2023, 10, 9)
CANCELLED_ON = date(2024, 2, 25)
AGING_ENDS_ON = CANCELLED_ON + days(90)  # 2024-05-25
TODAY = date(2024, 12, 1)


def apply(state: NumberState, item: LifecycleEvent, *, today: date = TODAY) -> Outcome:
    return apply_event(state, item, policy=CN_POLICY, today=today)


def rejected(outcome: Outcome) -> RejectReason:
    assert isinstance(outcome, Rejected), f"expected a rejection, got {outcome}"
    assert outcome.message
    return outcome.reason


def applied(outcome: Outcome) -> Applied:
    assert isinstance(outcome, Applied), f"expected the event to apply, got {outcome}"
    return outcome


def unreported() -> NumberState:
    return NumberState(CN_NUMBER)


def active() -> NumberState:
    """Holder A has held the number at CMCC since 2023-10-09."""
    return replay([event(E.ASSIGNED, ASSIGNED_ON, holder=HOLDER_A)])


def aging() -> NumberState:
    """Holder A cancelled on 2024-02-25; the freeze runs until 2024-05-25."""
    return replay(
        [event(E.ASSIGNED, ASSIGNED_ON, holder=HOLDER_A), event(E.CANCELLED, CANCELLED_ON)]
    )


def released() -> NumberState:
    """Cancelled, and released on the first day after the freeze."""
    return replay(
        [
            event(E.ASSIGNED, ASSIGNED_ON, holder=HOLDER_A),
            event(E.CANCELLED, CANCELLED_ON),
            event(E.RELEASED, AGING_ENDS_ON),
        ]
    )


STATES: dict[NumberStatus, Callable[[], NumberState]] = {
    S.UNREPORTED: unreported,
    S.ACTIVE: active,
    S.AGING: aging,
    S.RELEASED: released,
}


def well_formed(type_: EventType, on: date) -> LifecycleEvent:
    """An event of *type_* that passes every guard except, possibly, the state it meets."""
    holder = {E.ASSIGNED: HOLDER_B, E.TRANSFERRED: HOLDER_B, E.PORTED: HOLDER_A}.get(type_)
    to_carrier = "CUCC" if type_ is E.PORTED else None
    return event(type_, on, holder=holder, to_carrier=to_carrier)


def valid_date(status: NumberStatus, type_: EventType) -> date:
    if status is S.AGING and type_ is E.RESTORED:
        return AGING_ENDS_ON - days(1)
    if status is S.AGING:
        return AGING_ENDS_ON
    return date(2024, 6, 1)


# (state, event) -> (status after, tenure change kinds, in order)
EXPECTED_TRANSITIONS: dict[tuple[NumberStatus, EventType], tuple[NumberStatus, tuple[K, ...]]] = {
    (S.UNREPORTED, E.ASSIGNED): (S.ACTIVE, (K.OPENED,)),
    (S.UNREPORTED, E.CANCELLED): (S.AGING, (K.OPENED, K.CLOSED)),
    (S.UNREPORTED, E.TRANSFERRED): (S.ACTIVE, (K.OPENED, K.CLOSED, K.OPENED)),
    (S.UNREPORTED, E.PORTED): (S.ACTIVE, (K.OPENED,)),
    (S.ACTIVE, E.CANCELLED): (S.AGING, (K.CLOSED,)),
    (S.ACTIVE, E.TRANSFERRED): (S.ACTIVE, (K.CLOSED, K.OPENED)),
    (S.ACTIVE, E.PORTED): (S.ACTIVE, ()),
    (S.AGING, E.RESTORED): (S.ACTIVE, (K.REOPENED,)),
    (S.AGING, E.RELEASED): (S.RELEASED, ()),
    (S.AGING, E.ASSIGNED): (S.ACTIVE, (K.OPENED,)),
    (S.RELEASED, E.ASSIGNED): (S.ACTIVE, (K.OPENED,)),
}

EXPECTED_INVALID: dict[tuple[NumberStatus, EventType], RejectReason] = {
    (S.UNREPORTED, E.RESTORED): RejectReason.NOT_CANCELLED,
    (S.UNREPORTED, E.RELEASED): RejectReason.NOT_CANCELLED,
    (S.ACTIVE, E.ASSIGNED): RejectReason.ALREADY_ASSIGNED,
    (S.ACTIVE, E.RESTORED): RejectReason.NOT_CANCELLED,
    (S.ACTIVE, E.RELEASED): RejectReason.NOT_CANCELLED,
    (S.AGING, E.CANCELLED): RejectReason.NOT_ASSIGNED,
    (S.AGING, E.TRANSFERRED): RejectReason.NOT_ASSIGNED,
    (S.AGING, E.PORTED): RejectReason.NOT_ASSIGNED,
    (S.RELEASED, E.CANCELLED): RejectReason.NOT_ASSIGNED,
    (S.RELEASED, E.TRANSFERRED): RejectReason.NOT_ASSIGNED,
    (S.RELEASED, E.PORTED): RejectReason.NOT_ASSIGNED,
    (S.RELEASED, E.RESTORED): RejectReason.AGING_PERIOD_OVER,
    (S.RELEASED, E.RELEASED): RejectReason.NOT_CANCELLED,
}


def test_every_state_and_event_pair_is_either_a_transition_or_invalid() -> None:
    every_pair = set(itertools.product(NumberStatus, EventType))
    assert set(TRANSITIONS) | set(INVALID_IN_STATE) == every_pair
    assert not set(TRANSITIONS) & set(INVALID_IN_STATE)


def test_transition_table_is_the_one_this_suite_expects() -> None:
    assert set(TRANSITIONS) == set(EXPECTED_TRANSITIONS)
    assert INVALID_IN_STATE == EXPECTED_INVALID


@pytest.mark.parametrize(
    ("status", "type_"), list(EXPECTED_TRANSITIONS), ids=lambda v: str(v.value)
)
def test_valid_event_moves_the_number_and_changes_tenures_as_the_table_says(
    status: NumberStatus, type_: EventType
) -> None:
    state = STATES[status]()
    assert state.status is status
    item = well_formed(type_, valid_date(status, type_))
    result = applied(apply(state, item))
    after, kinds = EXPECTED_TRANSITIONS[status, type_]
    assert result.state.status is after
    assert tuple(change.kind for change in result.changes) == kinds
    assert result.state.last_event_on == item.effective_date


@pytest.mark.parametrize(("status", "type_"), list(EXPECTED_INVALID), ids=lambda v: str(v.value))
def test_event_invalid_in_the_numbers_state_is_rejected_with_its_reason(
    status: NumberStatus, type_: EventType
) -> None:
    state = STATES[status]()
    item = well_formed(type_, date(2024, 6, 1))
    assert rejected(apply(state, item)) is EXPECTED_INVALID[status, type_]


# --- the guards ---------------------------------------------------------------------------


def test_event_dated_after_today_is_rejected() -> None:
    item = event(E.ASSIGNED, TODAY + days(1), holder=HOLDER_A)
    assert rejected(apply(unreported(), item)) is RejectReason.FUTURE_DATE


def test_event_dated_today_is_accepted() -> None:
    applied(apply(unreported(), event(E.ASSIGNED, TODAY, holder=HOLDER_A)))


def test_future_date_is_checked_before_the_state() -> None:
    item = event(E.RESTORED, TODAY + days(1))
    assert rejected(apply(active(), item)) is RejectReason.FUTURE_DATE


def test_event_older_than_the_last_applied_one_is_rejected_as_out_of_order() -> None:
    item = event(E.CANCELLED, ASSIGNED_ON - days(1))
    assert rejected(apply(active(), item)) is RejectReason.OUT_OF_ORDER


def test_events_on_the_same_day_are_in_order() -> None:
    result = applied(apply(active(), event(E.CANCELLED, ASSIGNED_ON)))
    assert result.state.status is S.AGING


@pytest.mark.parametrize(
    ("build", "item"),
    [
        (active, event(E.CANCELLED, CANCELLED_ON, carrier="CUCC")),
        (active, event(E.TRANSFERRED, CANCELLED_ON, carrier="CUCC", holder=HOLDER_B)),
        (active, event(E.PORTED, CANCELLED_ON, carrier="CUCC", to_carrier="CTCC")),
        (aging, event(E.RESTORED, CANCELLED_ON, carrier="CUCC")),
        (aging, event(E.RELEASED, AGING_ENDS_ON, carrier="CUCC")),
    ],
    ids=["cancel", "transfer", "port", "restore", "release"],
)
def test_carrier_that_does_not_hold_the_number_cannot_report_on_it(
    build: Callable[[], NumberState], item: LifecycleEvent
) -> None:
    assert rejected(apply(build(), item)) is RejectReason.CARRIER_MISMATCH


@pytest.mark.parametrize("build", [aging, released], ids=["aging", "released"])
def test_reissue_may_come_from_another_carrier(build: Callable[[], NumberState]) -> None:
    item = event(E.ASSIGNED, AGING_ENDS_ON, carrier="CUCC", holder=HOLDER_B)
    result = applied(apply(build(), item))
    assert result.state.carrier == "CUCC"


def test_after_a_port_the_new_carrier_reports_and_the_old_one_cannot() -> None:
    ported = applied(apply(active(), event(E.PORTED, date(2024, 1, 1), to_carrier="CUCC"))).state
    assert ported.carrier == "CUCC"
    old = event(E.CANCELLED, CANCELLED_ON, carrier="CMCC")
    assert rejected(apply(ported, old)) is RejectReason.CARRIER_MISMATCH
    applied(apply(ported, event(E.CANCELLED, CANCELLED_ON, carrier="CUCC")))


@pytest.mark.parametrize(
    ("build", "type_"), [(unreported, E.ASSIGNED), (aging, E.ASSIGNED), (released, E.ASSIGNED)]
)
def test_assignment_without_the_holders_identity_is_rejected(
    build: Callable[[], NumberState], type_: EventType
) -> None:
    item = event(type_, AGING_ENDS_ON, holder=None)
    assert rejected(apply(build(), item)) is RejectReason.HOLDER_REQUIRED


@pytest.mark.parametrize("build", [unreported, active])
def test_transfer_without_the_new_holders_identity_is_rejected(
    build: Callable[[], NumberState],
) -> None:
    item = event(E.TRANSFERRED, CANCELLED_ON, holder=None)
    assert rejected(apply(build(), item)) is RejectReason.HOLDER_REQUIRED


def test_cancellation_naming_another_holder_is_rejected() -> None:
    item = event(E.CANCELLED, CANCELLED_ON, holder=HOLDER_B)
    assert rejected(apply(active(), item)) is RejectReason.HOLDER_MISMATCH


def test_cancellation_naming_the_holder_is_accepted() -> None:
    applied(apply(active(), event(E.CANCELLED, CANCELLED_ON, holder=HOLDER_A)))


def test_port_naming_another_holder_is_rejected() -> None:
    item = event(E.PORTED, CANCELLED_ON, holder=HOLDER_B, to_carrier="CUCC")
    assert rejected(apply(active(), item)) is RejectReason.HOLDER_MISMATCH


def test_only_the_last_holder_can_restore() -> None:
    item = event(E.RESTORED, CANCELLED_ON + days(1), holder=HOLDER_B)
    assert rejected(apply(aging(), item)) is RejectReason.HOLDER_MISMATCH
    applied(apply(aging(), event(E.RESTORED, CANCELLED_ON + days(1), holder=HOLDER_A)))


def test_transfer_to_the_current_holder_is_rejected() -> None:
    item = event(E.TRANSFERRED, CANCELLED_ON, holder=HOLDER_A)
    assert rejected(apply(active(), item)) is RejectReason.SAME_HOLDER


def test_port_to_the_same_carrier_is_rejected() -> None:
    item = event(E.PORTED, CANCELLED_ON, to_carrier="CMCC")
    assert rejected(apply(active(), item)) is RejectReason.SAME_CARRIER


@pytest.mark.parametrize("to_carrier", [None, ""])
def test_port_without_the_new_carrier_is_rejected(to_carrier: str | None) -> None:
    item = event(E.PORTED, CANCELLED_ON, to_carrier=to_carrier)
    assert rejected(apply(active(), item)) is RejectReason.TO_CARRIER_REQUIRED


@pytest.mark.parametrize("day", [0, 1, 45, 89])
def test_assigned_inside_aging_period_is_rejected(day: int) -> None:
    item = event(E.ASSIGNED, CANCELLED_ON + days(day), holder=HOLDER_B)
    outcome = apply(aging(), item)
    assert rejected(outcome) is RejectReason.AGING_PERIOD_NOT_OVER
    assert isinstance(outcome, Rejected)
    assert "2024-05-25" in outcome.message


@pytest.mark.parametrize("day", [90, 91, 200])
def test_assigned_after_the_aging_period_is_a_new_tenure(day: int) -> None:
    on = CANCELLED_ON + days(day)
    result = applied(apply(aging(), event(E.ASSIGNED, on, holder=HOLDER_B)))
    assert result.changes == (TenureChange(K.OPENED, on, HOLDER_B),)
    assert result.state.holder == HOLDER_B
    assert result.state.tenure_start == on
    assert result.state.aging_ends_on is None


def test_released_before_the_aging_period_ends_is_rejected() -> None:
    item = event(E.RELEASED, AGING_ENDS_ON - days(1))
    assert rejected(apply(aging(), item)) is RejectReason.AGING_PERIOD_NOT_OVER


def test_restore_on_the_day_the_aging_period_ends_is_rejected() -> None:
    item = event(E.RESTORED, AGING_ENDS_ON)
    assert rejected(apply(aging(), item)) is RejectReason.AGING_PERIOD_OVER


def test_restore_on_the_last_day_of_the_aging_period_is_accepted() -> None:
    applied(apply(aging(), event(E.RESTORED, AGING_ENDS_ON - days(1))))


@pytest.mark.parametrize(("phone", "freeze"), [(CN_NUMBER, 90), (US_NUMBER, 45)])
def test_aging_period_follows_the_numbers_jurisdiction(phone: str, freeze: int) -> None:
    state = replay(
        [
            event(E.ASSIGNED, ASSIGNED_ON, phone=phone, holder=HOLDER_A),
            event(E.CANCELLED, CANCELLED_ON, phone=phone),
        ],
        phone=phone,
    )
    assert state.aging_ends_on == CANCELLED_ON + days(freeze)
    early = event(E.ASSIGNED, CANCELLED_ON + days(freeze - 1), phone=phone, holder=HOLDER_B)
    assert rejected(apply(state, early)) is RejectReason.AGING_PERIOD_NOT_OVER
    applied(
        apply(state, event(E.ASSIGNED, CANCELLED_ON + days(freeze), phone=phone, holder=HOLDER_B))
    )


def test_aging_period_comes_from_the_policy_passed_in() -> None:
    state = replay([event(E.ASSIGNED, ASSIGNED_ON, holder=HOLDER_A)])
    outcome = apply_event(
        state, event(E.CANCELLED, CANCELLED_ON), policy=AgingPolicy.parse("CN=30"), today=TODAY
    )
    assert applied(outcome).state.aging_ends_on == CANCELLED_ON + days(30)


# --- what events mean for tenures --------------------------------------------------------


def test_port_is_not_a_holder_change() -> None:
    before = active()
    result = applied(apply(before, event(E.PORTED, date(2024, 1, 1), to_carrier="CUCC")))
    assert result.changes == ()
    assert result.state.carrier == "CUCC"
    assert result.state.holder == before.holder
    assert result.state.tenure_start == before.tenure_start
    assert result.state.last_change_on is None


def test_cancellation_ends_the_tenure_and_starts_the_freeze() -> None:
    result = applied(apply(active(), event(E.CANCELLED, CANCELLED_ON)))
    assert result.changes == (TenureChange(K.CLOSED, CANCELLED_ON, end_reason=EndReason.CANCELLED),)
    assert result.state.ended_on == CANCELLED_ON
    assert result.state.aging_ends_on == AGING_ENDS_ON
    assert result.state.last_change_on == CANCELLED_ON
    assert not result.state.is_held


def test_transfer_ends_the_tenure_and_starts_the_new_holders_at_once() -> None:
    on = date(2024, 3, 1)
    result = applied(apply(active(), event(E.TRANSFERRED, on, holder=HOLDER_B)))
    assert result.changes == (
        TenureChange(K.CLOSED, on, end_reason=EndReason.TRANSFERRED),
        TenureChange(K.OPENED, on, HOLDER_B),
    )
    assert result.state.holder == HOLDER_B
    assert result.state.tenure_start == on
    assert result.state.last_change_on == on
    assert result.state.is_held


def test_restore_during_the_freeze_takes_the_cancellation_back() -> None:
    result = applied(apply(aging(), event(E.RESTORED, date(2024, 3, 1))))
    assert result.changes == (TenureChange(K.REOPENED, None),)
    assert result.state.holder == HOLDER_A
    assert result.state.tenure_start == ASSIGNED_ON
    assert result.state.ended_on is None
    assert result.state.aging_ends_on is None
    assert result.state.last_change_on is None


def test_release_keeps_the_last_tenure_ended() -> None:
    result = applied(apply(aging(), event(E.RELEASED, AGING_ENDS_ON)))
    assert result.changes == ()
    assert result.state.last_change_on == CANCELLED_ON
    assert not result.state.is_held


def test_reissue_remembers_when_the_previous_tenure_ended() -> None:
    on = AGING_ENDS_ON + days(10)
    state = applied(apply(released(), event(E.ASSIGNED, on, holder=HOLDER_B))).state
    assert state.last_change_on == CANCELLED_ON
    assert state.tenure_start == on


def test_first_news_of_a_cancellation_opens_a_tenure_of_unknown_start() -> None:
    on = date(2024, 3, 1)
    result = applied(apply(unreported(), event(E.CANCELLED, on, holder=HOLDER_A)))
    assert result.changes == (
        TenureChange(K.OPENED, None, HOLDER_A),
        TenureChange(K.CLOSED, on, end_reason=EndReason.CANCELLED),
    )
    assert result.state.tenure_start_known is False
    assert result.state.aging_ends_on == on + days(90)


def test_first_news_of_a_port_is_a_holder_since_before_tracking() -> None:
    on = date(2024, 3, 1)
    item = event(E.PORTED, on, holder=HOLDER_A, to_carrier="CUCC")
    result = applied(apply(unreported(), item))
    assert result.changes == (TenureChange(K.OPENED, None, HOLDER_A),)
    assert result.state.carrier == "CUCC"
    assert result.state.tenure_start is None
    assert result.state.tenure_start_known is False


def test_first_news_of_a_transfer_closes_an_unknown_tenure_and_opens_a_known_one() -> None:
    on = date(2024, 3, 1)
    result = applied(apply(unreported(), event(E.TRANSFERRED, on, holder=HOLDER_B)))
    assert result.changes == (
        TenureChange(K.OPENED, None, None),
        TenureChange(K.CLOSED, on, end_reason=EndReason.TRANSFERRED),
        TenureChange(K.OPENED, on, HOLDER_B),
    )
    assert result.state.tenure_start == on
    assert result.state.last_change_on == on


def test_rejection_changes_nothing_and_apply_event_is_pure() -> None:
    state = aging()
    snapshot = copy.deepcopy(state)
    item = event(E.ASSIGNED, CANCELLED_ON + days(1), holder=HOLDER_B)
    first = apply(state, item)
    second = apply(state, item)
    assert first == second
    assert state == snapshot


@pytest.mark.parametrize(
    ("build", "type_"),
    [
        (unreported, E.ASSIGNED),
        (active, E.CANCELLED),
        (active, E.TRANSFERRED),
        (active, E.PORTED),
        (aging, E.RESTORED),
        (aging, E.RELEASED),
    ],
)
def test_the_same_event_twice_is_not_a_second_change(
    build: Callable[[], NumberState], type_: EventType
) -> None:
    item = well_formed(type_, valid_date(build().status, type_))
    once = applied(apply(build(), item)).state
    assert isinstance(apply(once, item), Rejected)
