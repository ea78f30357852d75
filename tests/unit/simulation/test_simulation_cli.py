"""``numguard simulate``: the report on disk, and one line on stderr with exit 2 for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from numguard.adapters.cli.simulate import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


def test_simulate_writes_the_report(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--population",
            "20000",
            "--years",
            "2",
            "--seed",
            "5",
            "--scenario",
            "none",
            "--scenario",
            "all",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "index.html").exists()
    assert (out / "scenarios.csv").exists()
    rows = (out / "scenarios.csv").read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["none", "all"]
    assert "population,20000" in (out / "parameters.csv").read_text(encoding="utf-8")


def test_a_toml_file_and_set_options_are_written_into_the_report(
    app: typer.Typer, tmp_path: Path
) -> None:
    config = tmp_path / "run.toml"
    config.write_text('scenarios = ["checks"]\n[parameters]\nyears = 1.5\n', encoding="utf-8")
    out = tmp_path / "r"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--population",
            "5000",
            "--config",
            str(config),
            "--set",
            "cancel_rate=0.12",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    parameters = (out / "parameters.csv").read_text(encoding="utf-8")
    assert "years,1.5" in parameters
    assert "cancel_rate,0.12" in parameters
    assert (out / "scenarios.csv").read_text(encoding="utf-8").splitlines()[1].startswith("checks")


@pytest.mark.parametrize(
    "args",
    [
        ["--scenario", "nonsense"],
        ["--population", "0"],
        ["--set", "unbind_all=2"],
        ["--set", "no_such_thing=1"],
        ["--set", "novalue"],
        ["--config", "/does/not/exist.toml"],
        ["--crosscheck", "--scenario", "none", "--scenario", "all"],
    ],
)
def test_bad_input_exits_2_with_one_line(app: typer.Typer, tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert not (tmp_path / "x").exists()
