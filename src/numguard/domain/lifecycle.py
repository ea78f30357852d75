"""The number lifecycle: which event is valid in which state, and what it does to tenures.

A number's history is a sequence of tenures. ``apply_event`` is the single place that decides
how a reported event changes a number: it returns :class:`Applied` (the new state and the tenure
changes) or :class:`Rejected` (a reason code). The explicit ``TRANSITIONS`` table says which
(state, event) pairs are valid at all; the handlers check the remaining guards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from enum import StrEnum

from numguard.domain.aging import AgingPolicy
from numguard.domain.identity import HolderRef
from numguard.domain.records import record


class EventType(StrEnum):
    """What a carrier reports about a number."""

    ASSIGNED = "ASSIGNED"  # a tenure starts
    CANCELLED = "CANCELLED"  # the tenure ends, the aging period starts
    RESTORED = "RESTORED"  # the same holder is back during the aging period
    TRANSFERRED = "TRANSFERRED"  # 过户: the tenure ends and a new holder's starts at once
    PORTED = "PORTED"  # 携号转网: the carrier changes, the holder stays
    RELEASED = "RELEASED"  # the aging period is over, the number is back in the pool


class NumberStatus(StrEnum):
    """Where a number stands."""

    UNREPORTED = "UNREPORTED"  # nothing reported yet
    ACTIVE = "ACTIVE"  # a holder has it
    AGING = "AGING"  # cancelled, in the aging period (冷冻期)
    RELEASED = "RELEASED"  # back in the pool, free to be reissued


class EndReason(StrEnum):
    """Why a tenure ended."""

    CANCELLED = "CANCELLED"
    TRANSFERRED = "TRANSFERRED"


class RejectReason(StrEnum):
    """Machine codes for events the lifecycle refuses."""

    ALREADY_ASSIGNED = "ALREADY_ASSIGNED"
    NOT_ASSIGNED = "NOT_ASSIGNED"
    NOT_CANCELLED = "NOT_CANCELLED"
    AGING_PERIOD_NOT_OVER = "AGING_PERIOD_NOT_OVER"
    AGING_PERIOD_OVER = "AGING_PERIOD_OVER"
    CARRIER_MISMATCH = "CARRIER_MISMATCH"
    SAME_CARRIER = "SAME_CARRIER"
    HOLDER_REQUIRED = "HOLDER_REQUIRED"
    HOLDER_MISMATCH = "HOLDER_MISMATCH"
    SAME_HOLDER = "SAME_HOLDER"
    TO_CARRIER_REQUIRED = "TO_CARRIER_REQUIRED"
    OUT_OF_ORDER = "OUT_OF_ORDER"
    FUTURE_DATE = "FUTURE_DATE"


@record
class LifecycleEvent:
    """One reported event. ``(carrier, event_id)`` is unique across all time."""

    event_id: str
    phone_number: str
    type: EventType
    effective_date: date
    carrier: str
    holder: HolderRef | None = None
    to_carrier: str | None = None


@record
class NumberState:
    """The current state of one number, enough to apply the next event and to answer checks.

    ``holder``, ``tenure_start`` and ``tenure_start_known`` describe the current tenure when the
    number is ACTIVE, and the last one when it is AGING or RELEASED (``ended_on`` says when it
    ended). ``earlier_change_on`` is the latest end of any tenure before that one.
    """

    phone_number: str
    status: NumberStatus = NumberStatus.UNREPORTED
    carrier: str | None = None
    holder: HolderRef | None = None
    tenure_start: date | None = None
    tenure_start_known: bool = False
    ended_on: date | None = None
    earlier_change_on: date | None = None
    aging_ends_on: date | None = None
    last_event_on: date | None = None

    @property
    def last_change_on(self) -> date | None:
        """The latest date on which some tenure of this number ended for good."""
        ended = self.ended_on if self.status in _UNHELD else None
        candidates = [d for d in (ended, self.earlier_change_on) if d is not None]
        return max(candidates) if candidates else None

    @property
    def is_held(self) -> bool:
        """Whether somebody holds the number now."""
        return self.status is NumberStatus.ACTIVE


_UNHELD = frozenset({NumberStatus.AGING, NumberStatus.RELEASED})


class TenureChangeKind(StrEnum):
    """How an event changes the tenure records."""

    OPENED = "OPENED"  # a tenure starts (start may be unknown: held since before tracking)
    CLOSED = "CLOSED"  # the open tenure ends
    REOPENED = "REOPENED"  # a restore: the last tenure's end is taken back


@record
class TenureChange:
    """One change to a number's tenures, for storage to apply."""

    kind: TenureChangeKind
    on: date | None
    holder: HolderRef | None = None
    end_reason: EndReason | None = None


@record
class Applied:
    """The event is valid: here is the new state and what happens to the tenures."""

    state: NumberState
    changes: tuple[TenureChange, ...]


@record
class Rejected:
    """The event is refused and changes nothing."""

    reason: RejectReason
    message: str


Outcome = Applied | Rejected
Handler = Callable[[NumberState, LifecycleEvent, AgingPolicy], Outcome]
"""A transition. An :class:`Applied` state it returns has ``last_event_on`` set to the event's
date already: each handler builds the new state once, with every field in order (a
``dataclasses.replace`` costs several times as much, and this is the import's hot path)."""


def _opened(on: date | None, holder: HolderRef | None) -> TenureChange:
    return TenureChange(TenureChangeKind.OPENED, on, holder)


def _closed(on: date, reason: EndReason) -> TenureChange:
    return TenureChange(TenureChangeKind.CLOSED, on, end_reason=reason)


def _holder_differs(state: NumberState, event: LifecycleEvent) -> bool:
    return (
        event.holder is not None
        and state.holder is not None
        and event.holder.id_hash != state.holder.id_hash
    )


def _assign(state: NumberState, event: LifecycleEvent, policy: AgingPolicy) -> Outcome:
    if event.holder is None:
        return Rejected(RejectReason.HOLDER_REQUIRED, "ASSIGNED needs the new holder's identity")
    if state.aging_ends_on is not None and event.effective_date < state.aging_ends_on:
        return Rejected(
            RejectReason.AGING_PERIOD_NOT_OVER,
            f"the number may not be reissued before {state.aging_ends_on.isoformat()}",
        )
    on = event.effective_date
    new = NumberState(
        state.phone_number,
        NumberStatus.ACTIVE,
        event.carrier,
        event.holder,
        tenure_start=on,
        tenure_start_known=True,
        ended_on=None,
        earlier_change_on=state.last_change_on,
        aging_ends_on=None,
        last_event_on=on,
    )
    return Applied(new, (_opened(on, event.holder),))


def _cancel(state: NumberState, event: LifecycleEvent, policy: AgingPolicy) -> Outcome:
    if _holder_differs(state, event):
        return Rejected(RejectReason.HOLDER_MISMATCH, "the holder named is not the current one")
    changes: tuple[TenureChange, ...] = ()
    holder = state.holder
    if state.status is NumberStatus.UNREPORTED:
        # First news of a number held since before tracking began.
        holder = event.holder
        changes = (_opened(None, holder),)
    on = event.effective_date
    new = NumberState(
        state.phone_number,
        NumberStatus.AGING,
        event.carrier,
        holder,
        state.tenure_start,
        state.tenure_start_known,
        ended_on=on,
        earlier_change_on=state.earlier_change_on,
        aging_ends_on=on + timedelta(days=policy.days_for(state.phone_number)),
        last_event_on=on,
    )
    return Applied(new, (*changes, _closed(on, EndReason.CANCELLED)))


def _transfer(state: NumberState, event: LifecycleEvent, policy: AgingPolicy) -> Outcome:
    if event.holder is None:
        return Rejected(RejectReason.HOLDER_REQUIRED, "TRANSFERRED needs the new holder's identity")
    if state.holder is not None and event.holder.id_hash == state.holder.id_hash:
        return Rejected(RejectReason.SAME_HOLDER, "a transfer must go to another holder")
    changes: tuple[TenureChange, ...] = ()
    if state.status is NumberStatus.UNREPORTED:
        changes = (_opened(None, None),)
    on = event.effective_date
    new = NumberState(
        state.phone_number,
        NumberStatus.ACTIVE,
        event.carrier,
        event.holder,
        tenure_start=on,
        tenure_start_known=True,
        ended_on=None,
        earlier_change_on=on,
        aging_ends_on=state.aging_ends_on,
        last_event_on=on,
    )
    closed = _closed(on, EndReason.TRANSFERRED)
    return Applied(new, (*changes, closed, _opened(on, event.holder)))


def _port(state: NumberState, event: LifecycleEvent, policy: AgingPolicy) -> Outcome:
    if not event.to_carrier:
        return Rejected(RejectReason.TO_CARRIER_REQUIRED, "PORTED needs toCarrier")
    if event.to_carrier == event.carrier:
        return Rejected(RejectReason.SAME_CARRIER, "a port must go to another carrier")
    if _holder_differs(state, event):
        return Rejected(RejectReason.HOLDER_MISMATCH, "the holder named is not the current one")
    changes: tuple[TenureChange, ...] = ()
    holder = state.holder
    if state.status is NumberStatus.UNREPORTED:
        holder = event.holder
        changes = (_opened(None, holder),)
    new = NumberState(
        state.phone_number,
        NumberStatus.ACTIVE,
        event.to_carrier,
        holder,
        state.tenure_start,
        state.tenure_start_known,
        state.ended_on,
        state.earlier_change_on,
        state.aging_ends_on,
        last_event_on=event.effective_date,
    )
    return Applied(new, changes)


def _restore(state: NumberState, event: LifecycleEvent, policy: AgingPolicy) -> Outcome:
    assert state.aging_ends_on is not None  # AGING always has an end  # noqa: S101
    if event.effective_date >= state.aging_ends_on:
        return Rejected(
            RejectReason.AGING_PERIOD_OVER,
            f"a restore must happen before {state.aging_ends_on.isoformat()}",
        )
    if _holder_differs(state, event):
        return Rejected(RejectReason.HOLDER_MISMATCH, "only the last holder can restore")
    new = NumberState(
        state.phone_number,
        NumberStatus.ACTIVE,
        state.carrier,
        state.holder,
        state.tenure_start,
        state.tenure_start_known,
        ended_on=None,
        earlier_change_on=state.earlier_change_on,
        aging_ends_on=None,
        last_event_on=event.effective_date,
    )
    return Applied(new, (TenureChange(TenureChangeKind.REOPENED, None),))


def _release(state: NumberState, event: LifecycleEvent, policy: AgingPolicy) -> Outcome:
    assert state.aging_ends_on is not None  # noqa: S101
    if event.effective_date < state.aging_ends_on:
        return Rejected(
            RejectReason.AGING_PERIOD_NOT_OVER,
            f"the number may not be released before {state.aging_ends_on.isoformat()}",
        )
    new = NumberState(
        state.phone_number,
        NumberStatus.RELEASED,
        state.carrier,
        state.holder,
        state.tenure_start,
        state.tenure_start_known,
        state.ended_on,
        state.earlier_change_on,
        state.aging_ends_on,
        last_event_on=event.effective_date,
    )
    return Applied(new, ())


S, E = NumberStatus, EventType
TRANSITIONS: dict[tuple[NumberStatus, EventType], Handler] = {
    (S.UNREPORTED, E.ASSIGNED): _assign,
    (S.UNREPORTED, E.CANCELLED): _cancel,
    (S.UNREPORTED, E.TRANSFERRED): _transfer,
    (S.UNREPORTED, E.PORTED): _port,
    (S.ACTIVE, E.CANCELLED): _cancel,
    (S.ACTIVE, E.TRANSFERRED): _transfer,
    (S.ACTIVE, E.PORTED): _port,
    (S.AGING, E.RESTORED): _restore,
    (S.AGING, E.RELEASED): _release,
    (S.AGING, E.ASSIGNED): _assign,
    (S.RELEASED, E.ASSIGNED): _assign,
}
"""Every valid (state, event) pair. Anything else is rejected with ``INVALID_IN_STATE`` below."""

INVALID_IN_STATE: dict[tuple[NumberStatus, EventType], RejectReason] = {
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

_REISSUE = frozenset({(S.AGING, E.ASSIGNED), (S.RELEASED, E.ASSIGNED)})


def apply_event(
    state: NumberState, event: LifecycleEvent, *, policy: AgingPolicy, today: date
) -> Outcome:
    """Decide what *event* does to a number in *state*. Pure: same inputs, same outcome."""
    if event.effective_date > today:
        return Rejected(RejectReason.FUTURE_DATE, "the effective date is in the future")
    if state.last_event_on is not None and event.effective_date < state.last_event_on:
        return Rejected(
            RejectReason.OUT_OF_ORDER,
            f"an event on {state.last_event_on.isoformat()} is already applied",
        )
    key = (state.status, event.type)
    handler = TRANSITIONS.get(key)
    if handler is None:
        reason = INVALID_IN_STATE[key]
        return Rejected(
            reason, f"{event.type.value} is not valid for a {state.status.value} number"
        )
    if key not in _REISSUE and state.carrier is not None and event.carrier != state.carrier:
        return Rejected(
            RejectReason.CARRIER_MISMATCH,
            f"the number is held at {state.carrier}, not {event.carrier}",
        )
    return handler(state, event, policy)
