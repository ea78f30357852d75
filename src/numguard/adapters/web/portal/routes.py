"""The portal's pages: home, lookup, code, results, 焕新, request tracking, cancellation plan.

Every decision is the people service's (``container.people``): the pages only turn its answers
and its errors into words. The pending lookup and the verified session live in signed
``HttpOnly; SameSite=Strict`` cookies; the session cookie expires with the service's session.

After 焕新 the requests page shows a tracking link, ``/portal/track?lang=..#trk_...``: the token
is in the fragment, which browsers never send, so it reaches no access log, proxy or Referer.
``/portal/track`` is a form (filled from the fragment by ``portal.js``, or typed by hand) that
POSTs the token; the answer lists the requests' statuses without any session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from numguard.adapters.web.errors import STATUS_OF_KIND
from numguard.adapters.web.portal.cookies import (
    PENDING_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    TRACKING_COOKIE,
)
from numguard.adapters.web.portal.pages import KINDS, FieldError, Visit, lookup_url, visit
from numguard.adapters.web.security import container_of
from numguard.domain.binding import TenureSide
from numguard.domain.identity import InvalidIdNumber
from numguard.domain.phone import InvalidPhoneNumber, MalformedPhoneNumber, parse_phone_number
from numguard.errors import InvalidInput, NumguardError, Unavailable
from numguard.services.people import (
    CodeExpired,
    CodeLocked,
    InvalidCode,
    LookupBlock,
    LookupKind,
    LookupNotFound,
    LookupTooSoon,
    NoMatch,
    PeopleService,
    SessionInvalid,
    TrackingTokenInvalid,
    UnbindStatus,
    WrongLookupKind,
    plan_csv,
)

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")
"""Times on the pages are Beijing time, as the registry's dates are."""


def _local(moment: datetime) -> str:
    """*moment* as the pages show it: Beijing time, to the minute."""
    return moment.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%d %H:%M")


def _people(request: Request) -> PeopleService:
    return container_of(request).people


@dataclass(frozen=True)
class Session:
    """The verified lookup behind the session cookie: portal flow, service token."""

    kind: str
    token: str


class NeedsLookup(Exception):
    """The page needs a verified lookup and there is none (or it expired)."""


def _session(v: Visit) -> Session | None:
    raw = v.signed("session", SESSION_COOKIE)
    if raw is None:
        return None
    kind, _, token = raw.partition(" ")
    return Session(kind, token) if kind in KINDS and token else None


async def _call(work: Callable[..., T], *args: Any) -> T:
    """Run a blocking service call; an unknown or expired session becomes :class:`NeedsLookup`."""
    try:
        return await run_in_threadpool(work, *args)
    except SessionInvalid as exc:
        raise NeedsLookup from exc


def _again(v: Visit, kind: str) -> Response:
    """Back to the start of *kind*'s lookup, saying why."""
    v.forget(SESSION_COOKIE)
    return v.redirect(lookup_url(kind) + "&again=1")


def _message(v: Visit, title: str, text: str, *, status: int = 200, back: str = "/") -> Response:
    return v.page(
        "message.html",
        "home",
        status=status,
        title=title,
        text=text,
        next_url=back,
        next_label=v.t("nav.home") if back == "/" else v.t("code.restart"),
        session_active=_session(v) is not None,
    )


def csrf_failed(v: Visit, back: str = "/") -> Response:
    """A form whose CSRF token did not check out: nothing happens, the person is told why."""
    return _message(v, v.t("page.error"), v.t("error.csrf"), status=403, back=back)


# home and lookup start ------------------------------------------------------------------------


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
    notice = v.t("logout.done") if request.query_params.get("ended") else None
    return v.page(
        "home.html",
        "home",
        cards=cards,
        notice=notice,
        session_active=_session(v) is not None and not notice,
    )


def _lookup_page(
    v: Visit, kind: str, *, errors: list[FieldError], form: dict[str, str], status: int = 200
) -> Response:
    return v.page(
        "lookup.html",
        page_name(kind),
        status=status,
        kind=kind,
        kinds=KINDS,
        form=form,
        errors=errors,
        form_action="/portal/lookup",
        session_active=_session(v) is not None,
        lang_switch_url=v.lang_switch_url({"kind": kind}),
    )


@router.get("/portal/lookup")
async def lookup_start(request: Request) -> Response:
    """The lookup form: phone + last 6 of the ID (accounts, plan) or the full ID (numbers)."""
    v = visit(request)
    kind = request.query_params.get("kind", "accounts")
    if kind not in KINDS:
        return v.redirect(lookup_url("accounts"))
    errors = [v.error(None, "error.session")] if request.query_params.get("again") else []
    return _lookup_page(v, kind, errors=errors, form={})


@router.post("/portal/lookup")
async def lookup_submit(request: Request) -> Response:
    """Start the lookup: the service sends the code; the pending lookup goes in a cookie."""
    v = visit(request)
    form = await v.form()
    if form is None:
        return csrf_failed(v, back=lookup_url("accounts"))
    kind = form.get("kind", "accounts")
    kind = kind if kind in KINDS else "accounts"
    phone = form.get("phone", "").strip()
    id_field = "id_number" if kind == "numbers" else "id_suffix"
    claim = form.get(id_field, "").strip().upper()
    errors: list[FieldError] = []
    if not phone:
        errors.append(v.error("phone", "error.phone_invalid"))
    elif not claim:
        # The service checks the phone first; with the ID missing, still say what the phone lacks.
        try:
            parse_phone_number(phone, container_of(request).settings.default_region)
        except (MalformedPhoneNumber, InvalidPhoneNumber):
            errors.append(v.error("phone", "error.phone_invalid"))
    if not claim:
        errors.append(v.error(id_field, f"error.{id_field}_invalid"))
    if not errors:
        try:
            started = await run_in_threadpool(
                _people(request).start_lookup, phone, **{id_field: claim}
            )
        except (MalformedPhoneNumber, InvalidPhoneNumber):
            errors.append(v.error("phone", "error.phone_invalid"))
        except (InvalidIdNumber, InvalidInput):
            errors.append(v.error(id_field, f"error.{id_field}_invalid"))
        except LookupTooSoon as exc:
            until = _local(exc.until)
            errors.append(v.error(None, TOO_SOON_KEY[exc.reason], until=until))
        except Unavailable:
            errors.append(v.error(None, "error.unavailable"))
        except NumguardError:
            errors.append(v.error(None, "error.generic"))
        else:
            v.forget(SESSION_COOKIE)
            pending = f"{kind} {started.lookup_id} {started.phone_masked}"
            seconds = _seconds_until(request, started.code_expires_at)
            v.keep("pending", PENDING_COOKIE, pending, seconds)
            return v.redirect("/portal/code")
    return _lookup_page(v, kind, errors=errors, form={"phone": phone}, status=400)


def _seconds_until(request: Request, when: datetime) -> int:
    """A cookie lives as long as what it stands for (a code, a session), on the service's clock."""
    return max(1, int((when - container_of(request).now()).total_seconds()))


# code entry -----------------------------------------------------------------------------------


def _pending(v: Visit) -> tuple[str, str, str] | None:
    raw = v.signed("pending", PENDING_COOKIE)
    if raw is None:
        return None
    kind, lookup_id, masked = [*raw.split(" ", 2), "", ""][:3]
    return (kind, lookup_id, masked) if kind in KINDS and lookup_id else None


def _code_page(
    v: Visit, kind: str, masked: str, errors: list[FieldError], status: int = 200
) -> Response:
    return v.page(
        "code.html", page_name(kind), status=status, kind=kind, phone=masked, errors=errors
    )


def page_name(kind: str) -> str:
    """The navigation entry a flow belongs to."""
    return "plan" if kind == "plan" else "lookup"


RESULT_OF_KIND = {
    "accounts": "/portal/accounts",
    "numbers": "/portal/numbers",
    "plan": "/portal/plan",
}


@router.get("/portal/code")
async def code_form(request: Request) -> Response:
    """Where the person types the SMS code."""
    v = visit(request)
    pending = _pending(v)
    if pending is None:
        return _again(v, "accounts")
    kind, _, masked = pending
    return _code_page(v, kind, masked, [])


@router.post("/portal/code")
async def code_submit(request: Request) -> Response:
    """Verify the code; the verified session goes in a cookie that expires with it."""
    v = visit(request)
    form = await v.form()
    if form is None:
        return csrf_failed(v, back="/portal/code")
    pending = _pending(v)
    if pending is None:
        return _again(v, "accounts")
    kind, lookup_id, masked = pending
    code = form.get("code", "").strip()
    if not (len(code) == 6 and code.isdigit()):
        return _code_page(v, kind, masked, [v.error("code", "error.code_format")], 400)
    try:
        session = await run_in_threadpool(_people(request).verify_code, lookup_id, code)
    except InvalidCode as exc:
        error = v.error("code", "error.code_wrong", left=exc.remaining)
        return _code_page(v, kind, masked, [error], 400)
    except CodeLocked:
        v.forget(PENDING_COOKIE)
        return _code_page(v, kind, masked, [v.error(None, "error.code_locked")], 403)
    except (CodeExpired, LookupNotFound):
        v.forget(PENDING_COOKIE)
        return _code_page(v, kind, masked, [v.error(None, "error.code_expired")], 400)
    v.forget(PENDING_COOKIE)
    seconds = _seconds_until(request, session.expires_at)
    v.keep("session", SESSION_COOKIE, f"{kind} {session.token}", seconds)
    if kind == "accounts" and session.kind is LookupKind.NUMBERS:
        kind = "numbers"
    return v.redirect(RESULT_OF_KIND[kind])


# results --------------------------------------------------------------------------------------


async def _with_session(
    request: Request, flow: str, render: Callable[[Visit, Session], Any]
) -> Response:
    """Run *render* with the verified session, or send the person back to verify."""
    v = visit(request)
    session = _session(v)
    if session is None:
        return _again(v, flow)
    try:
        response: Response = await render(v, session)
    except NeedsLookup:
        return _again(v, flow)
    except NoMatch:
        return _message(v, v.t("page.error"), v.t("results.nomatch"))
    except NumguardError as exc:  # anything else the service refuses: said in words, not JSON
        return _message(v, v.t("page.error"), v.t("error.generic"), status=STATUS_OF_KIND[exc.kind])
    return response


TOO_SOON_KEY = {
    LookupBlock.VERIFIED: "error.too_soon",
    LookupBlock.CODE_PENDING: "error.too_soon_pending",
    LookupBlock.LOCKED: "error.too_soon_locked",
}
"""Why a lookup cannot start yet, in words (each says until when)."""

SIDE_KEY = {
    TenureSide.DURING: "binding.mine",
    TenureSide.BEFORE: "binding.before",
    TenureSide.UNKNOWN: "binding.unknown",
}


@router.get("/portal/accounts")
async def accounts(request: Request) -> Response:
    """一证通查 2.0: the accounts on the number, grouped by category and platform."""

    async def render(v: Visit, session: Session) -> Response:
        result = await _call(_people(request).accounts, session.token)
        if not result.matched:
            raise NoMatch("no match")
        groups = [
            {
                "category": group.category.value,
                "rows": [
                    {
                        "platform": platform.platform_name,
                        "account": account.account_masked,
                        "bound_at": account.bound_at.isoformat() if account.bound_at else None,
                        "side": account.side.value.lower(),
                        "side_text": v.t(SIDE_KEY[account.side]),
                        "request": platform.request.status.value if platform.request else None,
                    }
                    for platform in group.platforms
                    for account in platform.accounts
                ],
            }
            for group in result.groups
        ]
        before_platforms = sum(
            1 for g in result.groups for p in g.platforms if p.before_count and _renewable(p)
        )
        return v.page(
            "accounts.html",
            "lookup",
            phone=result.phone_masked,
            tenure_since=result.tenure_start.isoformat() if result.tenure_start else None,
            groups=groups,
            account_count=result.total,
            platform_count=len({p.platform for g in result.groups for p in g.platforms}),
            before_count=result.before_count,
            before_platforms=before_platforms,
            can_renew=result.can_renew,
            session_active=True,
        )

    return await _with_session(request, "accounts", render)


def _renewable(platform: Any) -> bool:
    return platform.request is None or platform.request.status is not UnbindStatus.PENDING


@router.get("/portal/numbers")
async def numbers(request: Request) -> Response:
    """一证通查 1.0: the numbers registered under the ID, per carrier, masked."""

    async def render(v: Visit, session: Session) -> Response:
        try:
            result = await _call(_people(request).numbers, session.token)
        except WrongLookupKind:
            return v.redirect("/portal/accounts")
        if not result.matched:
            raise NoMatch("no match")
        rows = [
            {
                "carrier": carrier.carrier_name,
                "number": entry.phone_masked,
                "status": entry.status.value,
                "since": entry.since.isoformat() if entry.since else None,
            }
            for carrier in result.carriers
            for entry in carrier.numbers
        ]
        return v.page("numbers.html", "lookup", rows=rows, session_active=True)

    return await _with_session(request, "numbers", render)


# 焕新 and the tracking page --------------------------------------------------------------------


@router.post("/portal/renew")
async def renew(request: Request) -> Response:
    """焕新: one unbind request per platform holding bindings older than the person's tenure."""

    async def render(v: Visit, session: Session) -> Response:
        if await v.form() is None:
            return csrf_failed(v, back="/portal/accounts")
        result = await _call(_people(request).request_renewal, session.token)
        if result.tracking is not None:
            kept = f"{result.tracking.token} {result.tracking.expires_at.isoformat()}"
            v.keep("tracking", TRACKING_COOKIE, kept, SESSION_SECONDS)
        return v.redirect(f"/portal/requests?sent={len(result.created)}")

    return await _with_session(request, "accounts", render)


@router.get("/portal/requests")
async def requests_page(request: Request) -> Response:
    """The person's unbind requests and where each stands."""

    async def render(v: Visit, session: Session) -> Response:
        views = await _call(_people(request).unbind_requests, session.token)
        rows = [
            {
                "id": r.request_id,
                "platform": r.platform_name,
                "status": r.status.value,
                "sent_at": _local(r.created_at),
                "deadline": r.due_on.isoformat(),
                "reason": r.reason,
                "accounts": r.account_count,
            }
            for r in views
        ]
        sent = request.query_params.get("sent", "")
        notice = v.t("renew.sent", count=int(sent)) if sent.isdigit() else None
        return v.page(
            "requests.html",
            "requests",
            rows=rows,
            notice=notice,
            tracking=_tracking_link(v),
            session_active=True,
        )

    return await _with_session(request, "accounts", render)


def _tracking_link(v: Visit) -> dict[str, str] | None:
    """The tracking link of the last 焕新 in this session (kept in its cookie), if any."""
    raw = v.signed("tracking", TRACKING_COOKIE)
    token, _, expires = (raw or "").partition(" ")
    try:
        until = datetime.fromisoformat(expires)
    except ValueError:
        return None
    base = str(v.request.base_url).rstrip("/")
    return {
        "token": token,
        "url": f"{base}/portal/track?{urlencode({'lang': v.lang})}#{token}",
        "until": _local(until),
    }


def _track_page(
    v: Visit, *, errors: list[FieldError] | None = None, status: int = 200, **found: Any
) -> Response:
    return v.page(
        "track.html",
        "requests",
        status=status,
        errors=errors or [],
        rows=found.get("rows"),
        token=found.get("token", ""),
        until=found.get("until"),
        session_active=_session(v) is not None,
        lang_switch_url=v.lang_switch_url({}),
    )


@router.get("/portal/track")
async def track_form(request: Request) -> Response:
    """Where a tracking link lands: a form for the token (``portal.js`` fills it from the
    fragment and sends it), so the token never travels in a URL."""
    return _track_page(visit(request))


@router.post("/portal/track")
async def track(request: Request) -> Response:
    """The unbind requests a tracking token may read: no session needed."""
    v = visit(request)
    form = await v.form()
    if form is None:
        return csrf_failed(v, back="/portal/track")
    token = form.get("token", "").strip()
    try:
        found = await run_in_threadpool(_people(request).track, token)
    except TrackingTokenInvalid:
        error = v.error("token", "error.tracking_invalid")
        return _track_page(v, errors=[error], status=400)
    rows = [
        {
            "platform": r.platform_name,
            "category": r.category.value,
            "accounts": r.account_count,
            "status": r.status.value,
            "sent_at": _local(r.requested_at),
            "deadline": r.due_on.isoformat(),
            "answered_at": _local(r.answered_at) if r.answered_at else None,
            "reason": r.reason,
        }
        for r in found.requests
    ]
    until = _local(found.expires_at)
    return _track_page(v, rows=rows, token=token, until=until)


# the cancellation plan ------------------------------------------------------------------------


@router.get("/portal/plan")
async def plan(request: Request) -> Response:
    """The ordered checklist before giving up the number: tick, print, download."""

    async def render(v: Visit, session: Session) -> Response:
        view = await _call(_people(request).cancellation_plan, session.token)
        steps = [
            {
                "id": line.position,
                "no": line.position,
                "platform": line.platform_name,
                "category": line.category.value,
                "account": line.account_masked,
                "action": line.action.value,
                "reason": line.reason.value,
                "last_active": line.last_active_at.isoformat() if line.last_active_at else None,
            }
            for line in view.lines
        ]
        key = hashlib.sha256(session.token.encode()).hexdigest()[:16]
        return v.page(
            "plan.html",
            "plan",
            phone=view.phone_masked,
            steps=steps,
            plan_key=key,
            session_active=True,
        )

    return await _with_session(request, "plan", render)


@router.post("/portal/plan.csv")
async def plan_download(request: Request) -> Response:
    """The plan as CSV, with the lines the person ticked marked done."""

    async def render(v: Visit, session: Session) -> Response:
        if await v.form() is None:
            return csrf_failed(v, back="/portal/plan")
        data = await v.request.form()  # parsed once and kept by the request
        ticked = frozenset(
            int(value)
            for value in data.getlist("done")
            if isinstance(value, str) and value.isascii() and value.isdigit()
        )
        view = await _call(_people(request).cancellation_plan, session.token)
        response = Response(
            "\ufeff" + plan_csv(view, ticked),  # a BOM, so spreadsheet programs read Chinese names
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="numguard-plan-{view.made_on.isoformat()}.csv"'
                )
            },
        )
        return v.finish(response)

    return await _with_session(request, "plan", render)


# leaving --------------------------------------------------------------------------------------


@router.post("/portal/logout")
async def logout(request: Request) -> Response:
    """End the lookup: the verified session cookie is cleared."""
    v = visit(request)
    if await v.form() is None:
        return csrf_failed(v)
    v.forget(SESSION_COOKIE)
    v.forget(PENDING_COOKIE)
    v.forget(TRACKING_COOKIE)
    return v.redirect("/?ended=1")


@router.get("/portal/{rest:path}")
async def not_found(request: Request, rest: str) -> Response:
    """Any other portal address: a page in words, not a JSON error."""
    v = visit(request)
    return _message(v, v.t("page.error"), v.t("error.not_found"), status=404)
