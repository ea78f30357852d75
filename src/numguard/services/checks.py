"""Recycling checks: one number, a list, or a stream; every check is audited.

Single checks parse the number (cached), read the in-memory index and call the domain's
:func:`~numguard.domain.answer.decide`. Lists and streams go through :func:`decide_many`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from numguard.domain.answer import (
    UNREPORTED_FACTS,
    AnswerReason,
    Recycled,
    RecyclingAnswer,
    SpecifiedDateInFuture,
    decide,
)
from numguard.domain.phone import E164_SHAPE, parse_phone_number
from numguard.errors import InvalidInput, NumguardError
from numguard.services.audit import AuditEntry, AuditTrail, NumberHasher, encode_items
from numguard.services.index import (
    EPOCH,
    REASON_CODES,
    AnswerIndex,
    VectorCoverage,
    day_number,
    decide_many,
    held_now_many,
)
from numguard.services.registry import RegistryService

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str, field: str = "specifiedDate") -> date:
    """Strict ``YYYY-MM-DD``."""
    if not isinstance(text, str) or not _DATE.match(text):
        raise InvalidInput(f"{field} must be a date in YYYY-MM-DD form")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{field} {text} is not a calendar date") from exc


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's answer, for a number in E.164."""

    phone_number: str
    specified_date: date
    answer: RecyclingAnswer


@dataclass(frozen=True)
class BulkAnswers:
    """Answers for many checks: reason codes plus who is held now; errors per row."""

    reasons: npt.NDArray[np.uint8]
    held_now: npt.NDArray[np.int8]
    errors: dict[int, NumguardError]

    def answer(self, i: int) -> RecyclingAnswer | None:
        """The answer of row *i* (``None`` for a row with an error)."""
        if i in self.errors:
            return None
        reason = REASON_CODES[int(self.reasons[i])]
        held = int(self.held_now[i])
        recycled = _RECYCLED[reason]
        return RecyclingAnswer(
            recycled, reason, None if held < 0 or reason is AnswerReason.NOT_COVERED else bool(held)
        )


_RECYCLED = {
    AnswerReason.HOLDER_CHANGED: Recycled.YES,
    AnswerReason.HOLDER_STARTED_AFTER: Recycled.YES,
    AnswerReason.NOT_HELD: Recycled.YES,
    AnswerReason.SAME_HOLDER: Recycled.NO,
    AnswerReason.NO_CHANGE_REPORTED: Recycled.NO,
    AnswerReason.BEFORE_TRACKING: Recycled.UNKNOWN,
    AnswerReason.NOT_COVERED: Recycled.UNKNOWN,
}


class CheckService:
    """Answers recycling checks from the in-memory index and audits each of them."""

    def __init__(
        self,
        registry: RegistryService,
        index: AnswerIndex,
        audit: AuditTrail,
        hasher: NumberHasher,
        *,
        default_region: str,
        today: Callable[[], date],
        now: Callable[[], datetime],
    ) -> None:
        self.registry = registry
        self.index = index
        self.audit = audit
        self.hasher = hasher
        self.default_region = default_region
        self.today = today
        self.now = now
        self._vector: tuple[object, VectorCoverage] | None = None

    def answer(self, e164: str, on: date) -> RecyclingAnswer:
        """The answer for a number already in E.164 (no audit)."""
        found = self.index.facts(e164)
        facts, carrier = found if found is not None else (UNREPORTED_FACTS, None)
        covered, tracking = self.registry.coverage.tracking_since(e164, carrier)
        return decide(facts, on=on, today=self.today(), covered=covered, tracking_since=tracking)

    def check(
        self,
        phone_text: str,
        on: date,
        *,
        client_id: str | None,
        correlator: str | None = None,
        protocol: str = "native",
    ) -> CheckResult:
        """Parse, answer and audit one check. Raises the phone and date errors (audited too)."""
        e164: str | None = None
        outcome = "error:INTERNAL"
        try:
            e164 = parse_phone_number(phone_text, self.default_region)
            answer = self.answer(e164, on)
            outcome = _ANSWER_TEXT[answer.reason]
        except NumguardError as exc:
            outcome = f"error:{exc.code}"
            raise
        finally:
            self.audit.record(
                AuditEntry(
                    at=self.now(),
                    kind="CHECK",
                    client_id=client_id,
                    correlator=correlator,
                    number_hash=self.hasher.hex(e164) if e164 is not None else None,
                    specified_date=on,
                    answer=outcome,
                    detail=_protocol_detail(protocol),
                )
            )
        return CheckResult(e164, on, answer)

    def vector_coverage(self) -> VectorCoverage:
        """Coverage arrays, rebuilt when the carriers change."""
        coverage = self.registry.coverage
        cached = self._vector
        if cached is None or cached[0] is not coverage:
            cached = (coverage, VectorCoverage(coverage, self.index))
            self._vector = cached
        return cached[1]

    def answer_keys(
        self, keys: npt.NDArray[np.int64], days: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int8]]:
        """The engine: reason codes and held-now flags for E.164 keys and day numbers."""
        found, facts = self.index.lookup_many(keys)
        reasons = decide_many(found, facts, self.vector_coverage(), days)
        return reasons, held_now_many(found, facts)

    def check_many(
        self,
        numbers: Sequence[str],
        dates: Sequence[str],
        *,
        client_id: str | None,
        correlator: str | None = None,
        protocol: str = "bulk",
    ) -> tuple[list[str | None], BulkAnswers]:
        """Answer many (number, date) text pairs; bad rows get an error, the rest an answer.

        Returns the E.164 form of each number (``None`` where it had an error) and the answers.
        """
        n = len(numbers)
        errors: dict[int, NumguardError] = {}
        today = day_number(self.today())
        days = self._days(dates, errors, today)
        shape = E164_SHAPE.fullmatch
        shaped = [shape(t) is not None for t in numbers]
        keys = np.array(
            [int(t[1:]) if ok else 0 for t, ok in zip(numbers, shaped, strict=True)], np.int64
        )
        found, _ = self.index.lookup_many(keys)
        # Reported numbers were validated when their first event was accepted; the rest go
        # through phonenumbers (national forms, unreported or invalid numbers).
        e164s: list[str | None] = [
            t if ok and f else None
            for t, ok, f in zip(numbers, shaped, found.tolist(), strict=True)
        ]
        for i in [i for i, e in enumerate(e164s) if e is None]:
            if i in errors:
                continue
            try:
                e164 = parse_phone_number(numbers[i], self.default_region)
            except NumguardError as exc:
                errors[i] = exc
                continue
            e164s[i] = e164
            keys[i] = int(e164[1:])
        for i in errors:
            e164s[i] = None
        reasons, held = self.answer_keys(keys, days)
        answers = BulkAnswers(reasons, held, errors)
        ok = [i for i, e in enumerate(e164s) if e is not None] if errors else list(range(n))
        raw = self.hasher.raw
        hashes = [raw(e) for e in e164s if e is not None]
        self.audit.write_now(
            [
                AuditEntry(
                    at=self.now(),
                    kind="BULK_CHECK",
                    client_id=client_id,
                    correlator=correlator,
                    detail={
                        "protocol": protocol,
                        "count": n,
                        "errors": len(errors),
                        "yes": int(np.sum(_yes_mask(reasons[ok]))) if ok else 0,
                    },
                    items=encode_items(hashes, days[ok], reasons[ok]),
                )
            ]
        )
        return e164s, answers

    @staticmethod
    def _days(
        dates: Sequence[str], errors: dict[int, NumguardError], today: int
    ) -> npt.NDArray[np.int32]:
        """Day numbers of ``YYYY-MM-DD`` texts, vectorised; bad or future dates become errors."""
        match = _DATE.fullmatch
        if all(isinstance(d, str) and match(d) for d in dates):
            try:
                days = np.array(dates, dtype="datetime64[D]").astype(np.int64).astype(np.int32)
            except ValueError:
                days = None  # an impossible date somewhere: find it row by row
            if days is not None:
                for i in np.flatnonzero(days > today).tolist():
                    errors[i] = SpecifiedDateInFuture("specifiedDate is in the future")
                return days
        out = np.zeros(len(dates), np.int32)
        for i, text in enumerate(dates):
            try:
                day = day_number(parse_date(text))
                if day > today:
                    raise SpecifiedDateInFuture("specifiedDate is in the future")
                out[i] = day
            except NumguardError as exc:
                errors[i] = exc
        return out


_ANSWER_TEXT = {reason: f"{_RECYCLED[reason].value}:{reason.value}" for reason in AnswerReason}
_DETAILS: dict[str, str] = {}


def _protocol_detail(protocol: str) -> str:
    text = _DETAILS.get(protocol)
    if text is None:
        text = _DETAILS[protocol] = json.dumps({"protocol": protocol})
    return text


_YES_CODES = np.array(
    [i for i, r in enumerate(REASON_CODES) if _RECYCLED[r] is Recycled.YES], np.uint8
)


def _yes_mask(reasons: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    return np.isin(reasons, _YES_CODES)


def date_of_day(day: int) -> date:
    """Inverse of :func:`day_number`."""
    return date.fromordinal(EPOCH.toordinal() + day)
