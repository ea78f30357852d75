"""The guard's verdicts for every kind of binding, judged once into a lookup table.

Reconciliation does not decide anything itself. For every cell of
(category x registry outcome x dormant x set of non-phone factors) it builds one sample
:class:`~numguard.domain.guard.Attempt`, asks the policy (by default
:func:`~numguard.domain.guard.default_policy`) for the verdict of an SMS-code login and of an
outgoing message, and turns the pair into a :class:`ReconcileAction`. Millions of bindings are
then decided by indexing the table with NumPy arrays.

This is exact for any policy whose verdict depends only on those properties of an attempt, as
the default policies do (the only per-row quantity, dormancy, is computed from the same
:class:`~numguard.domain.guard.GuardRules` thresholds; a property test compares the table with
:func:`~numguard.domain.guard.judge` row by row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from numguard.domain.binding import Category
from numguard.domain.guard import (
    Action,
    Attempt,
    CheckOutcome,
    Decision,
    Factor,
    GuardRules,
    Policy,
    Verdict,
    default_policy,
    judge,
)


class ReconcileAction(StrEnum):
    """What the platform should do with one binding."""

    UNBIND = "unbind"  # the number reaches someone else now: remove it from the account
    HIBERNATE = "hibernate"  # dormant: put the account to sleep until a non-phone factor wakes it
    STEP_UP_NEXT_LOGIN = "step-up-next-login"  # an SMS code alone must not open it next time
    OK = "ok"  # nothing to do


CATEGORIES: tuple[Category, ...] = tuple(Category)
"""Categories in index order."""
OUTCOMES: tuple[CheckOutcome, ...] = tuple(CheckOutcome)
"""Registry outcomes in index order: yes, no, unknown, unreachable."""
FACTORS: tuple[Factor, ...] = tuple(Factor)
"""Factors in bit order: bit i of a factor mask is ``FACTORS[i]``."""
ACTIONS: tuple[ReconcileAction, ...] = tuple(ReconcileAction)
"""Actions in index order (most urgent first)."""
MASKS = 1 << len(FACTORS)
"""How many factor sets there are."""
CELLS = len(CATEGORIES) * len(OUTCOMES) * 2 * MASKS
"""Cells of a table."""

YES, NO, UNKNOWN, UNREACHABLE = range(len(OUTCOMES))
SAMPLE_PHONE = "+8613800138000"
"""The phone of the sample attempts (the default policies never look at it)."""


def factor_mask(factors: frozenset[Factor] | set[Factor]) -> int:
    """The bit mask of a set of factors."""
    return sum(1 << FACTORS.index(f) for f in factors)


def factors_of(mask: int) -> frozenset[Factor]:
    """The factors of a bit mask."""
    return frozenset(f for i, f in enumerate(FACTORS) if mask >> i & 1)


def action_for(outcome: CheckOutcome, login: Verdict, message: Verdict) -> ReconcileAction:
    """Turn the verdicts on an SMS-code login and an outgoing message into one action.

    * the policy holds messages to the number on the registry's answer (not merely because the
      registry was unreachable): the number reaches someone else, **unbind** it;
    * the login would HIBERNATE: **hibernate**;
    * the login would need anything but the SMS code (STEP_UP, DENY): **step-up-next-login**;
    * otherwise **ok**.
    """
    if message.decision is Decision.HOLD_MESSAGE and outcome is not CheckOutcome.UNREACHABLE:
        return ReconcileAction.UNBIND
    if login.decision is Decision.HIBERNATE:
        return ReconcileAction.HIBERNATE
    if login.decision is not Decision.ALLOW:
        return ReconcileAction.STEP_UP_NEXT_LOGIN
    return ReconcileAction.OK


def reason_codes(login: Verdict, message: Verdict) -> tuple[str, ...]:
    """The login verdict's reason codes, then the message verdict's new ones."""
    codes = dict.fromkeys(login.codes)
    codes.update(dict.fromkeys(message.codes))
    return tuple(codes)


def cell_index(
    category: npt.NDArray[np.integer],
    outcome: npt.NDArray[np.integer],
    dormant: npt.NDArray[np.bool_],
    mask: npt.NDArray[np.integer],
) -> npt.NDArray[np.intp]:
    """The table cell of each binding (all arrays of one length)."""
    cell: npt.NDArray[np.intp] = (
        (category.astype(np.intp) * len(OUTCOMES) + outcome) * 2 + dormant
    ) * MASKS + mask
    return cell


def cell_parts(cell: int) -> tuple[int, int, int, int]:
    """``(category, outcome, dormant, mask)`` of a cell index."""
    rest, mask = divmod(cell, MASKS)
    rest, dormant = divmod(rest, 2)
    category, outcome = divmod(rest, len(OUTCOMES))
    return category, outcome, dormant, mask


@dataclass(frozen=True)
class Cell:
    """The decision for one cell, with what it was based on."""

    category: Category
    outcome: CheckOutcome
    dormant: bool
    factors: frozenset[Factor]
    action: ReconcileAction
    login: Verdict
    message: Verdict

    @property
    def reasons(self) -> tuple[str, ...]:
        """Reason codes of both verdicts, login first."""
        return reason_codes(self.login, self.message)


@dataclass(frozen=True)
class DecisionTable:
    """Every cell judged by the policy; ``action[cell]`` indexes :data:`ACTIONS`.

    ``dormant_seconds[category]`` is the category's dormancy threshold in seconds (infinity
    when it has none): a binding is dormant when it has been idle longer than that.
    """

    rules: GuardRules
    as_of: date
    cells: tuple[Cell, ...]
    action: npt.NDArray[np.int8]
    dormant_seconds: npt.NDArray[np.float64]

    @classmethod
    def build(
        cls, as_of: date, rules: GuardRules | None = None, policy: Policy | None = None
    ) -> DecisionTable:
        """Judge one sample attempt per cell and action, as of the start of day *as_of* (UTC).

        *policy* defaults to :func:`default_policy` of *rules*; *rules* (default
        :meth:`GuardRules.default`) also give the dormancy thresholds.
        """
        table = rules if rules is not None else GuardRules.default()
        judged = policy if policy is not None else default_policy(table)
        now = datetime.combine(as_of, time(), UTC)
        cells: list[Cell] = []  # in cell_index order: category, outcome, dormant, mask
        for category in CATEGORIES:
            threshold = table[category].dormant_after
            for outcome in OUTCOMES:
                for dormant in (0, 1):
                    for mask in range(MASKS):
                        factors = factors_of(mask)
                        login, message = (
                            judge(
                                judged,
                                _sample(a, category, now, threshold, dormant, factors),
                                outcome,
                            )
                            for a in (Action.SMS_LOGIN, Action.OUTGOING_SMS)
                        )
                        cells.append(
                            Cell(
                                category,
                                outcome,
                                bool(dormant) and threshold is not None,
                                factors,
                                action_for(outcome, login, message),
                                login,
                                message,
                            )
                        )
        action = np.array([ACTIONS.index(c.action) for c in cells], np.int8)
        seconds = np.array(
            [
                np.inf if (t := table[c].dormant_after) is None else t.total_seconds()
                for c in CATEGORIES
            ],
            np.float64,
        )
        return cls(table, as_of, tuple(cells), action, seconds)


def _sample(  # noqa: PLR0917  one argument per table dimension
    action: Action,
    category: Category,
    now: datetime,
    threshold: timedelta | None,
    dormant: int,
    factors: frozenset[Factor],
) -> Attempt:
    """An attempt with just the properties the table distinguishes.

    Not dormant: bound yesterday and used today. Dormant: bound and last used one day more than
    the threshold ago (a category without a threshold has no dormant bindings; its dormant cells
    repeat the active ones).
    """
    if dormant and threshold is not None:
        last = now - threshold - timedelta(days=1)
        return Attempt(
            action=action,
            phone=SAMPLE_PHONE,
            bound_at=last,
            category=category,
            now=now,
            last_active_at=last,
            factors=factors,
        )
    return Attempt(
        action=action,
        phone=SAMPLE_PHONE,
        bound_at=now - timedelta(days=1),
        category=category,
        now=now,
        last_active_at=now,
        factors=factors,
    )
