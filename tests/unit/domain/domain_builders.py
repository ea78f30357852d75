"""Builders shared by the domain tests: resident IDs, holders, events, replayed histories.

The CN resident ID generator computes the ISO 7064 MOD 11-2 check character from the standard's
definition (weights ``2**(n-1) mod 11`` counted from the right, the check makes the weighted sum
``1 mod 11``), not from the weight table in ``identity.py``, so the two can check each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import strategies as st

from numguard.domain.aging import AgingPolicy
from numguard.domain.answer import NumberFacts, RecyclingAnswer, decide
from numguard.domain.identity import HolderRef, IdType, holder_from_id
from numguard.domain.lifecycle import (
    Applied,
    EventType,
    LifecycleEvent,
    NumberState,
    apply_event,
)

KEY = b"unit-test-server-secret"
"""The HMAC key the tests hash holders with."""

CN_NUMBER = "+8613800138000"
US_NUMBER = "+12015550123"
IN_NUMBER = "+919876543210"

CN_POLICY = AgingPolicy()
"""The default policy: CN 90, US 45, IN 90 days."""

FAR_TODAY = date(2030, 1, 1)
"""A "today" later than every event in the hand-written scenarios."""


def iso7064_mod11_2_check(body: str) -> str:
    """The check character that makes ``body + check`` valid under ISO 7064 MOD 11-2."""
    n = len(body) + 1  # positions are counted from the right; the check is position 1
    total = sum(int(digit) * pow(2, n - 1 - i, 11) for i, digit in enumerate(body))
    value = (1 - total) % 11
    return "X" if value == 10 else str(value)


def make_cn_id(region: str = "110101", birth: date = date(1990, 1, 1), sequence: int = 123) -> str:
    """A valid 18-character CN resident ID number."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + iso7064_mod11_2_check(body)


@st.composite
def cn_resident_ids(draw: st.DrawFn) -> str:
    """Any valid CN resident ID: region code, birth date, sequence and the right check."""
    region = draw(st.integers(100000, 999999))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    sequence = draw(st.integers(0, 999))
    return make_cn_id(str(region), birth, sequence)


def holder(sequence: int) -> HolderRef:
    """A distinct holder per *sequence*, hashed with the test key."""
    return holder_from_id(KEY, IdType.CN_RESIDENT, make_cn_id(sequence=sequence))


HOLDER_A = holder(1)
HOLDER_B = holder(2)
HOLDER_C = holder(3)

_event_ids = iter(range(1, 1 << 62))


def event(
    type_: EventType,
    on: date,
    *,
    phone: str = CN_NUMBER,
    carrier: str = "CMCC",
    holder: HolderRef | None = None,
    to_carrier: str | None = None,
) -> LifecycleEvent:
    """A lifecycle event with a fresh id."""
    return LifecycleEvent(
        event_id=f"evt-{next(_event_ids)}",
        phone_number=phone,
        type=type_,
        effective_date=on,
        carrier=carrier,
        holder=holder,
        to_carrier=to_carrier,
    )


def replay(
    events: Iterable[LifecycleEvent],
    *,
    phone: str = CN_NUMBER,
    policy: AgingPolicy = CN_POLICY,
    today: date = FAR_TODAY,
) -> NumberState:
    """Apply *events* in order from an unreported number; every one must be accepted."""
    state = NumberState(phone)
    for item in events:
        outcome = apply_event(state, item, policy=policy, today=today)
        assert isinstance(outcome, Applied), f"{item.type} on {item.effective_date}: {outcome}"
        state = outcome.state
    return state


def answer(
    state: NumberState,
    on: date,
    *,
    today: date = FAR_TODAY,
    covered: bool = True,
    tracking_since: date | None = None,
) -> RecyclingAnswer:
    """``decide`` for a number's state."""
    return decide(
        NumberFacts.of(state), on=on, today=today, covered=covered, tracking_since=tracking_since
    )


def days(n: int) -> timedelta:
    """Shorthand for ``timedelta(days=n)``."""
    return timedelta(days=n)


@dataclass(frozen=True)
class Tenure:
    """A tenure as the tests rebuild it from ``TenureChange`` values (``None`` start: unknown)."""

    start: date | None
    end: date | None = None
    holder: HolderRef | None = None
    end_reason: str | None = None
