"""The recycling answer: "has the holder of this number changed since date D?"

:func:`decide` is the one function that answers (DESIGN.md §3). Every protocol only translates
its :class:`RecyclingAnswer`: :func:`to_camara`, :func:`to_fcc`, :func:`to_vendor_code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

from numguard.domain.lifecycle import NumberState, NumberStatus
from numguard.errors import OutOfRange


class Recycled(StrEnum):
    """The tri-state answer."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class AnswerReason(StrEnum):
    """Why the answer is what it is (never reveals anyone's dates)."""

    HOLDER_CHANGED = "HOLDER_CHANGED"  # a tenure ended on or after D
    HOLDER_STARTED_AFTER = "HOLDER_STARTED_AFTER"  # the current holder's tenure began after D
    NOT_HELD = "NOT_HELD"  # nobody has held the number since before D
    SAME_HOLDER = "SAME_HOLDER"  # one tenure covers [D, today]
    NO_CHANGE_REPORTED = "NO_CHANGE_REPORTED"  # D is within coverage and nothing changed since
    BEFORE_TRACKING = "BEFORE_TRACKING"  # D predates complete reporting; nothing after D recorded
    NOT_COVERED = "NOT_COVERED"  # no reporting carrier covers the number


class VendorCode(IntEnum):
    """The cloud-vendor 二次号 check encoding."""

    CANNOT_TELL = 0
    RECYCLED = 1
    NOT_RECYCLED = 2
    CANCELLED_NOW = 3


class SpecifiedDateInFuture(OutOfRange):
    """A check about a date that has not happened yet."""

    code = "OUT_OF_RANGE"


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """What the answer needs to know about one number; no holder data at all."""

    status: NumberStatus
    tenure_start: date | None
    tenure_start_known: bool
    last_change_on: date | None

    @classmethod
    def of(cls, state: NumberState) -> NumberFacts:
        """Summarise a number's state for answering."""
        return cls(state.status, state.tenure_start, state.tenure_start_known, state.last_change_on)


UNREPORTED_FACTS = NumberFacts(NumberStatus.UNREPORTED, None, False, None)


@dataclass(frozen=True, slots=True)
class RecyclingAnswer:
    """The answer with its reason; ``held_now`` is False when the number is cancelled now."""

    recycled: Recycled
    reason: AnswerReason
    held_now: bool | None


def decide(
    facts: NumberFacts,
    *,
    on: date,
    today: date,
    covered: bool,
    tracking_since: date | None,
) -> RecyclingAnswer:
    """Answer whether the holder changed since *on* (DESIGN.md §3).

    ``covered`` says whether a reporting carrier covers the number; ``tracking_since`` is the date
    from which reports about it are complete (``None``: never complete).
    """
    if on > today:
        raise SpecifiedDateInFuture("specifiedDate is in the future")
    held = facts.status is NumberStatus.ACTIVE
    held_now: bool | None = held if facts.status is not NumberStatus.UNREPORTED else None
    if not covered:
        return RecyclingAnswer(Recycled.UNKNOWN, AnswerReason.NOT_COVERED, None)
    if facts.last_change_on is not None and facts.last_change_on >= on:
        return RecyclingAnswer(Recycled.YES, AnswerReason.HOLDER_CHANGED, held_now)
    if facts.status in (NumberStatus.AGING, NumberStatus.RELEASED):
        return RecyclingAnswer(Recycled.YES, AnswerReason.NOT_HELD, held_now)
    if held and facts.tenure_start_known:
        assert facts.tenure_start is not None  # noqa: S101  a known start is a date
        if facts.tenure_start <= on:
            return RecyclingAnswer(Recycled.NO, AnswerReason.SAME_HOLDER, held_now)
        return RecyclingAnswer(Recycled.YES, AnswerReason.HOLDER_STARTED_AFTER, held_now)
    # Held since before tracking began, or never reported: only complete coverage can say "no".
    if tracking_since is not None and on >= tracking_since:
        return RecyclingAnswer(Recycled.NO, AnswerReason.NO_CHANGE_REPORTED, held_now)
    return RecyclingAnswer(Recycled.UNKNOWN, AnswerReason.BEFORE_TRACKING, held_now)


def to_camara(answer: RecyclingAnswer) -> bool | None:
    """CAMARA ``phoneNumberRecycled``; ``None`` when the answer is unknown (an error there)."""
    if answer.recycled is Recycled.UNKNOWN:
        return None
    return answer.recycled is Recycled.YES


def to_fcc(answer: RecyclingAnswer) -> str:
    """FCC Reassigned Numbers Database style: ``yes``, ``no`` or ``no data``."""
    return {Recycled.YES: "yes", Recycled.NO: "no", Recycled.UNKNOWN: "no data"}[answer.recycled]


def to_vendor_code(answer: RecyclingAnswer) -> VendorCode:
    """Cloud-vendor style: 0 cannot tell, 1 recycled, 2 not recycled, 3 cancelled now."""
    if answer.recycled is Recycled.UNKNOWN:
        return VendorCode.CANNOT_TELL
    if answer.held_now is False:
        return VendorCode.CANCELLED_NOW
    if answer.recycled is Recycled.YES:
        return VendorCode.RECYCLED
    return VendorCode.NOT_RECYCLED
