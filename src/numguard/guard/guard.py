"""The guard a platform calls: a registry client plus a policy gives a verdict for an attempt."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from numguard.domain.guard import Attempt, CheckOutcome, Policy, Verdict, default_policy, judge
from numguard.guard.client import CheckResult

log = logging.getLogger("numguard.guard")


class Checker(Protocol):
    """What the guard needs from a registry client (:class:`~numguard.guard.RegistryClient`)."""

    def check(self, phone: str, on: date) -> CheckResult:
        """Has the holder of *phone* changed since *on*?"""
        ...


class AsyncChecker(Protocol):
    """The asyncio flavour of :class:`Checker`."""

    async def check(self, phone: str, on: date) -> CheckResult:
        """Has the holder of *phone* changed since *on*?"""
        ...


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict with the registry check it was based on (log both)."""

    verdict: Verdict
    check: CheckResult


def _log_if_unreachable(assessment: Assessment) -> None:
    if assessment.check.outcome is CheckOutcome.UNREACHABLE:
        log.warning(
            "numguard guard decided %s without the registry (%s): %s",
            assessment.verdict.decision,
            assessment.check.detail,
            ",".join(assessment.verdict.codes),
        )


class Guard:
    """Decides SMS-based attempts: ``Guard(client).decide(attempt)`` returns a :class:`Verdict`.

    ``policy`` defaults to :func:`~numguard.domain.guard.default_policy`.
    """

    def __init__(self, checker: Checker, policy: Policy | None = None) -> None:
        self.checker = checker
        self.policy = policy if policy is not None else default_policy()

    def assess(self, attempt: Attempt) -> Assessment:
        """Check the binding date with the registry and judge the attempt."""
        check = self.checker.check(attempt.phone, attempt.specified_date)
        assessment = Assessment(judge(self.policy, attempt, check.outcome), check)
        _log_if_unreachable(assessment)
        return assessment

    def decide(self, attempt: Attempt) -> Verdict:
        """The verdict for *attempt* (see :meth:`assess` for the check behind it)."""
        return self.assess(attempt).verdict


class AsyncGuard:
    """The asyncio flavour of :class:`Guard`."""

    def __init__(self, checker: AsyncChecker, policy: Policy | None = None) -> None:
        self.checker = checker
        self.policy = policy if policy is not None else default_policy()

    async def assess(self, attempt: Attempt) -> Assessment:
        """Check the binding date with the registry and judge the attempt."""
        check = await self.checker.check(attempt.phone, attempt.specified_date)
        assessment = Assessment(judge(self.policy, attempt, check.outcome), check)
        _log_if_unreachable(assessment)
        return assessment

    async def decide(self, attempt: Attempt) -> Verdict:
        """The verdict for *attempt*."""
        return (await self.assess(attempt)).verdict
