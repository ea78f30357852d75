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
    people.track(renewal.tracking.token)    # the same statuses later, without a session
    people.cancellation_plan(session.token) # the ordered checklist; plan_csv(plan) for download

Rules worth knowing:

- **No probing.** :meth:`PeopleService.start_lookup` does the same work and returns the same
  value whether or not the ID matches the number's holder (or whether the number has a holder at
  all): it hashes the claim, stores it, and sends a code to the phone. A match is decided at
  :meth:`PeopleService.verify_code` time against the *current* holder, and a mismatch shows only
  then, as a result with ``matched=False`` and nothing in it.
- **Codes** are 6 digits, valid ``lookup_code_ttl_seconds`` (600), single use, and locked after
  ``lookup_max_attempts`` (5) wrong tries. Only a keyed hash is stored.
- **When a number may be looked up again** (:func:`lookup_block`, decided atomically with the
  insert by :meth:`LookupStore.start`): one *verified* lookup per phone number per
  ``lookup_interval_hours`` (24); while a code is outstanding (sent, not used, not expired) no
  other lookup starts, so the phone gets at most one code per code lifetime; a lookup *locked*
  by wrong codes blocks the number for ``lookup_lock_minutes`` (60), so the 6-digit code can be
  guessed a few times an hour at most. A started lookup that was never verified blocks nothing
  once its code expires: someone who knows a number cannot lock its holder out for a day. The
  refusal (:class:`LookupTooSoon`) says why and until when, and depends on the phone only,
  never on the ID, so it cannot be used for probing either.
- **Sessions** are opaque tokens (``<lookup id>.<secret>``) valid ``lookup_session_seconds``
  (900); only a hash of the secret is stored. The portal keeps the token in a signed cookie; the
  API takes it as ``Authorization: Bearer``.
- **Privacy of previous holders.** A 2.0 answer shows, for a binding made before the caller's
  tenure, only its platform, category and masked account reference: no dates, no activity.
- **Following 焕新 after the session.** :meth:`PeopleService.request_renewal` also hands out a
  read-only tracking token (``trk_`` + 43 random characters; only its SHA-256 is stored) valid
  ``unbind_tracking_days`` (30). :meth:`PeopleService.track` shows, for that number and tenure
  only, each request's platform name, category, account count, status, request and answer
  dates, deadline and rejection reason: no number, no account reference, no binding. The token
  is never put in a URL the server sees: the API takes it as ``Authorization: Bearer``, the
  portal's link carries it in the fragment (``/portal/track#trk_...``) and POSTs it.
- Every call is audited (kind ``LOOKUP``, ``LOOKUP_VERIFY``, ``LOOKUP_READ``, ``UNBIND_REQUEST``,
  ``UNBIND_TRACK``, ``PLAN``), with the phone number as a keyed hash.

Interface changes are noted here: ``PlanLine``, ``CancellationPlanView``, ``plan_csv`` and
``plan_view`` live in :mod:`numguard.services.bindings` (the carrier's cancellation check uses
them too) and are re-exported here unchanged. ``LookupStore.start`` takes the decision
(:func:`lookup_block`) instead of one cut-off time and answers a :class:`LookupBlocked`;
:class:`LookupTooSoon` carries ``reason`` and ``until``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from numguard.domain.binding import (
    UNBINDING_ORDER,
    Category,
    TenureSide,
    mask_account_ref,
    tenure_side,
)
from numguard.domain.identity import IdType, InvalidIdNumber, holder_from_id, id_suffix_hash
from numguard.domain.lifecycle import NumberState, NumberStatus
from numguard.domain.phone import mask_phone_number, parse_phone_number
from numguard.domain.plan import build_plan
from numguard.errors import Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from numguard.services.audit import AuditEntry, AuditTrail, NumberHasher
from numguard.services.bindings import (
    PLAN_CSV_COLUMNS,
    BindingService,
    CancellationPlanView,
    PlanLine,
    StoredUnbindRequest,
    plan_csv,
    plan_view,
)

# errors ---------------------------------------------------------------------------------------


class LookupTooSoon(RateLimited):
    """The phone number cannot be looked up again yet (429); ``until`` says when it can.

    ``reason`` is a :class:`LookupBlock`: a code is outstanding, the number was looked up (and
    verified) within the interval, or a lookup was locked by wrong codes within the cool-off.
    """

    code = "LOOKUP_TOO_SOON"

    def __init__(self, message: str, *, reason: LookupBlock, until: datetime, now: datetime):
        super().__init__(message, retry_after=max(1.0, (until - now).total_seconds()))
        self.reason = reason
        self.until = until


class InvalidCode(InvalidInput):
    """The code is wrong (400); ``remaining`` tries are left before it locks."""

    code = "INVALID_CODE"
    keep_code = True

    def __init__(self, message: str, *, remaining: int) -> None:
        super().__init__(message)
        self.remaining = remaining


class CodeLocked(Forbidden):
    """Too many wrong codes: this lookup can no longer be verified (403)."""

    code = "CODE_LOCKED"


class CodeExpired(InvalidInput):
    """The code's time is up, or it was used already (400)."""

    code = "CODE_EXPIRED"
    keep_code = True


class LookupNotFound(NotFound):
    """No lookup with this id (404)."""

    code = "LOOKUP_NOT_FOUND"


class SessionInvalid(Unauthenticated):
    """The lookup session token is unknown, forged or expired (401)."""

    code = "LOOKUP_SESSION_INVALID"


class WrongLookupKind(Forbidden):
    """The 1.0 numbers view needs a lookup started with the full ID (403)."""

    code = "LOOKUP_KIND"


class TrackingTokenInvalid(Unauthenticated):
    """The 焕新 tracking token is unknown, malformed or expired (401)."""

    code = "TRACKING_TOKEN_INVALID"


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
    """How the platform is being told, from the notifications outbox: ``queued``,
    ``delivered``, ``failed-retrying``, ``dead`` (every try failed for 24 hours), or
    ``no-subscription`` (not pushed: the platform reads it from its list of requests).
    Never anything about the platform's systems beyond that."""


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
class TrackingToken:
    """A read-only bearer token for one number's and tenure's unbind requests (shown once)."""

    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RenewalResult:
    """What one 焕新 call did: requests it created, and pending ones it found and kept."""

    created: tuple[UnbindRequestView, ...]
    already_pending: tuple[UnbindRequestView, ...]
    tracking: TrackingToken | None = None
    """To follow these requests after the session ends (None without a tracking store)."""


@dataclass(frozen=True, slots=True)
class TrackedRequest:
    """One unbind request as a tracking token shows it: nothing about accounts or the number."""

    platform_name: str
    category: Category
    """The platform's category."""
    account_count: int
    status: UnbindStatus
    requested_at: datetime
    due_on: date
    answered_at: datetime | None
    reason: str | None
    """The platform's reason when it rejected the request."""


@dataclass(frozen=True, slots=True)
class TrackedRequests:
    """What a tracking token shows: the requests of its number and tenure, newest first."""

    requests: tuple[TrackedRequest, ...]
    expires_at: datetime
    """When the token stops working."""


@dataclass(frozen=True, slots=True)
class TrackingGrant:
    """A stored tracking token: the hash of the token and what it may read."""

    token_hash: str = field(repr=False)
    phone_number: str
    tenure_start: date
    created_at: datetime
    expires_at: datetime


class TrackingStore(Protocol):
    """Storage of 焕新 tracking tokens (hashes only)."""

    def add(self, grant: TrackingGrant) -> None:
        """Store a new grant."""
        ...

    def get(self, token_hash: str) -> TrackingGrant | None:
        """The grant with this token hash, or None."""
        ...


# ports ----------------------------------------------------------------------------------------


class SmsGateway(Protocol):
    """Sends one text message. Adapters: console/log (default), file sink, HTTP provider."""

    def send(self, phone_number: str, text: str) -> None:
        """Send *text* to *phone_number* (E.164); raise :class:`~numguard.errors.Unavailable`
        when the provider cannot take it."""
        ...


def code_hash(key: bytes, lookup_id: str, code: str) -> str:
    """Keyed hash of an SMS code, bound to its lookup (the 10^6 codes cannot be tabulated)."""
    return hmac.new(key, f"{lookup_id}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(1_000_000):06d}"


# storage --------------------------------------------------------------------------------------


class LookupState(StrEnum):
    """Stored state of a lookup."""

    PENDING = "PENDING"  # code sent, not verified yet
    VERIFIED = "VERIFIED"  # code spent, session running
    LOCKED = "LOCKED"  # too many wrong codes


@dataclass(frozen=True, slots=True)
class LookupRecord:
    """A lookup as stored: hashes only (claim, code, session), never the ID or the code."""

    lookup_id: str
    phone_number: str
    kind: LookupKind
    claim_type: str
    claim_hash: str
    code_hash: str = field(repr=False)
    code_expires_at: datetime
    attempts: int
    status: LookupState
    created_at: datetime
    verified_at: datetime | None = None
    session_hash: str | None = field(default=None, repr=False)
    session_expires_at: datetime | None = None
    locked_at: datetime | None = None


class LookupBlock(StrEnum):
    """Why a phone number cannot be looked up again yet."""

    CODE_PENDING = "code-pending"
    """A code was sent and is neither used nor expired: use it, or wait until it expires."""
    VERIFIED = "verified"
    """The number was looked up, code verified, less than the interval ago."""
    LOCKED = "locked"
    """A lookup of the number was locked by wrong codes less than the cool-off ago."""


@dataclass(frozen=True, slots=True)
class LookupBlocked:
    """What stands in the way of a new lookup, and when it clears."""

    reason: LookupBlock
    until: datetime


def lookup_block(
    recent: Iterable[LookupRecord], now: datetime, interval: timedelta, lock_cooloff: timedelta
) -> LookupBlocked | None:
    """Whether the lookups *recent* of one number stop a new one at *now*, and until when.

    A PENDING lookup blocks until its code expires, a VERIFIED one for *interval* after it was
    verified, a LOCKED one for *lock_cooloff* after it locked. With several in the way, the one
    that clears last is named. A lookup that was never verified blocks nothing once its code
    has expired.
    """
    found: list[LookupBlocked] = []
    for r in recent:
        if r.status is LookupState.PENDING:
            found.append(LookupBlocked(LookupBlock.CODE_PENDING, r.code_expires_at))
        elif r.status is LookupState.VERIFIED and r.verified_at is not None:
            found.append(LookupBlocked(LookupBlock.VERIFIED, r.verified_at + interval))
        elif r.status is LookupState.LOCKED:
            found.append(
                LookupBlocked(LookupBlock.LOCKED, (r.locked_at or r.created_at) + lock_cooloff)
            )
    live = [b for b in found if b.until > now]
    return max(live, key=lambda b: b.until) if live else None


class LookupStore(Protocol):
    """Storage of lookups."""

    def start(
        self,
        record: LookupRecord,
        since: datetime,
        blocked: Callable[[Sequence[LookupRecord]], LookupBlocked | None],
    ) -> LookupBlocked | None:
        """Insert *record* unless *blocked* says otherwise, atomically per phone number.

        *blocked* is given the number's lookups created after *since* (read in the same
        transaction, with concurrent starts of the same number kept out until it ends); the
        record is inserted when it answers None, else its answer is returned.
        """
        ...

    def discard(self, lookup_id: str) -> None:
        """Remove a lookup whose code could not be sent (so the person may try again)."""
        ...

    def get(self, lookup_id: str) -> LookupRecord | None:
        """The lookup with this id, or None."""
        ...

    def wrong_attempt(self, lookup_id: str, max_attempts: int, now: datetime) -> int:
        """Count one wrong code; returns the count. The lookup locks at *max_attempts* (its
        ``locked_at`` is *now*)."""
        ...

    def verify(
        self, lookup_id: str, session_hash: str, session_expires_at: datetime, now: datetime
    ) -> bool:
        """Spend the code and start the session; False if it was not pending any more or its
        code had expired at *now*."""
        ...


_SUFFIX_CN = re.compile(r"^[0-9]{5}[0-9X]$")
_SUFFIX_ANY = re.compile(r"^[0-9A-Z]{6}$")
_SEPARATORS = re.compile(r"[\s-]")
_CODE = re.compile(r"^[0-9]{6}$")
_TRACKING = re.compile(r"^trk_[A-Za-z0-9_-]{43}$")
_SHOWN = (NumberStatus.ACTIVE, NumberStatus.AGING)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


_BLOCK_WORDS = {
    LookupBlock.CODE_PENDING: "a code was sent to this phone and is still valid: use it",
    LookupBlock.VERIFIED: "this number was already looked up in the last {hours} hours",
    LookupBlock.LOCKED: "a lookup of this number was locked after too many wrong codes",
}


def _too_soon_message(blocked: LookupBlocked, now: datetime, interval: timedelta) -> str:
    seconds = max(1, int((blocked.until - now).total_seconds() + 0.999))
    if seconds < 120:
        wait = f"{seconds} seconds"
    elif seconds < 2 * 3600:
        wait = f"{(seconds + 59) // 60} minutes"
    else:
        wait = f"{seconds / 3600:.1f} hours"
    when = blocked.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    hours = f"{interval.total_seconds() / 3600:g}"
    why = _BLOCK_WORDS[blocked.reason].format(hours=hours)
    return f"{why}; try again after {when} (in {wait})"


def sms_text(code: str, minutes: int) -> str:
    """The text message carrying a code, in Chinese and English."""
    return (
        f"【numguard】验证码 {code}，{minutes} 分钟内有效，请勿告诉任何人。"
        f" Your numguard code is {code}, valid for {minutes} minutes. Never share it."
    )


# the service ----------------------------------------------------------------------------------


class PeopleService:
    """一证通查, 焕新 and the cancellation plan for people (portal and ``/v1/lookups``).

    Built by :mod:`numguard.bootstrap` as ``container.people``. Methods are synchronous and do
    database IO: call them from a thread (``run_in_threadpool``) in async code.
    """

    def __init__(
        self,
        store: LookupStore,
        bindings: BindingService,
        sms: SmsGateway,
        audit: AuditTrail,
        hasher: NumberHasher,
        *,
        holder_key: bytes,
        code_key: bytes,
        default_region: str,
        now: Callable[[], datetime],
        today: Callable[[], date],
        carrier_names: Callable[[], dict[str, str]],
        code_ttl_seconds: int = 600,
        max_attempts: int = 5,
        interval_hours: float = 24.0,
        lock_minutes: float = 60.0,
        session_seconds: int = 900,
        dormant_days: int = 365,
        tracking: TrackingStore | None = None,
        tracking_days: float = 30.0,
    ) -> None:
        self.store = store
        self.bindings = bindings
        self.sms = sms
        self.audit = audit
        self.hasher = hasher
        self.default_region = default_region
        self.now = now
        self.today = today
        self.carrier_names = carrier_names
        self.code_ttl_seconds = code_ttl_seconds
        self.max_attempts = max_attempts
        self.interval = timedelta(hours=max(0.0, interval_hours))
        self.lock_cooloff = timedelta(minutes=max(0.0, lock_minutes))
        self.session_seconds = session_seconds
        self.dormant_days = dormant_days
        self.tracking = tracking
        self.tracking_lifetime = timedelta(days=max(0.0, tracking_days))
        self._holder_key = holder_key
        self._code_key = code_key

    # lookups ----------------------------------------------------------------------------------

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
        given. Raises InvalidInput (malformed phone or ID), :class:`LookupTooSoon` (a code for
        this number is outstanding, it was verified within the interval, or a lookup of it
        locked within the cool-off: see :func:`lookup_block`). Never tells whether the ID
        matches: the number's holder is not even read here, and a refusal depends on the phone
        number alone.
        """
        e164 = parse_phone_number(phone_number, self.default_region)
        if (id_suffix is None) == (id_number is None):
            raise InvalidInput("give the last six characters of the ID or the full ID, not both")
        try:
            kind_of_id = IdType(str(id_type).strip().upper())
        except ValueError as exc:
            allowed = ", ".join(t.value for t in IdType)
            raise InvalidIdNumber(f"unknown ID type {id_type!r}; use one of {allowed}") from exc
        if id_number is not None:
            kind = LookupKind.NUMBERS
            claim = holder_from_id(self._holder_key, kind_of_id, id_number).id_hash
        else:
            assert id_suffix is not None  # noqa: S101  exactly one is given
            kind = LookupKind.ACCOUNTS
            suffix = _SEPARATORS.sub("", id_suffix).upper()
            shape = _SUFFIX_CN if kind_of_id is IdType.CN_RESIDENT else _SUFFIX_ANY
            if not shape.match(suffix):
                raise InvalidIdNumber(
                    "the last six characters of the ID: digits (and X at the end)"
                )
            claim = id_suffix_hash(self._holder_key, kind_of_id, suffix)
        now = self.now()
        lookup_id = "lk_" + secrets.token_urlsafe(16)
        code = new_code()
        expires = now + timedelta(seconds=self.code_ttl_seconds)
        record = LookupRecord(
            lookup_id=lookup_id,
            phone_number=e164,
            kind=kind,
            claim_type=kind_of_id.value,
            claim_hash=claim,
            code_hash=code_hash(self._code_key, lookup_id, code),
            code_expires_at=expires,
            attempts=0,
            status=LookupState.PENDING,
            created_at=now,
        )
        # Anything that can still block was created within one code lifetime plus the longer
        # of the interval and the cool-off (it is verified or locked before its code expires).
        horizon = timedelta(seconds=self.code_ttl_seconds) + max(self.interval, self.lock_cooloff)
        blocked = self.store.start(
            record,
            now - horizon,
            lambda recent: lookup_block(recent, now, self.interval, self.lock_cooloff),
        )
        number_hash = self.hasher.hex(e164)
        if blocked is not None:
            self._audit(
                "LOOKUP",
                number_hash,
                "refused",
                {"kind": kind.value, "reason": blocked.reason.value},
            )
            raise LookupTooSoon(
                _too_soon_message(blocked, now, self.interval),
                reason=blocked.reason,
                until=blocked.until,
                now=now,
            )
        try:
            self.sms.send(e164, sms_text(code, max(1, self.code_ttl_seconds // 60)))
        except Exception:
            self.store.discard(lookup_id)
            raise
        self._audit("LOOKUP", number_hash, "code-sent", {"kind": kind.value})
        return LookupStarted(lookup_id, kind, mask_phone_number(e164), expires)

    def verify_code(self, lookup_id: str, code: str) -> LookupSession:
        """Check the code; on success the code is spent and a session starts.

        Raises :class:`InvalidCode` (with ``remaining``), :class:`CodeLocked` (5 wrong tries;
        the fifth wrong code already answers CodeLocked), :class:`CodeExpired` (too late or
        already used), :class:`LookupNotFound`. Whether the ID matched is not told here either.
        """
        record = self._lookup(lookup_id)
        number_hash = self.hasher.hex(record.phone_number)
        if record.status is LookupState.LOCKED:
            raise CodeLocked(self._locked_message())
        if record.status is LookupState.VERIFIED:
            raise CodeExpired("this code was used already: start a new lookup")
        now = self.now()
        if now >= record.code_expires_at:
            raise CodeExpired("the code has expired: start a new lookup")
        given = (code or "").strip()
        expected = record.code_hash
        if not (
            _CODE.match(given)
            and hmac.compare_digest(code_hash(self._code_key, lookup_id, given), expected)
        ):
            attempts = self.store.wrong_attempt(lookup_id, self.max_attempts, now)
            self._audit("LOOKUP_VERIFY", number_hash, "wrong-code", {"attempts": attempts})
            if attempts >= self.max_attempts:
                raise CodeLocked(self._locked_message())
            left = self.max_attempts - attempts
            raise InvalidCode(f"the code is wrong; {left} tries left", remaining=left)
        secret = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=self.session_seconds)
        if not self.store.verify(lookup_id, _sha256(secret), expires, now):
            raise CodeExpired("this code was used already: start a new lookup")
        self._audit("LOOKUP_VERIFY", number_hash, "verified", {"kind": record.kind.value})
        return LookupSession(
            f"{lookup_id}.{secret}", lookup_id, record.kind, record.phone_number, expires
        )

    def _locked_message(self) -> str:
        minutes = max(1, round(self.lock_cooloff.total_seconds() / 60))
        return f"too many wrong codes: this number can be looked up again in {minutes} minutes"

    def session(self, token: str) -> LookupSession:
        """The session a token stands for; :class:`SessionInvalid` when unknown or expired."""
        record = self._session(token)
        assert record.session_expires_at is not None  # noqa: S101  verified lookups have one
        return LookupSession(
            token, record.lookup_id, record.kind, record.phone_number, record.session_expires_at
        )

    def _lookup(self, lookup_id: str) -> LookupRecord:
        record = self.store.get(lookup_id) if 0 < len(lookup_id) <= 32 else None
        if record is None:
            raise LookupNotFound("no such lookup: start a new one")
        return record

    def _session(self, token: str) -> LookupRecord:
        lookup_id, _, secret = (token or "").partition(".")
        record = self.store.get(lookup_id) if 0 < len(lookup_id) <= 32 and secret else None
        if (
            record is None
            or record.status is not LookupState.VERIFIED
            or record.session_hash is None
            or record.session_expires_at is None
            or not hmac.compare_digest(_sha256(secret), record.session_hash)
        ):
            raise SessionInvalid("the lookup session is not valid: start a new lookup")
        if self.now() >= record.session_expires_at:
            raise SessionInvalid("the lookup session has expired: start a new lookup")
        return record

    def _match(self, record: LookupRecord) -> NumberState | None:
        """The number's state if the lookup's claim names its current holder, else None."""
        state = self.bindings.store.number_state(record.phone_number)
        if state is None or not state.is_held or state.holder is None:
            return None
        holder = state.holder
        if record.kind is LookupKind.NUMBERS:
            ok = hmac.compare_digest(holder.id_hash, record.claim_hash)
        else:
            ok = holder.id_type.value == record.claim_type and hmac.compare_digest(
                holder.suffix_hash, record.claim_hash
            )
        return state if ok else None

    # results ----------------------------------------------------------------------------------

    def numbers(self, token: str) -> NumbersResult:
        """1.0: numbers under the ID (full-ID lookups only, else :class:`WrongLookupKind`).

        Numbers held now (ACTIVE) and those cancelled and still in their freeze (AGING), per
        carrier, masked. Empty with ``matched=False`` when the ID is not the number's holder's.
        """
        record = self._session(token)
        if record.kind is not LookupKind.NUMBERS:
            raise WrongLookupKind("the numbers under an ID need a lookup with the full ID")
        state = self._match(record)
        result = NumbersResult(False, ())
        if state is not None:
            names = self.carrier_names()
            per: dict[str, list[NumberEntry]] = {}
            for s in self.bindings.store.numbers_of_holder(record.claim_hash):
                if s.status in _SHOWN and s.carrier is not None:
                    per.setdefault(s.carrier, []).append(
                        NumberEntry(
                            mask_phone_number(s.phone_number),
                            s.carrier,
                            s.status,
                            s.tenure_start if s.tenure_start_known else None,
                        )
                    )
            result = NumbersResult(
                True,
                tuple(CarrierNumbers(c, names.get(c, c), tuple(v)) for c, v in sorted(per.items())),
            )
        self._audit(
            "LOOKUP_READ",
            self.hasher.hex(record.phone_number),
            "numbers",
            {"matched": result.matched, "count": result.total},
        )
        return result

    def accounts(self, token: str) -> AccountsResult:
        """2.0: accounts bound to the number, each marked BEFORE or DURING the caller's tenure.

        For a binding made before the caller's tenure only the platform, the category and the
        masked account reference are shown. Empty with ``matched=False`` when the ID is not the
        number's current holder's.
        """
        record = self._session(token)
        state = self._match(record)
        masked = mask_phone_number(record.phone_number)
        if state is None:
            result = AccountsResult(False, masked, None, ())
        else:
            result = self._accounts(state, masked)
        self._audit(
            "LOOKUP_READ",
            self.hasher.hex(record.phone_number),
            "accounts",
            {"matched": result.matched, "count": result.total},
        )
        return result

    def _accounts(self, state: NumberState, masked: str) -> AccountsResult:
        start = state.tenure_start
        names = self.bindings.platform_names()
        latest: dict[str, UnbindRequestView] = {}
        if start is not None:
            for r in self.bindings.requests_for(state.phone_number, start):
                latest.setdefault(r.platform, self._view(r, names))
        per: dict[tuple[Category, str], list[AccountEntry]] = {}
        for b in self.bindings.store.bindings_of(state.phone_number):
            side = tenure_side(b.bound_at, start, start_known=state.tenure_start_known)
            own = side is not TenureSide.BEFORE
            per.setdefault((b.category, b.platform), []).append(
                AccountEntry(
                    mask_account_ref(b.account_ref),
                    b.category,
                    side,
                    b.bound_at if own else None,
                    b.last_active_at if own else None,
                )
            )
        groups = []
        for category in UNBINDING_ORDER:
            platforms = tuple(
                PlatformAccounts(
                    code,
                    names.get(code, code),
                    category,
                    tuple(sorted(entries, key=lambda a: (a.side.value, a.account_masked))),
                    latest.get(code),
                )
                for (cat, code), entries in sorted(per.items())
                if cat is category
            )
            if platforms:
                groups.append(CategoryAccounts(category, platforms))
        return AccountsResult(
            True, masked, start if state.tenure_start_known else None, tuple(groups)
        )

    # 焕新 --------------------------------------------------------------------------------------

    def request_renewal(self, token: str) -> RenewalResult:
        """焕新: one unbind request per platform holding bindings from before the caller's tenure.

        A platform that already has a pending request for this tenure gets no second one.
        The result carries a new read-only tracking token for the requests of this number and
        tenure (see :meth:`track`); only its hash is stored, so it is shown this once.
        Raises :class:`NoMatch` when the lookup did not match the current holder.
        """
        record = self._session(token)
        state = self._match(record)
        if state is None:
            raise NoMatch("this lookup did not match the number's holder")
        created, pending = self.bindings.create_unbind_requests(state)
        names = self.bindings.platform_names()
        tracking = None
        if self.tracking is not None and state.tenure_start is not None:
            now = self.now()
            secret = "trk_" + secrets.token_urlsafe(32)
            expires = now + self.tracking_lifetime
            self.tracking.add(
                TrackingGrant(_sha256(secret), state.phone_number, state.tenure_start, now, expires)
            )
            tracking = TrackingToken(secret, expires)
        self._audit(
            "UNBIND_REQUEST",
            self.hasher.hex(record.phone_number),
            "requested",
            {"created": len(created), "pending": len(pending), "tracking": tracking is not None},
        )
        return RenewalResult(
            tuple(self._view(r, names) for r in created),
            tuple(self._view(r, names) for r in pending),
            tracking,
        )

    def track(self, tracking_token: str) -> TrackedRequests:
        """The unbind requests a 焕新 tracking token may read, newest first; no session needed.

        Shows only platform names and categories, account counts, statuses, the request and
        answer times, deadlines and rejection reasons. Raises :class:`TrackingTokenInvalid`
        when the token is malformed, unknown or expired. Every read is audited
        (``UNBIND_TRACK``), refusals too.
        """
        given = (tracking_token or "").strip()
        grant = None
        if self.tracking is not None and _TRACKING.match(given):
            grant = self.tracking.get(_sha256(given))
        now = self.now()
        if grant is None or now >= grant.expires_at:
            why = "unknown" if grant is None else "expired"
            number_hash = None if grant is None else self.hasher.hex(grant.phone_number)
            self._audit("UNBIND_TRACK", number_hash, "refused", {"why": why})
            raise TrackingTokenInvalid(
                "this tracking link is not valid or has expired: look the number up again"
            )
        platforms = {p.code: p for p in self.bindings.list_platforms()}
        found = self.bindings.requests_for(grant.phone_number, grant.tenure_start)
        today = self.today()
        shown = tuple(
            TrackedRequest(
                platforms[r.platform].name if r.platform in platforms else r.platform,
                platforms[r.platform].category if r.platform in platforms else Category.OTHER,
                len(r.account_refs),
                UnbindStatus(r.shown_status(today)),
                r.created_at,
                r.due_on,
                r.resolved_at,
                r.reason,
            )
            for r in found
        )
        self._audit(
            "UNBIND_TRACK",
            self.hasher.hex(grant.phone_number),
            "shown",
            {"count": len(shown)},
        )
        return TrackedRequests(shown, grant.expires_at)

    def unbind_requests(self, token: str) -> list[UnbindRequestView]:
        """The unbind requests made for the caller's number and tenure, newest first (none when
        the lookup did not match)."""
        record = self._session(token)
        state = self._match(record)
        if state is None or state.tenure_start is None:
            return []
        names = self.bindings.platform_names()
        found = self.bindings.requests_for(state.phone_number, state.tenure_start)
        return [self._view(r, names) for r in found]

    def _view(self, r: StoredUnbindRequest, names: dict[str, str]) -> UnbindRequestView:
        return UnbindRequestView(
            r.request_id,
            r.platform,
            names.get(r.platform, r.platform),
            UnbindStatus(r.shown_status(self.today())),
            r.created_at,
            r.due_on,
            r.resolved_at,
            r.reason,
            len(r.account_refs),
            r.delivery.value,
        )

    # the plan ---------------------------------------------------------------------------------

    def cancellation_plan(self, token: str) -> CancellationPlanView:
        """The ordered plan over the caller's own bindings (:class:`NoMatch` if not the holder).

        Only bindings made during the caller's tenure are in it; see :func:`plan_csv` for the
        download.
        """
        record = self._session(token)
        state = self._match(record)
        if state is None:
            raise NoMatch("this lookup did not match the number's holder")
        own = self.bindings.holder_bindings(state)
        plan = build_plan(
            state.phone_number, own.bindings, today=self.today(), dormant_days=self.dormant_days
        )
        self._audit(
            "PLAN", self.hasher.hex(record.phone_number), "plan", {"steps": len(plan.steps)}
        )
        return plan_view(
            plan, mask_phone_number(state.phone_number), self.bindings.platform_names()
        )

    def _audit(
        self, kind: str, number_hash: str | None, answer: str, detail: dict[str, object]
    ) -> None:
        self.audit.write_now(
            [
                AuditEntry(
                    at=self.now(),
                    kind=kind,
                    client_id=None,
                    number_hash=number_hash,
                    answer=answer,
                    detail=detail,
                )
            ]
        )


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
    "LookupBlock",
    "LookupBlocked",
    "LookupKind",
    "LookupNotFound",
    "LookupRecord",
    "LookupSession",
    "LookupStarted",
    "LookupState",
    "LookupStore",
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
    "TrackedRequest",
    "TrackedRequests",
    "TrackingGrant",
    "TrackingStore",
    "TrackingToken",
    "TrackingTokenInvalid",
    "UnbindRequestView",
    "UnbindStatus",
    "WrongLookupKind",
    "lookup_block",
    "plan_csv",
    "plan_view",
]
