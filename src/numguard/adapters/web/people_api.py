"""The people's API and the platforms' bindings API.

- Platforms (a client tied to a platform): ``PUT``/``DELETE``/``GET /v1/bindings``, and their
  unbind requests: ``GET /v1/unbind-requests``, ``POST /v1/unbind-requests/{id}/confirm`` and
  ``/reject``.
- Carriers: ``POST /v1/numbers/{phone}/cancellation-check``.
- People (no client; an SMS code proves the phone): ``POST /v1/lookups``,
  ``POST /v1/lookups/{id}/verify``, then with ``Authorization: Bearer <session token>``:
  ``GET /v1/lookups/{id}``, ``POST /v1/lookups/{id}/renewal``,
  ``GET /v1/lookups/{id}/unbind-requests``, ``GET /v1/lookups/{id}/plan``.
- People after the session: ``GET /v1/unbind-requests/track`` with ``Authorization: Bearer
  <tracking token>`` (the token 焕新 answered). The token goes in a header, never in the path
  or the query, so access logs and proxies do not record it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from numguard.adapters.web.errors import ERROR_SCHEMA
from numguard.adapters.web.security import container_of, principal
from numguard.domain.binding import Binding
from numguard.errors import Forbidden, InvalidInput
from numguard.services.auth import Principal, Scope
from numguard.services.bindings import (
    BatchResult,
    CancellationPlanView,
    HolderBindings,
    NotAPlatformClient,
    StoredUnbindRequest,
    plan_csv,
)
from numguard.services.people import (
    AccountsResult,
    LookupSession,
    NumbersResult,
    SessionInvalid,
    TrackedRequests,
    UnbindRequestView,
)

router = APIRouter(prefix="/v1")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {"description": "error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for s in statuses
    }


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# platforms: bindings --------------------------------------------------------------------------

_BINDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["bindings"],
    "properties": {
        "bindings": {
            "type": "array",
            "maxItems": 10000,
            "items": {
                "type": "object",
                "required": ["accountRef", "phoneNumber"],
                "properties": {
                    "accountRef": {"type": "string", "maxLength": 128, "example": "u-10293"},
                    "phoneNumber": {"type": "string", "example": "+8613800138000"},
                    "category": {
                        "type": "string",
                        "enum": ["FINANCIAL", "SOCIAL", "COMMERCE", "LIFESTYLE", "OTHER"],
                        "description": "Defaults to the platform's category (PUT only)",
                    },
                    "boundAt": {"type": "string", "format": "date", "description": "PUT only"},
                    "lastActiveAt": {"type": "string", "format": "date", "nullable": True},
                },
            },
        }
    },
}


def platform_principal(request: Request) -> Principal:
    """A platform client's principal; other callers are refused."""
    who = principal(request, Scope.CHECK)
    if who.platform is None:
        raise NotAPlatformClient(
            "only a platform's client reports bindings (numguard client add --platform CODE)"
        )
    return who


async def _items(request: Request) -> list[Any]:
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not JSON") from exc
    items = payload.get("bindings") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput('send {"bindings": [...]} with at least one binding')
    return items


def _batch_body(batch: BatchResult, outcomes: Sequence[str]) -> dict[str, Any]:
    counts = batch.counts()
    body: dict[str, Any] = {name: counts[name] for name in outcomes}
    body["rejected"] = counts["rejected"]
    body["results"] = [
        {
            "index": r.index,
            "accountRef": r.account_ref,
            "phoneNumber": r.phone_number,
            "outcome": r.outcome.value,
        }
        | ({"code": r.code, "message": r.message} if r.code else {})
        for r in batch.results
    ]
    return body


def binding_body(b: Binding) -> dict[str, Any]:
    """A binding in the API's shape."""
    return {
        "accountRef": b.account_ref,
        "phoneNumber": b.phone_number,
        "category": b.category.value,
        "boundAt": b.bound_at.isoformat(),
        "lastActiveAt": _iso(b.last_active_at),
    }


@router.put(
    "/bindings",
    tags=["Bindings"],
    summary="Report up to 10,000 bindings of your platform (create or update)",
    responses=_errors(400, 401, 403, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BINDING_SCHEMA}},
        }
    },
)
async def put_bindings(request: Request) -> Response:
    """Idempotent upserts keyed by (accountRef, phoneNumber); a result per item.

    A bad item is ``rejected`` with a machine code (INVALID_ACCOUNT_REF, INVALID_PHONE_NUMBER,
    INVALID_CATEGORY, INVALID_DATE, DUPLICATE_IN_BATCH) and the others are still stored.
    """
    who = platform_principal(request)
    assert who.platform is not None  # noqa: S101  checked above
    items = await _items(request)
    service = container_of(request).bindings
    batch = await run_in_threadpool(service.put, who.platform, items, client_id=who.client_id)
    return _json(_batch_body(batch, ("created", "updated", "unchanged")))


@router.delete(
    "/bindings",
    tags=["Bindings"],
    summary="Remove up to 10,000 bindings of your platform",
    responses=_errors(400, 401, 403, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BINDING_SCHEMA}},
        }
    },
)
async def delete_bindings(request: Request) -> Response:
    """Each item is ``deleted``, ``absent`` (nothing to delete: a no-op) or ``rejected``."""
    who = platform_principal(request)
    assert who.platform is not None  # noqa: S101
    items = await _items(request)
    service = container_of(request).bindings
    batch = await run_in_threadpool(service.delete, who.platform, items, client_id=who.client_id)
    return _json(_batch_body(batch, ("deleted", "absent")))


@router.get(
    "/bindings",
    tags=["Bindings"],
    summary="Your platform's bindings on one number",
    responses=_errors(400, 401, 403, 429),
)
async def get_bindings(request: Request, phoneNumber: str) -> Response:  # noqa: N803
    """Only the calling platform's own bindings, ever."""
    who = platform_principal(request)
    assert who.platform is not None  # noqa: S101
    service = container_of(request).bindings
    found = await run_in_threadpool(
        service.list_for_number, who.platform, phoneNumber, client_id=who.client_id
    )
    return _json({"bindings": [binding_body(b) for b in found]})


# platforms: unbind requests -------------------------------------------------------------------


def stored_request_body(r: StoredUnbindRequest, today: date) -> dict[str, Any]:
    """An unbind request as its platform sees it: the number, the tenure start, its accounts."""
    return {
        "requestId": r.request_id,
        "phoneNumber": r.phone_number,
        "tenureStart": r.tenure_start.isoformat(),
        "accountRefs": list(r.account_refs),
        "status": r.shown_status(today),
        "createdAt": r.created_at.isoformat(),
        "dueOn": r.due_on.isoformat(),
        "resolvedAt": _iso(r.resolved_at),
        "reason": r.reason,
    }


@router.get(
    "/unbind-requests",
    tags=["Bindings"],
    summary="Your platform's unbind requests (焕新)",
    responses=_errors(400, 401, 403, 429),
)
async def list_unbind_requests(request: Request, status: str | None = None) -> Response:
    """Oldest first; ``status`` is pending, done or rejected (pending includes overdue)."""
    who = platform_principal(request)
    assert who.platform is not None  # noqa: S101
    container = container_of(request)
    found = await run_in_threadpool(
        container.bindings.platform_requests,
        who.platform,
        status=status,
        client_id=who.client_id,
    )
    today = container.today()
    return _json({"requests": [stored_request_body(r, today) for r in found]})


class RejectBody(BaseModel):
    """Why the platform will not drop the bindings."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, examples=["the account holder verified"])


@router.post(
    "/unbind-requests/{request_id}/confirm",
    tags=["Bindings"],
    summary="Confirm an unbind request: the bindings are dropped",
    responses=_errors(401, 403, 404, 409, 429),
)
async def confirm_unbind(request: Request, request_id: str) -> Response:
    """Only the platform the request was sent to may confirm it (others get 404)."""
    who = platform_principal(request)
    assert who.platform is not None  # noqa: S101
    container = container_of(request)
    done = await run_in_threadpool(
        container.bindings.confirm_unbind, who.platform, request_id, client_id=who.client_id
    )
    return _json(stored_request_body(done, container.today()))


@router.post(
    "/unbind-requests/{request_id}/reject",
    tags=["Bindings"],
    summary="Reject an unbind request, with a reason the person will read",
    responses=_errors(400, 401, 403, 404, 409, 429),
)
async def reject_unbind(request: Request, request_id: str, body: RejectBody) -> Response:
    """Only the platform the request was sent to may reject it (others get 404)."""
    who = platform_principal(request)
    assert who.platform is not None  # noqa: S101
    container = container_of(request)
    done = await run_in_threadpool(
        container.bindings.reject_unbind,
        who.platform,
        request_id,
        body.reason,
        client_id=who.client_id,
    )
    return _json(stored_request_body(done, container.today()))


# carriers: the cancellation check -------------------------------------------------------------


def plan_body(plan: CancellationPlanView) -> dict[str, Any]:
    """The plan in the API's shape (accounts masked)."""
    return {
        "madeOn": plan.made_on.isoformat(),
        "dormantDays": plan.dormant_days,
        "steps": [
            {
                "position": line.position,
                "category": line.category.value,
                "platform": line.platform,
                "platformName": line.platform_name,
                "account": line.account_masked,
                "action": line.action.value,
                "reason": line.reason.value,
                "lastActiveAt": _iso(line.last_active_at),
                "idleDays": line.idle_days,
            }
            for line in plan.lines
        ],
    }


def _csv(plan: CancellationPlanView) -> Response:
    return Response(
        plan_csv(plan),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cancellation-plan.csv"'},
    )


def _wants_csv(request: Request) -> bool:
    fmt = request.query_params.get("format")
    if fmt is not None:
        if fmt not in ("csv", "json"):
            raise InvalidInput("format is csv or json")
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


@router.post(
    "/numbers/{phone_number}/cancellation-check",
    tags=["Carrier reporting"],
    summary="Before cancelling: the holder's bindings and the unbinding plan",
    responses=_errors(400, 401, 403, 429),
)
async def cancellation_check(request: Request, phone_number: str) -> Response:
    """For the carrier that holds the number now. JSON, or CSV with ``Accept: text/csv`` or
    ``?format=csv``. Only bindings made during the current holder's tenure are shown."""
    who = principal(request, Scope.LIFECYCLE_WRITE)
    if who.carrier is None:
        raise Forbidden("only a carrier's client may run a cancellation check")
    service = container_of(request).bindings
    own, plan = await run_in_threadpool(
        service.cancellation_check, who.carrier, phone_number, client_id=who.client_id
    )
    if _wants_csv(request):
        return _csv(plan)
    return _json(_holder_body(own) | {"plan": plan_body(plan)})


def _holder_body(own: HolderBindings) -> dict[str, Any]:
    return {
        "phoneNumber": own.phone_number,
        "tenureStart": _iso(own.tenure_start),
        "summary": [
            {"category": s.category.value, "accounts": s.accounts, "platforms": s.platforms}
            for s in own.summary()
        ],
    }


# people: lookups ------------------------------------------------------------------------------


class LookupBody(BaseModel):
    """Phone and the last six characters of the ID (2.0), or phone and the full ID (1.0)."""

    model_config = ConfigDict(extra="forbid")
    phoneNumber: str = Field(max_length=32, examples=["+8613800138000"])  # noqa: N815
    idSuffix: str | None = Field(default=None, max_length=12, examples=["12345X"])  # noqa: N815
    idNumber: str | None = Field(default=None, max_length=40)  # noqa: N815
    idType: str = Field(default="CN_RESIDENT", max_length=24)  # noqa: N815


class CodeBody(BaseModel):
    """The six-digit code from the SMS."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=12, examples=["123456"])


@router.post(
    "/lookups",
    tags=["Lookups (一证通查)"],
    summary="Start a lookup: a code is sent to the phone",
    status_code=202,
    responses=_errors(400, 429),
)
async def start_lookup(request: Request, body: LookupBody) -> Response:
    """The answer is the same whether or not the ID belongs to the number's holder."""
    container = container_of(request)
    host = request.client.host if request.client else "unknown"
    container.lookup_limiter.check(host, time.monotonic())
    started = await run_in_threadpool(
        container.people.start_lookup,
        body.phoneNumber,
        id_suffix=body.idSuffix,
        id_number=body.idNumber,
        id_type=body.idType,
    )
    return _json(
        {
            "lookupId": started.lookup_id,
            "kind": started.kind.value,
            "phoneNumber": started.phone_masked,
            "codeExpiresAt": started.code_expires_at.isoformat(),
            "codeLength": started.code_length,
            "message": "A code was sent by SMS to this phone number.",
        },
        202,
    )


@router.post(
    "/lookups/{lookup_id}/verify",
    tags=["Lookups (一证通查)"],
    summary="Verify the SMS code: a short-lived session token",
    responses=_errors(400, 403, 404),
)
async def verify_lookup(request: Request, lookup_id: str, body: CodeBody) -> Response:
    """Wrong code: 400 INVALID_CODE; the fifth wrong code locks it (403 CODE_LOCKED)."""
    people = container_of(request).people
    session = await run_in_threadpool(people.verify_code, lookup_id, body.code)
    return _json(
        {
            "sessionToken": session.token,
            "tokenType": "Bearer",
            "expiresAt": session.expires_at.isoformat(),
            "kind": session.kind.value,
        }
    )


def _bearer(request: Request) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; empty for anything else."""
    kind, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if kind.lower() == "bearer" else ""


async def _session(request: Request, lookup_id: str) -> LookupSession:
    token = _bearer(request)
    if not token:
        raise SessionInvalid("send the lookup's session token: Authorization: Bearer <token>")
    people = container_of(request).people
    session = await run_in_threadpool(people.session, token)
    if session.lookup_id != lookup_id:
        raise SessionInvalid("this session token belongs to another lookup")
    return session


def accounts_body(result: AccountsResult) -> dict[str, Any]:
    """2.0 in the API's shape: nothing from before the caller's tenure but that it exists."""
    return {
        "matched": result.matched,
        "phoneNumber": result.phone_masked,
        "tenureStart": _iso(result.tenure_start),
        "boundBeforeYou": result.before_count,
        "total": result.total,
        "categories": [
            {
                "category": g.category.value,
                "platforms": [
                    {
                        "platform": p.platform,
                        "platformName": p.platform_name,
                        "accounts": [
                            {
                                "account": a.account_masked,
                                "tenure": a.side.value,
                                "boundAt": _iso(a.bound_at),
                                "lastActiveAt": _iso(a.last_active_at),
                            }
                            for a in p.accounts
                        ],
                        "unbindRequest": request_body(p.request) if p.request else None,
                    }
                    for p in g.platforms
                ],
            }
            for g in result.groups
        ],
    }


def numbers_body(result: NumbersResult) -> dict[str, Any]:
    """1.0 in the API's shape."""
    return {
        "matched": result.matched,
        "total": result.total,
        "carriers": [
            {
                "carrier": c.carrier,
                "carrierName": c.carrier_name,
                "numbers": [
                    {
                        "phoneNumber": n.phone_masked,
                        "status": n.status.value,
                        "since": _iso(n.since),
                    }
                    for n in c.numbers
                ],
            }
            for c in result.carriers
        ],
    }


def request_body(r: UnbindRequestView) -> dict[str, Any]:
    """An unbind request as the person follows it."""
    return {
        "requestId": r.request_id,
        "platform": r.platform,
        "platformName": r.platform_name,
        "status": r.status.value,
        "createdAt": r.created_at.isoformat(),
        "dueOn": r.due_on.isoformat(),
        "resolvedAt": _iso(r.resolved_at),
        "reason": r.reason,
        "accounts": r.account_count,
        "delivery": r.delivery,
    }


@router.get(
    "/lookups/{lookup_id}",
    tags=["Lookups (一证通查)"],
    summary="The lookup's result (2.0 accounts; with the full ID also 1.0 numbers)",
    responses=_errors(401),
)
async def lookup_result(request: Request, lookup_id: str) -> Response:
    """``matched`` false means the ID is not the current holder's: nothing else is said."""
    session = await _session(request, lookup_id)
    people = container_of(request).people
    accounts = await run_in_threadpool(people.accounts, session.token)
    body: dict[str, Any] = {"kind": session.kind.value, "matched": accounts.matched}
    body["accounts"] = accounts_body(accounts)
    if session.kind.value == "1.0":
        numbers = await run_in_threadpool(people.numbers, session.token)
        body["numbers"] = numbers_body(numbers)
    return _json(body)


@router.post(
    "/lookups/{lookup_id}/renewal",
    tags=["Lookups (一证通查)"],
    summary="焕新: ask every platform to drop the bindings made before your tenure",
    responses=_errors(401, 403),
)
async def renewal(request: Request, lookup_id: str) -> Response:
    """One request per platform; a platform with a pending request gets no second one."""
    session = await _session(request, lookup_id)
    people = container_of(request).people
    result = await run_in_threadpool(people.request_renewal, session.token)
    body: dict[str, Any] = {
        "created": [request_body(r) for r in result.created],
        "alreadyPending": [request_body(r) for r in result.already_pending],
    }
    if result.tracking is not None:
        body["trackingToken"] = result.tracking.token
        body["trackingExpiresAt"] = result.tracking.expires_at.isoformat()
    return _json(body)


def tracked_body(tracked: TrackedRequests) -> dict[str, Any]:
    """What a tracking token shows: no number, no account reference, no binding."""
    return {
        "expiresAt": tracked.expires_at.isoformat(),
        "requests": [
            {
                "platformName": r.platform_name,
                "category": r.category.value,
                "accounts": r.account_count,
                "status": r.status.value,
                "requestedAt": r.requested_at.isoformat(),
                "dueOn": r.due_on.isoformat(),
                "answeredAt": _iso(r.answered_at),
                "reason": r.reason,
            }
            for r in tracked.requests
        ],
    }


@router.get(
    "/unbind-requests/track",
    tags=["Lookups (一证通查)"],
    summary="Follow your 焕新 requests after the session, with the tracking token",
    responses=_errors(401),
)
async def track_unbind_requests(request: Request) -> Response:
    """``Authorization: Bearer <trackingToken>`` (from the renewal's answer; valid 30 days).

    Shows platform names, categories, account counts, statuses, dates and rejection reasons
    of the requests of that number and tenure, and nothing else.
    """
    people = container_of(request).people
    # refusals are audited there too
    tracked = await run_in_threadpool(people.track, _bearer(request))
    response = _json(tracked_body(tracked))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/lookups/{lookup_id}/unbind-requests",
    tags=["Lookups (一证通查)"],
    summary="Your unbind requests and their status",
    responses=_errors(401),
)
async def my_unbind_requests(request: Request, lookup_id: str) -> Response:
    """pending, done, rejected (with the platform's reason) or overdue."""
    session = await _session(request, lookup_id)
    people = container_of(request).people
    found = await run_in_threadpool(people.unbind_requests, session.token)
    return _json({"requests": [request_body(r) for r in found]})


@router.get(
    "/lookups/{lookup_id}/plan",
    tags=["Lookups (一证通查)"],
    summary="Your cancellation plan (JSON, or CSV with ?format=csv)",
    responses=_errors(401, 403),
)
async def my_plan(request: Request, lookup_id: str) -> Response:
    """Financial accounts first; long-unused accounts marked CLOSE_ACCOUNT."""
    session = await _session(request, lookup_id)
    people = container_of(request).people
    plan = await run_in_threadpool(people.cancellation_plan, session.token)
    if _wants_csv(request):
        return _csv(plan)
    return _json({"phoneNumber": plan.phone_masked} | plan_body(plan))
