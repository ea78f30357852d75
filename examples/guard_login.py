"""Integrating the guard in 20 lines: may this SMS-code login open the account?

    NUMGUARD_REGISTRY_URL=http://127.0.0.1:8000 NUMGUARD_CLIENT_ID=... NUMGUARD_CLIENT_SECRET=... \
    python examples/guard_login.py +8613800138000 2023-05-01 FINANCIAL TOTP
"""

import os
import sys
from datetime import UTC, datetime

from numguard.guard import Action, Attempt, Category, Decision, Factor, Guard, RegistryClient

env = os.environ
guard = Guard(RegistryClient(env["NUMGUARD_REGISTRY_URL"], env["NUMGUARD_CLIENT_ID"],
                             env["NUMGUARD_CLIENT_SECRET"]))


def sms_login(phone: str, bound_at: datetime, category: Category, factors: set[Factor]) -> str:
    """Called after the SMS code checked out: what the login page does next."""
    now = datetime.now(UTC)
    verdict = guard.decide(Attempt(action=Action.SMS_LOGIN, phone=phone, bound_at=bound_at,
                                   category=category, last_active_at=now, factors=factors, now=now))
    if verdict.decision is Decision.ALLOW:
        return "welcome"
    if verdict.decision in (Decision.STEP_UP, Decision.HIBERNATE):
        return f"confirm with {' or '.join(verdict.factors)}: {verdict.explanation}"
    return f"refused: {verdict.explanation}"  # DENY: recover through identity verification


if __name__ == "__main__":
    phone, day, category, *factors = sys.argv[1:]
    bound = datetime.fromisoformat(day).replace(tzinfo=UTC)
    print(sms_login(phone, bound, Category(category), {Factor(f) for f in factors}))
