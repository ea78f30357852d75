"""The portal's pages: home, lookup, code, results, 焕新, request tracking, cancellation plan."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from numguard.adapters.web.portal.cookies import PENDING_COOKIE, SESSION_COOKIE
from numguard.adapters.web.portal.pages import KINDS, Visit, lookup_url, visit

router = APIRouter(include_in_schema=False)


@router.get("/")
@router.get("/portal/")
async def home(request: Request) -> Response:
    """What the portal does, and where each flow starts."""
    v = visit(request)
    cards = (
        ("accounts", "accounts"),
        ("numbers", "numbers"),
        ("accounts", "renew"),
        ("plan", "plan"),
    )
    return v.page("home.html", "home", cards=cards)


@router.get("/portal/lookup")
async def lookup_start(request: Request) -> Response:
    """The lookup form: phone + last 6 of the ID (accounts, plan) or the full ID (numbers)."""
    v = visit(request)
    kind = request.query_params.get("kind", "accounts")
    if kind not in KINDS:
        return v.redirect(lookup_url("accounts"))
    return v.page(
        "lookup.html",
        "plan" if kind == "plan" else "lookup",
        kind=kind,
        kinds=KINDS,
        form={},
        form_action="/portal/lookup",
    )


@router.post("/portal/logout")
async def logout(request: Request) -> Response:
    """End the lookup: the verified session cookie is cleared."""
    v = visit(request)
    if await v.form() is None:
        return csrf_failed(v)
    v.forget(SESSION_COOKIE)
    v.forget(PENDING_COOKIE)
    return v.page(
        "message.html",
        "home",
        title=v.t("nav.logout"),
        text=v.t("logout.done"),
        next_url="/",
        next_label=v.t("nav.home"),
    )


def csrf_failed(v: Visit) -> Response:
    """A form whose CSRF token did not check out: nothing happens, the person is told why."""
    return v.page(
        "message.html",
        "home",
        status=403,
        title=v.t("page.error"),
        text=v.t("error.csrf"),
        next_url=str(v.request.url.path),
        next_label=v.t("code.restart"),
    )


@router.get("/portal/{rest:path}")
async def not_found(request: Request, rest: str) -> Response:
    """Any other portal address: a page in words, not a JSON error."""
    v = visit(request)
    return v.page(
        "message.html",
        "home",
        status=404,
        title=v.t("page.error"),
        text=v.t("error.not_found"),
        next_url="/",
        next_label=v.t("nav.home"),
    )
