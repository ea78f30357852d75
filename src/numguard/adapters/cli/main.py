"""``numguard``: serve the API, migrate, import carrier files, run bulk checks, manage carriers,
clients and tokens, and a one-command demo.

Every command reads its settings from the environment (``NUMGUARD_*``, see
:func:`numguard.settings.load_settings`). Bad input, whether a :class:`NumguardError` from a
service or an option value that cannot be used, ends the command with exit code 2 and exactly one
line on stderr, ``error: CODE: message``, before anything is changed. Typer's own usage errors
exit with 2 as well. Progress bars and summaries go to stdout.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from numguard.adapters.cli.reconcile import register as register_reconcile
from numguard.adapters.cli.simulate import DEMO_REPORT_POPULATION, demo_report
from numguard.adapters.cli.simulate import register as register_simulate
from numguard.adapters.cli.worker import register as register_worker
from numguard.bootstrap import Container, build
from numguard.domain.phone import parse_phone_number
from numguard.errors import InvalidInput, NumguardError
from numguard.services.auth import Role
from numguard.settings import DEFAULT_DATA_DIR, Settings, load_settings

_P = ParamSpec("_P")
_R = TypeVar("_R")

APP_FACTORY = "numguard.adapters.web.app:create_app"
"""What ``numguard serve`` runs (a factory: the app builds its container at start-up)."""

DEMO_REPORT_PATH = "/demo/simulation"
"""Where the served demo shows the simulator report it generated."""

DEMO_CHUNK = 20_000
"""Events per transaction when the demo loads its world."""

console = Console(highlight=False, soft_wrap=True)
"""Where progress bars, tables and summaries go (stdout)."""

app = typer.Typer(
    name="numguard",
    help="Keeps recycled phone numbers from leaking accounts: registry, checks, API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
"""The ``numguard`` command (the console script's entry point)."""

_db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
_carrier_app = typer.Typer(help="Reporting carriers and their number ranges.", no_args_is_help=True)
_client_app = typer.Typer(help="API clients (carriers, platforms, admins).", no_args_is_help=True)
_token_app = typer.Typer(help="Access tokens made by the operator.", no_args_is_help=True)
_platform_app = typer.Typer(
    help="Platforms that report bindings and receive unbind requests.", no_args_is_help=True
)
_bindings_app = typer.Typer(help="Bindings reported by platforms.", no_args_is_help=True)
app.add_typer(_db_app, name="db")
app.add_typer(_carrier_app, name="carrier")
app.add_typer(_client_app, name="client")
app.add_typer(_token_app, name="token")
app.add_typer(_platform_app, name="platform")
app.add_typer(_bindings_app, name="bindings")
register_simulate(app)
register_reconcile(app)
register_worker(app)


# --------------------------------------------------------------------------------------------
# Errors and the container


def fail(code: str, message: str, *, exit_code: int = 2) -> NoReturn:
    """Print ``error: CODE: message`` as one line on stderr and exit."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {code}: {one_line}", err=True)
    raise typer.Exit(exit_code)


def cli_errors(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn a NumguardError into exit code 2, a database failure into exit code 1."""

    @functools.wraps(command)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return command(*args, **kwargs)
        except NumguardError as exc:
            fail(exc.code, exc.message)
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            lines = str(cause).splitlines() or [type(cause).__name__]
            fail("UNAVAILABLE", f"database: {lines[0]}", exit_code=1)

    return run


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[Container]:
    """A container on the configured (and migrated) database, closed on the way out."""
    container = build(settings or load_settings())
    try:
        yield container
    finally:
        container.close()


def parse_day(text: str | None, option: str) -> date | None:
    """A ``YYYY-MM-DD`` option value (None stays None)."""
    if text is None:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option} must be a date in YYYY-MM-DD form, not {text!r}") from None


def safe_url(url: str) -> str:
    """A database URL fit to print (password hidden)."""
    return make_url(url).render_as_string(hide_password=True)


def data_dir() -> Path:
    """``NUMGUARD_DATA_DIR`` (``var`` by default), where local files live."""
    return Path(os.environ.get("NUMGUARD_DATA_DIR", str(DEFAULT_DATA_DIR)))


# --------------------------------------------------------------------------------------------
# serve, db


@app.command()
@cli_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    worker: Annotated[
        bool,
        typer.Option("--worker", help="Also deliver webhooks in each server process."),
    ] = False,
) -> None:
    """Serve the HTTP API (uvicorn with uvloop and httptools; OpenAPI at /docs)."""
    import uvicorn  # noqa: PLC0415  only this command needs the server

    if worker:  # the app factory of every server process reads it
        os.environ["NUMGUARD_SERVE_WORKER"] = "1"
    settings = load_settings()
    with opened(settings):  # migrate once here, not in every worker
        pass
    console.print(
        f"numguard on http://{host}:{port} (docs at /docs), {safe_url(settings.database_url)}"
    )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
    )


@_db_app.command("upgrade")
@cli_errors
def db_upgrade() -> None:
    """Bring the database schema up to date (idempotent)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    from numguard.adapters.storage.db import make_engine, upgrade  # noqa: PLC0415

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    console.print(f"{safe_url(settings.database_url)} is at revision {revision}")


# --------------------------------------------------------------------------------------------
# import, check


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@app.command("import")
@cli_errors
def import_(
    file: Annotated[Path, typer.Argument(help="Events file: .csv, .ndjson or .jsonl.")],
    reject_file: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default: FILE.rejects.csv).")
    ] = None,
    carrier: Annotated[
        str | None, typer.Option(help="Accept only this carrier's events (others are rejected).")
    ] = None,
) -> None:
    """Import a carrier's lifecycle events file of any size; re-importing changes nothing."""
    from numguard.services.importer import import_file  # noqa: PLC0415

    if not file.is_file():
        raise InvalidInput(f"no such file: {file}")
    with opened() as container:
        # This process answers no checks: keeping its answer index current is wasted work
        # (servers take the new states in from storage).
        container.registry.off_states_changed(container.index.update)
        allowed = carrier.strip().upper() if carrier else None
        if allowed is not None and allowed not in container.registry.coverage.carriers:
            raise InvalidInput(f"carrier {allowed} is not registered", code="UNKNOWN_CARRIER")
        with _progress() as progress:
            reading = progress.add_task("reading", total=file.stat().st_size, detail="")
            applying = progress.add_task("applying", total=None, detail="", visible=False)

            def show(phase: str, done: int, total: int) -> None:
                if phase == "read":
                    progress.update(reading, completed=done, total=total)
                else:
                    progress.update(reading, completed=progress.tasks[reading].total)
                    progress.update(
                        applying,
                        completed=done,
                        total=total,
                        visible=True,
                        detail=f"{done:,}/{total:,} rows",
                    )

            report = import_file(
                file,
                container.registry,
                reject_path=reject_file,
                allowed_carrier=allowed,
                progress=show,
            )
    table = Table(show_header=False, box=None)
    table.add_row("rows", f"{report.rows:,}")
    table.add_row("accepted", f"{report.accepted:,}")
    table.add_row("duplicates", f"{report.duplicates:,}")
    table.add_row("rejected", f"{report.rejected:,}")
    table.add_row("time", f"{report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)")
    if report.reject_file is not None:
        table.add_row("reject file", str(report.reject_file))
    console.print(table)


@app.command()
@cli_errors
def check(
    file: Annotated[
        Path, typer.Argument(help="Checks: CSV (phoneNumber,specifiedDate) or NDJSON.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the answers go.")],
) -> None:
    """Answer a file of (phoneNumber, specifiedDate) checks; the answers keep its format."""
    from numguard.services.bulkfiles import BulkSummary, check_stream  # noqa: PLC0415
    from numguard.services.importer import detect_format  # noqa: PLC0415

    if not file.is_file():
        raise InvalidInput(f"no such file: {file}")
    if output.resolve() == file.resolve():
        raise InvalidInput("--output must not be the input file")
    fmt = detect_format(file)
    partial = output.with_name(output.name + ".part")
    with opened() as container:
        loading = time.perf_counter()
        with console.status("loading the answer index"):
            container.load_index()
        loaded = time.perf_counter() - loading
        console.print(f"answer index: {len(container.index):,} numbers in {loaded:.1f} s")
        started = time.perf_counter()
        summary = BulkSummary()
        with _progress() as progress:
            task = progress.add_task("checking", total=file.stat().st_size, detail="")

            def chunks() -> Iterator[bytes]:
                with file.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        yield block
                        progress.advance(task, len(block))

            stream = check_stream(
                chunks(),
                fmt,
                container.checks,
                client_id="cli",
                correlator=file.name[:128],
                summary=summary,
            )
            try:
                first = next(stream, b"")  # a bad header fails here, before any output
                with partial.open("wb") as out:
                    out.write(first)
                    for piece in stream:
                        out.write(piece)
                        progress.update(task, detail=f"{summary.rows:,} rows")
                os.replace(partial, output)
            finally:
                partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    counts = summary.by_answer
    table = Table(show_header=False, box=None)
    table.add_row("rows", f"{summary.rows:,}")
    for key in ("yes", "no", "unknown", "error"):
        table.add_row(key, f"{counts.get(key, 0):,}")
    table.add_row("time", f"{seconds:.1f} s ({summary.rows / max(seconds, 1e-9):,.0f} rows/s)")
    table.add_row("answers", str(output))
    console.print(table)


# --------------------------------------------------------------------------------------------
# carriers, clients, tokens


@_carrier_app.command("add")
@cli_errors
def carrier_add(
    code: Annotated[str, typer.Argument(help="Carrier code, e.g. CMCC.")],
    name: Annotated[str, typer.Option(help="Display name, e.g. 中国移动.")],
    tracking_since: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD from which its reports are complete (default: today)."),
    ] = None,
    prefix: Annotated[
        list[str] | None,
        typer.Option(help="An E.164 prefix range it holds, e.g. +86138 (repeatable)."),
    ] = None,
) -> None:
    """Register a carrier, or update its name, tracking date and prefixes."""
    since = parse_day(tracking_since, "--tracking-since")
    with opened() as container:
        coverage = container.registry.add_carrier(
            code, name, tracking_since=since, prefixes=prefix or [], now=container.now()
        )
    ranges = ", ".join(coverage.prefixes) or "none declared"
    console.print(
        f"carrier {coverage.code} ({name.strip()}): tracking since "
        f"{coverage.tracking_since.isoformat()}, ranges {ranges}"
    )


@_carrier_app.command("list")
@cli_errors
def carrier_list() -> None:
    """The registered carriers."""
    with opened() as container:
        names = container.store.carrier_names()
        carriers = sorted(container.registry.coverage.carriers.values(), key=lambda c: c.code)
    table = Table("code", "name", "tracking since", "prefixes")
    for c in carriers:
        table.add_row(
            c.code, names.get(c.code, ""), c.tracking_since.isoformat(), " ".join(c.prefixes)
        )
    console.print(table)


@_client_app.command("add")
@cli_errors
def client_add(
    name: Annotated[str, typer.Argument(help="Who the client is, e.g. 'Bank of Example'.")],
    role: Annotated[str, typer.Option(help="carrier, platform or admin.")],
    carrier: Annotated[
        str | None, typer.Option(help="The carrier a carrier client reports for.")
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option(help="The registered platform a platform client reports bindings for."),
    ] = None,
) -> None:
    """Add an API client; its secret is printed once and never stored in clear."""
    with opened() as container:
        record, secret = container.clients.add_client(
            name, role.strip().lower(), carrier=carrier, platform=platform, now=container.now()
        )
    typer.echo(f"client_id:     {record.client_id}")
    typer.echo(f"client_secret: {secret}")
    owner = record.carrier or record.platform
    typer.echo(f"role:          {record.role.value}" + (f" ({owner})" if owner else ""))
    typer.echo(f"scopes:        {' '.join(sorted(record.scopes))}")
    typer.echo("Keep the secret now: numguard stores only a hash of it and cannot show it again.")


@_token_app.command("issue")
@cli_errors
def token_issue(
    phone: Annotated[str, typer.Option(help="The phone number the token is bound to.")],
    scope: Annotated[str, typer.Option(help="Scope(s), e.g. number-recycling:check.")],
    ttl: Annotated[int | None, typer.Option(help="Lifetime in seconds (default: setting).")] = None,
) -> None:
    """Issue a token bound to one phone number (CAMARA 3-legged style); prints the token."""
    settings = load_settings()
    e164 = parse_phone_number(phone, settings.default_region)
    with opened(settings) as container:
        issued = container.clients.issue_phone_token(
            e164, scope, ttl_seconds=ttl, now=container.now()
        )
    typer.echo(issued.access_token)
    console.print(
        f"[dim]{issued.token_type} token for {e164}, scope {issued.scope}, "
        f"expires in {issued.expires_in} s[/dim]"
    )


# --------------------------------------------------------------------------------------------
# platforms and bindings


@_platform_app.command("add")
@cli_errors
def platform_add(
    code: Annotated[str, typer.Argument(help="Platform code, e.g. EXAMPLEBANK.")],
    name: Annotated[str, typer.Option(help="Display name people see, e.g. 示例银行.")],
    category: Annotated[str, typer.Option(help="FINANCIAL, SOCIAL, COMMERCE, LIFESTYLE or OTHER.")],
    webhook: Annotated[
        str | None,
        typer.Option(
            help="URL that receives the platform's unbind requests as signed webhooks "
            "(subscribed to binding.unbind-requested; omit it to remove that subscription)."
        ),
    ] = None,
    contact: Annotated[str | None, typer.Option(help="Who to call about this platform.")] = None,
) -> None:
    """Register a platform, or update its name, category, webhook and contact.

    The webhook becomes the platform's subscription to ``binding.unbind-requested`` (signed,
    retried for 24 h): made once, replaced when the URL changes. Its signing secret is printed
    once, when it is made: hand it to the platform, which verifies every delivery with it.
    """
    with opened() as container:
        if webhook is not None and webhook.strip():
            container.notifications.verify_sink(webhook.strip())  # refused before any change
        known = container.bindings.store.get_platform(code.strip().upper())
        record = container.bindings.add_platform(
            code, name, category=category, webhook_url=webhook, contact=contact
        )
        made = container.notifications.ensure_unbind_sink(
            record.code, record.webhook_url, replaces=known.webhook_url if known else None
        )
    console.print(
        f"platform {record.code} ({record.name}): {record.category.value}, "
        f"webhook {record.webhook_url or 'none'}"
    )
    if made is not None:
        typer.echo(
            f"unbind requests: subscription {made.subscription.subscription_id} to "
            f"binding.unbind-requested at {made.subscription.sink}"
        )
        typer.echo(f"signing secret (shown once; give it to the platform): {made.secret}")
    console.print(f"its client: numguard client add NAME --role platform --platform {record.code}")


@_platform_app.command("list")
@cli_errors
def platform_list() -> None:
    """The registered platforms."""
    with opened() as container:
        found = container.bindings.list_platforms()
    table = Table("code", "name", "category", "webhook", "contact")
    for p in found:
        table.add_row(p.code, p.name, p.category.value, p.webhook_url or "", p.contact or "")
    console.print(table)


@_bindings_app.command("import")
@cli_errors
def bindings_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="Snapshot: CSV (accountRef,phoneNumber,category,boundAt,lastActiveAt) "
            "or NDJSON (.ndjson, .jsonl)."
        ),
    ],
    platform: Annotated[str, typer.Option(help="The platform whose snapshot this is.")],
) -> None:
    """Replace a platform's bindings with a full snapshot (bindings it lacks are removed).

    Streamed in one transaction: a bad record rejects the whole file and nothing changes;
    importing the same file again changes nothing.
    """
    from numguard.services.bindings import read_snapshot  # noqa: PLC0415

    if not file.is_file():
        raise InvalidInput(f"no such file: {file}")
    suffix = file.suffix.lower()
    if suffix == ".csv":
        fmt: Any = "csv"
    elif suffix in (".ndjson", ".jsonl"):
        fmt = "ndjson"
    else:
        raise InvalidInput("the snapshot is a .csv, .ndjson or .jsonl file")
    started = time.perf_counter()
    with opened() as container:
        code = container.bindings.platform(platform).code
        with _progress() as progress:
            task = progress.add_task("importing", total=file.stat().st_size, detail="")

            def chunks() -> Iterator[bytes]:
                with file.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        yield block
                        progress.advance(task, len(block))

            summary = container.bindings.import_snapshot(
                code, read_snapshot(chunks(), fmt), client_id="cli"
            )
    seconds = time.perf_counter() - started
    table = Table(show_header=False, box=None)
    table.add_row("platform", code)
    table.add_row("records", f"{summary.records:,}")
    table.add_row("created", f"{summary.created:,}")
    table.add_row("updated", f"{summary.updated:,}")
    table.add_row("unchanged", f"{summary.unchanged:,}")
    table.add_row("removed", f"{summary.removed:,}")
    table.add_row("time", f"{seconds:.1f} s ({summary.records / max(seconds, 1e-9):,.0f} rows/s)")
    console.print(table)


# --------------------------------------------------------------------------------------------
# demo


@app.command()
@cli_errors
def demo(
    numbers: Annotated[int, typer.Option(help="Numbers in the generated world.", min=3)] = 12_000,
    seed: Annotated[int, typer.Option(help="Seed of the generated world.")] = 1,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")
    ] = True,
) -> None:
    """A fresh demo registry: carriers, two years of events, clients, curl examples, then serve."""
    from numguard.services.demo_world import generate_world  # noqa: PLC0415

    settings = load_settings()
    folder = data_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "numguard-demo.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    # The demo bank receives its webhooks on this machine: allow the loopback address.
    settings = replace(
        settings,
        database_url=f"sqlite:///{database}",
        serve_worker=True,
        webhook_allow_private=True,
    )
    container = build(settings)
    try:
        with console.status(f"generating {numbers:,} numbers' lifecycles over two years"):
            world = generate_world(seed=seed, numbers=numbers, today=container.today())
        for carrier in world.carriers:
            container.registry.add_carrier(
                carrier.code,
                carrier.name,
                tracking_since=carrier.tracking_since,
                prefixes=carrier.prefixes,
                now=container.now(),
            )
        accepted = _load_world(container, world.events)
        if accepted != len(world.events):
            fail(
                "DEMO_WORLD",
                f"only {accepted} of {len(world.events)} events were accepted",
                exit_code=1,
            )
        parties = _demo_clients(container)
        people = _demo_people(container, world)
        parties["bank"] = people.bank_client
        container.load_index()
        report = demo_report(folder / "simulation-report")
        _print_demo(
            settings,
            report=report,
            database=database,
            world=world,
            parties=parties,
            host=host,
            port=port,
            events=len(world.events),
        )
        _print_demo_people(people, host=host, port=port)
        if serve_after:
            import uvicorn  # noqa: PLC0415

            uvicorn.run(
                demo_app(container, report, people=people, base_url=f"http://{host}:{port}"),
                host=host,
                port=port,
                loop="uvloop",
                http="httptools",
                log_level=settings.log_level.lower(),
            )
    finally:
        container.close()


def _load_world(container: Container, events: list[Any]) -> int:
    """Apply the world's events in big chunks (date order keeps each number's order)."""
    accepted = 0
    with _progress() as progress:
        task = progress.add_task("events", total=len(events), detail="")
        for start in range(0, len(events), DEMO_CHUNK):
            chunk = events[start : start + DEMO_CHUNK]
            summary = container.registry.report(chunk, source="demo", first_index=start)
            accepted += sum(1 for r in summary.results if r.outcome.value == "accepted")
            progress.update(task, advance=len(chunk), detail=f"{accepted:,} accepted")
    return accepted


def _demo_clients(container: Container) -> dict[str, tuple[str, str]]:
    made: dict[str, tuple[str, str]] = {}
    for key, name, role, carrier in (
        ("platform", "Demo platform (a bank app)", Role.PLATFORM, None),
        ("carrier", "Demo carrier CMCC", Role.CARRIER, "CMCC"),
        ("admin", "Demo admin", Role.ADMIN, None),
    ):
        record, secret = container.clients.add_client(
            name, role, carrier=carrier, now=container.now()
        )
        made[key] = (record.client_id, secret)
    return made


@dataclass(frozen=True)
class _DemoPeople:
    bindings: Any
    bank_client: tuple[str, str]


def _demo_people(container: Container, world: Any) -> _DemoPeople:
    """Five platforms, bindings consistent with the world, and a client for the bank."""
    from numguard.services.demo_bindings import DEMO_PLATFORMS, demo_bindings  # noqa: PLC0415

    made = demo_bindings(world)
    with _progress() as progress:
        task = progress.add_task("bindings", total=made.total, detail="")
        for platform in DEMO_PLATFORMS:
            container.bindings.add_platform(
                platform.code, platform.name, category=platform.category
            )
            records = made.records[platform.code]
            container.bindings.import_snapshot(platform.code, records, client_id="demo")
            progress.update(task, advance=len(records), detail=platform.code)
    record, secret = container.clients.add_client(
        "Demo bank (bindings)", Role.PLATFORM, platform=DEMO_PLATFORMS[0].code, now=container.now()
    )
    return _DemoPeople(made, (record.client_id, secret))


def _print_demo_people(people: _DemoPeople, *, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    made = people.bindings
    typer.echo(
        f"\n3. 一证通查 and 焕新: {made.phone_number} was reissued on "
        f"{made.tenure_start.isoformat()}; its previous holder left accounts behind."
    )
    typer.echo(
        f"   In the portal: {base}/ , look up {made.phone_number} with ID suffix "
        f"{made.id_suffix}; the SMS code is printed in this console ([sms] ...)."
    )
    body = f'{{"phoneNumber":"{made.phone_number}","idSuffix":"{made.id_suffix}"}}'
    typer.echo("   Or through the API (LOOKUP_ID, CODE and SESSION from each answer):")
    typer.echo(
        f"   curl -s -X POST {base}/v1/lookups -H 'Content-Type: application/json' -d '{body}'"
    )
    typer.echo(
        f"   curl -s -X POST {base}/v1/lookups/LOOKUP_ID/verify "
        "-H 'Content-Type: application/json' -d '{\"code\":\"CODE\"}'"
    )
    typer.echo(f'   curl -s {base}/v1/lookups/LOOKUP_ID -H "Authorization: Bearer SESSION"')
    typer.echo(
        f'   curl -s -X POST {base}/v1/lookups/LOOKUP_ID/renewal -H "Authorization: Bearer SESSION"'
    )
    client_id, secret = people.bank_client
    typer.echo("\n4. The bank confirms its unbind request (its client is 'bank' above):")
    typer.echo(
        f"   BANK=$(curl -s -X POST {base}/oauth/token -d grant_type=client_credentials "
        f"-d client_id={client_id} -d client_secret={secret} | python3 -c "
        "'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    typer.echo(
        f'   curl -s "{base}/v1/unbind-requests?status=pending" -H "Authorization: Bearer $BANK"'
    )
    typer.echo(
        f"   curl -s -X POST {base}/v1/unbind-requests/REQUEST_ID/confirm "
        '-H "Authorization: Bearer $BANK"'
    )
    typer.echo(
        f"\n5. The reference bank that uses the guard and receives webhooks: {base}/demo-bank/"
    )


def demo_app(container: Container, report: Path, *, people: Any = None, base_url: str = "") -> Any:
    """The API app the demo serves, with the simulator *report* (its index.html) beside it and,
    given the demo's *people*, the reference bank at /demo-bank (notified at *base_url*)."""
    from starlette.staticfiles import StaticFiles  # noqa: PLC0415

    from numguard.adapters.web.app import create_app  # noqa: PLC0415

    served = create_app(container)
    served.mount(DEMO_REPORT_PATH, StaticFiles(directory=report.parent, html=True), name="report")
    if people is not None:
        from numguard.adapters.web.demo_bank import install_for_demo  # noqa: PLC0415

        install_for_demo(served, container, people, base_url)
    return served


def _print_demo(
    settings: Settings,
    *,
    report: Path,
    database: Path,
    world: Any,
    parties: dict[str, tuple[str, str]],
    host: str,
    port: int,
    events: int,
) -> None:
    base = f"http://{host}:{port}"
    console.print(
        f"\n[bold]numguard demo[/bold]: {events:,} events for {len(world.carriers)} carriers "
        f"in {database}"
    )
    typer.echo("\nDemo clients (the secrets are shown only now):")
    for key, (client_id, secret) in parties.items():
        typer.echo(f"  {key:<8} client_id={client_id}  client_secret={secret}")
    typer.echo(
        f"\nOther commands on this database: export NUMGUARD_DATABASE_URL={settings.database_url}"
    )
    client_id, secret = parties["platform"]
    token_request = (
        f"curl -s -X POST {base}/oauth/token -d grant_type=client_credentials "
        f"-d client_id={client_id} -d client_secret={secret} -d scope=number-recycling:check"
    )
    typer.echo("\n1. Get an access token as the platform:")
    typer.echo(f"   {token_request}")
    typer.echo("   or straight into $TOKEN:")
    typer.echo(
        f"   TOKEN=$({token_request} | python3 -c "
        "'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    typer.echo("\n2. Ask whether each example number changed holder since a date:")
    for name, label in (
        ("recycled", "recycled"),
        ("not_recycled", "not recycled"),
        ("ported", "ported (same holder)"),
    ):
        example = world.examples[name]
        body = (
            f'{{"phoneNumber":"{example.phone_number}",'
            f'"specifiedDate":"{example.specified_date.isoformat()}"}}'
        )
        expected = "true" if example.expected else "false"
        typer.echo(f'   # {label}: expect {{"phoneNumberRecycled":{expected}}}')
        typer.echo(
            f"   curl -s -X POST {base}/number-recycling/v0.2/check "
            f'-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" '
            f"-d '{body}'"
        )
    typer.echo(f"\nOpenAPI: {base}/docs")
    typer.echo(
        f"Policy simulator report ({DEMO_REPORT_POPULATION:,} numbers over five years, every "
        f"scenario): {base}{DEMO_REPORT_PATH}/ (also {report})"
    )
