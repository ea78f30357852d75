"""The demo's reference bank: a tiny web page that logs people in with SMS codes and the guard.

``numguard demo`` mounts it at ``/demo-bank``. It is what a platform integrating numguard looks
like, in one file:

* its accounts are the demo's 示例银行 bindings (each with an authenticator app, TOTP);
* logging in: a phone number, an SMS code (the page shows the code, as the demo's "phone"), then
  :class:`~numguard.guard.AsyncGuard` asks the registry, over its real HTTP API, whether the
  number changed holder since the account was bound. The new holder of a reissued number is
  stepped up (the reason is shown); the holder of a number that did not change logs in;
* its webhook endpoint verifies numguard's signed deliveries with
  :class:`~numguard.guard.webhooks.WebhookReceiver` (signature, timestamp, once per event id),
  and the page lists what arrived.

Everything lives in memory; a restart of the demo starts the bank afresh.
"""

from __future__ import annotations

import html
import secrets
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from numguard.bootstrap import Container
from numguard.domain.answer import Recycled
from numguard.domain.binding import Category
from numguard.domain.guard import Action, Attempt, Decision, Factor, Verdict
from numguard.domain.notification import NotificationType
from numguard.guard import AsyncGuard, AsyncRegistryClient
from numguard.guard.webhooks import ReceivedEvent, WebhookReceiver, WebhookRejected
from numguard.services.demo_bindings import DEMO_PLATFORMS

BANK_PATH = "/demo-bank"
"""Where the demo mounts the bank."""
CODE_TTL = timedelta(minutes=5)
"""How long an SMS code of the bank is good for."""
RECEIVED_SHOWN = 50
"""Webhook deliveries the page lists (newest first)."""


@dataclass(frozen=True)
class BankAccount:
    """One account of the bank, bound to a phone number."""

    ref: str
    phone: str
    bound_at: date
    last_active_at: date | None
    factors: frozenset[Factor] = frozenset({Factor.TOTP})

    @classmethod
    def from_binding(cls, record: Mapping[str, Any]) -> BankAccount:
        """An account from a binding record in the API shape (accountRef, phoneNumber, ...)."""
        last = record.get("lastActiveAt")
        return cls(
            ref=str(record["accountRef"]),
            phone=str(record["phoneNumber"]),
            bound_at=date.fromisoformat(str(record["boundAt"])[:10]),
            last_active_at=date.fromisoformat(str(last)[:10]) if last else None,
        )


@dataclass(frozen=True)
class Arrival:
    """A webhook delivery the bank received (verified)."""

    at: datetime
    event_id: str
    kind: str
    phone: str
    duplicate: bool


@dataclass(frozen=True)
class LoginResult:
    """What the bank did with a login: per account, the guard's verdict."""

    phone: str
    verdicts: tuple[tuple[BankAccount, Verdict], ...]
    error: str | None = None


@dataclass
class DemoBank:
    """The bank: accounts, pending SMS codes, the guard and the webhook receiver."""

    accounts: Sequence[BankAccount]
    guard: AsyncGuard
    receiver: WebhookReceiver | None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    suggestions: Sequence[tuple[str, str]] = ()
    """(phone, what to expect) pairs the page offers to try."""
    codes: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    received: deque[Arrival] = field(default_factory=lambda: deque(maxlen=RECEIVED_SHOWN))

    def accounts_of(self, phone: str) -> list[BankAccount]:
        """The accounts bound to *phone*."""
        return [a for a in self.accounts if a.phone == phone]

    def send_code(self, phone: str) -> str:
        """A fresh six-digit code for *phone* (the demo shows it instead of sending an SMS)."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        self.codes[phone] = (code, self.now() + CODE_TTL)
        return code

    async def login(self, phone: str, code: str) -> LoginResult:
        """Check the SMS code, then ask the guard about every account bound to *phone*."""
        expected = self.codes.get(phone)
        if (
            expected is None
            or expected[1] < self.now()
            or not secrets.compare_digest(expected[0], code.strip())
        ):
            return LoginResult(phone, (), "wrong or expired SMS code")
        del self.codes[phone]
        accounts = self.accounts_of(phone)
        if not accounts:
            return LoginResult(phone, (), "no account at this bank is bound to this number")
        now = self.now()
        verdicts = []
        for account in accounts:
            verdict = await self.guard.decide(
                Attempt(
                    action=Action.SMS_LOGIN,
                    phone=account.phone,
                    bound_at=datetime.combine(account.bound_at, time(), UTC),
                    category=Category.FINANCIAL,
                    now=now,
                    last_active_at=(
                        datetime.combine(account.last_active_at, time(), UTC)
                        if account.last_active_at
                        else None
                    ),
                    factors=account.factors,
                )
            )
            verdicts.append((account, verdict))
        return LoginResult(phone, tuple(verdicts))

    def receive(self, headers: Mapping[str, str], body: bytes) -> Response:
        """The webhook endpoint: verify, record once per event id, answer 204."""
        if self.receiver is None:
            return Response("no subscription", status_code=404)
        try:
            outcome = self.receiver.receive(headers, body, lambda event: None)
        except WebhookRejected as exc:
            return Response(exc.code, status_code=exc.status)
        self._record(outcome.event, duplicate=outcome.receipt.value == "duplicate")
        return Response(status_code=204)

    def _record(self, event: ReceivedEvent, *, duplicate: bool) -> None:
        kind = event.kind.value if event.kind is not None else event.type
        self.received.appendleft(
            Arrival(self.now(), event.id, kind, event.phone_number or "", duplicate)
        )


def guard_for(app: Any, client: tuple[str, str]) -> AsyncGuard:
    """A guard asking the registry *app* over its HTTP API, in process (no socket)."""
    transport = httpx.ASGITransport(app=app)
    return AsyncGuard(
        AsyncRegistryClient("http://registry", client[0], client[1], transport=transport)
    )


# --- the page ---------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:46rem;
margin:2rem auto;padding:0 1rem;color:#1d2733}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
form{display:flex;gap:.5rem;flex-wrap:wrap;margin:.5rem 0}
input{font-size:1rem;padding:.4rem}button{font-size:1rem;padding:.4rem .9rem}
.box{border:1px solid #cfd8e3;border-radius:.5rem;padding:.8rem 1rem;margin:.8rem 0}
.ALLOW{border-color:#2e7d32;background:#edf7ee}.STEP_UP,.HIBERNATE{border-color:#b26a00;
background:#fff6e5}.DENY{border-color:#c62828;background:#fdecea}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e8ee;padding:.3rem;
text-align:left;font-size:.9rem}code{font-size:.9rem}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(bank: DemoBank, body: str) -> HTMLResponse:
    tries = "".join(
        f"<li><code>{_e(phone)}</code>: {_e(expect)}</li>" for phone, expect in bank.suggestions
    )
    rows = "".join(
        f"<tr><td>{_e(a.at.strftime('%H:%M:%S'))}</td><td><code>{_e(a.kind)}</code></td>"
        f"<td><code>{_e(a.phone)}</code></td><td><code>{_e(a.event_id)}</code></td>"
        f"<td>{'duplicate (ignored)' if a.duplicate else 'handled'}</td></tr>"
        for a in bank.received
    )
    deliveries = (
        f"<table><tr><th>received</th><th>event</th><th>number</th><th>id</th><th></th></tr>"
        f"{rows}</table>"
        if rows
        else "<p id='no-deliveries'>None yet. Report a cancellation of a number with an account "
        "here, or ask for 焕新 in the portal, and the registry's signed webhook arrives here.</p>"
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>示例银行 Example Bank: numguard demo</title><style>{_STYLE}</style></head><body>
<h1>示例银行 Example Bank</h1>
<p>A reference platform using numguard's guard: an SMS code opens an account only when the
registry says the number has not changed holder since the account was bound to it.</p>
{body}
<h2>Log in with an SMS code</h2>
<form method="post" action="{BANK_PATH}/sms"><input name="phone" placeholder="+8613800138000"
required aria-label="phone number"><button>Send me a code</button></form>
<p>Numbers to try:</p><ul>{tries}</ul>
<h2>Webhook deliveries received</h2>
<p>Verified with <code>numguard.guard.webhooks.WebhookReceiver</code>: Standard Webhooks
signature, timestamp within five minutes, each event id handled once.</p>
{deliveries}
</body></html>"""
    return HTMLResponse(page)


def _code_form(phone: str, code: str) -> str:
    return (
        f"<div class='box' id='sms'><p>📱 SMS to <code>{_e(phone)}</code>: your 示例银行 code is "
        f"<strong id='code'>{_e(code)}</strong></p>"
        f"<form method='post' action='{BANK_PATH}/login'>"
        f"<input type='hidden' name='phone' value='{_e(phone)}'>"
        f"<input name='code' placeholder='6-digit code' required aria-label='SMS code'>"
        f"<button>Log in</button></form></div>"
    )


def _verdict_box(account: BankAccount, verdict: Verdict) -> str:
    decision = verdict.decision
    if decision is Decision.ALLOW:
        headline = f"Welcome: you are logged in to account <code>{_e(account.ref)}</code>."
    elif decision in (Decision.STEP_UP, Decision.HIBERNATE):
        factors = " or ".join(f.value for f in verdict.factors)
        headline = (
            f"Account <code>{_e(account.ref)}</code>: the SMS code is not enough. Confirm with "
            f"your {_e(factors)} to continue."
        )
    else:
        headline = (
            f"Account <code>{_e(account.ref)}</code> cannot be opened with this number. Visit a "
            "branch with your ID."
        )
    reasons = "".join(f"<li><code>{_e(r.code)}</code>: {_e(r.text)}</li>" for r in verdict.reasons)
    return (
        f"<div class='box {decision.value}' data-decision='{decision.value}' "
        f"data-account='{_e(account.ref)}'><p>{headline}</p><p>Why:</p><ul>{reasons}</ul></div>"
    )


def create_demo_bank(bank: DemoBank) -> Starlette:
    """The bank's pages and webhook endpoint, to mount at :data:`BANK_PATH`."""

    async def home(request: Request) -> Response:
        return _page(bank, "")

    async def sms(request: Request) -> Response:
        form = await request.form()
        phone = str(form.get("phone", "")).strip()
        if not phone:
            return _page(bank, "<div class='box DENY'>Enter a phone number.</div>")
        return _page(bank, _code_form(phone, bank.send_code(phone)))

    async def login(request: Request) -> Response:
        form = await request.form()
        result = await bank.login(str(form.get("phone", "")), str(form.get("code", "")))
        if result.error is not None:
            return _page(bank, f"<div class='box DENY' id='error'>{_e(result.error)}</div>")
        return _page(bank, "".join(_verdict_box(a, v) for a, v in result.verdicts))

    async def webhooks(request: Request) -> Response:
        return bank.receive(request.headers, await request.body())

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/sms", sms, methods=["POST"]),
            Route("/login", login, methods=["POST"]),
            Route("/webhooks", webhooks, methods=["POST"]),
        ]
    )


def install_demo_bank(
    app: Any,
    container: Container,
    *,
    platform: str,
    records: Sequence[Mapping[str, Any]],
    client: tuple[str, str],
    sink: str,
    reissued: tuple[str, date] | None = None,
) -> DemoBank:
    """Mount the bank on *app* at :data:`BANK_PATH`, subscribed to every notification of
    *platform* at *sink* (its webhook URL), with *records* (the platform's bindings) as accounts
    and *client* (a platform client) for the guard. *reissued* names a reissued number and the
    day its new holder got it, offered on the page.
    """
    created = container.notifications.subscribe(
        platform, sink, [t.value for t in NotificationType], None, client_id=client[0]
    )
    accounts = [BankAccount.from_binding(r) for r in records]
    suggestions: list[tuple[str, str]] = []
    if reissued is not None and any(a.phone == reissued[0] for a in accounts):
        suggestions.append(
            (
                reissued[0],
                f"reissued on {reissued[1].isoformat()}; the account here is its previous "
                "holder's: the new holder is stepped up",
            )
        )
    for account in accounts:
        if reissued is not None and account.phone == reissued[0]:
            continue
        result = container.checks.check(account.phone, account.bound_at, client_id=client[0])
        if result.answer.recycled is Recycled.NO:
            suggestions.append((account.phone, "the same holder since binding: logs in"))
            break
    bank = DemoBank(
        accounts,
        guard_for(app, client),
        WebhookReceiver(created.secret),
        container.now,
        tuple(suggestions),
    )
    app.mount(BANK_PATH, create_demo_bank(bank), name="demo-bank")
    return bank


def install_for_demo(app: Any, container: Container, people: Any, base_url: str) -> DemoBank:
    """The demo's bank: the first demo platform's bindings and client (*people* is what
    ``numguard demo`` made: ``bindings``, a :class:`~numguard.services.demo_bindings.DemoBindings`,
    and ``bank_client``), notified at *base_url*'s ``/demo-bank/webhooks``."""
    platform = DEMO_PLATFORMS[0].code
    made = people.bindings
    return install_demo_bank(
        app,
        container,
        platform=platform,
        records=made.records[platform],
        client=people.bank_client,
        sink=f"{base_url.rstrip('/')}{BANK_PATH}/webhooks",
        reissued=(made.phone_number, made.tenure_start),
    )
