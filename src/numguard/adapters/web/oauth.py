"""OAuth 2.0 client credentials (RFC 6749 §4.4): ``POST /oauth/token``, form-encoded."""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import parse_qsl, unquote_plus

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from numguard.adapters.web.security import container_of
from numguard.errors import NumguardError, Unauthenticated
from numguard.services.audit import AuditEntry

router = APIRouter(tags=["OAuth 2.0"])


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="numguard"'
    body = orjson.dumps({"error": error, "error_description": description})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


@router.post(
    "/oauth/token",
    summary="Client credentials grant: exchange a client id and secret for an access token",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string", "example": "number-recycling:check"},
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request) -> Response:
    """Credentials in the form body or in HTTP Basic; errors as RFC 6749 §5.2 describes."""
    container = container_of(request)
    peer = request.client.host if request.client else "unknown"
    container.token_limiter.check(f"ip:{peer}", time.monotonic())
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    raw = (await request.body()).decode("utf-8", "replace")
    form: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key in form:
            return _oauth_error(400, "invalid_request", f"parameter {key} is repeated")
        form[key] = value
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        if "client_id" in form or "client_secret" in form:
            # RFC 6749 §2.3: a client uses one authentication method per request.
            return _oauth_error(
                400, "invalid_request", "send the credentials in Basic or in the body, not both"
            )
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return _oauth_error(401, "invalid_client", "malformed Basic credentials")
        user, _, password = decoded.partition(":")
        client_id, secret = unquote_plus(user), unquote_plus(password)
    if not form.get("grant_type"):
        return _oauth_error(400, "invalid_request", "grant_type is missing")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    if not client_id or not secret:
        return _oauth_error(401, "invalid_client", "client authentication failed")
    try:
        client = container.clients.authenticate(client_id, secret)
    except Unauthenticated:
        return _oauth_error(401, "invalid_client", "client authentication failed")
    try:
        issued = container.clients.issue_token(client, form.get("scope"), container.now())
    except NumguardError as exc:
        return _oauth_error(400, "invalid_scope", exc.message)
    container.audit.record(
        AuditEntry(
            at=container.now(),
            kind="TOKEN",
            client_id=client.client_id,
            detail={"scope": issued.scope},
        )
    )
    body = {
        "access_token": issued.access_token,
        "token_type": issued.token_type,
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    return Response(
        orjson.dumps(body),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
