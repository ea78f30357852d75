"""The guard's default policies, evaluated once into lookup tables the model indexes.

Nothing here decides anything itself: every cell is a :class:`~numguard.domain.guard.Verdict`
that :func:`~numguard.domain.guard.judge` returned for a real :class:`Attempt`. The model then
looks decisions up for millions of accounts at once. The dormancy thresholds come from the same
:class:`~numguard.domain.guard.GuardRules`.

A platform is in one of four :data:`VARIANTS`, depending on the measures it has adopted:

* ``none``: no guard at all (an SMS code is enough);
* ``checks``: the default policy without dormancy (``dormant_after=None`` everywhere);
* ``dormancy``: only :class:`~numguard.domain.guard.Dormancy` (the registry is not asked);
* ``both``: :func:`~numguard.domain.guard.default_policy` as documented.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from numguard.domain.binding import Category
from numguard.domain.guard import (
    Action,
    Attempt,
    CheckOutcome,
    Decision,
    Dormancy,
    Factor,
    FailMode,
    GuardRules,
    Policy,
    default_policy,
    first_match,
    judge,
)
from numguard.simulation.parameters import CATEGORIES

VARIANTS: tuple[str, ...] = ("none", "checks", "dormancy", "both")
"""Platform variants; index = checks + 2 * dormancy."""

OUTCOMES: tuple[CheckOutcome, ...] = tuple(CheckOutcome)
"""Registry outcomes in index order: yes, no, unknown, unreachable."""

DECISIONS: tuple[Decision, ...] = tuple(Decision)
"""Decisions in code order (the table's values)."""

ACTIONS: tuple[Action, ...] = (Action.SMS_LOGIN, Action.OUTGOING_SMS)
"""The actions the model needs: a new holder's login, and a platform's message."""

YES, NO, UNKNOWN, UNREACHABLE = (OUTCOMES.index(o) for o in OUTCOMES)
ALLOW = DECISIONS.index(Decision.ALLOW)
NEVER = 10**8
"""A day that never comes (no dormancy threshold, never adopted)."""

SAMPLE_NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def variant_rules(rules: GuardRules, *, dormancy: bool) -> GuardRules:
    """*rules* as is, or with dormancy switched off in every category."""
    if dormancy:
        return rules
    out = rules
    for category in CATEGORIES:
        out = out.with_category(category, dataclasses.replace(rules[category], dormant_after=None))
    return out


def variant_policy(variant: int, rules: GuardRules) -> Policy:
    """The policy a platform in *variant* (index into :data:`VARIANTS`) applies."""
    checks, dormancy = bool(variant & 1), bool(variant & 2)
    if checks:
        return default_policy(variant_rules(rules, dormancy=dormancy))
    if dormancy:
        return Dormancy(rules)
    return first_match()  # no opinion: judge() allows


def step_up_factor(rules: GuardRules, category: Category) -> Factor:
    """The factor that stands for "has a non-phone factor this category accepts"."""
    return min(rules[category].step_up_factors, key=list(Factor).index)


def dormancy_days(rules: GuardRules, category: Category) -> int:
    """The category's dormancy threshold in days (:data:`NEVER` when it has none)."""
    after = rules[category].dormant_after
    return NEVER if after is None else after.days


def sample_attempt(
    rules: GuardRules,
    *,
    action: Action,
    category: Category,
    phone: str,
    dormant: bool,
    has_factor: bool,
) -> Attempt:
    """An attempt with just the properties the table distinguishes."""
    threshold = dormancy_days(rules, category)
    idle = timedelta(days=(threshold if threshold < NEVER else 3650) + 1) if dormant else None
    bound_at = SAMPLE_NOW - (idle if idle is not None else timedelta(days=30))
    return Attempt(
        action=action,
        phone=phone,
        bound_at=bound_at,
        category=category,
        now=SAMPLE_NOW,
        last_active_at=None if dormant else SAMPLE_NOW,
        factors=frozenset({step_up_factor(rules, category)}) if has_factor else frozenset(),
    )


@dataclass(frozen=True)
class PolicyTable:
    """Decisions for every (variant, category, outcome, dormant, has-factor) per action.

    ``login[v, c, o, d, f]`` and ``message[v, c, o, d, f]`` hold indexes into
    :data:`DECISIONS`; ``dormant_days[c]`` is the category's threshold.
    """

    rules: GuardRules
    login: npt.NDArray[np.int8]
    message: npt.NDArray[np.int8]
    dormant_days: npt.NDArray[np.int32]

    @classmethod
    def build(cls, rules: GuardRules, phone: str) -> PolicyTable:
        """Judge one sample attempt per cell with the domain's policies."""
        shape = (len(VARIANTS), len(CATEGORIES), len(OUTCOMES), 2, 2)
        tables = {a: np.zeros(shape, np.int8) for a in ACTIONS}
        for v in range(len(VARIANTS)):
            policy = variant_policy(v, rules)
            for c, category in enumerate(CATEGORIES):
                for d in (0, 1):
                    for f in (0, 1):
                        for action, table in tables.items():
                            attempt = sample_attempt(
                                rules,
                                action=action,
                                category=category,
                                phone=phone,
                                dormant=bool(d),
                                has_factor=bool(f),
                            )
                            for o, outcome in enumerate(OUTCOMES):
                                verdict = judge(policy, attempt, outcome)
                                table[v, c, o, d, f] = DECISIONS.index(verdict.decision)
        days = np.array([dormancy_days(rules, c) for c in CATEGORIES], np.int32)
        return cls(rules, tables[Action.SMS_LOGIN], tables[Action.OUTGOING_SMS], days)

    @classmethod
    def default(cls, phone: str, unreachable: FailMode = FailMode.OPEN) -> PolicyTable:
        """The table for :meth:`GuardRules.default`."""
        return cls.build(GuardRules.default(unreachable=unreachable), phone)

    def login_allowed(self, category: int) -> npt.NDArray[np.bool_]:
        """Flat ``[v * 16 + o * 4 + d * 2 + f]`` table: does an SMS-code login get in?"""
        allowed: npt.NDArray[np.bool_] = (self.login[:, category] == ALLOW).reshape(-1)
        return allowed

    def message_allowed(self, variant: int, category: int) -> npt.NDArray[np.bool_]:
        """``[o]``: is an outgoing message sent (not held)? Dormancy does not apply to it."""
        sent: npt.NDArray[np.bool_] = self.message[variant, category, :, 0, 0] == ALLOW
        return sent
