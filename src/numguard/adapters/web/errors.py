"""Error bodies: ``{status, code, message}`` (CAMARA's shape) for every API error."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from numguard.errors import ErrorKind, NumguardError, RateLimited

STATUS_OF_KIND = {
    ErrorKind.INVALID: 400,
    ErrorKind.OUT_OF_RANGE: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.NOT_APPLICABLE: 422,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UNAVAILABLE: 503,
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "code", "message"],
    "properties": {
        "status": {"type": "integer", "description": "HTTP status code"},
        "code": {"type": "string", "description": "Machine code, e.g. INVALID_ARGUMENT"},
        "message": {"type": "string", "description": "What went wrong, for a person"},
    },
}


def error_response(status: int, code: str, message: str, **headers: str) -> Response:
    """A JSON error in the house shape."""
    body = orjson.dumps({"status": status, "code": code, "message": message})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def camara_code(error: NumguardError) -> str:
    """CAMARA names some codes differently from the internal ones.

    Errors of the people's and platforms' APIs that a client must tell apart (a wrong SMS
    code, an expired one) set ``keep_code = True`` and keep their own code.
    """
    if error.keep_code:
        return error.code
    if error.kind is ErrorKind.INVALID:
        return "INVALID_ARGUMENT"
    if error.kind is ErrorKind.OUT_OF_RANGE:
        return "OUT_OF_RANGE"
    return error.code


async def numguard_error(request: Request, exc: Exception) -> Response:
    """Turn a :class:`NumguardError` into its HTTP response."""
    assert isinstance(exc, NumguardError)  # noqa: S101  registered for this class only
    status = STATUS_OF_KIND[exc.kind]
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if exc.kind is ErrorKind.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = 'Bearer realm="numguard"'
    return error_response(status, camara_code(exc), exc.message, **headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    """Request body or parameters that do not fit the schema: 400 INVALID_ARGUMENT."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = first.get("msg", "invalid request")
    return error_response(400, "INVALID_ARGUMENT", f"{where}: {message}" if where else message)


async def http_error(request: Request, exc: Exception) -> Response:
    """Framework errors (unknown route, wrong method) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
    return error_response(
        exc.status_code, codes.get(exc.status_code, "INVALID_ARGUMENT"), str(exc.detail)
    )
