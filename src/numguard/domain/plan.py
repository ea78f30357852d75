"""The cancellation plan: what to do with each bound account before giving up a number.

Pure: the bindings, today's date and the dormancy threshold go in; an ordered plan comes out.
Financial accounts come first, then social, shopping, lifestyle and the rest
(:data:`~numguard.domain.binding.UNBINDING_ORDER`); within a category, the most recently used
account first (it matters most), then by platform and account. An account unused for longer than
the threshold is better closed than moved to another number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from numguard.domain.binding import UNBINDING_ORDER, Binding, Category

DEFAULT_DORMANT_DAYS = 365
"""An account unused for longer than this is marked "close the account"."""

_RANK = {category: rank for rank, category in enumerate(UNBINDING_ORDER)}


class PlanAction(StrEnum):
    """What to do with one account."""

    UNBIND = "UNBIND"  # move it to another number (or remove the number) before cancelling
    CLOSE_ACCOUNT = "CLOSE_ACCOUNT"  # unused for long: close it rather than keep it alive


class PlanReason(StrEnum):
    """Why a step has its action."""

    IN_USE = "IN_USE"  # used within the threshold
    DORMANT = "DORMANT"  # unused for longer than the threshold
    NEVER_USED = "NEVER_USED"  # no activity reported since it was bound, long ago


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One line of the checklist."""

    position: int
    """1-based place in the plan."""
    binding: Binding
    action: PlanAction
    reason: PlanReason
    idle_days: int
    """Days since the account was last active (or bound, if never active)."""


@dataclass(frozen=True, slots=True)
class CancellationPlan:
    """The ordered checklist for one number."""

    phone_number: str
    made_on: date
    dormant_days: int
    steps: tuple[PlanStep, ...]

    def count(self, action: PlanAction) -> int:
        """How many steps have *action*."""
        return sum(1 for s in self.steps if s.action is action)

    def by_category(self) -> dict[Category, tuple[PlanStep, ...]]:
        """The steps grouped by category, in plan order (categories without steps left out)."""
        groups: dict[Category, list[PlanStep]] = {}
        for step in self.steps:
            groups.setdefault(step.binding.category, []).append(step)
        return {c: tuple(v) for c, v in groups.items()}


def _last_seen(binding: Binding) -> date:
    return binding.last_active_at if binding.last_active_at is not None else binding.bound_at


def decide(binding: Binding, today: date, dormant_days: int) -> tuple[PlanAction, PlanReason, int]:
    """The action for one account: close it when idle for more than *dormant_days*."""
    idle = max(0, (today - _last_seen(binding)).days)
    if idle <= dormant_days:
        return PlanAction.UNBIND, PlanReason.IN_USE, idle
    if binding.last_active_at is None:
        return PlanAction.CLOSE_ACCOUNT, PlanReason.NEVER_USED, idle
    return PlanAction.CLOSE_ACCOUNT, PlanReason.DORMANT, idle


def build_plan(
    phone_number: str,
    bindings: Iterable[Binding],
    *,
    today: date,
    dormant_days: int = DEFAULT_DORMANT_DAYS,
) -> CancellationPlan:
    """The ordered plan for *bindings* of *phone_number* as of *today*.

    Order: category (financial first), then most recently active first, then platform, account
    reference, number and binding date (so equal inputs give equal plans in any order).
    """
    if dormant_days < 0:
        raise ValueError("dormant_days must not be negative")
    ordered = sorted(
        bindings,
        key=lambda b: (
            _RANK[b.category],
            -_last_seen(b).toordinal(),
            b.platform,
            b.account_ref,
            b.phone_number,
            b.bound_at,
        ),
    )
    steps = []
    for position, binding in enumerate(ordered, start=1):
        action, reason, idle = decide(binding, today, dormant_days)
        steps.append(PlanStep(position, binding, action, reason, idle))
    return CancellationPlan(phone_number, today, dormant_days, tuple(steps))
