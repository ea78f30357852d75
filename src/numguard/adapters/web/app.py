"""The FastAPI application: ``create_app`` is the factory uvicorn runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

from numguard import __version__
from numguard.adapters.web import camara, native, notifications, oauth, ops, people_api, portal
from numguard.adapters.web.errors import http_error, numguard_error, validation_error
from numguard.adapters.web.logs import configure
from numguard.adapters.web.middleware import CorrelatorAndMetrics
from numguard.bootstrap import Container, build
from numguard.errors import NumguardError


class _LabelledRoute(Route):
    """A plain Starlette route that names itself in the scope, as FastAPI's routes do, so the
    metrics middleware counts its requests under its path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


DESCRIPTION = """
numguard answers one question for platforms: **has the holder of this phone number changed since
the day it was bound?** Carriers report what happens to their numbers (assigned, cancelled,
restored, transferred, ported, released); the registry derives tenures and answers yes / no /
unknown, in the CAMARA Number Recycling shape and in the native tri-state with the FCC and
cloud-vendor encodings.

Get a token with `POST /oauth/token` (client credentials), then send it as `Authorization: Bearer`.
"""


def create_app(container: Container | None = None) -> FastAPI:
    """Build the app; without a *container*, one is built from the environment at start-up."""
    owned = container is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = container
        if current is None:
            current = await run_in_threadpool(build)
            configure(current.settings.log_level, current.settings.log_format)
        app.state.container = current
        if not current.ready.is_set():
            await run_in_threadpool(current.load_index)
        current.start_background()
        if current.settings.serve_worker:
            current.start_worker()  # webhook deliveries in this process (the demo)
        try:
            yield
        finally:
            if owned:
                await run_in_threadpool(current.close)
            else:
                await run_in_threadpool(current.audit.flush)

    app = FastAPI(
        title="numguard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "CAMARA Number Recycling", "description": "CAMARA Number Recycling v0.2"},
            {"name": "Checks", "description": "Native checks: tri-state and every encoding"},
            {"name": "Carrier reporting", "description": "Lifecycle events from carriers"},
            {
                "name": "Bindings",
                "description": "Platforms report bindings, answer unbind requests",
            },
            {
                "name": "Lookups (一证通查)",
                "description": "People: lookup, 焕新, cancellation plan",
            },
            {
                "name": "Notifications",
                "description": "Signed CloudEvents webhooks: subscriptions, deliveries, replay",
            },
            {"name": "OAuth 2.0", "description": "Client credentials"},
            {"name": "Operations", "description": "Health, readiness, metrics"},
        ],
    )
    if container is not None:
        app.state.container = container
    app.add_exception_handler(NumguardError, numguard_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.include_router(camara.router)
    # The hot CAMARA check is served by a plain route in front of the documented one.
    app.router.routes.insert(0, _LabelledRoute(camara.PATH, camara.check_fast, methods=["POST"]))
    app.include_router(native.router)
    app.include_router(people_api.router)
    app.include_router(notifications.router)
    app.include_router(oauth.router)
    app.include_router(ops.router)
    portal.install(app)  # the people's pages at / and /portal/...
    app.add_middleware(CorrelatorAndMetrics)
    return app
