"""Bearer tokens on requests: who is calling, with which scopes, within their rate."""

from __future__ import annotations

import time

from fastapi import Request

from numguard.bootstrap import Container
from numguard.errors import Forbidden, Unauthenticated
from numguard.services.auth import Principal


def container_of(request: Request) -> Container:
    """The process's container, set up by the app's lifespan."""
    container: Container = request.app.state.container
    return container


def principal(request: Request, scope: str) -> Principal:
    """Authenticate the bearer token, require *scope*, and apply the client's rate limit."""
    container = container_of(request)
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("an access token is required (Authorization: Bearer ...)")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token:
        raise Unauthenticated("use the Bearer scheme: Authorization: Bearer <access token>")
    who = container.clients.verify(token.strip(), container.now())
    if scope not in who.scopes:
        raise Forbidden(f"the access token lacks the scope {scope}")
    container.limiter.check(who.client_id, time.monotonic())
    return who
