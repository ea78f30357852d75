"""The portal's pages: home, lookup, code, results, 焕新, request tracking, cancellation plan."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from numguard.adapters.web.portal.pages import KINDS, lookup_url, visit

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
