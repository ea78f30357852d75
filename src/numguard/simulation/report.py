"""The report of a run: an HTML page with PNG charts, and CSV files with every number.

Nothing in the output depends on the clock or the machine: the same parameters and seed give
the same files, byte for byte (with the same matplotlib version). The page is plain HTML with
inline CSS and relative links, so it opens from disk in any browser.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from numguard.simulation.model import (
    CATEGORY_NAMES,
    MONTH_DAYS,
    MONTHLY_SERIES,
    SERIES_TITLES,
    SimulationResult,
)
from numguard.simulation.parameters import CALIBRATION_TARGET, PARAMETER_INFO, format_value

CHARTS: tuple[tuple[str, str], ...] = (
    ("exposed_per_1000.png", "Exposed accounts per 1,000 reissued numbers, by category"),
    ("stale_share.png", "Reissued numbers still bound somewhere"),
    ("takeovers_monthly.png", "Successful takeovers per month"),
    ("misdelivered_monthly.png", "Misdelivered messages per month"),
)
"""The chart files and their captions, in page order."""

CSV_FILES: tuple[str, ...] = ("scenarios.csv", "categories.csv", "monthly.csv", "parameters.csv")
"""The CSV files a report writes."""

_Writer = Callable[[str], int]
_COLOURS = ("#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#4bacc6", "#f79646", "#7f7f7f")
_PNG_METADATA = {"Software": None}


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where the report went."""

    html: Path
    charts: tuple[Path, ...]
    csv: tuple[Path, ...]


def write_report(result: SimulationResult, out: Path) -> ReportFiles:
    """Write ``index.html``, the charts and the CSV files into *out* (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    charts = (
        _exposed_chart(result, out / CHARTS[0][0]),
        _stale_chart(result, out / CHARTS[1][0]),
        _monthly_chart(result, "takeovers", out / CHARTS[2][0]),
        _monthly_chart(result, "misdelivered", out / CHARTS[3][0]),
    )
    tables = (
        _write_csv(out / "scenarios.csv", scenario_rows(result)),
        _write_csv(out / "categories.csv", category_rows(result)),
        _write_csv(out / "monthly.csv", monthly_rows(result)),
        _write_csv(out / "parameters.csv", parameter_rows(result)),
    )
    page = out / "index.html"
    page.write_text(render_html(result), encoding="utf-8")
    return ReportFiles(page, charts, tables)


# --- tables ---------------------------------------------------------------------------------

SCENARIO_COLUMNS: tuple[str, ...] = (
    "scenario",
    "title",
    "freeze_days",
    "measures",
    "reissued",
    "stale_numbers",
    "stale_share",
    "popular_share",
    "stale_accounts",
    "exposed_accounts",
    "exposed_per_1000",
    "attempts",
    "takeovers",
    "blocked",
    "misdelivered",
)
"""Columns of ``scenarios.csv``."""


def scenario_rows(result: SimulationResult) -> list[list[object]]:
    """One row per scenario (with a header row)."""
    rows: list[list[object]] = [list(SCENARIO_COLUMNS)]
    for r in result.scenarios:
        rows.append(
            [
                r.scenario.name,
                r.scenario.title,
                r.freeze_days,
                " ".join(r.scenario.measures) or "-",
                r.reissued,
                r.stale_numbers,
                _f(r.stale_share, 4),
                _f(r.popular_share, 4),
                int(r.stale.sum()),
                int(r.exposed.sum()),
                _f(float(r.per_1000(r.exposed).sum()), 1),
                int(r.attempts.sum()),
                int(r.takeovers.sum()),
                int(r.blocked.sum()),
                _f(float(r.misdelivered.sum()), 0),
            ]
        )
    return rows


def category_rows(result: SimulationResult) -> list[list[object]]:
    """One row per scenario and category (with a header row)."""
    rows: list[list[object]] = [
        [
            "scenario",
            "category",
            "stale_accounts",
            "stale_per_1000",
            "exposed_accounts",
            "exposed_per_1000",
            "attempts",
            "takeovers",
            "blocked",
            "misdelivered",
        ]
    ]
    for r in result.scenarios:
        stale, exposed = r.per_1000(r.stale), r.per_1000(r.exposed)
        for c, name in enumerate(CATEGORY_NAMES):
            rows.append(
                [
                    r.scenario.name,
                    name,
                    int(r.stale[c]),
                    _f(float(stale[c]), 1),
                    int(r.exposed[c]),
                    _f(float(exposed[c]), 1),
                    int(r.attempts[c]),
                    int(r.takeovers[c]),
                    int(r.blocked[c]),
                    _f(float(r.misdelivered[c]), 0),
                ]
            )
    return rows


def monthly_rows(result: SimulationResult) -> list[list[object]]:
    """One row per scenario and month (with a header row)."""
    start = result.params.start_date
    rows: list[list[object]] = [["scenario", "month", "month_start", *MONTHLY_SERIES]]
    for r in result.scenarios:
        for month in range(result.months):
            first = start + timedelta(days=round(month * MONTH_DAYS))
            values = [_f(float(r.monthly[name][month]), 1) for name in MONTHLY_SERIES]
            rows.append([r.scenario.name, month, first.isoformat(), *values])
    return rows


def parameter_rows(result: SimulationResult) -> list[list[object]]:
    """Every parameter with its value, unit, source and estimate flag (with a header row)."""
    rows: list[list[object]] = [["name", "value", "unit", "meaning", "source", "estimate"]]
    for name, value in result.params.as_rows():
        info = PARAMETER_INFO[name]
        estimate = "yes" if info.estimate else "no"
        rows.append([name, value, info.unit, info.meaning, info.source, estimate])
    for platform in result.params.platforms:
        rows.append(
            [
                f"platform:{platform.name}",
                format_value(platform.share),
                "share",
                str(platform.category) + (", one of the six sites" if platform.popular else ""),
                PARAMETER_INFO["platforms"].source,
                "yes",
            ]
        )
    return rows


def _f(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def _write_csv(path: Path, rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


# --- charts ---------------------------------------------------------------------------------


def _figure(width: float = 9.0, height: float = 4.8) -> Figure:
    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, format="png", metadata=_PNG_METADATA)
    return path


def _names(result: SimulationResult) -> list[str]:
    return [r.scenario.name for r in result.scenarios]


def _exposed_chart(result: SimulationResult, path: Path) -> Path:
    figure = _figure(9.0, 0.9 + 0.42 * len(result.scenarios))
    axes = figure.subplots()
    names = _names(result)
    y = np.arange(len(names))
    left = np.zeros(len(names))
    for c, category in enumerate(CATEGORY_NAMES):
        values = np.array([float(r.per_1000(r.exposed)[c]) for r in result.scenarios])
        axes.barh(y, values, left=left, color=_COLOURS[c], label=category.lower(), height=0.7)
        left += values
    for yi, total in zip(y, left, strict=True):
        axes.text(float(total), float(yi), f" {total:,.0f}", va="center", fontsize=8)
    axes.set_yticks(y, names)
    axes.invert_yaxis()
    axes.set_xlabel("stale bindings an SMS code would open, per 1,000 reissued numbers")
    axes.set_xlim(0, max(1.0, float(left.max())) * 1.15)
    axes.legend(loc="lower right", fontsize=8, frameon=False)
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def _stale_chart(result: SimulationResult, path: Path) -> Path:
    figure = _figure(9.0, 4.6)
    axes = figure.subplots()
    names = _names(result)
    x = np.arange(len(names))
    any_share = [100 * r.stale_share for r in result.scenarios]
    popular = [100 * r.popular_share for r in result.scenarios]
    axes.bar(x - 0.2, any_share, 0.4, color=_COLOURS[0], label="any platform")
    axes.bar(x + 0.2, popular, 0.4, color=_COLOURS[4], label="one of the six popular sites")
    target = 100 * CALIBRATION_TARGET.share
    axes.axhline(
        target,
        color=_COLOURS[1],
        linestyle="--",
        linewidth=1,
        label="Lee & Narayanan 2021: 66 % (US, 45-day freeze, six sites)",
    )
    axes.set_xticks(x, names, rotation=30, ha="right")
    axes.set_ylabel("% of reissued numbers with a stale binding")
    axes.set_ylim(0, 125)
    axes.set_yticks(range(0, 101, 20))
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=2)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def _monthly_chart(result: SimulationResult, series: str, path: Path) -> Path:
    figure = _figure(9.0, 4.6)
    axes = figure.subplots()
    months = np.arange(result.months)
    styles = ("-", "--", ":", "-.")
    for s, r in enumerate(result.scenarios):
        axes.plot(
            months,
            r.monthly[series],
            label=r.scenario.name,
            color=_COLOURS[s % len(_COLOURS)],
            linestyle=styles[(s // len(_COLOURS)) % len(styles)],
            linewidth=1.4,
        )
    axes.set_xlabel(f"month after {result.params.start_date.isoformat()}")
    axes.set_ylabel(f"{SERIES_TITLES[series]} per month")
    axes.set_xlim(0, max(1, result.months - 1))
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=8, frameon=False, ncols=2)
    axes.grid(alpha=0.3)
    return _save(figure, path)


# --- the page -------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Noto Sans CJK SC",
       sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.8rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; }
th { background: #f3f5f8; } td.l, th.l { text-align: left; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #444; }
.box { background: #f6f8fb; border-left: 4px solid #1f4e79; padding: 0.6rem 1rem; }
.warn { border-left-color: #c0504d; } .small { font-size: 0.8rem; color: #555; }
"""


def render_html(result: SimulationResult) -> str:
    """The report page (no dates or timings: same run, same page)."""
    p = result.params
    out = io.StringIO()
    w = out.write
    w('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    w("<title>numguard policy simulation</title>\n")
    w(f"<style>{_STYLE}</style>\n</head>\n<body>\n")
    w("<h1>numguard policy simulation: how many accounts does each measure save?</h1>\n")
    w(
        f"<p>{p.population:,} phone numbers over {p.years:g} years from "
        f"{p.start_date.isoformat()}, seed {p.seed}, region {_e(p.region)} (legal freeze "
        f"{p.aging_days()} days). Every scenario runs on the same random draws, so the "
        "differences between rows come from the measures alone.</p>\n"
    )
    _calibration_box(w, result)
    w("<h2>Scenarios side by side</h2>\n")
    _table(w, _summary_table(result), left=2)
    w(
        '<p class="small"><b>stale</b>: still bound to the previous holder\'s account when '
        "the number is reissued. <b>exposed</b>: a stale binding an SMS-code login would open "
        "on the day of reissue (no check, or the guard allows it). <b>takeovers</b>: the new "
        "holder's SMS-code logins or sign-ups that landed in the old account. <b>blocked</b>: "
        "attempts the guard stepped up, denied or hibernated. <b>misdelivered</b>: messages the "
        "platforms sent to the number for the old holder (expected count).</p>\n"
    )
    w("<h2>Exposed accounts per 1,000 reissued numbers, by category</h2>\n")
    _table(w, _category_table(result), left=1)
    w("<h2>Charts</h2>\n")
    for name, caption in CHARTS:
        w(f'<figure><img src="{name}" alt="{_e(caption)}"><figcaption>{_e(caption)}')
        w(f"{_CHART_NOTES.get(name, '')}</figcaption></figure>\n")
    w("<h2>Parameters</h2>\n")
    w(
        '<p class="small">Rows marked <b>estimate</b> are not measured anywhere public; they '
        "are stated so that anyone can change them (<code>--set NAME=VALUE</code> or a TOML "
        "file) and see what follows.</p>\n"
    )
    _table(w, parameter_rows(result), left=6)
    w("<h2>Files</h2>\n<ul>\n")
    for name in CSV_FILES:
        w(f'<li><a href="{name}">{name}</a></li>\n')
    w("</ul>\n")
    w(f'<p class="small">{_e(_LIMITS)}</p>\n')
    w("</body>\n</html>\n")
    return out.getvalue()


_CHART_NOTES = {
    "exposed_per_1000.png": (
        ". Each bar is one scenario; the segments are the categories. Shorter is better."
    ),
    "stale_share.png": (
        ". Dark: any platform; light: one of the six sites Lee & Narayanan tested. The dashed "
        "line is their measurement, comparable with the 'none' bar of a US run."
    ),
    "takeovers_monthly.png": (
        ". The first months start from an empty pool, so the curves rise until reissues reach "
        "their steady pace; platform measures then take effect over the adoption ramp."
    ),
}

_LIMITS = (
    "Left out of the model: transfers (过户), restores during the freeze, bindings left by "
    "holders before the simulated start, and stale bindings that outlive the next holder's "
    "tenure; all of them would add exposure, so the counts lean low. Takeovers include "
    "accidental ones (a new holder signing up and landing in the old account)."
)


def _calibration_box(w: _Writer, result: SimulationResult) -> None:
    calibration = result.calibration
    target = CALIBRATION_TARGET
    if calibration is None:
        w('<p class="box">Calibration: run the <code>none</code> scenario to see it.</p>\n')
        return
    verdict = (
        "within" if calibration.within_tolerance else "outside"
    ) + f" the stated tolerance of ±{100 * target.tolerance:.0f} points"
    if calibration.comparable:
        text = (
            f"Calibration ({_e(calibration.scenario)}): with no measures and a "
            f"{calibration.freeze_days}-day freeze, "
            f"{100 * calibration.share:.1f} % of reissued numbers are still bound on at least "
            f"one of the six popular sites; Lee &amp; Narayanan measured "
            f"{100 * target.share:.1f} % (171 of 259): {verdict}."
        )
        cls = "box" if calibration.within_tolerance else "box warn"
    else:
        text = (
            f"Calibration: the published figure ({100 * target.share:.1f} %, 171 of 259) is for "
            f"a US {target.freeze_days}-day freeze; this run's no-measures scenario has a "
            f"{calibration.freeze_days}-day freeze and gives {100 * calibration.share:.1f} %. "
            "Run with <code>--set region=US</code> to compare."
        )
        cls = "box"
    w(f'<p class="{cls}">{text}</p>\n')


def _summary_table(result: SimulationResult) -> list[list[object]]:
    rows: list[list[object]] = [
        [
            "scenario",
            "measures",
            "freeze (days)",
            "reissued",
            "with a stale binding",
            "on a popular site",
            "exposed per 1,000",
            "takeovers",
            "blocked",
            "misdelivered",
        ]
    ]
    for r in result.scenarios:
        rows.append(
            [
                r.scenario.name,
                r.scenario.title,
                r.freeze_days,
                f"{r.reissued:,}",
                f"{100 * r.stale_share:.1f} %",
                f"{100 * r.popular_share:.1f} %",
                f"{float(r.per_1000(r.exposed).sum()):,.0f}",
                f"{int(r.takeovers.sum()):,}",
                f"{int(r.blocked.sum()):,}",
                f"{float(r.misdelivered.sum()):,.0f}",
            ]
        )
    return rows


def _category_table(result: SimulationResult) -> list[list[object]]:
    rows: list[list[object]] = [["scenario", *(c.lower() for c in CATEGORY_NAMES), "all"]]
    for r in result.scenarios:
        per = r.per_1000(r.exposed)
        rows.append(
            [r.scenario.name, *(f"{float(v):,.0f}" for v in per), f"{float(per.sum()):,.0f}"]
        )
    return rows


def _table(w: _Writer, rows: list[list[object]], *, left: int) -> None:
    """An HTML table; the first *left* columns are left-aligned text."""
    head, *body = rows
    w("<table>\n<tr>")
    for i, cell in enumerate(head):
        w(f'<th class="{"l" if i < left else ""}">{_e(cell)}</th>')
    w("</tr>\n")
    for row in body:
        w("<tr>")
        for i, cell in enumerate(row):
            w(f'<td class="{"l" if i < left else ""}">{_e(cell)}</td>')
        w("</tr>\n")
    w("</table>\n")


def _e(value: object) -> str:
    return html.escape(str(value))
