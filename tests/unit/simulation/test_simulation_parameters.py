"""Parameters: defaults with sources, validation, TOML files and command-line overrides."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from numguard.domain.binding import Category
from numguard.domain.guard import FailMode
from numguard.simulation import (
    PARAMETERS,
    Parameters,
    SimulationParameterError,
    load_toml,
    parse_override,
    resolve,
)
from numguard.simulation.parameters import format_value


def test_every_parameter_is_documented_in_field_order() -> None:
    assert [p.name for p in PARAMETERS] == [f.name for f in fields(Parameters)]
    for info in PARAMETERS:
        assert info.source, info.name
        assert info.meaning, info.name


def test_estimates_say_so() -> None:
    estimates = {p.name for p in PARAMETERS if p.estimate}
    assert {"unbind_all", "unbind_some", "migrate_days", "attempt_share"} <= estimates
    assert all(
        "estimate" in p.source
        or "derived" in p.source
        or "assumption" in p.source
        or p.name == "dormancy_adoption"
        for p in PARAMETERS
        if p.estimate
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"population": 0}, "population"),
        ({"years": 0}, "years"),
        ({"years": 51}, "years"),
        ({"cancel_rate": 0}, "cancel_rate"),
        ({"unbind_all": 1.2}, "unbind_all"),
        ({"unbind_all": 0.7, "unbind_some": 0.4}, "must not exceed 1"),
        ({"check_adoption": {"FINANCIAL": 1.5}}, "check_adoption.FINANCIAL"),
        ({"check_adoption": {"BANKS": 0.5}}, "not a category"),
        ({"region": "XX"}, "region"),
        ({"guard_unreachable": "SOMETIMES"}, "guard_unreachable"),
        ({"population": 1.5}, "population"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"platforms": []}, "platforms"),
        ({"platforms": [{"name": "x", "category": "FOOD", "share": 0.1}]}, "platform"),
        ({"registry_unreachable": -0.1}, "registry_unreachable"),
        ({"nonsense": 1}, "unknown parameter"),
    ],
)
def test_bad_values_are_refused_with_a_readable_line(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(SimulationParameterError, match=message) as info:
        Parameters().with_values(values)
    assert "\n" not in info.value.message
    assert info.value.code == "INVALID_SIMULATION_PARAMETER"


def test_values_are_converted() -> None:
    p = Parameters().with_values(
        {
            "population": "5000",
            "years": 2,
            "region": "us",
            "guard_unreachable": "closed",
            "start_date": "2027-03-01",
            "check_adoption": {"financial": 1.0},
            "factor_share": 0.25,
        }
    )
    assert (p.population, p.years, p.region) == (5000, 2.0, "US")
    assert p.guard_unreachable is FailMode.CLOSED
    assert p.start_date.isoformat() == "2027-03-01"
    assert p.check_adoption[Category.FINANCIAL] == 1.0
    assert p.check_adoption[Category.SOCIAL] == Parameters().check_adoption[Category.SOCIAL]
    assert set(p.factor_share.values()) == {0.25}


def test_a_toml_file_sets_parameters_platforms_and_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'scenarios = ["none", "checks"]\n'
        '[parameters]\npopulation = 1234\nregion = "US"\n'
        "check_adoption = { SOCIAL = 0.9 }\n"
        '[[platforms]]\nname = "bank"\ncategory = "FINANCIAL"\nshare = 0.5\n'
        '[[platforms]]\nname = "mail"\ncategory = "social"\nshare = 0.7\npopular = true\n',
        encoding="utf-8",
    )
    config = load_toml(path)
    p = Parameters().with_values(config.values)
    assert config.scenarios == ("none", "checks")
    assert p.population == 1234
    assert p.region == "US"
    assert p.check_adoption[Category.SOCIAL] == 0.9
    assert [(x.name, x.popular) for x in p.platforms] == [("bank", False), ("mail", True)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[parameters\n", "not valid TOML"),
        ("[extra]\nx = 1\n", "unknown section"),
        ('scenarios = "all"\n', "list of names"),
    ],
)
def test_bad_toml_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimulationParameterError, match=message):
        load_toml(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SimulationParameterError, match="cannot read"):
        load_toml(tmp_path / "none.toml")


def test_overrides_read_toml_values() -> None:
    assert parse_override("cancel_rate=0.1") == ("cancel_rate", 0.1)
    assert parse_override("check_adoption={FINANCIAL=1.0}") == (
        "check_adoption",
        {"FINANCIAL": 1.0},
    )
    assert parse_override("region=US") == ("region", "US")
    with pytest.raises(SimulationParameterError, match="NAME=VALUE"):
        parse_override("cancel_rate")


def test_scenarios_resolve_by_name_once_each() -> None:
    assert [s.name for s in resolve(["checks", "none", "checks"])] == ["checks", "none"]
    assert len(resolve(None)) == 10
    assert resolve(["freeze-365"])[0].freeze_days == 365
    with pytest.raises(SimulationParameterError, match="unknown scenario"):
        resolve(["freeze-forever"])
    with pytest.raises(SimulationParameterError, match="unknown scenario"):
        resolve(["freeze-99999"])


def test_the_documented_table_matches_the_defaults() -> None:
    text = (Path(__file__).parents[3] / "docs" / "simulation.md").read_text(encoding="utf-8")
    defaults = Parameters()
    for info in PARAMETERS:
        value = format_value(getattr(defaults, info.name))
        assert f"| `{info.name}` | {value} | {info.unit} |" in text, info.name
