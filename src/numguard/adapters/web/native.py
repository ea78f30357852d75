"""The native API: lists of checks, streaming bulk checks, carrier reports, carriers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import Response, StreamingResponse

from numguard.adapters.web.errors import ERROR_SCHEMA
from numguard.adapters.web.metrics import CHECKS, EVENTS
from numguard.adapters.web.security import container_of, principal
from numguard.domain.answer import RecyclingAnswer, to_camara, to_fcc, to_vendor_code
from numguard.errors import Forbidden, InvalidInput
from numguard.services.audit import AuditEntry
from numguard.services.bulkfiles import Format, check_stream
from numguard.services.events import Outcome

router = APIRouter(prefix="/v1")

CHECK = "number-recycling:check"
WRITE = "lifecycle:write"
SPOOL_IN_MEMORY = 16 * 1024 * 1024


def _errors() -> dict[int | str, dict[str, Any]]:
    return {
        s: {"description": d, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for s, d in (
            (400, "INVALID_ARGUMENT"),
            (401, "UNAUTHENTICATED"),
            (403, "PERMISSION_DENIED"),
            (429, "TOO_MANY_REQUESTS"),
        )
    }


class CheckItem(BaseModel):
    """One (number, date) pair."""

    model_config = ConfigDict(extra="forbid")
    phoneNumber: str = Field(max_length=32, examples=["+8613800138000"])  # noqa: N815
    specifiedDate: str = Field(max_length=10, examples=["2023-12-22"])  # noqa: N815


class ChecksRequest(BaseModel):
    """One to 10,000 checks."""

    model_config = ConfigDict(extra="forbid")
    checks: list[CheckItem] = Field(min_length=1, max_length=10_000)


def answer_body(phone: str, day: str, answer: RecyclingAnswer) -> dict[str, Any]:
    """Every encoding of one answer; nothing about anyone's dates or identity."""
    return {
        "phoneNumber": phone,
        "specifiedDate": day,
        "recycled": answer.recycled.value,
        "reason": answer.reason.value,
        "phoneNumberRecycled": to_camara(answer),
        "fcc": to_fcc(answer),
        "vendorCode": int(to_vendor_code(answer)),
    }


@router.post(
    "/checks",
    tags=["Checks"],
    summary="Check one or up to 10,000 (number, date) pairs",
    responses=_errors(),
)
async def checks(
    request: Request,
    body: ChecksRequest,
    x_correlator: Annotated[str | None, Header()] = None,
) -> Response:
    """Answers in the tri-state (yes / no / unknown) with the CAMARA, FCC and vendor encodings.

    A row whose number or date is bad carries ``error`` (code, message) instead of an answer.
    """
    who = principal(request, CHECK)
    service = container_of(request).checks
    numbers = [c.phoneNumber for c in body.checks]
    dates = [c.specifiedDate for c in body.checks]
    e164s, answers = await run_in_threadpool(
        service.check_many,
        numbers,
        dates,
        client_id=who.client_id,
        correlator=x_correlator,
        protocol="native",
    )
    results: list[dict[str, Any]] = []
    for i, (text, day) in enumerate(zip(numbers, dates, strict=True)):
        answer = answers.answer(i)
        if answer is None:
            err = answers.errors[i]
            results.append(
                {
                    "phoneNumber": text,
                    "specifiedDate": day,
                    "error": {"code": err.code, "message": err.message},
                }
            )
            CHECKS.labels("error", "native").inc()
        else:
            results.append(answer_body(e164s[i] or text, day, answer))
            CHECKS.labels(answer.recycled.value, "native").inc()
    return Response(orjson.dumps({"results": results}), media_type="application/json")


@router.post(
    "/checks/bulk",
    tags=["Checks"],
    summary="Stream any number of checks: CSV or NDJSON in, the same format out",
    responses=_errors(),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "phoneNumber,specifiedDate\n+8613800138000,2023-12-22\n",
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def bulk_checks(
    request: Request,
    x_correlator: Annotated[str | None, Header()] = None,
) -> Response:
    """No size limit: the body is spooled (to disk past 16 MiB), then answered as a stream."""
    who = principal(request, CHECK)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt: Format
    if kind in ("text/csv", "application/csv"):
        fmt, media = "csv", "text/csv"
    elif kind in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        fmt, media = "ndjson", "application/x-ndjson"
    else:
        raise InvalidInput("send text/csv or application/x-ndjson")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115  closed by the stream
    async for chunk in request.stream():
        spool.write(chunk)
    spool.seek(0)
    service = container_of(request).checks

    def chunks() -> Iterator[bytes]:
        while block := spool.read(1 << 20):
            yield block

    stream = check_stream(chunks(), fmt, service, client_id=who.client_id, correlator=x_correlator)
    try:
        first = await run_in_threadpool(next, stream, b"")  # header errors surface as 400
    except BaseException:
        spool.close()
        raise

    def body() -> Iterator[bytes]:
        try:
            if first:
                yield first
            yield from stream
        finally:
            spool.close()

    return StreamingResponse(iterate_in_threadpool(body()), media_type=media)


@router.post(
    "/lifecycle/events",
    tags=["Carrier reporting"],
    summary="Report up to 10,000 lifecycle events",
    responses=_errors(),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        "properties": {
                            "events": {
                                "type": "array",
                                "maxItems": 10000,
                                "items": {
                                    "type": "object",
                                    "required": [
                                        "eventId",
                                        "phoneNumber",
                                        "type",
                                        "effectiveDate",
                                        "carrier",
                                    ],
                                    "properties": {
                                        "eventId": {"type": "string", "maxLength": 128},
                                        "phoneNumber": {
                                            "type": "string",
                                            "example": "+8613800138000",
                                        },
                                        "type": {
                                            "type": "string",
                                            "enum": [
                                                "ASSIGNED",
                                                "CANCELLED",
                                                "RESTORED",
                                                "TRANSFERRED",
                                                "PORTED",
                                                "RELEASED",
                                            ],
                                        },
                                        "effectiveDate": {"type": "string", "format": "date"},
                                        "carrier": {"type": "string", "example": "CMCC"},
                                        "holder": {
                                            "type": "object",
                                            "properties": {
                                                "idType": {
                                                    "type": "string",
                                                    "example": "CN_RESIDENT",
                                                },
                                                "idNumber": {"type": "string"},
                                            },
                                        },
                                        "toCarrier": {"type": "string"},
                                    },
                                },
                            }
                        },
                    }
                }
            },
        }
    },
)
async def report_events(
    request: Request,
    x_correlator: Annotated[str | None, Header()] = None,
) -> Response:
    """Each event is accepted, a duplicate (a no-op) or rejected with a reason code."""
    who = principal(request, WRITE)
    container = container_of(request)
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not JSON") from exc
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not events:
        raise InvalidInput('send {"events": [...]} with at least one event')
    limit = container.settings.max_batch
    if len(events) > limit:
        raise InvalidInput(f"at most {limit} events per request")
    allowed = None if "admin" in who.scopes else who.carrier
    if allowed is None and "admin" not in who.scopes:
        raise Forbidden("only a carrier's client or an admin may report events")
    summary = await run_in_threadpool(
        container.registry.report, events, source=f"api:{who.client_id}", allowed_carrier=allowed
    )
    counts = {o.value: summary.count(o) for o in Outcome}
    for outcome, n in counts.items():
        if n:
            EVENTS.labels(outcome).inc(n)
    container.audit.write_now(
        [
            AuditEntry(
                at=container.now(),
                kind="REPORT",
                client_id=who.client_id,
                correlator=x_correlator,
                detail={
                    "counts": counts,
                    "rejected": [
                        [r.index, r.event_id, r.reason]
                        for r in summary.results
                        if r.outcome is Outcome.REJECTED
                    ][:1000],
                },
            )
        ]
    )
    results = [
        {"index": r.index, "eventId": r.event_id, "outcome": r.outcome.value}
        | ({"reason": r.reason, "message": r.message} if r.reason else {})
        for r in summary.results
    ]
    body = {
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
        "results": results,
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/carriers", tags=["Carrier reporting"], summary="Registered carriers and their coverage"
)
async def list_carriers(request: Request) -> Response:
    """Carrier codes, tracking dates and prefixes: public, like the coverage of any registry."""
    container = container_of(request)
    names = container.store.carrier_names()
    body = [
        {
            "code": c.code,
            "name": names.get(c.code, c.code),
            "trackingSince": c.tracking_since.isoformat(),
            "prefixes": list(c.prefixes),
        }
        for c in sorted(container.registry.coverage.carriers.values(), key=lambda c: c.code)
    ]
    return Response(orjson.dumps({"carriers": body}), media_type="application/json")
