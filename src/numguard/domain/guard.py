"""The guard's policy engine: what a platform should do with an SMS-based attempt on an account.

A platform asks the registry "has the holder of this number changed since the account was bound
to it?" and hands the answer (a :class:`CheckOutcome`) with the :class:`Attempt` to a
:class:`Policy`, which returns a :class:`Verdict`: allow, step up to a non-phone factor, deny, hold
an outgoing message, or hibernate a dormant account, always with the reasons why.

The defaults follow NIST SP 800-63B, which makes the phone network a *restricted* authenticator
(§5.1.3.3: verifiers SHOULD weigh "device swap, SIM change, number porting" before sending a code
over it, and SHALL offer alternative authenticators): a binding older than the number's current
tenure never opens with an SMS code alone. ``docs/guard.md`` has the full table.

Policies are small objects composed with :func:`first_match`, :func:`strictest` and
:func:`only_for`; their per-category settings live in one :class:`GuardRules` table. Everything
here is pure: time comes in with the attempt, the registry's answer comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from numguard.domain.answer import Recycled
from numguard.domain.binding import Category
from numguard.domain.phone import is_e164_shape
from numguard.errors import InvalidInput

# --- the vocabulary --------------------------------------------------------------------------


class Action(StrEnum):
    """What the platform is about to do with the phone number."""

    SMS_LOGIN = "SMS_LOGIN"  # log in with a code sent to the number
    SMS_PASSWORD_RESET = "SMS_PASSWORD_RESET"  # noqa: S105  an action name: reset via an SMS code
    PHONE_CHANGE = "PHONE_CHANGE"  # move the account off this number, approved by a code sent to it
    OUTGOING_SMS = "OUTGOING_SMS"  # send a notice, bill or alert to the number

    @property
    def authenticates(self) -> bool:
        """Whether an SMS code sent to the number is used to prove who the person is."""
        return self is not Action.OUTGOING_SMS


AUTHENTICATING_ACTIONS: frozenset[Action] = frozenset(a for a in Action if a.authenticates)
"""The actions in which an SMS code stands for the account owner."""


class Factor(StrEnum):
    """A non-phone way for an account's owner to prove who they are.

    The declaration order is the order verdicts list factors in: phishing-resistant first,
    identity proofing (the heaviest for the person) last.
    """

    PASSKEY = "PASSKEY"  # WebAuthn / FIDO2 credential, including hardware security keys
    TOTP = "TOTP"  # authenticator-app one-time codes (RFC 6238)
    TRUSTED_DEVICE = "TRUSTED_DEVICE"  # an app install bound to the account earlier (push approval)
    PASSWORD = "PASSWORD"  # noqa: S105  a factor name: a memorised secret
    EMAIL = "EMAIL"  # a code or link sent to a verified email address
    ID_DOCUMENT = "ID_DOCUMENT"  # real-name check: ID document with liveness, or at a counter


_FACTOR_ORDER = {f: i for i, f in enumerate(Factor)}


def _ordered(factors: Iterable[Factor]) -> tuple[Factor, ...]:
    return tuple(sorted(set(factors), key=_FACTOR_ORDER.__getitem__))


class CheckOutcome(StrEnum):
    """What the registry said about the binding date, or that it could not be asked."""

    YES = "yes"  # the holder changed on or after the binding date: the binding predates the tenure
    NO = "no"  # one holder has held the number since the binding date
    UNKNOWN = "unknown"  # the registry has no data to decide
    UNREACHABLE = "unreachable"  # no answer: network failure, outage, rejected credentials

    @classmethod
    def of(cls, recycled: Recycled) -> CheckOutcome:
        """The outcome for a registry answer."""
        return cls(recycled.value)


class Decision(StrEnum):
    """What the platform should do, from most to least permissive."""

    ALLOW = "ALLOW"
    STEP_UP = "STEP_UP"  # ask for one of the verdict's factors instead of relying on the SMS code
    HOLD_MESSAGE = "HOLD_MESSAGE"  # do not send the message now; queue it or use another channel
    DENY = "DENY"
    HIBERNATE = "HIBERNATE"  # put the account to sleep; it wakes only with a non-phone factor

    @property
    def severity(self) -> int:
        """Rank used by :func:`strictest`: a higher number wins."""
        return _SEVERITY[self]


_SEVERITY = {d: i for i, d in enumerate(Decision)}


class ReasonCode(StrEnum):
    """Machine codes of the reasons the default policies give (custom policies may add more)."""

    SAME_HOLDER_SINCE_BINDING = "SAME_HOLDER_SINCE_BINDING"
    BOUND_BEFORE_CURRENT_TENURE = "BOUND_BEFORE_CURRENT_TENURE"
    ANSWER_UNKNOWN = "ANSWER_UNKNOWN"
    REGISTRY_UNREACHABLE_FAIL_OPEN = "REGISTRY_UNREACHABLE_FAIL_OPEN"
    REGISTRY_UNREACHABLE_FAIL_CLOSED = "REGISTRY_UNREACHABLE_FAIL_CLOSED"
    DORMANT = "DORMANT"
    NO_ACCEPTED_FACTOR = "NO_ACCEPTED_FACTOR"
    STEP_UP_FACTORS_CONFLICT = "STEP_UP_FACTORS_CONFLICT"
    NO_POLICY_APPLIES = "NO_POLICY_APPLIES"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for a verdict: a stable machine ``code`` and a sentence for a person or a log."""

    code: str
    text: str

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision with its reasons and, for STEP_UP and HIBERNATE, the factors that would do.

    ``factors`` are the account's own non-phone factors that the policy accepts, in
    :class:`Factor` order; any one of them is enough. A HIBERNATE verdict with no factors means
    the account can only be woken through the platform's identity verification.
    """

    decision: Decision
    reasons: tuple[Reason, ...]
    factors: tuple[Factor, ...] = ()

    def __post_init__(self) -> None:
        if not self.reasons:
            raise InvalidInput("a verdict needs at least one reason")
        if self.decision is Decision.STEP_UP and not self.factors:
            raise InvalidInput("a STEP_UP verdict names the factors that would do")
        if self.factors and self.decision not in (Decision.STEP_UP, Decision.HIBERNATE):
            raise InvalidInput(f"a {self.decision} verdict carries no factors")
        object.__setattr__(self, "factors", _ordered(self.factors))

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, in order (handy for logs and metrics)."""
        return tuple(r.code for r in self.reasons)

    @property
    def explanation(self) -> str:
        """All reasons on one line."""
        return "; ".join(str(r) for r in self.reasons)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One thing a platform wants to do with an account's phone number.

    ``bound_at`` is when the account's owner bound the number (or last re-confirmed it: an SMS
    code entered in a session already proven with a non-phone factor); its calendar date is the
    date the registry is asked about. Pass the datetimes in the registry's jurisdiction time
    (e.g. Asia/Shanghai) for exact day boundaries; in UTC the day can come out one earlier, which
    only makes the answer more cautious.
    ``last_active_at`` is the owner's last real use of the account (``None``: none since
    binding). ``factors`` are the non-phone factors the account has. All datetimes must be
    timezone-aware.
    """

    action: Action
    phone: str
    bound_at: datetime
    category: Category
    now: datetime
    last_active_at: datetime | None = None
    factors: frozenset[Factor] = frozenset()

    def __post_init__(self) -> None:
        if not is_e164_shape(self.phone):
            raise InvalidInput(f"phone must be E.164 (+ and 5 to 15 digits), got {self.phone!r}")
        for name in ("bound_at", "now", "last_active_at"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise InvalidInput(f"{name} must be timezone-aware")
        if self.bound_at > self.now:
            raise InvalidInput("bound_at is after now")
        object.__setattr__(self, "factors", frozenset(self.factors))

    @property
    def specified_date(self) -> date:
        """The date the registry is asked about: the binding's calendar date."""
        return self.bound_at.date()

    @property
    def idle(self) -> timedelta:
        """How long the account has gone unused (since binding when it was never used)."""
        last = self.last_active_at if self.last_active_at is not None else self.bound_at
        return max(self.now - last, timedelta(0))


# --- per-category rules -----------------------------------------------------------------------


class FailMode(StrEnum):
    """What to do when the registry cannot be reached."""

    OPEN = "OPEN"  # allow (or send), with a reason saying so
    CLOSED = "CLOSED"  # treat the binding as recycled: step up or deny (or hold the message)


class OnUnknown(StrEnum):
    """What an SMS code is worth when the registry has no data about the binding date."""

    ALLOW_WITH_NOTICE = "ALLOW_WITH_NOTICE"
    STEP_UP = "STEP_UP"


@dataclass(frozen=True, slots=True)
class CategoryRules:
    """The settings the default policies use for one :class:`Category`.

    ``step_up_factors``: the non-phone factors accepted in place of an SMS code.
    ``dormant_after``: idle time after which the account hibernates (``None``: never).
    """

    step_up_factors: frozenset[Factor]
    dormant_after: timedelta | None
    on_unknown: OnUnknown
    on_unreachable: FailMode


FINANCIAL_STEP_UP_FACTORS: frozenset[Factor] = frozenset(
    {Factor.PASSKEY, Factor.TOTP, Factor.TRUSTED_DEVICE, Factor.ID_DOCUMENT}
)
"""Possession factors and identity proofing: what can stand in for the SMS code's possession
proof on a financial account. A password alone or an email code does not."""

ANY_NON_PHONE_FACTOR: frozenset[Factor] = frozenset(Factor)
"""Every non-phone factor: for non-financial accounts, where SMS is often the only factor."""

FINANCIAL_DORMANT_AFTER = timedelta(days=365)
"""One year: the 长期不动户 (dormant account) threshold of Chinese banking for unit accounts
(《人民币银行结算账户管理办法》: a year without receipts or payments). A judgement call for
personal accounts, where banks' rules run from two to five years; docs/guard.md has the sources."""

DEFAULT_DORMANT_AFTER = timedelta(days=730)
"""Two years: the inactivity period after which Google (policy of 2023) may delete a personal
account. A judgement call borrowed from industry practice, not a regulation."""


@dataclass(frozen=True, slots=True)
class GuardRules:
    """The per-category table of :class:`CategoryRules`; every category must be present."""

    by_category: Mapping[Category, CategoryRules]

    def __post_init__(self) -> None:
        missing = [c for c in Category if c not in self.by_category]
        if missing:
            raise InvalidInput(f"no rules for {', '.join(missing)}")
        object.__setattr__(self, "by_category", MappingProxyType(dict(self.by_category)))

    def __getitem__(self, category: Category) -> CategoryRules:
        return self.by_category[category]

    @classmethod
    def default(cls, *, unreachable: FailMode = FailMode.OPEN) -> GuardRules:
        """The documented defaults; ``unreachable`` applies to every category but FINANCIAL.

        FINANCIAL always fails closed here; override it explicitly with :meth:`with_category`.
        """
        financial = CategoryRules(
            step_up_factors=FINANCIAL_STEP_UP_FACTORS,
            dormant_after=FINANCIAL_DORMANT_AFTER,
            on_unknown=OnUnknown.STEP_UP,
            on_unreachable=FailMode.CLOSED,
        )
        others = CategoryRules(
            step_up_factors=ANY_NON_PHONE_FACTOR,
            dormant_after=DEFAULT_DORMANT_AFTER,
            on_unknown=OnUnknown.ALLOW_WITH_NOTICE,
            on_unreachable=unreachable,
        )
        return cls({c: financial if c is Category.FINANCIAL else others for c in Category})

    def with_category(self, category: Category, rules: CategoryRules) -> GuardRules:
        """A copy with *category*'s rules replaced (use ``dataclasses.replace`` on the old ones)."""
        return GuardRules({**self.by_category, category: rules})


# --- policies ---------------------------------------------------------------------------------


class Policy(Protocol):
    """Anything that can judge an attempt; ``None`` means "no opinion, ask the next policy"."""

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """Judge *attempt* given the registry's *outcome* for its binding date."""
        ...


def _no_factor_reason(attempt: Attempt, accepted: frozenset[Factor]) -> Reason:
    names = ", ".join(_ordered(accepted)) or "none"
    return Reason(
        ReasonCode.NO_ACCEPTED_FACTOR,
        f"the account has no non-phone factor accepted for {attempt.category} accounts "
        f"({names}); recover it through the platform's identity verification",
    )


def step_up_or_deny(attempt: Attempt, accepted: frozenset[Factor], reason: Reason) -> Verdict:
    """STEP_UP to the account's factors that *accepted* allows, or DENY when it has none."""
    usable = attempt.factors & accepted
    if usable:
        return Verdict(Decision.STEP_UP, (reason,), tuple(usable))
    return Verdict(Decision.DENY, (reason, _no_factor_reason(attempt, accepted)))


@dataclass(frozen=True, slots=True)
class SameHolder:
    """Registry answer "no": the person with the SIM is the person who bound it. ALLOW."""

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """ALLOW when the outcome is NO."""
        if outcome is not CheckOutcome.NO:
            return None
        return Verdict(
            Decision.ALLOW,
            (
                Reason(
                    ReasonCode.SAME_HOLDER_SINCE_BINDING,
                    f"one holder has held the number since the binding date "
                    f"{attempt.specified_date}",
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class RecycledBinding:
    """Registry answer "yes": the binding predates the current holder's tenure.

    An SMS code then proves only that the *new* holder has the SIM, so it never opens the
    account alone: STEP_UP to a non-phone factor, or DENY when the account has none. An outgoing
    message would reach the new holder: HOLD_MESSAGE.
    """

    rules: GuardRules = field(default_factory=GuardRules.default)

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """STEP_UP / DENY / HOLD_MESSAGE when the outcome is YES."""
        if outcome is not CheckOutcome.YES:
            return None
        day = attempt.specified_date
        if not attempt.action.authenticates:
            return Verdict(
                Decision.HOLD_MESSAGE,
                (
                    Reason(
                        ReasonCode.BOUND_BEFORE_CURRENT_TENURE,
                        f"the number changed holder on or after the binding date {day}; "
                        "the message would reach someone else",
                    ),
                ),
            )
        reason = Reason(
            ReasonCode.BOUND_BEFORE_CURRENT_TENURE,
            f"the number changed holder on or after the binding date {day}; "
            "an SMS code proves only that the new holder has the SIM",
        )
        return step_up_or_deny(attempt, self.rules[attempt.category].step_up_factors, reason)


@dataclass(frozen=True, slots=True)
class UnknownAnswer:
    """Registry answer "unknown": per category, step up or allow with a notice.

    Outgoing messages are always sent (with a notice): holding them would also silence the fraud
    alerts that protect the current owner.
    """

    rules: GuardRules = field(default_factory=GuardRules.default)

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """ALLOW with notice, or STEP_UP / DENY, when the outcome is UNKNOWN."""
        if outcome is not CheckOutcome.UNKNOWN:
            return None
        rules = self.rules[attempt.category]
        if attempt.action.authenticates and rules.on_unknown is OnUnknown.STEP_UP:
            reason = Reason(
                ReasonCode.ANSWER_UNKNOWN,
                f"the registry cannot tell whether the number changed holder since "
                f"{attempt.specified_date}; {attempt.category} accounts need a non-phone factor",
            )
            return step_up_or_deny(attempt, rules.step_up_factors, reason)
        return Verdict(
            Decision.ALLOW,
            (
                Reason(
                    ReasonCode.ANSWER_UNKNOWN,
                    f"notice: the registry cannot tell whether the number changed holder since "
                    f"{attempt.specified_date}; allowed under the {attempt.category} rules",
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class RegistryUnreachable:
    """No answer from the registry: fail open or closed per category, and say which.

    Failing closed treats the binding as recycled (STEP_UP / DENY, or HOLD_MESSAGE for an
    outgoing message, which can be sent once the registry answers again).
    """

    rules: GuardRules = field(default_factory=GuardRules.default)

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """Apply the category's :class:`FailMode` when the outcome is UNREACHABLE."""
        if outcome is not CheckOutcome.UNREACHABLE:
            return None
        rules = self.rules[attempt.category]
        if rules.on_unreachable is FailMode.OPEN:
            return Verdict(
                Decision.ALLOW,
                (
                    Reason(
                        ReasonCode.REGISTRY_UNREACHABLE_FAIL_OPEN,
                        f"the registry could not be reached; {attempt.category} accounts fail open",
                    ),
                ),
            )
        reason = Reason(
            ReasonCode.REGISTRY_UNREACHABLE_FAIL_CLOSED,
            f"the registry could not be reached; {attempt.category} accounts fail closed",
        )
        if not attempt.action.authenticates:
            return Verdict(Decision.HOLD_MESSAGE, (reason,))
        return step_up_or_deny(attempt, rules.step_up_factors, reason)


@dataclass(frozen=True, slots=True)
class Dormancy:
    """Accounts idle longer than their category's ``dormant_after`` HIBERNATE.

    Applies to the authenticating actions whatever the registry says: a dormant account wakes
    only with a non-phone factor. Outgoing messages are judged by the registry's answer alone.
    """

    rules: GuardRules = field(default_factory=GuardRules.default)

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """HIBERNATE a dormant account on an authenticating action."""
        rules = self.rules[attempt.category]
        threshold = rules.dormant_after
        if not attempt.action.authenticates or threshold is None or attempt.idle <= threshold:
            return None
        reasons = [
            Reason(
                ReasonCode.DORMANT,
                f"unused for {attempt.idle.days} days (the {attempt.category} threshold is "
                f"{threshold.days}); it wakes only with a non-phone factor",
            )
        ]
        usable = attempt.factors & rules.step_up_factors
        if not usable:
            reasons.append(_no_factor_reason(attempt, rules.step_up_factors))
        return Verdict(Decision.HIBERNATE, tuple(reasons), tuple(usable))


# --- combinators ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FirstMatch:
    """The first verdict any of ``policies`` gives, in order."""

    policies: tuple[Policy, ...]

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """The first non-``None`` verdict."""
        for policy in self.policies:
            verdict = policy.evaluate(attempt, outcome)
            if verdict is not None:
                return verdict
        return None


def _merge_reasons(winners: Iterable[Verdict], losers: Iterable[Verdict]) -> tuple[Reason, ...]:
    """The winners' reasons, then the losers' whose codes the winners do not already give."""
    merged: dict[Reason, None] = {}
    for verdict in winners:
        for reason in verdict.reasons:
            merged.setdefault(reason, None)
    given = {r.code for r in merged}
    for verdict in losers:
        for reason in verdict.reasons:
            if reason.code not in given:
                merged.setdefault(reason, None)
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class Strictest:
    """Every policy judges; the most severe decision wins (see :attr:`Decision.severity`).

    The result carries the winners' reasons first, then those of the others whose codes are not
    already there (so a log shows the whole picture without contradicting itself). Factors of
    equally severe verdicts are intersected, since one factor must satisfy all of them; two
    STEP_UPs with no factor in common become a DENY.
    """

    policies: tuple[Policy, ...]

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """The strictest verdict, or ``None`` when no policy has one."""
        verdicts = [v for p in self.policies if (v := p.evaluate(attempt, outcome)) is not None]
        if not verdicts:
            return None
        top = max(v.decision.severity for v in verdicts)
        winners = [v for v in verdicts if v.decision.severity == top]
        losers = [v for v in verdicts if v.decision.severity != top]
        decision = winners[0].decision
        reasons = _merge_reasons(winners, losers)
        if decision not in (Decision.STEP_UP, Decision.HIBERNATE):
            return Verdict(decision, reasons)
        common = set(winners[0].factors).intersection(*(v.factors for v in winners[1:]))
        if decision is Decision.STEP_UP and not common:
            conflict = Reason(
                ReasonCode.STEP_UP_FACTORS_CONFLICT,
                "the policies ask for step-up factors that no single factor satisfies",
            )
            return Verdict(Decision.DENY, (*reasons, conflict))
        return Verdict(decision, reasons, tuple(common))


@dataclass(frozen=True, slots=True)
class OnlyFor:
    """``policy``, restricted to some actions and/or categories (``None``: all of them)."""

    policy: Policy
    actions: frozenset[Action] | None = None
    categories: frozenset[Category] | None = None

    def evaluate(self, attempt: Attempt, outcome: CheckOutcome) -> Verdict | None:
        """The inner policy's verdict when the attempt is in scope, else ``None``."""
        if self.actions is not None and attempt.action not in self.actions:
            return None
        if self.categories is not None and attempt.category not in self.categories:
            return None
        return self.policy.evaluate(attempt, outcome)


def first_match(*policies: Policy) -> FirstMatch:
    """Compose: the first policy with a verdict decides."""
    return FirstMatch(policies)


def strictest(*policies: Policy) -> Strictest:
    """Compose: every policy judges and the most severe verdict wins."""
    return Strictest(policies)


def only_for(
    policy: Policy,
    *,
    actions: Iterable[Action] | None = None,
    categories: Iterable[Category] | None = None,
) -> OnlyFor:
    """Compose: apply *policy* only to the given actions and/or categories."""
    return OnlyFor(
        policy,
        frozenset(actions) if actions is not None else None,
        frozenset(categories) if categories is not None else None,
    )


def default_policy(rules: GuardRules | None = None) -> Policy:
    """The documented default: dormancy, then whichever answer policy matches, strictest wins."""
    table = rules if rules is not None else GuardRules.default()
    return strictest(
        Dormancy(table),
        first_match(
            RecycledBinding(table),
            SameHolder(),
            UnknownAnswer(table),
            RegistryUnreachable(table),
        ),
    )


def judge(policy: Policy, attempt: Attempt, outcome: CheckOutcome) -> Verdict:
    """Evaluate *policy*; when no policy has an opinion, ALLOW and say so in the reason."""
    verdict = policy.evaluate(attempt, outcome)
    if verdict is not None:
        return verdict
    return Verdict(
        Decision.ALLOW,
        (Reason(ReasonCode.NO_POLICY_APPLIES, "no policy has a verdict for this attempt"),),
    )
