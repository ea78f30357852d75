"""Same seed, same numbers, same report; and scenarios do not influence each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from numguard.simulation import Parameters, ScenarioResult, resolve, simulate
from numguard.simulation.report import CHARTS, CSV_FILES, write_report

SMALL = Parameters(population=30_000, years=3.0, seed=11)


def _same(a: ScenarioResult, b: ScenarioResult) -> bool:
    arrays = ("stale", "exposed", "attempts", "takeovers", "blocked", "misdelivered")
    return (
        (a.reissued, a.stale_numbers, a.popular_numbers)
        == (b.reissued, b.stale_numbers, b.popular_numbers)
        and all(np.array_equal(getattr(a, n), getattr(b, n)) for n in arrays)
        and all(np.array_equal(a.monthly[k], b.monthly[k]) for k in a.monthly)
    )


def test_the_same_seed_gives_the_same_results() -> None:
    first = simulate(SMALL, resolve(None))
    second = simulate(SMALL, resolve(None))
    for a, b in zip(first.scenarios, second.scenarios, strict=True):
        assert _same(a, b), a.scenario.name


def test_another_seed_gives_other_results() -> None:
    first = simulate(SMALL, resolve(["none"]))
    other = simulate(SMALL.with_values({"seed": 12}), resolve(["none"]))
    assert not _same(first["none"], other["none"])


def test_a_scenario_does_not_depend_on_the_others_in_the_run() -> None:
    alone = simulate(SMALL, resolve(["checks"]))
    together = simulate(SMALL, resolve(["freeze-45", "all", "checks"]))
    assert _same(alone["checks"], together["checks"])


def test_the_same_seed_writes_the_same_report(tmp_path: Path) -> None:
    result = simulate(SMALL, resolve(["none", "checks", "all"]))
    first = write_report(result, tmp_path / "a")
    write_report(simulate(SMALL, resolve(["none", "checks", "all"])), tmp_path / "b")
    names = ["index.html", *CSV_FILES, *(name for name, _ in CHARTS)]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    page = first.html.read_text(encoding="utf-8")
    for name, _ in CHARTS:
        assert f'src="{name}"' in page
        assert (tmp_path / "a" / name).read_bytes().startswith(b"\x89PNG")
    assert "cancel_rate" in page
    assert "Lee &amp; Narayanan" in page
