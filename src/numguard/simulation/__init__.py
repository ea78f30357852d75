"""The policy simulator: how many accounts does each measure save?

A seeded, vectorised NumPy model of a population of phone numbers, their holders and the
accounts bound to them (:mod:`numguard.simulation.model`), run under several combinations of
measures side by side (:mod:`numguard.simulation.scenarios`), with every parameter documented
with its source (:mod:`numguard.simulation.parameters`). The guard's verdicts come from the
domain's own policies (:mod:`numguard.simulation.policy_table`); the freeze from the domain's
aging policy. :mod:`numguard.simulation.report` writes the HTML report, charts and CSV files;
:mod:`numguard.simulation.crosscheck` replays a small population through the real registry.

The domain stays free of NumPy: this package imports the domain, never the other way round.
"""

from numguard.simulation.model import (
    Calibration,
    ScenarioResult,
    SimulationResult,
    Trace,
    simulate,
    simulate_traced,
)
from numguard.simulation.parameters import (
    CALIBRATION_TARGET,
    DEFAULT_PLATFORMS,
    PARAMETERS,
    Parameters,
    Platform,
    SimulationParameterError,
    load_toml,
    parse_override,
)
from numguard.simulation.scenarios import DEFAULT_SCENARIOS, SCENARIOS, Scenario, resolve

__all__ = [
    "CALIBRATION_TARGET",
    "DEFAULT_PLATFORMS",
    "DEFAULT_SCENARIOS",
    "PARAMETERS",
    "SCENARIOS",
    "Calibration",
    "Parameters",
    "Platform",
    "Scenario",
    "ScenarioResult",
    "SimulationParameterError",
    "SimulationResult",
    "Trace",
    "load_toml",
    "parse_override",
    "resolve",
    "simulate",
    "simulate_traced",
]
