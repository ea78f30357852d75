"""The people's side: 一证通查 lookups, 焕新 unbind requests and the cancellation plan.

This is the one service the web portal and the ``/v1/lookups`` API call. A person proves they
hold a phone (an SMS code sent to it) and names an identity (the last six characters of the ID
for the 2.0 "accounts on my number" view, the full ID for the 1.0 "numbers under my ID" view).

Flow::

    started = people.start_lookup("+8613800138000", id_suffix="12345X")   # code sent by SMS
    session = people.verify_code(started.lookup_id, "123456")           # -> session token
    people.accounts(session.token)      # 2.0: bindings on the number, BEFORE / DURING tenure
    people.numbers(session.token)       # 1.0: numbers under the ID (full-ID lookups only)
    people.request_renewal(session.token)   # 焕新: one unbind request per platform
    people.unbind_requests(session.token)   # their statuses
    people.cancellation_plan(session.token) # the ordered checklist; plan_csv(plan) for download

Rules worth knowing:

- **No probing.** :meth:`PeopleService.start_lookup` does the same work and returns the same
  value whether or not the ID matches the number's holder (or whether the number has a holder at
  all): it hashes the claim, stores it, and sends a code to the phone. A match is decided at
  :meth:`PeopleService.verify_code` time against the *current* holder, and a mismatch shows only
  then, as a result with ``matched=False`` and nothing in it.
- **Codes** are 6 digits, valid ``lookup_code_ttl_seconds`` (600), single use, and locked after
  ``lookup_max_attempts`` (5) wrong tries. Only a keyed hash is stored. One lookup per phone
  number per ``lookup_interval_hours`` (24).
- **Sessions** are opaque tokens (``<lookup id>.<secret>``) valid ``lookup_session_seconds``
  (900); only a hash of the secret is stored. The portal keeps the token in a signed cookie; the
  API takes it as ``Authorization: Bearer``.
- **Privacy of previous holders.** A 2.0 answer shows, for a binding made before the caller's
  tenure, only its platform, category and masked account reference: no dates, no activity.
- Every call is audited (kind ``LOOKUP``, ``LOOKUP_VERIFY``, ``LOOKUP_READ``, ``UNBIND_REQUEST``,
  ``PLAN``), with the phone number as a keyed hash.

Interface changes are noted here: (none yet).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from numguard.domain.binding import Category, TenureSide, mask_account_ref
from numguard.domain.lifecycle import NumberStatus
from numguard.domain.plan import CancellationPlan, PlanAction, PlanReason
from numguard.errors import Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated

# errors ---------------------------------------------------------------------------------------


class LookupTooSoon(RateLimited):
    """A lookup for this phone number was started less than the interval ago (429)."""

    code = "LOOKUP_TOO_SOON"


class InvalidCode(InvalidInput):
    """The code is wrong (400); ``remaining`` tries are left before it locks."""

    code = "INVALID_CODE"

    def __init__(self, message: str, *, remaining: int) -> None:
        super().__init__(message)
        self.remaining = remaining


class CodeLocked(Forbidden):
    """Too many wrong codes: this lookup can no longer be verified (403)."""

    code = "CODE_LOCKED"


class CodeExpired(InvalidInput):
    """The code's time is up, or it was used already (400)."""

    code = "CODE_EXPIRED"


class LookupNotFound(NotFound):
    """No lookup with this id (404)."""

    code = "LOOKUP_NOT_FOUND"


class SessionInvalid(Unauthenticated):
    """The lookup session token is unknown, forged or expired (401)."""

    code = "LOOKUP_SESSION_INVALID"


class WrongLookupKind(Forbidden):
    """The 1.0 numbers view needs a lookup started with the full ID (403)."""

    code = "LOOKUP_KIND"


class NoMatch(Forbidden):
    """The ID does not match the number's current holder: nothing to act on (403)."""

    code = "NO_MATCH"


# values ---------------------------------------------------------------------------------------


class LookupKind(StrEnum):
    """Which 一证通查 view a lookup opens."""

    NUMBERS = "1.0"
    """Phone + full ID: the numbers registered under this ID (and the 2.0 view)."""
    ACCOUNTS = "2.0"
    """Phone + last six characters of the ID: the accounts bound to this number."""


class UnbindStatus(StrEnum):
    """Where an unbind request stands."""

    PENDING = "pending"
    DONE = "done"
    REJECTED = "rejected"
    OVERDUE = "overdue"
    """Still pending after the deadline (computed when read, never stored)."""


@dataclass(frozen=True, slots=True)
class LookupStarted:
    """What starting a lookup answers: the same shape and values whether the ID matched or not."""

    lookup_id: str
    kind: LookupKind
    phone_masked: str
    code_expires_at: datetime
    code_length: int = 6


@dataclass(frozen=True, slots=True)
class LookupSession:
    """A verified lookup: the bearer token for its results."""

    token: str = field(repr=False)
    lookup_id: str
    kind: LookupKind
    phone_number: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NumberEntry:
    """One number registered under the caller's ID (1.0)."""

    phone_masked: str
    carrier: str
    status: NumberStatus
    """ACTIVE (held) or AGING (cancelled, in its freeze)."""
    since: date | None
    """The tenure's start, when known."""


@dataclass(frozen=True, slots=True)
class CarrierNumbers:
    """The caller's numbers at one carrier."""

    carrier: str
    carrier_name: str
    numbers: tuple[NumberEntry, ...]


@dataclass(frozen=True, slots=True)
class NumbersResult:
    """1.0: numbers registered under the caller's ID per carrier (empty unless ``matched``)."""

    matched: bool
    carriers: tuple[CarrierNumbers, ...]

    @property
    def total(self) -> int:
        """How many numbers in all."""
        return sum(len(c.numbers) for c in self.carriers)


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """One bound account as the caller sees it (2.0)."""

    account_masked: str
    category: Category
    side: TenureSide
    bound_at: date | None
    """Shown only for the caller's own bindings (side DURING or UNKNOWN); None for BEFORE."""
    last_active_at: date | None
    """Shown only for the caller's own bindings; None for BEFORE."""


@dataclass(frozen=True, slots=True)
class UnbindRequestView:
    """One 焕新 unbind request as the person (or the platform) follows it."""

    request_id: str
    platform: str
    platform_name: str
    status: UnbindStatus
    created_at: datetime
    due_on: date
    resolved_at: datetime | None
    reason: str | None
    """The platform's reason when it rejected the request."""
    account_count: int
    delivery: str
    """Webhook delivery: ``delivered``, ``failed``, ``no-webhook`` or ``pending``."""


@dataclass(frozen=True, slots=True)
class PlatformAccounts:
    """The accounts one platform reported on the number, within one category."""

    platform: str
    platform_name: str
    category: Category
    accounts: tuple[AccountEntry, ...]
    request: UnbindRequestView | None
    """The latest unbind request to this platform for the caller's tenure, if any."""

    @property
    def before_count(self) -> int:
        """Accounts bound before the caller held the number."""
        return sum(1 for a in self.accounts if a.side is TenureSide.BEFORE)


@dataclass(frozen=True, slots=True)
class CategoryAccounts:
    """All platforms of one category, in plan order of categories."""

    category: Category
    platforms: tuple[PlatformAccounts, ...]


@dataclass(frozen=True, slots=True)
class AccountsResult:
    """2.0: the accounts bound to the number (empty when ``matched`` is False)."""

    matched: bool
    phone_masked: str
    tenure_start: date | None
    """The caller's own tenure start (None when unmatched or unknown)."""
    groups: tuple[CategoryAccounts, ...]

    @property
    def before_count(self) -> int:
        """Accounts bound before the caller's tenure."""
        return sum(p.before_count for g in self.groups for p in g.platforms)

    @property
    def total(self) -> int:
        """All accounts shown."""
        return sum(len(p.accounts) for g in self.groups for p in g.platforms)

    @property
    def can_renew(self) -> bool:
        """Whether 焕新 would send at least one new request."""
        return any(
            p.before_count and (p.request is None or p.request.status is not UnbindStatus.PENDING)
            for g in self.groups
            for p in g.platforms
        )


@dataclass(frozen=True, slots=True)
class RenewalResult:
    """What one 焕新 call did: requests it created, and pending ones it found and kept."""

    created: tuple[UnbindRequestView, ...]
    already_pending: tuple[UnbindRequestView, ...]


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One checklist line, account masked, for pages, JSON and CSV."""

    position: int
    platform: str
    platform_name: str
    category: Category
    account_masked: str
    action: PlanAction
    reason: PlanReason
    last_active_at: date | None
    idle_days: int


@dataclass(frozen=True, slots=True)
class CancellationPlanView:
    """The cancellation plan of the current holder's own bindings, ready to show."""

    phone_masked: str
    made_on: date
    dormant_days: int
    lines: tuple[PlanLine, ...]

    def count(self, action: PlanAction) -> int:
        """How many lines have *action*."""
        return sum(1 for line in self.lines if line.action is action)


PLAN_CSV_COLUMNS = (
    "position",
    "category",
    "platform",
    "platformName",
    "account",
    "action",
    "reason",
    "lastActiveAt",
    "idleDays",
    "done",
)
"""The header of the plan's CSV download."""


def plan_csv(plan: CancellationPlanView) -> str:
    """The plan as CSV text (header :data:`PLAN_CSV_COLUMNS`; ``done`` left empty to tick)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PLAN_CSV_COLUMNS)
    for line in plan.lines:
        writer.writerow(
            (
                line.position,
                line.category.value,
                line.platform,
                line.platform_name,
                line.account_masked,
                line.action.value,
                line.reason.value,
                line.last_active_at.isoformat() if line.last_active_at else "",
                line.idle_days,
                "",
            )
        )
    return out.getvalue()


def plan_view(
    plan: CancellationPlan, phone_masked: str, names: dict[str, str]
) -> CancellationPlanView:
    """Turn a domain plan into its masked view (*names*: platform display names by code)."""
    return CancellationPlanView(
        phone_masked,
        plan.made_on,
        plan.dormant_days,
        tuple(
            PlanLine(
                s.position,
                s.binding.platform,
                names.get(s.binding.platform, s.binding.platform),
                s.binding.category,
                mask_account_ref(s.binding.account_ref),
                s.action,
                s.reason,
                s.binding.last_active_at,
                s.idle_days,
            )
            for s in plan.steps
        ),
    )


# ports ----------------------------------------------------------------------------------------


class SmsGateway(Protocol):
    """Sends one text message. Adapters: console/log (default), file sink, HTTP provider."""

    def send(self, phone_number: str, text: str) -> None:
        """Send *text* to *phone_number* (E.164); raise :class:`~numguard.errors.Unavailable`
        when the provider cannot take it."""
        ...


def working_days_after(start: date, days: int) -> date:
    """The date *days* working days (Monday to Friday) after *start*."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def code_hash(key: bytes, lookup_id: str, code: str) -> str:
    """Keyed hash of an SMS code, bound to its lookup (the 10^6 codes cannot be tabulated)."""
    return hmac.new(key, f"{lookup_id}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(1_000_000):06d}"


# the service ----------------------------------------------------------------------------------


class PeopleService:
    """一证通查, 焕新 and the cancellation plan for people (portal and ``/v1/lookups``).

    Built by :mod:`numguard.bootstrap` as ``container.people``. Methods are synchronous and do
    database IO: call them from a thread (``run_in_threadpool``) in async code.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError  # wired in the next commit

    def start_lookup(
        self,
        phone_number: str,
        *,
        id_suffix: str | None = None,
        id_number: str | None = None,
        id_type: str = "CN_RESIDENT",
    ) -> LookupStarted:
        """Start a lookup and send a code to the phone.

        Exactly one of *id_suffix* (last six characters: 2.0) and *id_number* (full ID: 1.0) is
        given. Raises InvalidInput (malformed phone or ID), :class:`LookupTooSoon` (a lookup for
        this number within the interval). Never tells whether the ID matches.
        """
        raise NotImplementedError

    def verify_code(self, lookup_id: str, code: str) -> LookupSession:
        """Check the code; on success the code is spent and a session starts.

        Raises :class:`InvalidCode` (with ``remaining``), :class:`CodeLocked` (5 wrong tries),
        :class:`CodeExpired` (too late or already used), :class:`LookupNotFound`.
        """
        raise NotImplementedError

    def session(self, token: str) -> LookupSession:
        """The session a token stands for; :class:`SessionInvalid` when unknown or expired."""
        raise NotImplementedError

    def numbers(self, token: str) -> NumbersResult:
        """1.0: numbers under the ID (full-ID lookups only, else :class:`WrongLookupKind`)."""
        raise NotImplementedError

    def accounts(self, token: str) -> AccountsResult:
        """2.0: accounts bound to the number, each marked BEFORE or DURING the caller's tenure."""
        raise NotImplementedError

    def request_renewal(self, token: str) -> RenewalResult:
        """焕新: one unbind request per platform holding bindings from before the caller's tenure.

        A platform that already has a pending request for this tenure gets no second one.
        Raises :class:`NoMatch` when the lookup did not match the current holder.
        """
        raise NotImplementedError

    def unbind_requests(self, token: str) -> list[UnbindRequestView]:
        """The unbind requests made for the caller's number and tenure, newest first."""
        raise NotImplementedError

    def cancellation_plan(self, token: str) -> CancellationPlanView:
        """The ordered plan over the caller's own bindings (:class:`NoMatch` if not the holder)."""
        raise NotImplementedError


__all__ = [
    "PLAN_CSV_COLUMNS",
    "AccountEntry",
    "AccountsResult",
    "CancellationPlanView",
    "CarrierNumbers",
    "CategoryAccounts",
    "CodeExpired",
    "CodeLocked",
    "InvalidCode",
    "LookupKind",
    "LookupNotFound",
    "LookupSession",
    "LookupStarted",
    "LookupTooSoon",
    "NoMatch",
    "NumberEntry",
    "NumbersResult",
    "PeopleService",
    "PlanLine",
    "PlatformAccounts",
    "RenewalResult",
    "SessionInvalid",
    "SmsGateway",
    "UnbindRequestView",
    "UnbindStatus",
    "WrongLookupKind",
    "plan_csv",
    "plan_view",
]
