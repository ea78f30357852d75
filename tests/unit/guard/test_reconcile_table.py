"""The reconciliation table decides exactly as the guard's policies do, binding by binding."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numguard.domain.binding import Category
from numguard.domain.guard import (
    Action,
    Attempt,
    CheckOutcome,
    Decision,
    FailMode,
    GuardRules,
    Reason,
    Verdict,
    default_policy,
    judge,
)
from numguard.guard.reconcile import DecisionTable, ReconcileAction, action_for
from numguard.guard.reconcile.bindings import BindingsBlock, day_number
from numguard.guard.reconcile.run import decide_block
from numguard.guard.reconcile.table import (
    CATEGORIES,
    MASKS,
    OUTCOMES,
    cell_index,
    cell_parts,
    factors_of,
)

AS_OF = date(2026, 11, 28)
RULES = (
    GuardRules.default(),
    GuardRules.default(unreachable=FailMode.CLOSED),
    GuardRules.default().with_category(
        Category.COMMERCE,
        dataclasses.replace(GuardRules.default()[Category.COMMERCE], dormant_after=None),
    ),
)
TABLES = {id(r): DecisionTable.build(AS_OF, r) for r in RULES}


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def one_row(category: int, bound: date, last: date | None, mask: int) -> BindingsBlock:
    b = day_number(bound)
    zero = np.zeros(1, np.int64)
    return BindingsBlock(
        source=np.frombuffer(b"a", np.uint8),
        lines=np.array([2], np.int64),
        account_start=zero,
        account_length=zero + 1,
        phone_start=zero,
        phone_length=zero + 1,
        date_start=zero,
        category=np.array([category], np.int8),
        bound=np.array([b], np.int64),
        last=np.array([day_number(last) if last is not None else b], np.int64),
        factors=np.array([mask], np.uint8),
    )


@settings(max_examples=400, deadline=None)
@given(
    rules=st.sampled_from(RULES),
    category=st.integers(0, len(CATEGORIES) - 1),
    outcome=st.integers(0, len(OUTCOMES) - 1),
    mask=st.integers(0, MASKS - 1),
    bound_ago=st.one_of(st.integers(0, 3000), st.sampled_from([364, 365, 366, 729, 730, 731])),
    last_after_bound=st.one_of(st.none(), st.integers(0, 3000)),
)
def test_every_binding_gets_the_action_of_the_policys_own_verdicts(
    rules: GuardRules,
    category: int,
    outcome: int,
    mask: int,
    bound_ago: int,
    last_after_bound: int | None,
) -> None:
    bound = AS_OF - timedelta(days=bound_ago)
    last = (
        None if last_after_bound is None else min(AS_OF, bound + timedelta(days=last_after_bound))
    )
    table = TABLES[id(rules)]
    cell = decide_block(table, one_row(category, bound, last, mask), np.array([outcome], np.int8))
    policy = default_policy(rules)
    verdicts = [
        judge(
            policy,
            Attempt(
                action=action,
                phone="+8613800138000",
                bound_at=midnight(bound),
                category=CATEGORIES[category],
                now=midnight(AS_OF),
                last_active_at=None if last is None else midnight(last),
                factors=factors_of(mask),
            ),
            OUTCOMES[outcome],
        )
        for action in (Action.SMS_LOGIN, Action.OUTGOING_SMS)
    ]
    expected = action_for(OUTCOMES[outcome], *verdicts)
    got = table.cells[int(cell[0])]
    assert got.action is expected
    assert got.login.decision is verdicts[0].decision
    assert got.login.codes == verdicts[0].codes
    assert got.login.factors == verdicts[0].factors


def test_the_cell_layout_round_trips() -> None:
    for cell in (0, 1, 63, 64, 127, 128, 511, 2559):
        c, o, d, m = cell_parts(cell)
        assert (
            cell_index(np.array([c]), np.array([o]), np.array([bool(d)]), np.array([m]))[0] == cell
        )


def _verdict(decision: Decision, code: str = "X") -> Verdict:
    factors = (next(iter(factors_of(1))),) if decision is Decision.STEP_UP else ()
    return Verdict(decision, (Reason(code, "t"),), factors)


@pytest.mark.parametrize(
    ("outcome", "login", "message", "action"),
    [
        (CheckOutcome.YES, Decision.STEP_UP, Decision.HOLD_MESSAGE, ReconcileAction.UNBIND),
        (CheckOutcome.YES, Decision.HIBERNATE, Decision.HOLD_MESSAGE, ReconcileAction.UNBIND),
        (CheckOutcome.NO, Decision.HIBERNATE, Decision.ALLOW, ReconcileAction.HIBERNATE),
        (CheckOutcome.UNKNOWN, Decision.DENY, Decision.ALLOW, ReconcileAction.STEP_UP_NEXT_LOGIN),
        (
            CheckOutcome.UNREACHABLE,
            Decision.STEP_UP,
            Decision.HOLD_MESSAGE,
            ReconcileAction.STEP_UP_NEXT_LOGIN,
        ),
        (CheckOutcome.UNREACHABLE, Decision.ALLOW, Decision.ALLOW, ReconcileAction.OK),
        (CheckOutcome.NO, Decision.ALLOW, Decision.ALLOW, ReconcileAction.OK),
    ],
)
def test_verdicts_map_to_one_action(
    outcome: CheckOutcome, login: Decision, message: Decision, action: ReconcileAction
) -> None:
    assert action_for(outcome, _verdict(login), _verdict(message)) is action


def test_a_custom_policy_decides_the_table() -> None:
    class DenyAll:
        def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
            if attempt.action is Action.OUTGOING_SMS:
                return None
            return Verdict(Decision.DENY, (Reason("HOUSE_RULE", "no SMS logins here"),))

    table = DecisionTable.build(AS_OF, policy=DenyAll())
    assert {c.action for c in table.cells} == {ReconcileAction.STEP_UP_NEXT_LOGIN}
    assert all(c.reasons == ("HOUSE_RULE", "NO_POLICY_APPLIES") for c in table.cells)
