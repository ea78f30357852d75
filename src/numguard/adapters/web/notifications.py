"""Webhook subscriptions and deliveries of a platform: ``/v1/subscriptions``, ``/v1/deliveries``.

Only a platform's client (``numguard client add --role platform --platform CODE``) may call
them, and it only ever sees its own platform's subscriptions and deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from numguard.adapters.web.errors import ERROR_SCHEMA
from numguard.adapters.web.security import container_of, principal
from numguard.domain.notification import NOTIFICATION_TYPES
from numguard.errors import Forbidden, InvalidInput
from numguard.services.auth import Principal, Role, Scope
from numguard.services.notifications import AttemptView, DeliveryView, Subscription

router = APIRouter(prefix="/v1", tags=["Notifications"])

TYPES = list(NOTIFICATION_TYPES)


class NotAPlatform(Forbidden):
    """The caller is not a platform's client (403)."""

    code = "NOT_A_PLATFORM_CLIENT"


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        c: {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for c in codes
    }


def _platform(request: Request) -> tuple[Principal, str]:
    who = principal(request, Scope.CHECK)
    if who.role is not Role.PLATFORM or who.platform is None:
        raise NotAPlatform(
            "only a platform's client subscribes (numguard client add --role platform"
            " --platform CODE)"
        )
    return who, who.platform


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class SubscriptionRequest(BaseModel):
    """Where to POST which events, until when."""

    model_config = ConfigDict(extra="forbid")
    sink: str = Field(max_length=500, examples=["https://bank.example/numguard/webhook"])
    types: list[str] = Field(min_length=1, max_length=8, examples=[TYPES])
    expiresAt: datetime | None = Field(  # noqa: N815  API field name
        default=None, examples=["2027-12-31T00:00:00Z"]
    )


def subscription_body(s: Subscription) -> dict[str, Any]:
    """A subscription in the API's shape (never its secret)."""
    return {
        "id": s.subscription_id,
        "sink": s.sink,
        "types": [str(t) for t in s.types],
        "createdAt": _time(s.created_at),
        "expiresAt": _time(s.expires_at),
    }


def delivery_body(d: DeliveryView) -> dict[str, Any]:
    """A delivery in the API's shape."""
    return {
        "id": d.delivery_id,
        "eventId": d.event_id,
        "type": str(d.type),
        "phoneNumber": d.phone_number,
        "subscriptionId": d.subscription_id,
        "status": str(d.status),
        "attempts": d.attempts,
        "nextAttemptAt": _time(d.next_attempt_at),
        "retryUntil": _time(d.retry_until),
        "lastStatusCode": d.last_status_code,
        "lastError": d.last_error,
        "createdAt": _time(d.created_at),
        "finishedAt": _time(d.finished_at),
    }


def attempt_body(a: AttemptView) -> dict[str, Any]:
    """One attempt in the API's shape."""
    return {
        "attempt": a.attempt,
        "startedAt": _time(a.started_at),
        "durationMs": a.duration_ms,
        "statusCode": a.status_code,
        "error": a.error,
        "outcome": a.outcome,
    }


@router.post(
    "/subscriptions",
    status_code=201,
    summary="Subscribe a webhook; the answer carries its signing secret, shown only this once",
    responses=_errors(400, 401, 403),
)
async def subscribe(request: Request, body: SubscriptionRequest) -> dict[str, Any]:
    """Events about numbers your platform has bindings on, signed with Standard Webhooks."""
    who, platform = _platform(request)
    service = container_of(request).notifications
    made = await run_in_threadpool(
        service.subscribe, platform, body.sink, body.types, body.expiresAt, client_id=who.client_id
    )
    return {**subscription_body(made.subscription), "secret": made.secret}


@router.get("/subscriptions", summary="Your platform's subscriptions", responses=_errors(401, 403))
async def subscriptions(request: Request) -> dict[str, Any]:
    """Without their secrets."""
    _, platform = _platform(request)
    found = await run_in_threadpool(container_of(request).notifications.subscriptions, platform)
    return {"subscriptions": [subscription_body(s) for s in found]}


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    summary="Delete a subscription (its pending deliveries are cancelled)",
    responses=_errors(401, 403, 404),
)
async def unsubscribe(request: Request, subscription_id: str) -> Response:
    """Idempotent for the caller only in effect: a second delete is 404."""
    _, platform = _platform(request)
    await run_in_threadpool(
        container_of(request).notifications.unsubscribe, platform, subscription_id
    )
    return Response(status_code=204)


@router.get(
    "/deliveries",
    summary="Your platform's webhook deliveries, newest first",
    responses=_errors(400, 401, 403),
)
async def deliveries(
    request: Request,
    status: Annotated[
        str | None, Query(description="pending, delivered, dead or cancelled")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Each with its attempts count, next try, last HTTP status or error."""
    _, platform = _platform(request)
    found = await run_in_threadpool(
        container_of(request).notifications.deliveries, platform, status, limit
    )
    return {"deliveries": [delivery_body(d) for d in found]}


def _delivery_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("a delivery id is a number", code="INVALID_DELIVERY_ID")
    return int(text)


@router.get(
    "/deliveries/{delivery_id}",
    summary="One delivery with every attempt",
    responses=_errors(400, 401, 403, 404),
)
async def delivery(request: Request, delivery_id: str) -> dict[str, Any]:
    """The delivery and its attempts, oldest first."""
    _, platform = _platform(request)
    found, attempts = await run_in_threadpool(
        container_of(request).notifications.delivery, platform, _delivery_id(delivery_id)
    )
    return {**delivery_body(found), "attemptLog": [attempt_body(a) for a in attempts]}


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    summary="Send a delivery again (same event id, new signature, a fresh 24-hour window)",
    responses=_errors(400, 401, 403, 404, 409),
)
async def replay(request: Request, delivery_id: str) -> dict[str, Any]:
    """The delivery becomes pending and due now; the worker sends it on its next pass."""
    _, platform = _platform(request)
    found = await run_in_threadpool(
        container_of(request).notifications.replay, platform, _delivery_id(delivery_id)
    )
    return delivery_body(found)
