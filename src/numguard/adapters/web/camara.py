"""CAMARA Number Recycling v0.2: ``POST /number-recycling/v0.2/check``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from numguard.adapters.web.errors import ERROR_SCHEMA
from numguard.adapters.web.metrics import CHECKS
from numguard.adapters.web.security import container_of, principal
from numguard.domain.answer import AnswerReason, to_camara
from numguard.domain.phone import is_e164_shape
from numguard.errors import InvalidInput, NotApplicable, NumguardError, OutOfRange
from numguard.services.auth import Principal
from numguard.services.checks import parse_date

SCOPE = "number-recycling:check"

CORRELATOR_PARAMETER = {
    "name": "x-correlator",
    "in": "header",
    "required": False,
    "description": "Correlation id for the different services; echoed in the response",
    "schema": {"type": "string", "pattern": "^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$"},
}
# Read from the request directly rather than as a declared header parameter: FastAPI's
# dependency solving for it costs more than the whole answer.

PATH = "/number-recycling/v0.2/check"
router = APIRouter(prefix="/number-recycling/v0.2", tags=["CAMARA Number Recycling"])


class MissingIdentifier(NumguardError):
    """A client token was used and the body names no phone number."""

    kind = NotApplicable.kind
    code = "MISSING_IDENTIFIER"


class UnnecessaryIdentifier(NumguardError):
    """A phone-bound token was used and the body names a phone number as well."""

    kind = NotApplicable.kind
    code = "UNNECESSARY_IDENTIFIER"


class CreateCheckNumRecycling(BaseModel):
    """The check request."""

    model_config = ConfigDict(extra="forbid")

    phoneNumber: str | None = Field(  # noqa: N815  CAMARA's field name
        default=None,
        pattern=r"^\+[1-9][0-9]{4,14}$",
        description="E.164 with '+'. Must be absent when the access token names the number.",
        examples=["+8613800138000"],
    )
    specifiedDate: str = Field(  # noqa: N815
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="RFC 3339 calendar date (YYYY-MM-DD): has the subscriber changed since then?",
        json_schema_extra={"format": "date"},
        examples=["2023-12-22"],
    )


class CheckNumRecyclingInfo(BaseModel):
    """The check answer."""

    phoneNumberRecycled: bool = Field(  # noqa: N815
        description="true when the subscriber of the number changed on or after specifiedDate"
    )


def _errors(*codes: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for status, text in codes:
        out[status] = {
            "description": text,
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    return out


@router.post(
    "/check",
    operation_id="checkNumberRecycling",
    summary="Check whether the subscriber of the phone number has changed",
    response_model=CheckNumRecyclingInfo,
    openapi_extra={"parameters": [CORRELATOR_PARAMETER]},
    responses=_errors(
        (400, "INVALID_ARGUMENT or OUT_OF_RANGE"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "IDENTIFIER_NOT_FOUND"),
        (422, "SERVICE_NOT_APPLICABLE, MISSING_IDENTIFIER or UNNECESSARY_IDENTIFIER"),
        (429, "TOO_MANY_REQUESTS"),
    ),
)
async def check_number_recycling(request: Request, body: CreateCheckNumRecycling) -> Response:
    """Answer ``phoneNumberRecycled`` for a number and a date (DESIGN.md §3).

    This route documents the operation; requests are served by :func:`check_fast`, mounted in
    front of it, which reads the same body without FastAPI's per-request model machinery.
    """
    return answer(request, body.phoneNumber, body.specifiedDate)


_FIELDS = frozenset({"phoneNumber", "specifiedDate"})


def read_body(raw: bytes) -> tuple[str | None, str]:
    """The CreateCheckNumRecycling schema, checked by hand (400 INVALID_ARGUMENT otherwise)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    extra = data.keys() - _FIELDS
    if extra:
        raise InvalidInput(f"{sorted(extra)[0]}: extra fields are not permitted")
    phone = data.get("phoneNumber")
    if phone is not None and not (isinstance(phone, str) and is_e164_shape(phone)):
        raise InvalidInput("phoneNumber must be E.164 with a leading '+', e.g. +8613800138000")
    day = data.get("specifiedDate")
    if not isinstance(day, str):
        raise InvalidInput("specifiedDate is required, as YYYY-MM-DD")
    return phone, day


async def check_fast(request: Request) -> Response:
    """The served endpoint of ``POST /number-recycling/v0.2/check``."""
    who = principal(request, SCOPE)
    phone, day = read_body(await request.body())
    return answer(request, phone, day, who)


def answer(
    request: Request, phone_field: str | None, day: str, who: Principal | None = None
) -> Response:
    """Identify the number (body or token), answer, translate unknown into the spec's errors."""
    who = who or principal(request, SCOPE)
    x_correlator = request.headers.get("x-correlator")
    if who.phone_number is not None:
        if phone_field is not None:
            raise UnnecessaryIdentifier(
                "the phone number is already identified by the access token; leave it out"
            )
        phone = who.phone_number
    else:
        if phone_field is None:
            raise MissingIdentifier("the phone number cannot be identified: put it in the body")
        phone = phone_field
    on = parse_date(day)
    checks = container_of(request).checks
    result = checks.check(
        phone, on, client_id=who.client_id, correlator=x_correlator, protocol="camara"
    )
    recycled = to_camara(result.answer)
    CHECKS.labels(result.answer.recycled.value, "camara").inc()
    if recycled is None:
        if result.answer.reason is AnswerReason.NOT_COVERED:
            raise NotApplicable("the service is not available for this phone number")
        raise OutOfRange(
            "specifiedDate is before the date from which this number's records are complete"
        )
    return Response(orjson.dumps({"phoneNumberRecycled": recycled}), media_type="application/json")
