"""``numguard worker``: the webhook delivery loop, as its own process.

Registered on the main app by :func:`register`. Any number of workers may run against one
database: each leases the deliveries it works on. ``numguard serve --worker`` (or
``NUMGUARD_SERVE_WORKER=1``) runs the same loop in a thread of the API server instead.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console

from numguard.bootstrap import build
from numguard.errors import NumguardError
from numguard.settings import load_settings

console = Console(highlight=False, soft_wrap=True, stderr=True)


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="One pass (schedule, deliver what is due), then exit.")
    ] = False,
    batch: Annotated[
        int, typer.Option(help="Deliveries leased and sent in parallel per pass.", min=1, max=256)
    ] = 16,
) -> None:
    """Deliver webhook notifications: sign, POST, retry with backoff for 24 h, dead-letter."""
    from numguard.adapters.web.logs import configure  # noqa: PLC0415  only for this command

    try:
        settings = load_settings()
        configure(settings.log_level, settings.log_format)
        container = build(settings)
    except NumguardError as exc:
        typer.echo(f"error: {exc.code}: {exc}", err=True)
        raise typer.Exit(2) from None
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    loop = container.delivery_worker(batch=batch)
    totals = {"scheduled": 0, "delivered": 0, "retrying": 0, "dead": 0}
    try:
        with console.status("webhook worker: waiting for due deliveries") as status:
            while not stop.is_set():
                try:
                    result = loop.run_once()
                except Exception as exc:  # the database may be away for a moment
                    console.print(f"[red]pass failed[/red]: {type(exc).__name__}")
                    stop.wait(settings.worker_poll_seconds)
                    continue
                for name in totals:
                    totals[name] += getattr(result, name)
                status.update(
                    f"webhook worker {loop.name}: delivered {totals['delivered']:,}, "
                    f"retrying {totals['retrying']:,}, dead {totals['dead']:,}, "
                    f"reissue-pending enqueued {totals['scheduled']:,}"
                )
                if once:
                    break
                if result.delivered + result.retrying + result.dead == 0:
                    stop.wait(settings.worker_poll_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        container.close()
    console.print(
        f"delivered {totals['delivered']:,}, retrying {totals['retrying']:,}, "
        f"dead {totals['dead']:,}, reissue-pending enqueued {totals['scheduled']:,}"
    )


def register(app: typer.Typer) -> None:
    """Add ``worker`` to *app*."""
    app.command("worker")(worker)
