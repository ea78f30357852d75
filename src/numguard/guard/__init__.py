"""numguard's guard: the library a platform drops into its login and password-reset code.

It asks the registry whether the number changed holder since the account was bound to it and
turns the answer into a verdict (``docs/guard.md`` has the policy table)::

    from numguard.guard import Action, Attempt, Category, Factor, Guard, RegistryClient

    guard = Guard(RegistryClient("https://registry.example", "bank-1", secret))
    verdict = guard.decide(Attempt(action=Action.SMS_LOGIN, phone="+8613800138000", ...))

It needs only ``numguard.domain``, ``numguard.errors`` and httpx, never the server code.
"""

from numguard.domain.binding import Category
from numguard.domain.guard import (
    Action,
    Attempt,
    CategoryRules,
    CheckOutcome,
    Decision,
    Dormancy,
    Factor,
    FailMode,
    FirstMatch,
    GuardRules,
    OnlyFor,
    OnUnknown,
    Policy,
    Reason,
    ReasonCode,
    RecycledBinding,
    RegistryUnreachable,
    SameHolder,
    Strictest,
    UnknownAnswer,
    Verdict,
    default_policy,
    first_match,
    judge,
    only_for,
    strictest,
)
from numguard.guard.cache import TTLCache
from numguard.guard.client import (
    AsyncRegistryClient,
    CheckResult,
    RegistryClient,
    RetryPolicy,
)
from numguard.guard.guard import Assessment, AsyncChecker, AsyncGuard, Checker, Guard

__all__ = [
    "Action",
    "Assessment",
    "AsyncChecker",
    "AsyncGuard",
    "AsyncRegistryClient",
    "Attempt",
    "Category",
    "CategoryRules",
    "CheckOutcome",
    "CheckResult",
    "Checker",
    "Decision",
    "Dormancy",
    "Factor",
    "FailMode",
    "FirstMatch",
    "Guard",
    "GuardRules",
    "OnUnknown",
    "OnlyFor",
    "Policy",
    "Reason",
    "ReasonCode",
    "RecycledBinding",
    "RegistryClient",
    "RegistryUnreachable",
    "RetryPolicy",
    "SameHolder",
    "Strictest",
    "TTLCache",
    "UnknownAnswer",
    "Verdict",
    "default_policy",
    "first_match",
    "judge",
    "only_for",
    "strictest",
]
