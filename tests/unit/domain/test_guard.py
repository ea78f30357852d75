"""The guard's policy engine: every default outcome, the documented table, and composition.

The expected outcomes are written out below as a literal table (from issue 4 and NIST SP 800-63B's
treatment of SMS as a restricted authenticator), not derived from the code under test.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numguard.domain.answer import Recycled
from numguard.domain.binding import UNBINDING_ORDER, Category
from numguard.domain.guard import (
    ANY_NON_PHONE_FACTOR,
    FINANCIAL_STEP_UP_FACTORS,
    Action,
    Attempt,
    CheckOutcome,
    Decision,
    Dormancy,
    Factor,
    FailMode,
    GuardRules,
    OnUnknown,
    Policy,
    Reason,
    ReasonCode,
    RecycledBinding,
    SameHolder,
    UnknownAnswer,
    Verdict,
    default_policy,
    first_match,
    judge,
    only_for,
    strictest,
)
from numguard.errors import InvalidInput

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=BEIJING)
PHONE = "+8613800138000"

A = Action
C = CheckOutcome
D = Decision
F = Factor
R = ReasonCode


def days(n: int) -> timedelta:
    return timedelta(days=n)


def attempt(
    action: Action = Action.SMS_LOGIN,
    category: Category = Category.SOCIAL,
    *,
    bound_days_ago: int = 30,
    idle_days: int | None = 1,
    factors: frozenset[Factor] = frozenset(),
) -> Attempt:
    return Attempt(
        action=action,
        phone=PHONE,
        bound_at=NOW - days(bound_days_ago),
        category=category,
        now=NOW,
        last_active_at=None if idle_days is None else NOW - days(idle_days),
        factors=factors,
    )


# --- the expected default table ---------------------------------------------------------------

STEP_UP_ELSE_DENY = "STEP_UP, else DENY"

# (authenticating action?, FINANCIAL?, registry outcome) -> (verdict, leading reason code)
DEFAULT_TABLE: dict[tuple[bool, bool, CheckOutcome], tuple[str, str]] = {
    # SMS login, password reset, phone change: a FINANCIAL account
    (True, True, C.YES): (STEP_UP_ELSE_DENY, R.BOUND_BEFORE_CURRENT_TENURE),
    (True, True, C.NO): (D.ALLOW, R.SAME_HOLDER_SINCE_BINDING),
    (True, True, C.UNKNOWN): (STEP_UP_ELSE_DENY, R.ANSWER_UNKNOWN),
    (True, True, C.UNREACHABLE): (STEP_UP_ELSE_DENY, R.REGISTRY_UNREACHABLE_FAIL_CLOSED),
    # ... any other category (default: fail open)
    (True, False, C.YES): (STEP_UP_ELSE_DENY, R.BOUND_BEFORE_CURRENT_TENURE),
    (True, False, C.NO): (D.ALLOW, R.SAME_HOLDER_SINCE_BINDING),
    (True, False, C.UNKNOWN): (D.ALLOW, R.ANSWER_UNKNOWN),
    (True, False, C.UNREACHABLE): (D.ALLOW, R.REGISTRY_UNREACHABLE_FAIL_OPEN),
    # outgoing SMS: a FINANCIAL account
    (False, True, C.YES): (D.HOLD_MESSAGE, R.BOUND_BEFORE_CURRENT_TENURE),
    (False, True, C.NO): (D.ALLOW, R.SAME_HOLDER_SINCE_BINDING),
    (False, True, C.UNKNOWN): (D.ALLOW, R.ANSWER_UNKNOWN),
    (False, True, C.UNREACHABLE): (D.HOLD_MESSAGE, R.REGISTRY_UNREACHABLE_FAIL_CLOSED),
    # ... any other category
    (False, False, C.YES): (D.HOLD_MESSAGE, R.BOUND_BEFORE_CURRENT_TENURE),
    (False, False, C.NO): (D.ALLOW, R.SAME_HOLDER_SINCE_BINDING),
    (False, False, C.UNKNOWN): (D.ALLOW, R.ANSWER_UNKNOWN),
    (False, False, C.UNREACHABLE): (D.ALLOW, R.REGISTRY_UNREACHABLE_FAIL_OPEN),
}

ACCEPTED = {
    True: {F.PASSKEY, F.TOTP, F.TRUSTED_DEVICE, F.ID_DOCUMENT},  # FINANCIAL
    False: set(Factor),
}
DORMANT_AFTER_DAYS = {True: 365, False: 730}


@dataclass(frozen=True)
class Account:
    name: str
    bound_days_ago: int
    idle_days: int | None


ACCOUNTS = [
    Account("fresh-binding-active", 30, 1),
    Account("old-binding-active", 5 * 365, 1),
    Account("old-binding-idle-500d", 5 * 365, 500),  # dormant only under the FINANCIAL threshold
    Account("old-binding-idle-800d", 5 * 365, 800),  # dormant everywhere
    Account("old-binding-never-used", 5 * 365, None),  # idle since binding: dormant everywhere
]
FACTOR_SETS = {
    "totp+password": frozenset({F.TOTP, F.PASSWORD}),
    "password+email": frozenset({F.PASSWORD, F.EMAIL}),  # not enough for FINANCIAL
    "phone-only": frozenset(),
}


def expected(
    action: Action,
    category: Category,
    outcome: CheckOutcome,
    account: Account,
    factors: frozenset[Factor],
) -> tuple[Decision, set[Factor], str, set[str]]:
    """(decision, factors, first reason code, all reason codes) by the literal table."""
    auth = action is not A.OUTGOING_SMS
    financial = category is Category.FINANCIAL
    shape, code = DEFAULT_TABLE[(auth, financial, outcome)]
    usable = set(factors) & ACCEPTED[financial]
    codes = {code}
    if shape == STEP_UP_ELSE_DENY:
        decision = D.STEP_UP if usable else D.DENY
        if not usable:
            codes.add(R.NO_ACCEPTED_FACTOR)
    else:
        decision = Decision(shape)
    first = code
    idle = account.idle_days if account.idle_days is not None else account.bound_days_ago
    if auth and idle > DORMANT_AFTER_DAYS[financial]:
        decision, first = D.HIBERNATE, R.DORMANT
        codes.add(R.DORMANT)
        if not usable:
            codes.add(R.NO_ACCEPTED_FACTOR)
    shown = usable if decision in (D.STEP_UP, D.HIBERNATE) else set()
    return decision, shown, first, codes


CASES = list(itertools.product(Action, Category, CheckOutcome, ACCOUNTS, FACTOR_SETS))


@pytest.mark.parametrize(
    ("action", "category", "outcome", "account", "factor_set"),
    CASES,
    ids=[f"{a}-{c}-{o}-{acc.name}-{f}" for a, c, o, acc, f in CASES],
)
def test_default_policy_outcome(
    action: Action, category: Category, outcome: CheckOutcome, account: Account, factor_set: str
) -> None:
    factors = FACTOR_SETS[factor_set]
    subject = attempt(
        action,
        category,
        bound_days_ago=account.bound_days_ago,
        idle_days=account.idle_days,
        factors=factors,
    )
    verdict = judge(default_policy(), subject, outcome)
    decision, shown, first, codes = expected(action, category, outcome, account, factors)
    assert verdict.decision is decision
    assert set(verdict.factors) == shown
    assert verdict.codes[0] == first
    assert set(verdict.codes) == codes
    assert all(r.text for r in verdict.reasons)
    assert PHONE not in verdict.explanation  # reasons go to logs: no phone numbers in them


def test_the_table_covers_every_action_category_and_outcome() -> None:
    assert len(CASES) == 4 * 5 * 4 * len(ACCOUNTS) * len(FACTOR_SETS)
    assert {
        (a is not A.OUTGOING_SMS, c is Category.FINANCIAL, o) for a, c, o, _, _ in CASES
    } == set(DEFAULT_TABLE)


@pytest.mark.parametrize("category", [c for c in Category if c is not Category.FINANCIAL])
@pytest.mark.parametrize("action", list(Action))
def test_fail_closed_choice_for_other_categories(action: Action, category: Category) -> None:
    policy = default_policy(GuardRules.default(unreachable=FailMode.CLOSED))
    with_factor = judge(
        policy, attempt(action, category, factors=frozenset({F.EMAIL})), C.UNREACHABLE
    )
    without = judge(policy, attempt(action, category), C.UNREACHABLE)
    if action is A.OUTGOING_SMS:
        assert with_factor.decision is D.HOLD_MESSAGE
        assert without.decision is D.HOLD_MESSAGE
    else:
        assert with_factor.decision is D.STEP_UP
        assert with_factor.factors == (F.EMAIL,)
        assert without.decision is D.DENY
    assert with_factor.codes[0] == R.REGISTRY_UNREACHABLE_FAIL_CLOSED


def test_fail_open_choice_does_not_open_financial_accounts() -> None:
    policy = default_policy(GuardRules.default(unreachable=FailMode.OPEN))
    verdict = judge(policy, attempt(category=Category.FINANCIAL), C.UNREACHABLE)
    assert verdict.decision is D.DENY
    assert verdict.codes[0] == R.REGISTRY_UNREACHABLE_FAIL_CLOSED


def test_financial_can_be_made_to_fail_open_only_explicitly() -> None:
    rules = GuardRules.default()
    rules = rules.with_category(
        Category.FINANCIAL,
        dataclasses.replace(rules[Category.FINANCIAL], on_unreachable=FailMode.OPEN),
    )
    verdict = judge(default_policy(rules), attempt(category=Category.FINANCIAL), C.UNREACHABLE)
    assert verdict.decision is D.ALLOW
    assert verdict.codes == (R.REGISTRY_UNREACHABLE_FAIL_OPEN,)


# --- the documented table ---------------------------------------------------------------------


def describe(action: Action, category: Category, outcome: CheckOutcome) -> str:
    """One cell of the table in docs/guard.md, for an active account."""
    strong = judge(default_policy(), attempt(action, category, factors=frozenset(Factor)), outcome)
    bare = judge(default_policy(), attempt(action, category), outcome)
    if strong.decision is D.STEP_UP and bare.decision is D.DENY:
        text = "STEP_UP, else DENY"
    else:
        assert strong.decision is bare.decision
        text = str(strong.decision)
    if R.ANSWER_UNKNOWN in strong.codes and strong.decision is D.ALLOW:
        text += " + notice"
    if R.REGISTRY_UNREACHABLE_FAIL_OPEN in strong.codes:
        text += " (fail open)"
    if R.REGISTRY_UNREACHABLE_FAIL_CLOSED in strong.codes:
        text += " (fail closed)"
    return text


def render_policy_table() -> str:
    lines = [
        "| action | registry answer | " + " | ".join(Category) + " |",
        "|---|---|" + "---|" * len(Category),
    ]
    for action in Action:
        for outcome in CheckOutcome:
            cells = [describe(action, c, outcome) for c in Category]
            lines.append(f"| {action} | {outcome} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_docs_show_the_policy_table_the_code_implements() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "guard.md").read_text(encoding="utf-8")
    assert render_policy_table() in docs, "docs/guard.md is out of date:\n" + render_policy_table()


def test_docs_state_the_default_dormancy_thresholds() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "guard.md").read_text(encoding="utf-8")
    rules = GuardRules.default()
    for category in Category:
        after = rules[category].dormant_after
        assert after is not None
        assert re.search(rf"\| {category} \| {after.days} days \|", docs), category


# --- dormancy details -------------------------------------------------------------------------


def test_dormancy_starts_just_after_the_threshold() -> None:
    at_threshold = attempt(category=Category.FINANCIAL, bound_days_ago=2000, idle_days=365)
    just_after = dataclasses.replace(
        at_threshold, last_active_at=NOW - days(365) - timedelta(seconds=1)
    )
    assert judge(default_policy(), at_threshold, C.NO).decision is D.ALLOW
    assert judge(default_policy(), just_after, C.NO).decision is D.HIBERNATE


def test_an_account_never_used_since_binding_is_idle_since_binding() -> None:
    subject = attempt(bound_days_ago=731, idle_days=None)
    assert subject.idle == days(731)
    assert judge(default_policy(), subject, C.NO).decision is D.HIBERNATE


def test_dormant_account_wakes_with_an_accepted_factor_listed() -> None:
    subject = attempt(
        category=Category.FINANCIAL,
        bound_days_ago=2000,
        idle_days=400,
        factors=frozenset({F.PASSWORD, F.PASSKEY}),
    )
    verdict = judge(default_policy(), subject, C.NO)
    assert verdict.decision is D.HIBERNATE
    assert verdict.factors == (F.PASSKEY,)
    assert verdict.codes == (R.DORMANT, R.SAME_HOLDER_SINCE_BINDING)


def test_dormancy_threshold_is_configurable_per_category() -> None:
    rules = GuardRules.default()
    rules = rules.with_category(
        Category.COMMERCE, dataclasses.replace(rules[Category.COMMERCE], dormant_after=days(90))
    )
    policy = default_policy(rules)
    idle_100 = {"bound_days_ago": 400, "idle_days": 100}
    assert (
        judge(policy, attempt(category=Category.COMMERCE, **idle_100), C.NO).decision is D.HIBERNATE
    )
    assert judge(policy, attempt(category=Category.SOCIAL, **idle_100), C.NO).decision is D.ALLOW


def test_dormancy_can_be_switched_off() -> None:
    rules = GuardRules.default()
    rules = rules.with_category(
        Category.OTHER, dataclasses.replace(rules[Category.OTHER], dormant_after=None)
    )
    subject = attempt(category=Category.OTHER, bound_days_ago=5000, idle_days=None)
    assert judge(default_policy(rules), subject, C.NO).decision is D.ALLOW


def test_unknown_can_be_made_to_step_up_for_any_category() -> None:
    rules = GuardRules.default()
    rules = rules.with_category(
        Category.SOCIAL,
        dataclasses.replace(rules[Category.SOCIAL], on_unknown=OnUnknown.STEP_UP),
    )
    subject = attempt(category=Category.SOCIAL, factors=frozenset({F.PASSWORD}))
    verdict = judge(default_policy(rules), subject, C.UNKNOWN)
    assert verdict.decision is D.STEP_UP
    assert verdict.factors == (F.PASSWORD,)


# --- values -----------------------------------------------------------------------------------


def test_check_outcome_follows_the_registry_answer() -> None:
    assert [CheckOutcome.of(r) for r in Recycled] == [C.YES, C.NO, C.UNKNOWN]


def test_step_up_lists_factors_strongest_first() -> None:
    subject = attempt(factors=frozenset(Factor))
    verdict = judge(default_policy(), subject, C.YES)
    assert verdict.factors == (
        F.PASSKEY,
        F.TOTP,
        F.TRUSTED_DEVICE,
        F.PASSWORD,
        F.EMAIL,
        F.ID_DOCUMENT,
    )


def test_financial_accepts_possession_factors_and_identity_proofing_only() -> None:
    assert GuardRules.default()[Category.FINANCIAL].step_up_factors == FINANCIAL_STEP_UP_FACTORS
    assert {F.PASSWORD, F.EMAIL}.isdisjoint(FINANCIAL_STEP_UP_FACTORS)
    for category in Category:
        if category is not Category.FINANCIAL:
            assert GuardRules.default()[category].step_up_factors == ANY_NON_PHONE_FACTOR


def test_specified_date_is_the_binding_day_in_the_binding_timezone() -> None:
    late_evening_utc = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)
    subject = dataclasses.replace(attempt(), bound_at=late_evening_utc)
    assert str(subject.specified_date) == "2024-03-01"
    in_beijing = dataclasses.replace(attempt(), bound_at=late_evening_utc.astimezone(BEIJING))
    assert str(in_beijing.specified_date) == "2024-03-02"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phone": "13800138000"}, "E.164"),
        ({"phone": "+8613800138000\n"}, "E.164"),
        ({"now": datetime(2026, 11, 28, 12, 0)}, "timezone-aware"),  # naive on purpose
        ({"last_active_at": datetime(2026, 11, 1)}, "timezone-aware"),
        ({"bound_at": NOW + days(1)}, "after now"),
    ],
)
def test_attempt_rejects_what_it_cannot_judge(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "action": A.SMS_LOGIN,
        "phone": PHONE,
        "bound_at": NOW - days(10),
        "category": Category.SOCIAL,
        "now": NOW,
        "last_active_at": NOW - days(1),
    }
    fields.update(changes)
    with pytest.raises(InvalidInput, match=message):
        Attempt(**fields)  # type: ignore[arg-type]  # deliberately bad values


def test_verdict_always_has_a_reason() -> None:
    with pytest.raises(InvalidInput, match="reason"):
        Verdict(D.ALLOW, ())


def test_step_up_verdict_names_its_factors() -> None:
    with pytest.raises(InvalidInput, match="factors"):
        Verdict(D.STEP_UP, (Reason("X", "x"),))


def test_only_step_up_and_hibernate_carry_factors() -> None:
    with pytest.raises(InvalidInput, match="carries no factors"):
        Verdict(D.DENY, (Reason("X", "x"),), (F.TOTP,))


def test_rules_need_every_category() -> None:
    rules = dict(GuardRules.default().by_category)
    del rules[Category.OTHER]
    with pytest.raises(InvalidInput, match="OTHER"):
        GuardRules(rules)


def test_rules_table_cannot_be_changed_in_place() -> None:
    rules = GuardRules.default()
    with pytest.raises(TypeError):
        rules.by_category[Category.OTHER] = rules[Category.FINANCIAL]  # type: ignore[index]


def test_categories_unbind_financial_first() -> None:
    assert UNBINDING_ORDER[0] is Category.FINANCIAL
    assert UNBINDING_ORDER[-1] is Category.OTHER


# --- composition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixed:
    """A policy with a canned verdict (or none), for composition tests."""

    verdict: Verdict | None

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        return self.verdict


def v(decision: Decision, code: str, *factors: Factor) -> Verdict:
    return Verdict(decision, (Reason(code, code.lower()),), factors)


def test_first_match_takes_the_first_policy_with_a_verdict() -> None:
    policy = first_match(Fixed(None), Fixed(v(D.ALLOW, "A")), Fixed(v(D.DENY, "B")))
    verdict = policy.evaluate(attempt(), C.NO)
    assert verdict is not None
    assert verdict.codes == ("A",)


def test_first_match_without_a_verdict_has_no_opinion() -> None:
    assert first_match(Fixed(None), Fixed(None)).evaluate(attempt(), C.NO) is None
    assert strictest().evaluate(attempt(), C.NO) is None


def test_judge_allows_and_says_so_when_no_policy_applies() -> None:
    verdict = judge(first_match(), attempt(), C.YES)
    assert verdict.decision is D.ALLOW
    assert verdict.codes == (R.NO_POLICY_APPLIES,)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        (D.ALLOW, D.STEP_UP),
        (D.STEP_UP, D.HOLD_MESSAGE),
        (D.HOLD_MESSAGE, D.DENY),
        (D.DENY, D.HIBERNATE),
    ],
)
def test_strictest_takes_the_more_severe_decision(lower: Decision, higher: Decision) -> None:
    def make(d: Decision, code: str) -> Verdict:
        return v(d, code, F.TOTP) if d in (D.STEP_UP, D.HIBERNATE) else v(d, code)

    for order in ((lower, higher), (higher, lower)):
        policy = strictest(*(Fixed(make(d, str(d))) for d in order))
        verdict = policy.evaluate(attempt(), C.NO)
        assert verdict is not None
        assert verdict.decision is higher
        assert verdict.codes == (str(higher), str(lower))  # winner's reasons first


def test_strictest_keeps_factors_that_satisfy_every_step_up() -> None:
    policy = strictest(
        Fixed(v(D.STEP_UP, "A", F.TOTP, F.PASSKEY, F.PASSWORD)),
        Fixed(v(D.STEP_UP, "B", F.PASSKEY, F.PASSWORD)),
    )
    verdict = policy.evaluate(attempt(), C.NO)
    assert verdict is not None
    assert verdict.decision is D.STEP_UP
    assert verdict.factors == (F.PASSKEY, F.PASSWORD)
    assert verdict.codes == ("A", "B")


def test_strictest_denies_when_step_ups_share_no_factor() -> None:
    policy = strictest(Fixed(v(D.STEP_UP, "A", F.TOTP)), Fixed(v(D.STEP_UP, "B", F.EMAIL)))
    verdict = policy.evaluate(attempt(), C.NO)
    assert verdict is not None
    assert verdict.decision is D.DENY
    assert verdict.codes == ("A", "B", R.STEP_UP_FACTORS_CONFLICT)


def test_strictest_does_not_repeat_a_reason() -> None:
    same = v(D.ALLOW, "A")
    verdict = strictest(Fixed(same), Fixed(same)).evaluate(attempt(), C.NO)
    assert verdict is not None
    assert verdict.codes == ("A",)


def test_strictest_keeps_a_losing_reason_only_when_its_code_is_new() -> None:
    loud = Verdict(D.STEP_UP, (Reason("UNKNOWN", "step up"),), (F.TOTP,))
    quiet = Verdict(D.ALLOW, (Reason("UNKNOWN", "allowed"), Reason("EXTRA", "extra")))
    verdict = strictest(Fixed(quiet), Fixed(loud)).evaluate(attempt(), C.NO)
    assert verdict is not None
    assert [(r.code, r.text) for r in verdict.reasons] == [
        ("UNKNOWN", "step up"),
        ("EXTRA", "extra"),
    ]


def test_only_for_limits_a_policy_to_actions_and_categories() -> None:
    deny = Fixed(v(D.DENY, "X"))
    policy = only_for(deny, actions=[A.PHONE_CHANGE], categories=[Category.SOCIAL])
    assert policy.evaluate(attempt(A.PHONE_CHANGE, Category.SOCIAL), C.NO) is not None
    assert policy.evaluate(attempt(A.SMS_LOGIN, Category.SOCIAL), C.NO) is None
    assert policy.evaluate(attempt(A.PHONE_CHANGE, Category.COMMERCE), C.NO) is None
    assert only_for(deny).evaluate(attempt(), C.NO) is not None


def test_stricter_phone_changes_compose_with_the_defaults() -> None:
    """NIST 800-63B treats changing the phone number as binding a new authenticator."""
    strict = GuardRules.default()
    for category in Category:
        strict = strict.with_category(
            category, dataclasses.replace(strict[category], on_unknown=OnUnknown.STEP_UP)
        )
    policy = strictest(default_policy(), only_for(UnknownAnswer(strict), actions=[A.PHONE_CHANGE]))
    factors = frozenset({F.EMAIL})
    change = judge(policy, attempt(A.PHONE_CHANGE, Category.SOCIAL, factors=factors), C.UNKNOWN)
    login = judge(policy, attempt(A.SMS_LOGIN, Category.SOCIAL, factors=factors), C.UNKNOWN)
    assert change.decision is D.STEP_UP
    assert change.factors == (F.EMAIL,)
    assert login.decision is D.ALLOW


def test_a_platform_policy_is_any_object_with_evaluate() -> None:
    @dataclass(frozen=True)
    class FlaggedNumbers:
        """The platform's own fraud list."""

        numbers: frozenset[str]

        def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
            if attempt.phone in self.numbers:
                return v(D.DENY, "FRAUD_LIST")
            return None

    custom: Policy = FlaggedNumbers(frozenset({PHONE}))
    verdict = judge(strictest(default_policy(), custom), attempt(), C.NO)
    assert verdict.decision is D.DENY
    assert verdict.codes == ("FRAUD_LIST", R.SAME_HOLDER_SINCE_BINDING)


def test_the_building_blocks_answer_only_their_own_outcome() -> None:
    rules = GuardRules.default()
    subject = attempt(factors=frozenset({F.TOTP}))
    assert SameHolder().evaluate(subject, C.YES) is None
    assert RecycledBinding(rules).evaluate(subject, C.NO) is None
    assert UnknownAnswer(rules).evaluate(subject, C.UNREACHABLE) is None
    assert Dormancy(rules).evaluate(subject, C.YES) is None  # an active account


# --- properties -------------------------------------------------------------------------------


@st.composite
def attempts(draw: st.DrawFn) -> Attempt:
    bound = draw(st.integers(0, 6000))
    idle = draw(st.none() | st.integers(0, bound))
    return attempt(
        draw(st.sampled_from(Action)),
        draw(st.sampled_from(Category)),
        bound_days_ago=bound,
        idle_days=idle,
        factors=frozenset(draw(st.sets(st.sampled_from(Factor)))),
    )


@given(attempts(), st.sampled_from(FailMode))
def test_an_sms_code_never_opens_a_binding_older_than_the_tenure(
    subject: Attempt, mode: FailMode
) -> None:
    policy = default_policy(GuardRules.default(unreachable=mode))
    verdict = judge(policy, subject, C.YES)
    assert verdict.decision is not D.ALLOW
    if subject.action.authenticates:
        assert verdict.decision in (D.STEP_UP, D.DENY, D.HIBERNATE)
    else:
        assert verdict.decision is D.HOLD_MESSAGE


@given(attempts(), st.sampled_from(CheckOutcome))
def test_step_up_factors_are_the_accounts_own(subject: Attempt, outcome: CheckOutcome) -> None:
    verdict = judge(default_policy(), subject, outcome)
    assert verdict.reasons
    assert set(verdict.factors) <= subject.factors


@given(attempts(), st.sampled_from(CheckOutcome), st.sampled_from(Factor))
def test_another_factor_never_makes_a_verdict_stricter(
    subject: Attempt, outcome: CheckOutcome, extra: Factor
) -> None:
    richer = dataclasses.replace(subject, factors=subject.factors | {extra})
    before = judge(default_policy(), subject, outcome).decision
    after = judge(default_policy(), richer, outcome).decision
    assert after.severity <= before.severity


@given(attempts())
def test_failing_closed_is_never_more_permissive_than_failing_open(subject: Attempt) -> None:
    closed = default_policy(GuardRules.default(unreachable=FailMode.CLOSED))
    opened = default_policy(GuardRules.default(unreachable=FailMode.OPEN))
    assert (
        judge(closed, subject, C.UNREACHABLE).decision.severity
        >= judge(opened, subject, C.UNREACHABLE).decision.severity
    )
