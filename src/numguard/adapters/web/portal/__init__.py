"""The people's web portal: server-rendered pages in zh-CN and en over the lookup services."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from numguard.adapters.web.portal.pages import HERE, STATIC_PREFIX
from numguard.adapters.web.portal.routes import router


def install(app: FastAPI) -> None:
    """Add the portal's pages and its static files to *app*."""
    # The static mount goes first: the router ends with a catch-all for unknown portal pages.
    app.mount(STATIC_PREFIX, StaticFiles(directory=HERE / "static"), name="portal-static")
    app.include_router(router)


__all__ = ["install", "router"]
