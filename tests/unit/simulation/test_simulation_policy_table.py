"""The lookup tables hold the guard's own verdicts; nothing is decided twice."""

from __future__ import annotations

import itertools

from numguard.domain.guard import (
    Action,
    CheckOutcome,
    Decision,
    GuardRules,
    default_policy,
    judge,
)
from numguard.simulation.parameters import CATEGORIES
from numguard.simulation.policy_table import (
    ACTIONS,
    DECISIONS,
    OUTCOMES,
    VARIANTS,
    PolicyTable,
    sample_attempt,
    variant_policy,
)

PHONE = "+8613912345678"


def test_every_cell_is_the_verdict_judge_gives() -> None:
    rules = GuardRules.default()
    table = PolicyTable.build(rules, PHONE)
    for v, (c, category), (o, outcome), d, f in itertools.product(
        range(len(VARIANTS)), enumerate(CATEGORIES), enumerate(OUTCOMES), (0, 1), (0, 1)
    ):
        for action, cells in zip(ACTIONS, (table.login, table.message), strict=True):
            attempt = sample_attempt(
                rules,
                action=action,
                category=category,
                phone=PHONE,
                dormant=bool(d),
                has_factor=bool(f),
            )
            expected = judge(variant_policy(v, rules), attempt, outcome).decision
            assert DECISIONS[cells[v, c, o, d, f]] is expected


def test_both_is_the_documented_default_policy() -> None:
    rules = GuardRules.default()
    table = PolicyTable.build(rules, PHONE)
    for (c, category), (o, outcome), d, f in itertools.product(
        enumerate(CATEGORIES), enumerate(OUTCOMES), (0, 1), (0, 1)
    ):
        attempt = sample_attempt(
            rules,
            action=Action.SMS_LOGIN,
            category=category,
            phone=PHONE,
            dormant=bool(d),
            has_factor=bool(f),
        )
        assert (
            DECISIONS[table.login[3, c, o, d, f]]
            is judge(default_policy(), attempt, outcome).decision
        )


def test_known_cells() -> None:
    table = PolicyTable.default(PHONE)
    yes, unknown = OUTCOMES.index(CheckOutcome.YES), OUTCOMES.index(CheckOutcome.UNKNOWN)
    fin, social = 0, 1
    # Without any guard an SMS code opens everything.
    assert {DECISIONS[x] for x in table.login[0].reshape(-1)} == {Decision.ALLOW}
    # A recycled binding never opens with the code alone.
    assert DECISIONS[table.login[1, fin, yes, 0, 0]] is Decision.DENY
    assert DECISIONS[table.login[1, social, yes, 0, 1]] is Decision.STEP_UP
    # Unknown: financial steps up, the others allow with a notice.
    assert DECISIONS[table.login[1, fin, unknown, 0, 1]] is Decision.STEP_UP
    assert DECISIONS[table.login[1, social, unknown, 0, 0]] is Decision.ALLOW
    # Dormancy hibernates whatever the registry says; messages ignore it.
    assert DECISIONS[table.login[2, social, yes, 1, 0]] is Decision.HIBERNATE
    assert DECISIONS[table.message[1, social, yes, 0, 0]] is Decision.HOLD_MESSAGE


def test_dormancy_thresholds_come_from_the_guard_rules() -> None:
    table = PolicyTable.default(PHONE)
    rules = GuardRules.default()
    for c, category in enumerate(CATEGORIES):
        after = rules[category].dormant_after
        assert after is not None
        assert int(table.dormant_days[c]) == after.days
    assert table.dormant_days.tolist() == [365, 730, 730, 730, 730]
