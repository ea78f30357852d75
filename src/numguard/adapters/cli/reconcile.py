"""``numguard reconcile``: a platform checks all its bindings against a registry in bulk.

Registered on the main app by :func:`register`. The work is done by
:func:`numguard.guard.reconcile.reconcile` (the guard library, no server code); this module reads
the options, shows a progress bar and prints the summary. A file that is not a bindings file, a
registry that refuses the credentials or (with ``--unreachable fail``, the default) does not
answer end the command with exit code 2 and one line on stderr, ``error: CODE: message``, and
write nothing. Rows that cannot be used are counted and go to the rejects file; they do not
change the exit code.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from numguard.domain.guard import FailMode, GuardRules
from numguard.errors import NumguardError
from numguard.guard.reconcile.registry import BULK_RETRY

if TYPE_CHECKING:
    from numguard.guard.reconcile import ReconcileReport

console = Console(highlight=False, soft_wrap=True)


class Unreachable(StrEnum):
    """``--unreachable``: what to do when the registry does not answer."""

    FAIL = "fail"
    OPEN = "open"
    CLOSED = "closed"


def _fail(code: str, message: str, exit_code: int = 2) -> NoReturn:
    typer.echo(f"error: {code}: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(exit_code)


def _as_of(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        _fail("INVALID_ARGUMENT", f"--as-of must be a date in YYYY-MM-DD form, not {text!r}")


def reconcile(
    *,
    bindings: Annotated[
        Path,
        typer.Argument(
            help="Bindings CSV: accountRef, phoneNumber, category, boundAt, lastActiveAt "
            "[, factors]."
        ),
    ],
    registry: Annotated[
        str, typer.Option(help="The registry's base URL.", envvar="NUMGUARD_REGISTRY_URL")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where the actions CSV goes.")],
    client_id: Annotated[
        str | None, typer.Option(help="OAuth client id.", envvar="NUMGUARD_CLIENT_ID")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            help="OAuth client secret.", envvar="NUMGUARD_CLIENT_SECRET", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="An access token instead of client credentials.", envvar="NUMGUARD_TOKEN"
        ),
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejected rows (default: OUT's name + .rejects.csv).")
    ] = None,
    summary: Annotated[
        Path | None, typer.Option(help="Summary JSON (default: OUT's name + .summary.json).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Decide as of this day, YYYY-MM-DD (default: today).")
    ] = None,
    unreachable: Annotated[
        Unreachable,
        typer.Option(
            help="If the registry does not answer: fail (exit 2, nothing written), or decide "
            "by the guard's rules with non-financial accounts failing open or closed "
            "(FINANCIAL always fails closed)."
        ),
    ] = Unreachable.FAIL,
    retries: Annotated[
        int,
        typer.Option(
            help="Attempts per request before the registry counts as unreachable "
            "(with backoff, at most two minutes).",
            min=1,
            max=20,
        ),
    ] = BULK_RETRY.attempts,
    in_flight: Annotated[
        int, typer.Option(help="Blocks being checked at once.", min=1, max=16)
    ] = 3,
) -> None:
    """Check every binding against the registry and write what to do with each.

    Actions: unbind (the number has a new holder), hibernate (dormant), step-up-next-login (an SMS
    code alone must not open it), ok. Decided by the guard's default policy (docs/guard.md).
    """
    from numguard.guard.reconcile import (  # noqa: PLC0415  NumPy only for this command
        HttpBulkChecker,
        OnUnreachable,
        RegistryUnreachable,
    )
    from numguard.guard.reconcile import reconcile as run  # noqa: PLC0415

    day = _as_of(as_of)
    if not bindings.is_file():
        _fail("INVALID_ARGUMENT", f"no such file: {bindings}")
    if out.resolve() == bindings.resolve():
        _fail("INVALID_ARGUMENT", "--out must not be the bindings file")
    if token is None and not (client_id and client_secret):
        _fail("INVALID_ARGUMENT", "give --client-id and --client-secret, or --token")
    fail_mode = FailMode.CLOSED if unreachable is Unreachable.CLOSED else FailMode.OPEN
    rules = GuardRules.default(unreachable=fail_mode)
    mode = OnUnreachable.FAIL if unreachable is Unreachable.FAIL else OnUnreachable.DECIDE
    report: ReconcileReport
    try:
        with HttpBulkChecker(
            registry,
            client_id=None if token else client_id,
            client_secret=None if token else client_secret,
            token=token,
            connections=in_flight,
            retry=dataclasses.replace(BULK_RETRY, attempts=retries),
        ) as checker:
            try:
                checker.connect()
            except RegistryUnreachable:
                if mode is OnUnreachable.FAIL:
                    raise
                console.print("[yellow]the registry does not answer: deciding without it[/yellow]")
            with Progress(
                TextColumn("reconciling"),
                BarColumn(),
                TaskProgressColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[rows]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("", total=bindings.stat().st_size, rows="")

                def show(done: int, total: int, rows: int) -> None:
                    progress.update(task, completed=done, total=total, rows=f"{rows:,} bindings")

                report = run(
                    bindings,
                    checker,
                    out,
                    as_of=day,
                    rules=rules,
                    rejects=rejects,
                    summary=summary,
                    on_unreachable=mode,
                    progress=show,
                    in_flight=in_flight,
                )
    except NumguardError as exc:
        _fail(exc.code, exc.message)
    _print(report)


def _print(report: ReconcileReport) -> None:
    actions = report.by_action()
    by_category = report.by_category()
    table = Table(title="actions per category", title_justify="left")
    table.add_column("category")
    for name in actions:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right")
    for category, counts in by_category.items():
        table.add_row(category, *(f"{n:,}" for n in counts.values()), f"{sum(counts.values()):,}")
    table.add_row(
        "[bold]all[/bold]",
        *(f"[bold]{n:,}[/bold]" for n in actions.values()),
        f"[bold]{report.decided:,}[/bold]",
    )
    console.print(table)
    facts = Table(show_header=False, box=None)
    answers = report.by_answer()
    facts.add_row("registry answers", ", ".join(f"{k} {v:,}" for k, v in answers.items()))
    facts.add_row("rows", f"{report.rows:,}")
    rejected = f"{report.rejected:,}"
    if report.rejected:
        codes = ", ".join(f"{k} {v:,}" for k, v in sorted(report.reject_codes.items()))
        rejected += f" ({codes}) in {report.rejects}"
    facts.add_row("rejected", rejected)
    facts.add_row("time", f"{report.seconds:.1f} s ({report.rows_per_second:,.0f} bindings/s)")
    facts.add_row("actions", str(report.actions))
    facts.add_row("summary", str(report.summary))
    console.print(facts)
    if answers.get("unreachable"):
        console.print(
            f"[yellow]{answers['unreachable']:,} bindings were decided without the registry "
            "(reason REGISTRY_UNREACHABLE_FAIL_OPEN / _FAIL_CLOSED): run again when it answers"
            "[/yellow]"
        )


def register(app: typer.Typer) -> None:
    """Add ``reconcile`` to *app*."""
    app.command("reconcile")(reconcile)
