"""Rendering helpers shared by the portal's routes: language, CSRF, cookies, templates.

Each request becomes a :class:`Visit`: its language (``?lang=``, cookie, ``Accept-Language``),
its CSRF token (made on first sight, kept in a signed ``HttpOnly; SameSite=Strict`` cookie and
echoed in every form), and the cookies the response must set or clear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from numguard.adapters.web.portal import cookies
from numguard.adapters.web.portal.i18n import LANG_COOKIE, LANGS, choose, translate
from numguard.adapters.web.security import container_of

HERE = Path(__file__).parent
STATIC_PREFIX = "/portal/static"
KINDS = ("accounts", "numbers", "plan")

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def lookup_url(kind: str) -> str:
    """The lookup start page for one *kind* (accounts, numbers, plan)."""
    return f"/portal/lookup?{urlencode({'kind': kind})}"


ENV.globals.update(
    static_url=lambda name: f"{STATIC_PREFIX}/{name}",
    lookup_url=lookup_url,
    home_url="/",
    logout_url="/portal/logout",
)

NAV = (
    ("nav.home", "/", "home"),
    ("nav.lookup", lookup_url("accounts"), "lookup"),
    ("nav.requests", "/portal/requests", "requests"),
    ("nav.plan", lookup_url("plan"), "plan"),
)


@dataclass(frozen=True)
class FieldError:
    """One message for a person, tied to a form field (its ``id``) or to the whole page."""

    field: str | None
    text: str


@dataclass
class Visit:
    """One request as the portal sees it."""

    request: Request
    lang: str
    remember_lang: bool
    csrf: str
    fresh_csrf: bool
    now: int
    signers: dict[str, cookies.Signer]
    limits: dict[str, object] = field(default_factory=dict)
    """Configured numbers the words mention: ``hours`` between lookups, code ``minutes``."""
    set_cookies: list[tuple[str, str, int]] = field(default_factory=list)
    clear_cookies: list[str] = field(default_factory=list)

    def t(self, key: str, **values: object) -> str:
        """Translate *key* into this visit's language."""
        return translate(self.lang, key, **{**self.limits, **values})

    def error(self, field_id: str | None, key: str, **values: object) -> FieldError:
        """A message for a person in this visit's language."""
        return FieldError(field_id, self.t(key, **values))

    def signed(self, purpose: str, name: str) -> str | None:
        """The value of the signed cookie *name* written for *purpose*, if genuine and fresh."""
        return self.signers[purpose].unsign(self.request.cookies.get(name), now=self.now)

    def keep(self, purpose: str, name: str, value: str, seconds: int) -> None:
        """Set the signed cookie *name* for *seconds*."""
        token = self.signers[purpose].sign(value, expires=self.now + seconds)
        self.set_cookies.append((name, token, seconds))

    def forget(self, name: str) -> None:
        """Clear the cookie *name*."""
        self.clear_cookies.append(name)

    async def form(self) -> dict[str, str] | None:
        """The posted form as text fields, or ``None`` when its CSRF token does not check out."""
        data = await self.request.form()
        values = {k: v for k, v in data.items() if isinstance(v, str)}
        cookie = self.request.cookies.get(cookies.CSRF_COOKIE)
        if not cookies.csrf_ok(self.signers["csrf"], cookie, values.get("csrf"), self.now):
            return None
        return values

    def lang_switch_url(self, keep: dict[str, str] | None = None) -> str:
        """The current page in the other language (its query kept, or *keep* instead)."""
        other = next(lang for lang in LANGS if lang != self.lang)
        query = dict(self.request.query_params) if keep is None else dict(keep)
        query.pop("again", None)
        query["lang"] = other
        return f"{self.request.url.path}?{urlencode(query)}"

    def finish(self, response: Response) -> Response:
        """Attach this visit's cookies to *response*."""
        secure = self.request.url.scheme == "https"
        if self.remember_lang:
            response.set_cookie(
                LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax", secure=secure
            )
        if self.fresh_csrf:
            response.set_cookie(
                cookies.CSRF_COOKIE, self.csrf, httponly=True, samesite="strict", secure=secure
            )
        for name in self.clear_cookies:
            response.delete_cookie(name, httponly=True, samesite="strict", secure=secure)
        for name, value, seconds in self.set_cookies:
            response.set_cookie(
                name, value, max_age=seconds, httponly=True, samesite="strict", secure=secure
            )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        return response

    def page(self, template: str, name: str, *, status: int = 200, **context: Any) -> Response:
        """Render *template* (page *name* in the navigation) with the shared context."""
        values: dict[str, Any] = {
            "lang": self.lang,
            "t": self.t,
            "csrf": self.csrf,
            "page": name,
            "nav": NAV,
            "lang_switch_url": self.lang_switch_url(),
            "errors": [],
            "notice": None,
            "session_active": False,
        }
        values.update(context)
        html = ENV.get_template(template).render(values)
        return self.finish(HTMLResponse(html, status_code=status))

    def redirect(self, url: str) -> Response:
        """See other: the browser GETs *url* (post/redirect/get)."""
        return self.finish(RedirectResponse(url, status_code=303))


PURPOSES = ("csrf", "pending", "session", "tracking")


def visit(request: Request) -> Visit:
    """Read language and CSRF state off *request*."""
    settings = container_of(request).settings
    key = settings.derive_key("numguard/portal-cookies")
    signers = {p: cookies.Signer(key, f"portal/{p}") for p in PURPOSES}
    now = int(time.time())
    query_lang = request.query_params.get("lang")
    lang = choose(
        query_lang, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    existing = request.cookies.get(cookies.CSRF_COOKIE)
    fresh = signers["csrf"].unsign(existing, now=now) is None
    token = cookies.new_csrf_token(signers["csrf"], now) if fresh else str(existing)
    hours = settings.lookup_interval_hours
    return Visit(
        request,
        lang,
        remember_lang=query_lang == lang,
        csrf=token,
        fresh_csrf=fresh,
        now=now,
        signers=signers,
        limits={
            "hours": int(hours) if float(hours).is_integer() else hours,
            "minutes": max(1, settings.lookup_code_ttl_seconds // 60),
            "lock_minutes": max(1, round(settings.lookup_lock_minutes)),
        },
    )
