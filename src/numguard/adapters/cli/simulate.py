"""``numguard simulate``: run the policy simulator and write its report.

Registered on the main app by :func:`register`. Bad input (an unknown scenario or parameter, a
value out of range, an unreadable TOML file) ends the command with exit code 2 and one line on
stderr, ``error: CODE: message``, before anything is written. ``--crosscheck`` replays a small
population through a real registry on a temporary SQLite file and exits with 1 when a count
differs.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from numguard.bootstrap import Container, build
from numguard.errors import NumguardError
from numguard.settings import load_settings
from numguard.simulation.crosscheck import CrossCheckReport, cross_check, registry_aging
from numguard.simulation.model import SimulationResult
from numguard.simulation.model import simulate as run_simulation
from numguard.simulation.parameters import Parameters, load_toml, parse_override
from numguard.simulation.scenarios import Scenario, resolve

console = Console(highlight=False, soft_wrap=True)

CROSSCHECK_DEFAULTS: dict[str, Any] = {
    "population": 3000,
    "years": 3.0,
    "registry_coverage": 0.9,
    "registry_unreachable": 0.02,
}
"""A small population that reaches every branch: unknown answers, outages, all categories."""
CROSSCHECK_SCENARIO = "all"


def _fail(code: str, message: str, exit_code: int = 2) -> NoReturn:
    typer.echo(f"error: {code}: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(exit_code)


def build_parameters(
    *,
    config: Path | None,
    overrides: list[str],
    population: int | None,
    years: float | None,
    seed: int | None,
    base: dict[str, Any] | None = None,
) -> tuple[Parameters, tuple[str, ...] | None]:
    """Defaults, then *base*, then the TOML file, then ``--set``, then the named options."""
    values: dict[str, Any] = dict(base or {})
    scenarios: tuple[str, ...] | None = None
    if config is not None:
        loaded = load_toml(config)
        values.update(loaded.values)
        scenarios = loaded.scenarios
    for text in overrides:
        name, value = parse_override(text)
        values[name] = value
    for name, value in (("population", population), ("years", years), ("seed", seed)):
        if value is not None:
            values[name] = value
    return Parameters().with_values(values), scenarios


def simulate(
    *,
    population: Annotated[
        int | None, typer.Option(help="Phone numbers to simulate [default: 1000000].")
    ] = None,
    years: Annotated[float | None, typer.Option(help="Years to simulate [default: 5].")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed [default: 1].")] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            help="Scenario to run (repeatable): none, freeze-45, freeze-90, freeze-180, "
            "reminder, checks, notifications, dormancy, renewal, all, or freeze-DAYS. "
            "Default: all of them."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file with [parameters], [[platforms]], scenarios.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Set a parameter, NAME=VALUE (repeatable), e.g. region=US."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the report.")] = Path("simulation-report"),
    crosscheck: Annotated[
        bool,
        typer.Option(
            "--crosscheck",
            help="Instead of a report: replay a small population through a real registry "
            "(temporary SQLite) and the guard, and compare the counts with the model.",
        ),
    ] = False,
) -> None:
    """Simulate recycled numbers under each measure and write an HTML report with charts."""
    try:
        if crosscheck:
            params, _ = build_parameters(
                config=config,
                overrides=set_ or [],
                population=population,
                years=years,
                seed=seed,
                base=CROSSCHECK_DEFAULTS,
            )
            chosen = resolve(scenario or [CROSSCHECK_SCENARIO])
            if len(chosen) != 1:
                _fail("INVALID_SIMULATION_PARAMETER", "--crosscheck replays one scenario")
            _run_crosscheck(params, chosen[0])
            return
        params, from_file = build_parameters(
            config=config, overrides=set_ or [], population=population, years=years, seed=seed
        )
        chosen = resolve(scenario or from_file)
    except NumguardError as exc:
        _fail(exc.code, exc.message)
    if out.exists() and not out.is_dir():
        _fail("INVALID_ARGUMENT", f"--out {out} exists and is not a folder")
    # matplotlib takes ~0.4 s to import: only the command that draws pays for it.
    from numguard.simulation.report import write_report  # noqa: PLC0415

    started = time.perf_counter()
    result = _simulate_with_progress(params, chosen)
    elapsed = time.perf_counter() - started
    files = write_report(result, out)
    _print_summary(result)
    console.print(
        f"\nsimulated {params.population:,} numbers × {params.years:g} years × "
        f"{len(chosen)} scenarios in {elapsed:.1f} s; report: {files.html}"
    )


DEMO_REPORT_POPULATION = 200_000
"""The demo's simulator run: small enough to take about a second, large enough to read."""


def demo_report(out: Path) -> Path:
    """Write the demo's simulator report (every scenario, default parameters) into *out*."""
    from numguard.simulation.report import write_report  # noqa: PLC0415

    params, _ = build_parameters(
        config=None, overrides=[], population=DEMO_REPORT_POPULATION, years=None, seed=None
    )
    result = _simulate_with_progress(params, resolve(None))
    return write_report(result, out).html


def _simulate_with_progress(params: Parameters, chosen: tuple[Scenario, ...]) -> SimulationResult:
    with _progress() as progress:
        task = progress.add_task("simulating", total=1.0, detail="")

        def report(done: float, what: str) -> None:
            progress.update(task, completed=done, detail=what)

        return run_simulation(params, chosen, progress=report)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console,
        transient=True,
    )


def _print_summary(result: SimulationResult) -> None:
    table = Table(title="scenarios (exposed: accounts per 1,000 reissued numbers)")
    for column in ("scenario", "freeze", "stale %", "top-6 %", "exposed", "takeovers", "misdel."):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for r in result.scenarios:
        table.add_row(
            r.scenario.name,
            str(r.freeze_days),
            f"{100 * r.stale_share:.1f}",
            f"{100 * r.popular_share:.1f}",
            f"{float(r.per_1000(r.exposed).sum()):,.0f}",
            _compact(float(r.takeovers.sum())),
            _compact(float(r.misdelivered.sum())),
        )
    console.print(table)


def _compact(value: float) -> str:
    """1,234 / 56k / 7.8M / 1.2G: short enough for an 80-column table."""
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f}G"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


# --- cross-check ----------------------------------------------------------------------------


@dataclass
class _Clock:
    """The registry's clock, moved by the replay (noon in Beijing on the day)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)


@contextmanager
def _temporary_registry(aging: str) -> Iterator[tuple[Container, Callable[[date], None]]]:
    with tempfile.TemporaryDirectory(prefix="numguard-crosscheck-") as folder:
        settings = load_settings(
            {
                "NUMGUARD_DATABASE_URL": f"sqlite:///{folder}/crosscheck.db",
                "NUMGUARD_SECRET_KEY": "simulation-crosscheck-secret-0123456789abcdef",
                "NUMGUARD_DATA_DIR": folder,
                "NUMGUARD_AGING_DAYS": aging,
            }
        )
        clock = _Clock(datetime(2000, 1, 1, tzinfo=UTC))
        container = build(settings, clock=clock)
        try:
            container.load_index()
            yield container, clock.set_day
        finally:
            container.close()


def crosscheck_on_sqlite(
    params: Parameters,
    scenario: Scenario,
    progress: Callable[[float, str], None] | None = None,
) -> CrossCheckReport:
    """Replay *scenario* through a registry built on a temporary SQLite file."""
    with _temporary_registry(registry_aging(params, scenario)) as (container, set_day):
        return cross_check(
            params,
            scenario,
            registry=container.registry,
            checks=container.checks,
            set_today=set_day,
            progress=progress,
        )


def _run_crosscheck(params: Parameters, scenario: Scenario) -> None:
    with _progress() as progress:
        task = progress.add_task("replaying", total=1.0, detail="")

        def report(done: float, what: str) -> None:
            progress.update(task, completed=done, detail=what)

        outcome = crosscheck_on_sqlite(params, scenario, report)
    table = Table(title=f"cross-check of scenario {scenario.name}: model vs registry and guard")
    for column in ("count", "category", "model", "replay", ""):
        table.add_column(column, justify="left" if column in ("count", "category") else "right")
    for row in outcome.rows:
        mark = "ok" if row.agrees else "DIFFERS"
        table.add_row(row.what, row.category.lower(), f"{row.model:,}", f"{row.replay:,}", mark)
    console.print(table)
    for reason, count in sorted(outcome.rejected.items()):
        console.print(f"rejected lifecycle events: {reason}: {count}")
    if not outcome.agrees:
        _fail("CROSSCHECK_DIFFERS", "the model and the replay disagree (see the table)", 1)
    console.print(f"all counts agree ({params.population:,} numbers, {params.years:g} years)")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to *app*."""
    app.command("simulate")(simulate)
