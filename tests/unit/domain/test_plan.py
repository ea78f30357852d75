"""The cancellation plan: financial first, then social, shopping, lifestyle, the rest; accounts
unused for longer than the threshold are closed rather than unbound."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numguard.domain.binding import (
    UNBINDING_ORDER,
    Binding,
    Category,
    TenureSide,
    mask_account_ref,
    tenure_side,
)
from numguard.domain.plan import PlanAction, PlanReason, build_plan, decide

TODAY = date(2026, 11, 28)
NUMBER = "+8613800138000"


def b(
    platform: str,
    category: Category,
    *,
    bound: date = date(2024, 1, 1),
    active: date | None = None,
    ref: str = "acct",
) -> Binding:
    return Binding(platform, ref, NUMBER, category, bound, active)


def test_categories_come_in_the_unbinding_order() -> None:
    given_order = [
        b("MALL", Category.COMMERCE, active=TODAY),
        b("MISC", Category.OTHER, active=TODAY),
        b("RIDE", Category.LIFESTYLE, active=TODAY),
        b("CHAT", Category.SOCIAL, active=TODAY),
        b("BANK", Category.FINANCIAL, active=TODAY),
    ]
    plan = build_plan(NUMBER, given_order, today=TODAY)
    assert [s.binding.platform for s in plan.steps] == ["BANK", "CHAT", "MALL", "RIDE", "MISC"]
    assert [s.position for s in plan.steps] == [1, 2, 3, 4, 5]
    assert list(plan.by_category()) == list(UNBINDING_ORDER)


@pytest.mark.parametrize(
    ("last_active", "bound", "action", "reason"),
    [
        (TODAY, date(2020, 1, 1), PlanAction.UNBIND, PlanReason.IN_USE),
        (TODAY - timedelta(days=365), date(2020, 1, 1), PlanAction.UNBIND, PlanReason.IN_USE),
        (
            TODAY - timedelta(days=366),
            date(2020, 1, 1),
            PlanAction.CLOSE_ACCOUNT,
            PlanReason.DORMANT,
        ),
        (None, TODAY - timedelta(days=30), PlanAction.UNBIND, PlanReason.IN_USE),
        (None, TODAY - timedelta(days=400), PlanAction.CLOSE_ACCOUNT, PlanReason.NEVER_USED),
    ],
    ids=["used-today", "exactly-a-year", "a-year-and-a-day", "new-never-used", "old-never-used"],
)
def test_an_account_unused_for_over_a_year_is_closed_not_unbound(
    last_active: date | None, bound: date, action: PlanAction, reason: PlanReason
) -> None:
    binding = b("BANK", Category.FINANCIAL, bound=bound, active=last_active)
    assert decide(binding, TODAY, 365)[:2] == (action, reason)


def test_the_threshold_is_configurable() -> None:
    binding = b("SHOP", Category.COMMERCE, active=TODAY - timedelta(days=100))
    assert build_plan(NUMBER, [binding], today=TODAY, dormant_days=90).steps[0].action is (
        PlanAction.CLOSE_ACCOUNT
    )
    assert build_plan(NUMBER, [binding], today=TODAY).steps[0].action is PlanAction.UNBIND
    with pytest.raises(ValueError, match="negative"):
        build_plan(NUMBER, [binding], today=TODAY, dormant_days=-1)


def test_within_a_category_the_most_recently_used_comes_first() -> None:
    plan = build_plan(
        NUMBER,
        [
            b("OLD", Category.SOCIAL, active=date(2025, 1, 1)),
            b("NEW", Category.SOCIAL, active=date(2026, 11, 1)),
        ],
        today=TODAY,
    )
    assert [s.binding.platform for s in plan.steps] == ["NEW", "OLD"]
    assert plan.count(PlanAction.CLOSE_ACCOUNT) == 1


bindings_strategy = st.lists(
    st.builds(
        Binding,
        platform=st.sampled_from(["A", "B", "C", "D"]),
        account_ref=st.text("abcdef0123", min_size=1, max_size=6),
        phone_number=st.just(NUMBER),
        category=st.sampled_from(list(Category)),
        bound_at=st.dates(date(2015, 1, 1), TODAY),
        last_active_at=st.none() | st.dates(date(2015, 1, 1), TODAY),
    ),
    max_size=30,
)


@given(bindings_strategy, st.integers(0, 2000))
def test_the_plan_is_ordered_complete_and_independent_of_input_order(
    bindings: list[Binding], dormant_days: int
) -> None:
    plan = build_plan(NUMBER, bindings, today=TODAY, dormant_days=dormant_days)
    assert sorted(map(repr, (s.binding for s in plan.steps))) == sorted(map(repr, bindings))
    ranks = [UNBINDING_ORDER.index(s.binding.category) for s in plan.steps]
    assert ranks == sorted(ranks)
    for step in plan.steps:
        seen = step.binding.last_active_at or step.binding.bound_at
        assert step.idle_days == max(0, (TODAY - seen).days)
        assert (step.action is PlanAction.CLOSE_ACCOUNT) == (step.idle_days > dormant_days)
    assert build_plan(NUMBER, reversed(bindings), today=TODAY, dormant_days=dormant_days) == plan


@pytest.mark.parametrize(
    ("bound", "start", "known", "side"),
    [
        (date(2024, 5, 1), date(2024, 5, 1), True, TenureSide.DURING),
        (date(2024, 4, 30), date(2024, 5, 1), True, TenureSide.BEFORE),
        (date(2024, 4, 30), date(2024, 5, 1), False, TenureSide.UNKNOWN),
        (date(2024, 4, 30), None, True, TenureSide.UNKNOWN),
    ],
)
def test_a_binding_before_the_tenure_is_before_only_when_the_start_is_known(
    bound: date, start: date | None, known: bool, side: TenureSide
) -> None:
    assert tenure_side(bound, start, start_known=known) is side


@given(st.text(min_size=1, max_size=128))
def test_a_masked_reference_shows_at_most_four_characters(ref: str) -> None:
    masked = mask_account_ref(ref)
    assert "****" in masked
    assert len(masked.replace("****", "", 1)) <= 4
    if len(ref) > 4:
        assert ref not in masked
