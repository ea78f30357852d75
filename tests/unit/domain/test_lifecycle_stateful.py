"""Random event sequences through ``apply_event``, with the tenure invariants checked at every step.

The machine keeps the tenure list the way storage would, from the returned ``TenureChange``
values, and checks after every step: one holder at a time, no tenure starting inside an aging
period, the state agreeing with the tenures, rejections that change nothing and have a cause,
the same event twice never counting twice, and ``decide`` agreeing with DESIGN.md §3 read
literally over the tenure list, and never being less "recycled" for an earlier date.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date

from domain_builders import CN_NUMBER, HOLDER_A, HOLDER_B, HOLDER_C, US_NUMBER, Tenure, days
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from numguard.domain.aging import AgingPolicy
from numguard.domain.answer import NumberFacts, Recycled, RecyclingAnswer, decide
from numguard.domain.identity import HolderRef
from numguard.domain.lifecycle import (
    INVALID_IN_STATE,
    TRANSITIONS,
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

START = date(2020, 1, 1)
TODAY = START + days(2500)

SETUPS = [
    (CN_NUMBER, AgingPolicy()),  # 90 days
    (US_NUMBER, AgingPolicy()),  # 45 days
    (CN_NUMBER, AgingPolicy.parse("CN=3")),  # short, so numbers cycle within one run
    (CN_NUMBER, AgingPolicy.parse("CN=0")),  # no freeze at all: same-day reissue
]
CARRIERS = ("CMCC", "CUCC", "CTCC")
HOLDERS = (HOLDER_A, HOLDER_B, HOLDER_C)
CURRENT = "current"
STEPS = (0, 0, 1, 2, 3, 7, 30, 44, 45, 46, 89, 90, 91, 365, -1, -30)

RANK = {Recycled.YES: 2, Recycled.UNKNOWN: 1, Recycled.NO: 0}
"""How "recycled" an answer is: YES > UNKNOWN > NO."""

# Reasons a handler may give, per event type, once the state and the dates are fine.
HANDLER_REASONS: dict[EventType, frozenset[RejectReason]] = {
    EventType.ASSIGNED: frozenset(
        {RejectReason.HOLDER_REQUIRED, RejectReason.AGING_PERIOD_NOT_OVER}
    ),
    EventType.CANCELLED: frozenset({RejectReason.CARRIER_MISMATCH, RejectReason.HOLDER_MISMATCH}),
    EventType.TRANSFERRED: frozenset(
        {RejectReason.CARRIER_MISMATCH, RejectReason.HOLDER_REQUIRED, RejectReason.SAME_HOLDER}
    ),
    EventType.PORTED: frozenset(
        {
            RejectReason.CARRIER_MISMATCH,
            RejectReason.TO_CARRIER_REQUIRED,
            RejectReason.SAME_CARRIER,
            RejectReason.HOLDER_MISMATCH,
        }
    ),
    EventType.RESTORED: frozenset(
        {
            RejectReason.CARRIER_MISMATCH,
            RejectReason.AGING_PERIOD_OVER,
            RejectReason.HOLDER_MISMATCH,
        }
    ),
    EventType.RELEASED: frozenset(
        {RejectReason.CARRIER_MISMATCH, RejectReason.AGING_PERIOD_NOT_OVER}
    ),
}


def literal_answer(
    tenures: list[Tenure], *, on: date, covered: bool, tracking_since: date | None
) -> Recycled:
    """DESIGN.md §3 read literally over a number's tenures; independent of ``decide``."""
    if not covered:
        return Recycled.UNKNOWN
    # yes: some tenure ended (by cancellation or transfer) on or after D
    if any(t.end is not None and t.end >= on for t in tenures):
        return Recycled.YES
    # A number never reported is presumed held, since before tracking, by one unknown tenure.
    history = tenures or [Tenure(start=None)]
    holding = [
        t for t in history if (t.start is None or t.start <= on) and (t.end is None or on < t.end)
    ]
    # yes: nobody held the number on D, as far as the records show
    if not holding:
        return Recycled.YES
    (tenure,) = holding
    assert tenure.end is None  # an ended tenure holding D ended after D: answered above
    # no: one tenure covers [D, today]
    if tenure.start is not None:
        return Recycled.NO
    # a tenure of unknown start covers [D, today] only if reports are complete from D on
    if tracking_since is not None and on >= tracking_since:
        return Recycled.NO
    return Recycled.UNKNOWN


def same_holder(one: HolderRef | None, other: HolderRef | None) -> bool:
    return one is not None and other is not None and one.id_hash == other.id_hash


WHEN = (
    *(("step", n) for n in STEPS),  # days after the last applied event (or START)
    *(("aging_end", n) for n in (-1, 0, 1)),  # around the end of the current freeze
    ("future", 1),  # the day after today
)
"""How the next event's date is chosen: mostly forward, sometimes the same day or backwards."""


class NumberLifecycleMachine(RuleBasedStateMachine):
    """One number, random carrier reports, the tenure list storage would keep."""

    def __init__(self) -> None:
        super().__init__()
        self.phone = CN_NUMBER
        self.policy = AgingPolicy()
        self.state = NumberState(CN_NUMBER)
        self.tenures: list[Tenure] = []
        self.tracking_since: date | None = None
        self.covered = True
        self.next_id = 0

    @initialize(
        setup=st.sampled_from(SETUPS),
        tracking_offset=st.sampled_from((None, -365, 0, 200, 1000)),
        covered=st.sampled_from((True, True, True, False)),
    )
    def start(
        self, setup: tuple[str, AgingPolicy], tracking_offset: int | None, *, covered: bool
    ) -> None:
        self.phone, self.policy = setup
        self.state = NumberState(self.phone)
        self.tracking_since = None if tracking_offset is None else START + days(tracking_offset)
        self.covered = covered

    # --- the one rule: a carrier reports something -------------------------------------------

    @rule(
        type_=st.sampled_from(EventType),
        holder_choice=st.sampled_from((CURRENT, None, *HOLDERS)),
        carrier_choice=st.sampled_from((CURRENT, CURRENT, *CARRIERS)),
        to_carrier=st.sampled_from((None, *CARRIERS)),
        when=st.sampled_from(WHEN),
    )
    def report(
        self,
        type_: EventType,
        holder_choice: str | HolderRef | None,
        carrier_choice: str,
        to_carrier: str | None,
        when: tuple[str, int],
    ) -> None:
        item = self._event(type_, holder_choice, carrier_choice, to_carrier, when)
        before = self.state
        snapshot = copy.deepcopy(before)
        outcome = self._apply(before, item)
        if isinstance(outcome, Rejected):
            self._check_rejection_has_a_cause(before, item, outcome)
            assert before == snapshot, "a rejected event changed the state"
            assert self._apply(before, item) == outcome, "apply_event is not pure"
            return
        self._check_acceptance_meets_every_guard(before, item)
        for change in outcome.changes:
            self._record(change)
        self.state = outcome.state
        assert self.state.last_event_on == item.effective_date
        self._check_applying_again_is_not_a_second_change(item)

    def _event(
        self,
        type_: EventType,
        holder_choice: str | HolderRef | None,
        carrier_choice: str,
        to_carrier: str | None,
        when: tuple[str, int],
    ) -> LifecycleEvent:
        kind, offset = when
        cursor = self.state.last_event_on or START
        if kind == "aging_end" and self.state.aging_ends_on is not None:
            on = self.state.aging_ends_on + days(offset)
        elif kind == "future":
            on = TODAY + days(offset)
        else:
            on = cursor + days(offset)
        holder = self.state.holder if holder_choice == CURRENT else holder_choice
        assert holder is None or isinstance(holder, HolderRef)
        current_carrier = self.state.carrier or CARRIERS[0]
        carrier = current_carrier if carrier_choice == CURRENT else carrier_choice
        self.next_id += 1
        return LifecycleEvent(
            event_id=f"{carrier}-{self.next_id}",
            phone_number=self.phone,
            type=type_,
            effective_date=on,
            carrier=carrier,
            holder=holder,
            to_carrier=to_carrier,
        )

    def _apply(self, state: NumberState, item: LifecycleEvent) -> Outcome:
        return apply_event(state, item, policy=self.policy, today=TODAY)

    def _record(self, change: TenureChange) -> None:
        """Apply one tenure change the way storage does."""
        open_ = [i for i, t in enumerate(self.tenures) if t.end is None]
        if change.kind is TenureChangeKind.OPENED:
            assert not open_, "a tenure opened while another is still open"
            self.tenures.append(Tenure(start=change.on, holder=change.holder))
        elif change.kind is TenureChangeKind.CLOSED:
            assert open_, "CLOSED with no open tenure"
            assert change.on is not None
            assert change.end_reason is not None
            (index,) = open_
            self.tenures[index] = replace(
                self.tenures[index], end=change.on, end_reason=change.end_reason.value
            )
        else:
            assert self.tenures, "REOPENED with no tenure"
            last = self.tenures[-1]
            assert last.end_reason == EndReason.CANCELLED.value, "only a cancellation is undone"
            self.tenures[-1] = replace(last, end=None, end_reason=None)

    def _check_rejection_has_a_cause(
        self, state: NumberState, item: LifecycleEvent, outcome: Rejected
    ) -> None:
        assert outcome.message
        key = (state.status, item.type)
        if item.effective_date > TODAY:
            assert outcome.reason is RejectReason.FUTURE_DATE
            return
        if state.last_event_on is not None and item.effective_date < state.last_event_on:
            assert outcome.reason is RejectReason.OUT_OF_ORDER
            return
        if key not in TRANSITIONS:
            assert outcome.reason is INVALID_IN_STATE[key]
            return
        reason = outcome.reason
        assert reason in HANDLER_REASONS[item.type], f"{reason} for {item.type}"
        if reason is RejectReason.CARRIER_MISMATCH:
            assert state.carrier is not None
            assert item.carrier != state.carrier
        elif reason is RejectReason.HOLDER_REQUIRED:
            assert item.holder is None
        elif reason is RejectReason.HOLDER_MISMATCH:
            assert item.holder is not None
            assert state.holder is not None
            assert not same_holder(item.holder, state.holder)
        elif reason is RejectReason.SAME_HOLDER:
            assert same_holder(item.holder, state.holder)
        elif reason is RejectReason.SAME_CARRIER:
            assert item.to_carrier == item.carrier
        elif reason is RejectReason.TO_CARRIER_REQUIRED:
            assert not item.to_carrier
        elif reason is RejectReason.AGING_PERIOD_NOT_OVER:
            assert state.aging_ends_on is not None
            assert item.effective_date < state.aging_ends_on
        elif reason is RejectReason.AGING_PERIOD_OVER:
            assert state.aging_ends_on is not None
            assert item.effective_date >= state.aging_ends_on

    def _check_acceptance_meets_every_guard(self, state: NumberState, item: LifecycleEvent) -> None:
        key = (state.status, item.type)
        assert key in TRANSITIONS
        assert item.effective_date <= TODAY
        assert state.last_event_on is None or item.effective_date >= state.last_event_on
        reissue = item.type is EventType.ASSIGNED and state.status is not NumberStatus.UNREPORTED
        if state.carrier is not None and not reissue:
            assert item.carrier == state.carrier
        if item.type in (EventType.ASSIGNED, EventType.TRANSFERRED):
            assert item.holder is not None
        if item.type in (EventType.CANCELLED, EventType.PORTED, EventType.RESTORED):
            assert (
                item.holder is None
                or state.holder is None
                or same_holder(item.holder, state.holder)
            )
        if item.type is EventType.TRANSFERRED:
            assert not same_holder(item.holder, state.holder)
        if item.type is EventType.PORTED:
            assert item.to_carrier
            assert item.to_carrier != item.carrier
        if item.type is EventType.RESTORED:
            assert state.aging_ends_on is not None
            assert item.effective_date < state.aging_ends_on, "restored after the freeze ended"
        if item.type in (EventType.ASSIGNED, EventType.RELEASED) and state.aging_ends_on:
            assert item.effective_date >= state.aging_ends_on, "reissued inside the freeze"

    def _check_applying_again_is_not_a_second_change(self, item: LifecycleEvent) -> None:
        again = self._apply(self.state, item)
        if isinstance(again, Rejected):
            return
        assert again.changes == (), f"{item.type} applied twice changed the tenures twice"
        for on in self._sample_dates():
            assert self._decide(NumberFacts.of(again.state), on) == self._decide(
                NumberFacts.of(self.state), on
            ), f"{item.type} applied twice changed the answer for {on}"

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def one_holder_at_a_time(self) -> None:
        open_ = [i for i, t in enumerate(self.tenures) if t.end is None]
        assert len(open_) <= 1
        if self.state.is_held:
            assert open_ == [len(self.tenures) - 1], "the held number's tenure is the last one"
        else:
            assert not open_, "a number nobody holds has an open tenure"

    @invariant()
    def tenures_follow_each_other(self) -> None:
        for earlier, later in zip(self.tenures, self.tenures[1:], strict=False):
            assert earlier.end is not None
            assert later.start is not None, "only the first tenure may have an unknown start"
            assert later.start >= earlier.end
            if earlier.end_reason == EndReason.TRANSFERRED.value:
                assert later.start == earlier.end, "a transfer starts the next tenure at once"

    @invariant()
    def no_tenure_starts_inside_an_aging_period(self) -> None:
        freeze = days(self.policy.days_for(self.phone))
        for earlier, later in zip(self.tenures, self.tenures[1:], strict=False):
            if earlier.end_reason == EndReason.CANCELLED.value:
                assert earlier.end is not None
                assert later.start is not None
                assert later.start >= earlier.end + freeze, (
                    f"tenure starts {later.start}, freeze after {earlier.end} lasts {freeze}"
                )

    @invariant()
    def state_agrees_with_the_tenures(self) -> None:
        state = self.state
        if state.status is NumberStatus.UNREPORTED:
            assert self.tenures == []
            return
        last = self.tenures[-1]
        assert state.tenure_start == last.start
        assert state.tenure_start_known is (last.start is not None)
        assert state.holder == last.holder
        if state.is_held:
            assert state.ended_on is None
            assert state.aging_ends_on is None, "a held number has no freeze running"
        else:
            assert state.ended_on == last.end
            assert state.aging_ends_on is not None
        ends = [t.end for t in self.tenures if t.end is not None]
        assert state.last_change_on == (max(ends) if ends else None)

    @invariant()
    def answers_follow_design_section_3(self) -> None:
        facts = NumberFacts.of(self.state)
        previous_rank = None
        for on in self._sample_dates():
            result = self._decide(facts, on)
            expected = literal_answer(
                self.tenures, on=on, covered=self.covered, tracking_since=self.tracking_since
            )
            assert result.recycled is expected, (
                f"decide says {result} for {on}, DESIGN.md §3 says {expected}; "
                f"tenures {self.tenures}, tracking since {self.tracking_since}"
            )
            if previous_rank is not None:
                assert RANK[result.recycled] <= previous_rank, f"less recycled earlier than {on}"
            previous_rank = RANK[result.recycled]

    # --- helpers -----------------------------------------------------------------------------

    def _decide(self, facts: NumberFacts, on: date) -> RecyclingAnswer:
        return decide(
            facts, on=on, today=TODAY, covered=self.covered, tracking_since=self.tracking_since
        )

    def _sample_dates(self) -> list[date]:
        """Every boundary that matters, a day either side, and a few fixed points; sorted."""
        points = {START - days(400), START - days(1), START, TODAY}
        marks = [self.tracking_since, self.state.aging_ends_on, self.state.last_event_on]
        for tenure in self.tenures:
            marks += [tenure.start, tenure.end]
        for mark in marks:
            if mark is not None:
                points.update({mark - days(1), mark, mark + days(1)})
        return sorted(p for p in points if p <= TODAY)


NumberLifecycleMachine.TestCase.settings = settings(
    max_examples=250, stateful_step_count=40, deadline=None
)
TestNumberLifecycle = NumberLifecycleMachine.TestCase
