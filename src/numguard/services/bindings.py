"""Platforms and the bindings they report; 焕新 unbind requests as platforms see them.

A platform (bank, app) is registered with a code, a display name, a default category, a contact
and, optionally, the webhook that receives its unbind requests (``numguard platform add --webhook``
subscribes that URL to ``binding.unbind-requested``; a platform may also subscribe itself with
``POST /v1/subscriptions``). Its API client (``numguard client add --role
platform --platform CODE``) reports bindings in batches (:meth:`BindingService.put` and
:meth:`BindingService.delete`: idempotent, with a result per item) or as a full snapshot
(:meth:`BindingService.import_snapshot`: what the snapshot lacks is removed). A platform only
ever reads and changes its own bindings and its own unbind requests.

焕新 requests are created by :meth:`BindingService.create_unbind_requests` (the people service
calls it). The rows are inserted by one store call inside one transaction, and every listener
added with :meth:`BindingService.on_unbind_requested` runs inside that same transaction: the
notifications outbox writes one signed ``binding.unbind-requested`` CloudEvent per request for
the platform's live subscriptions there, and its worker delivers it (Standard Webhooks
signatures, retries for 24 hours). That is the one way a request is pushed; a platform without a
subscription reads its requests with ``GET /v1/unbind-requests``. The event carries only the
request id, the phone number, the tenure start date, the due date and that platform's account
references: nothing about who the new holder is. :class:`UnbindDelivery` tells how that
delivery stands, read from the outbox.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

import orjson

from numguard.domain.binding import (
    UNBINDING_ORDER,
    Binding,
    Category,
    TenureSide,
    mask_account_ref,
    tenure_side,
)
from numguard.domain.lifecycle import NumberState
from numguard.domain.phone import mask_phone_number, parse_phone_number
from numguard.domain.plan import CancellationPlan, PlanAction, PlanReason, build_plan
from numguard.errors import Conflict, Forbidden, InvalidInput, NotFound, NumguardError
from numguard.services.audit import AuditEntry, AuditTrail, NumberHasher

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
_REF = re.compile(r"^[\x21-\x7e]{1,128}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CATEGORIES = {c.value: c for c in Category}
REASON_MAX = 500
"""The longest reason a platform may give when it rejects an unbind request."""

BINDING_COLUMNS = ("accountRef", "phoneNumber", "category", "boundAt", "lastActiveAt")
"""The fields of a binding in the API, and the CSV header of a snapshot file."""


# errors ---------------------------------------------------------------------------------------


class UnknownPlatform(NotFound):
    """No platform with this code (404)."""

    code = "UNKNOWN_PLATFORM"


class NotAPlatformClient(Forbidden):
    """The caller's client belongs to no platform (403)."""

    code = "NOT_A_PLATFORM_CLIENT"


class UnbindRequestNotFound(NotFound):
    """No such unbind request for this platform (404; another platform's look the same)."""

    code = "UNBIND_REQUEST_NOT_FOUND"


class UnbindRequestClosed(Conflict):
    """The request was already resolved the other way (409)."""

    code = "UNBIND_REQUEST_CLOSED"


class NumberNotHeld(Forbidden):
    """The carrier does not hold this number now (403)."""

    code = "NUMBER_NOT_HELD_BY_CARRIER"


class SnapshotRejected(InvalidInput):
    """A snapshot file has a bad record: nothing was imported (400, CLI exit 2)."""

    code = "INVALID_SNAPSHOT"
    keep_code = True


# values ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlatformRecord:
    """A registered platform."""

    code: str
    name: str
    category: Category
    contact: str | None
    webhook_url: str | None
    """The unbinding webhook given at registration (its record; what delivers is the
    ``binding.unbind-requested`` subscription made for it)."""
    created_at: datetime


class ItemOutcome(StrEnum):
    """What became of one binding in a batch."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    ABSENT = "absent"
    """A delete of a binding that was not there (a no-op)."""
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The result of one item, in the order the items were sent."""

    index: int
    account_ref: str | None
    phone_number: str | None
    outcome: ItemOutcome
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per-item results and counts by outcome."""

    results: tuple[ItemResult, ...]

    def count(self, outcome: ItemOutcome) -> int:
        """How many items had *outcome*."""
        return sum(1 for r in self.results if r.outcome is outcome)

    def counts(self) -> dict[str, int]:
        """Counts of every outcome, by its name."""
        return {o.value: self.count(o) for o in ItemOutcome}


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """What importing a snapshot did."""

    records: int
    created: int
    updated: int
    unchanged: int
    removed: int


class UnbindState(StrEnum):
    """Stored status of an unbind request (``overdue`` is computed when read)."""

    PENDING = "pending"
    DONE = "done"
    REJECTED = "rejected"


class UnbindDelivery(StrEnum):
    """How the signed ``binding.unbind-requested`` event of a request stands in the outbox."""

    QUEUED = "queued"
    """Written, not tried yet."""
    DELIVERED = "delivered"
    """A subscription of the platform answered 2xx."""
    RETRYING = "failed-retrying"
    """Tried and failed; tried again with backoff until its retry window ends."""
    DEAD = "dead"
    """Every try failed for the whole retry window (the platform can replay it)."""
    NO_SUBSCRIPTION = "no-subscription"
    """Not pushed: the platform had no live subscription to the type (or deleted it before
    delivery); it sees the request in ``GET /v1/unbind-requests``."""


def unbind_delivery(deliveries: Iterable[tuple[str, int]]) -> UnbindDelivery:
    """One request's state from its outbox deliveries, ``(status, attempts)`` each (one per
    subscription of the platform to the type): delivered if any was, else failing-and-retrying,
    else queued, else dead; none (or only cancelled ones) is no-subscription."""
    statuses = {(status, attempts > 0) for status, attempts in deliveries}
    found = {status for status, _ in statuses}
    if "delivered" in found:
        return UnbindDelivery.DELIVERED
    if ("pending", True) in statuses:
        return UnbindDelivery.RETRYING
    if "pending" in found:
        return UnbindDelivery.QUEUED
    if "dead" in found:
        return UnbindDelivery.DEAD
    return UnbindDelivery.NO_SUBSCRIPTION


@dataclass(frozen=True, slots=True)
class UnbindDraft:
    """An unbind request about to be inserted (see :meth:`BindingStore.insert_unbind_requests`)."""

    request_id: str
    platform: str
    phone_number: str
    tenure_start: date
    account_refs: tuple[str, ...]
    created_at: datetime
    due_on: date


@dataclass(frozen=True, slots=True)
class StoredUnbindRequest:
    """An unbind request as stored."""

    request_id: str
    platform: str
    phone_number: str
    tenure_start: date
    status: UnbindState
    created_at: datetime
    due_on: date
    resolved_at: datetime | None
    reason: str | None
    delivery: UnbindDelivery
    """How its signed event stands (read from the outbox, not stored with the request)."""
    account_refs: tuple[str, ...]

    def shown_status(self, today: date) -> str:
        """``pending``, ``done``, ``rejected``, or ``overdue`` (pending after the due date)."""
        if self.status is UnbindState.PENDING and today > self.due_on:
            return "overdue"
        return self.status.value


@dataclass(frozen=True, slots=True)
class CategorySummary:
    """How many of the holder's accounts one category has."""

    category: Category
    accounts: int
    platforms: int


@dataclass(frozen=True, slots=True)
class HolderBindings:
    """The current holder's own bindings on a number (never those made before the tenure)."""

    phone_number: str
    tenure_start: date | None
    bindings: tuple[Binding, ...]

    def summary(self) -> tuple[CategorySummary, ...]:
        """Counts per category, in unbinding order (empty categories left out)."""
        out = []
        for category in UNBINDING_ORDER:
            mine = [b for b in self.bindings if b.category is category]
            if mine:
                out.append(CategorySummary(category, len(mine), len({b.platform for b in mine})))
        return tuple(out)


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


def plan_csv(plan: CancellationPlanView, done: Iterable[int] = frozenset()) -> str:
    """The plan as CSV text (header :data:`PLAN_CSV_COLUMNS`).

    ``done`` is ``yes`` on the lines whose position is in *done* (the lines a person ticked),
    empty on the others, to be ticked in a spreadsheet.
    """
    done = frozenset(done)
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
                "yes" if line.position in done else "",
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


UnbindListener = Callable[[Any, Sequence[UnbindDraft]], None]
"""Called inside the transaction that inserts unbind requests: (the store's connection, drafts).

The connection is the storage adapter's (a SQLAlchemy ``Connection``): an outbox writer inserts
its rows through it so they commit, or roll back, with the requests."""


class BindingStore(Protocol):
    """Storage of platforms, bindings and unbind requests."""

    def upsert_platform(self, record: PlatformRecord) -> PlatformRecord:
        """Insert the platform or update its name, category, contact and webhook."""
        ...

    def get_platform(self, code: str) -> PlatformRecord | None:
        """The platform with this code, or None."""
        ...

    def list_platforms(self) -> list[PlatformRecord]:
        """Every platform, by code."""
        ...

    def put_bindings(self, platform: str, items: Sequence[Binding], now: datetime) -> list[str]:
        """Upsert (one transaction); per item ``created``, ``updated`` or ``unchanged``."""
        ...

    def delete_bindings(self, platform: str, keys: Sequence[tuple[str, str]]) -> list[bool]:
        """Delete (account_ref, phone) keys (one transaction); per item whether it existed."""
        ...

    def bindings_of(self, phone_number: str, platform: str | None = None) -> list[Binding]:
        """Bindings on a number (of one platform, or of all)."""
        ...

    def replace_bindings(
        self, platform: str, chunks: Iterable[Sequence[Binding]], now: datetime
    ) -> tuple[int, int, int, int]:
        """Make the platform's bindings exactly those in *chunks*, in one transaction.

        Returns (created, updated, unchanged, removed). An exception from *chunks* rolls the
        whole import back.
        """
        ...

    def number_state(self, phone_number: str) -> NumberState | None:
        """The number's current state in the registry, or None."""
        ...

    def numbers_of_holder(self, id_hash: str) -> list[NumberState]:
        """States of the numbers whose current (or, if cancelled, last) holder has *id_hash*."""
        ...

    def open_unbind_request_platforms(self, phone_number: str, tenure_start: date) -> set[str]:
        """Platforms with a pending request for this number and tenure."""
        ...

    def insert_unbind_requests(
        self, drafts: Sequence[UnbindDraft], listeners: Sequence[UnbindListener]
    ) -> None:
        """Insert requests and their items, and run *listeners*, in one transaction."""
        ...

    def unbind_request(self, request_id: str) -> StoredUnbindRequest | None:
        """One request with its account references, or None."""
        ...

    def unbind_requests_for(
        self, phone_number: str, tenure_start: date
    ) -> list[StoredUnbindRequest]:
        """Requests for a number made in a tenure, newest first."""
        ...

    def unbind_requests_of_platform(
        self, platform: str, status: UnbindState | None, limit: int
    ) -> list[StoredUnbindRequest]:
        """A platform's requests, oldest first (optionally of one status)."""
        ...

    def resolve_unbind_request(
        self,
        request_id: str,
        status: UnbindState,
        reason: str | None,
        now: datetime,
    ) -> bool:
        """Resolve a pending request; when *status* is DONE also delete its bindings (one
        transaction). False when it was not pending any more."""
        ...


# parsing --------------------------------------------------------------------------------------


class _ItemError(NumguardError):
    pass


def _date(value: object, name: str, *, required: bool) -> date | None:
    if value is None or value == "":
        if required:
            raise _ItemError(f"{name} is required", code="INVALID_DATE")
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        raise _ItemError(f"{name} must be a date in YYYY-MM-DD form", code="INVALID_DATE")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _ItemError(f"{name} {value} is not a calendar date", code="INVALID_DATE") from exc


def _key(item: Mapping[str, Any], region: str) -> tuple[str, str]:
    ref = item.get("accountRef")
    if not isinstance(ref, str) or not _REF.match(ref):
        raise _ItemError(
            "accountRef is 1 to 128 printable ASCII characters", code="INVALID_ACCOUNT_REF"
        )
    phone = item.get("phoneNumber")
    if not isinstance(phone, str):
        raise _ItemError("phoneNumber is required", code="INVALID_PHONE_NUMBER")
    try:
        return ref, parse_phone_number(phone, region)
    except NumguardError as exc:
        raise _ItemError(exc.message, code="INVALID_PHONE_NUMBER") from exc


def parse_binding(item: object, platform: PlatformRecord, region: str, today: date) -> Binding:
    """One API/CSV/NDJSON record as a :class:`Binding` of *platform*; raises NumguardError
    with a machine code (INVALID_ACCOUNT_REF, INVALID_PHONE_NUMBER, INVALID_CATEGORY,
    INVALID_DATE)."""
    if not isinstance(item, Mapping):
        raise _ItemError("each binding is an object", code="INVALID_ARGUMENT")
    ref, phone = _key(item, region)
    raw_category = item.get("category")
    if raw_category is None or raw_category == "":
        category = platform.category
    else:
        found = _CATEGORIES.get(raw_category) if isinstance(raw_category, str) else None
        if found is None:
            allowed = ", ".join(_CATEGORIES)
            raise _ItemError(f"category must be one of {allowed}", code="INVALID_CATEGORY")
        category = found
    bound_at = _date(item.get("boundAt"), "boundAt", required=True)
    assert bound_at is not None  # noqa: S101  required above
    last_active = _date(item.get("lastActiveAt"), "lastActiveAt", required=False)
    if bound_at > today or (last_active is not None and last_active > today):
        raise _ItemError("boundAt and lastActiveAt must not be in the future", code="INVALID_DATE")
    if last_active is not None and last_active < bound_at:
        raise _ItemError("lastActiveAt must not be before boundAt", code="INVALID_DATE")
    return Binding(platform.code, ref, phone, category, bound_at, last_active)


def read_snapshot(
    chunks: Iterable[bytes], fmt: Literal["csv", "ndjson"]
) -> Iterator[dict[str, Any]]:
    """Records of a snapshot file, streamed: CSV with the :data:`BINDING_COLUMNS` header, or
    one JSON object a line. Blank lines are skipped."""
    if fmt == "ndjson":
        buffer = b""
        for chunk in chunks:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    yield _json_line(line)
        if buffer.strip():
            yield _json_line(buffer)
        return
    text = io.TextIOWrapper(
        io.BufferedReader(_ChunkReader(chunks)), encoding="utf-8-sig", newline=""
    )
    reader = csv.DictReader(text)
    header = tuple(reader.fieldnames or ())
    missing = [c for c in ("accountRef", "phoneNumber", "boundAt") if c not in header]
    if missing:
        raise SnapshotRejected(
            f"the CSV header must name {', '.join(BINDING_COLUMNS)} (missing {missing[0]})"
        )
    for row in reader:
        yield {k: v for k, v in row.items() if k is not None}


def _json_line(line: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise SnapshotRejected("a line is not JSON") from exc
    if not isinstance(value, dict):
        raise SnapshotRejected("each line is one JSON object")
    return value


class _ChunkReader(io.RawIOBase):
    """A readable stream over an iterable of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


# the service ----------------------------------------------------------------------------------


@dataclass
class BindingService:
    """Platforms, their bindings, and the platform side of unbind requests."""

    store: BindingStore
    audit: AuditTrail
    hasher: NumberHasher
    default_region: str
    today: Callable[[], date]
    now: Callable[[], datetime]
    deadline_working_days: int = 5
    dormant_days: int = 365
    max_batch: int = 10_000
    _listeners: list[UnbindListener] = field(default_factory=list)

    # platforms --------------------------------------------------------------------------------

    def add_platform(
        self,
        code: str,
        name: str,
        *,
        category: Category | str,
        webhook_url: str | None = None,
        contact: str | None = None,
    ) -> PlatformRecord:
        """Register a platform, or update the one with this code (idempotent).

        *webhook_url* is recorded as given; the face that registers the platform also makes
        its ``binding.unbind-requested`` subscription
        (:meth:`~numguard.services.notifications.SubscriptionService.ensure_unbind_sink`).
        """
        code = code.strip().upper()
        if not _CODE.match(code):
            raise InvalidInput("a platform code is 2-32 letters, digits, '-' or '_'")
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("a platform needs a name of 1 to 200 characters")
        found = _CATEGORIES.get(str(category).upper())
        if found is None:
            raise InvalidInput(
                f"category must be one of {', '.join(_CATEGORIES)}", code="INVALID_CATEGORY"
            )
        if webhook_url is not None:
            webhook_url = webhook_url.strip() or None
        if webhook_url is not None and (
            not webhook_url.startswith(("https://", "http://")) or len(webhook_url) > 500
        ):
            raise InvalidInput("the webhook is an http(s) URL of at most 500 characters")
        contact = (contact or "").strip() or None
        if contact is not None and len(contact) > 200:
            raise InvalidInput("a contact has at most 200 characters")
        existing = self.store.get_platform(code)
        record = PlatformRecord(
            code,
            name,
            found,
            contact,
            webhook_url,
            existing.created_at if existing else self.now(),
        )
        return self.store.upsert_platform(record)

    def platform(self, code: str) -> PlatformRecord:
        """The platform with this code, or :class:`UnknownPlatform`."""
        record = self.store.get_platform(code.strip().upper())
        if record is None:
            raise UnknownPlatform(f"no platform {code}")
        return record

    def list_platforms(self) -> list[PlatformRecord]:
        """Every registered platform, by code."""
        return self.store.list_platforms()

    def platform_names(self) -> dict[str, str]:
        """Display names by platform code."""
        return {p.code: p.name for p in self.store.list_platforms()}

    # bindings ---------------------------------------------------------------------------------

    def _check_size(self, items: Sequence[object]) -> None:
        if not items:
            raise InvalidInput('send {"bindings": [...]} with at least one binding')
        if len(items) > self.max_batch:
            raise InvalidInput(f"at most {self.max_batch} bindings per request")

    def put(
        self, platform: str, items: Sequence[object], *, client_id: str | None = None
    ) -> BatchResult:
        """Create or update bindings of *platform* (idempotent); one result per item.

        A bad item is rejected with a code and changes nothing; the good ones are stored in one
        transaction. The same (accountRef, phoneNumber) twice in one batch: the second is
        rejected (DUPLICATE_IN_BATCH).
        """
        self._check_size(items)
        record = self.platform(platform)
        today = self.today()
        results: list[ItemResult | None] = [None] * len(items)
        good: list[tuple[int, Binding]] = []
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(items):
            try:
                binding = parse_binding(item, record, self.default_region, today)
            except NumguardError as exc:
                results[i] = _rejected(i, item, exc)
                continue
            key = (binding.account_ref, binding.phone_number)
            if key in seen:
                results[i] = ItemResult(
                    i,
                    binding.account_ref,
                    binding.phone_number,
                    ItemOutcome.REJECTED,
                    "DUPLICATE_IN_BATCH",
                    "this binding appears earlier in the batch",
                )
                continue
            seen.add(key)
            good.append((i, binding))
        if good:
            outcomes = self.store.put_bindings(record.code, [b for _, b in good], self.now())
            for (i, b), outcome in zip(good, outcomes, strict=True):
                results[i] = ItemResult(i, b.account_ref, b.phone_number, ItemOutcome(outcome))
        batch = BatchResult(tuple(r for r in results if r is not None))
        self._audit("BINDINGS_PUT", client_id, record.code, batch.counts())
        return batch

    def delete(
        self, platform: str, items: Sequence[object], *, client_id: str | None = None
    ) -> BatchResult:
        """Delete bindings of *platform* by (accountRef, phoneNumber); absent ones are a no-op."""
        self._check_size(items)
        record = self.platform(platform)
        results: list[ItemResult | None] = [None] * len(items)
        good: list[tuple[int, tuple[str, str]]] = []
        for i, item in enumerate(items):
            try:
                if not isinstance(item, Mapping):
                    raise _ItemError("each binding is an object", code="INVALID_ARGUMENT")
                key = _key(item, self.default_region)
            except NumguardError as exc:
                results[i] = _rejected(i, item, exc)
                continue
            good.append((i, key))
        if good:
            existed = self.store.delete_bindings(record.code, [k for _, k in good])
            for (i, (ref, phone)), was in zip(good, existed, strict=True):
                outcome = ItemOutcome.DELETED if was else ItemOutcome.ABSENT
                results[i] = ItemResult(i, ref, phone, outcome)
        batch = BatchResult(tuple(r for r in results if r is not None))
        self._audit("BINDINGS_DELETE", client_id, record.code, batch.counts())
        return batch

    def list_for_number(
        self, platform: str, phone_number: str, *, client_id: str | None = None
    ) -> list[Binding]:
        """The platform's own bindings on one number (audited)."""
        record = self.platform(platform)
        e164 = parse_phone_number(phone_number, self.default_region)
        found = self.store.bindings_of(e164, record.code)
        self.audit.record(
            AuditEntry(
                at=self.now(),
                kind="BINDINGS_READ",
                client_id=client_id,
                number_hash=self.hasher.hex(e164),
                detail={"platform": record.code, "count": len(found)},
            )
        )
        return found

    def import_snapshot(
        self,
        platform: str,
        records: Iterable[Mapping[str, Any]],
        *,
        client_id: str | None = None,
        chunk_size: int = 5000,
    ) -> SnapshotSummary:
        """Replace the platform's bindings with *records* (streamed, one transaction).

        Idempotent: importing the same snapshot twice changes nothing the second time. Any bad
        record (or the same binding twice) rejects the whole snapshot with its record number,
        and nothing changes: a broken line must never remove a real binding.
        """
        record = self.platform(platform)
        today = self.today()
        count = 0

        def chunks() -> Iterator[list[Binding]]:
            nonlocal count
            seen: set[tuple[str, str]] = set()
            chunk: list[Binding] = []
            for n, item in enumerate(records, start=1):
                try:
                    binding = parse_binding(item, record, self.default_region, today)
                except NumguardError as exc:
                    raise SnapshotRejected(f"record {n}: {exc.message} ({exc.code})") from exc
                key = (binding.account_ref, binding.phone_number)
                if key in seen:
                    raise SnapshotRejected(f"record {n}: this binding appears twice")
                seen.add(key)
                chunk.append(binding)
                count = n
                if len(chunk) >= chunk_size:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

        created, updated, unchanged, removed = self.store.replace_bindings(
            record.code, chunks(), self.now()
        )
        summary = SnapshotSummary(count, created, updated, unchanged, removed)
        self._audit(
            "BINDINGS_IMPORT",
            client_id,
            record.code,
            {
                "records": count,
                "created": created,
                "updated": updated,
                "unchanged": unchanged,
                "removed": removed,
            },
        )
        return summary

    def _audit(
        self, kind: str, client_id: str | None, platform: str, detail: Mapping[str, Any]
    ) -> None:
        self.audit.write_now(
            [
                AuditEntry(
                    at=self.now(),
                    kind=kind,
                    client_id=client_id,
                    detail={"platform": platform, **detail},
                )
            ]
        )

    # the holder's own bindings and the cancellation check --------------------------------------

    def holder_bindings(self, state: NumberState) -> HolderBindings:
        """The bindings the current holder made (DURING their tenure, or UNKNOWN when the
        tenure's start is only a lower bound); never those from before the tenure."""
        found = self.store.bindings_of(state.phone_number)
        own = tuple(
            b
            for b in found
            if tenure_side(b.bound_at, state.tenure_start, start_known=state.tenure_start_known)
            is not TenureSide.BEFORE
        )
        return HolderBindings(state.phone_number, state.tenure_start, own)

    def cancellation_check(
        self, carrier: str, phone_number: str, *, client_id: str | None = None
    ) -> tuple[HolderBindings, CancellationPlanView]:
        """For a carrier about to cancel a number it holds: the holder's bindings and the plan.

        Raises :class:`NumberNotHeld` unless the number is ACTIVE at *carrier*.
        """
        e164 = parse_phone_number(phone_number, self.default_region)
        state = self.store.number_state(e164)
        if state is None or not state.is_held or state.carrier != carrier:
            raise NumberNotHeld(f"{carrier} does not hold {e164} now")
        own = self.holder_bindings(state)
        plan = build_plan(e164, own.bindings, today=self.today(), dormant_days=self.dormant_days)
        self.audit.write_now(
            [
                AuditEntry(
                    at=self.now(),
                    kind="CANCEL_CHECK",
                    client_id=client_id,
                    number_hash=self.hasher.hex(e164),
                    detail={"carrier": carrier, "bindings": len(own.bindings)},
                )
            ]
        )
        return own, plan_view(plan, mask_phone_number(e164), self.platform_names())

    # unbind requests --------------------------------------------------------------------------

    def on_unbind_requested(self, listener: UnbindListener) -> None:
        """Run *listener* inside every transaction that inserts unbind requests."""
        self._listeners.append(listener)

    def create_unbind_requests(
        self, state: NumberState
    ) -> tuple[list[StoredUnbindRequest], list[StoredUnbindRequest]]:
        """焕新 for the current holder of *state*: one request per platform holding bindings
        made before the tenure. Returns (created, already pending). The outbox listeners write
        their signed events in the same transaction; nothing is sent before this returns."""
        if not state.is_held or state.tenure_start is None:
            return [], []
        tenure_start = state.tenure_start
        earlier: dict[str, list[str]] = {}
        for b in self.store.bindings_of(state.phone_number):
            side = tenure_side(b.bound_at, tenure_start, start_known=state.tenure_start_known)
            if side is TenureSide.BEFORE:
                earlier.setdefault(b.platform, []).append(b.account_ref)
        if not earlier:
            return [], []
        open_ones = self.store.open_unbind_request_platforms(state.phone_number, tenure_start)
        now = self.now()
        due = working_days_after(self.today(), self.deadline_working_days)
        drafts = [
            UnbindDraft(
                "ur_" + secrets.token_urlsafe(12),
                platform,
                state.phone_number,
                tenure_start,
                tuple(sorted(refs)),
                now,
                due,
            )
            for platform, refs in sorted(earlier.items())
            if platform not in open_ones
        ]
        if drafts:
            self.store.insert_unbind_requests(drafts, self._listeners)
        mine = self.store.unbind_requests_for(state.phone_number, tenure_start)
        made = {d.request_id for d in drafts}
        created = [r for r in mine if r.request_id in made]
        pending = [
            r
            for r in mine
            if r.request_id not in made
            and r.status is UnbindState.PENDING
            and r.platform in open_ones
        ]
        return created, pending

    def requests_for(self, phone_number: str, tenure_start: date) -> list[StoredUnbindRequest]:
        """The requests made for a number during one tenure, newest first."""
        return self.store.unbind_requests_for(phone_number, tenure_start)

    def platform_requests(
        self,
        platform: str,
        *,
        status: str | None = None,
        limit: int = 1000,
        client_id: str | None = None,
    ) -> list[StoredUnbindRequest]:
        """A platform's own unbind requests (for platforms without a subscription, or to catch
        up)."""
        record = self.platform(platform)
        wanted: UnbindState | None = None
        if status is not None:
            try:
                wanted = UnbindState(status)
            except ValueError as exc:
                raise InvalidInput("status must be pending, done or rejected") from exc
        found = self.store.unbind_requests_of_platform(record.code, wanted, limit)
        self._audit("UNBIND_LIST", client_id, record.code, {"count": len(found)})
        return found

    def _own_request(self, platform: str, request_id: str) -> StoredUnbindRequest:
        found = self.store.unbind_request(request_id) if len(request_id) <= 32 else None
        if found is None or found.platform != platform:
            raise UnbindRequestNotFound(f"no unbind request {request_id} for {platform}")
        return found

    def confirm_unbind(
        self, platform: str, request_id: str, *, client_id: str | None = None
    ) -> StoredUnbindRequest:
        """The platform dropped the bindings: the request is done and the bindings removed.

        Idempotent (confirming a done request again changes nothing); a rejected request is
        :class:`UnbindRequestClosed`.
        """
        found = self._own_request(platform, request_id)
        if found.status is UnbindState.REJECTED:
            raise UnbindRequestClosed("this request was rejected already")
        if found.status is UnbindState.PENDING:
            self.store.resolve_unbind_request(request_id, UnbindState.DONE, None, self.now())
            self._audit("UNBIND_CONFIRM", client_id, platform, {"request": request_id})
        return self._own_request(platform, request_id)

    def reject_unbind(
        self, platform: str, request_id: str, reason: str, *, client_id: str | None = None
    ) -> StoredUnbindRequest:
        """The platform refuses, with a reason the person will read. Idempotent for the same
        outcome; a done request is :class:`UnbindRequestClosed`."""
        reason = (reason or "").strip()
        if not reason or len(reason) > REASON_MAX:
            raise InvalidInput(f"a rejection needs a reason of 1 to {REASON_MAX} characters")
        found = self._own_request(platform, request_id)
        if found.status is UnbindState.DONE:
            raise UnbindRequestClosed("this request was confirmed already")
        if found.status is UnbindState.PENDING:
            self.store.resolve_unbind_request(request_id, UnbindState.REJECTED, reason, self.now())
            self._audit("UNBIND_REJECT", client_id, platform, {"request": request_id})
        return self._own_request(platform, request_id)


def working_days_after(start: date, days: int) -> date:
    """The date *days* working days (Monday to Friday) after *start*."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def _rejected(i: int, item: object, exc: NumguardError) -> ItemResult:
    ref = item.get("accountRef") if isinstance(item, Mapping) else None
    phone = item.get("phoneNumber") if isinstance(item, Mapping) else None
    return ItemResult(
        i,
        ref if isinstance(ref, str) else None,
        phone if isinstance(phone, str) else None,
        ItemOutcome.REJECTED,
        exc.code,
        exc.message,
    )
