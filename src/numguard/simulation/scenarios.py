"""The scenarios a run compares: which measures are on, and how long the freeze is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from numguard.simulation.parameters import Parameters, SimulationParameterError


@dataclass(frozen=True, slots=True)
class Scenario:
    """A combination of measures.

    ``freeze_days`` ``None`` means the region's freeze from
    :class:`~numguard.domain.aging.AgingPolicy` (CN 90, US 45, IN 90 days).
    """

    name: str
    title: str
    freeze_days: int | None = None
    reminder: bool = False
    checks: bool = False
    notifications: bool = False
    dormancy: bool = False
    renewal: bool = False

    def freeze(self, params: Parameters) -> int:
        """Days between cancellation and the earliest reissue, as the lifecycle enforces them."""
        return params.aging_days(self.freeze_days)

    @property
    def measures(self) -> tuple[str, ...]:
        """The measures switched on, by name."""
        flags = {
            "reminder": self.reminder,
            "checks": self.checks,
            "notifications": self.notifications,
            "dormancy": self.dormancy,
            "renewal": self.renewal,
        }
        return tuple(name for name, on in flags.items() if on)


ALL_MEASURES_FREEZE_DAYS = 180
"""The freeze of the ``all`` scenario: the longest freeze compared."""

SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        s.name: s
        for s in (
            Scenario("none", "no measures (the region's legal freeze)"),
            Scenario("freeze-45", "freeze 45 days", freeze_days=45),
            Scenario("freeze-90", "freeze 90 days", freeze_days=90),
            Scenario("freeze-180", "freeze 180 days", freeze_days=180),
            Scenario("reminder", "reminder to unbind at cancellation", reminder=True),
            Scenario("checks", "recycling checks at login (guard)", checks=True),
            Scenario("notifications", "notifications before reissue", notifications=True),
            Scenario("dormancy", "dormant accounts hibernate (guard)", dormancy=True),
            Scenario("renewal", "二次号码焕新 by new holders", renewal=True),
            Scenario(
                "all",
                "all measures, freeze 180 days",
                freeze_days=ALL_MEASURES_FREEZE_DAYS,
                reminder=True,
                checks=True,
                notifications=True,
                dormancy=True,
                renewal=True,
            ),
        )
    }
)
"""Every scenario by name, in report order. Measures not named keep the region's freeze."""

DEFAULT_SCENARIOS: tuple[str, ...] = tuple(SCENARIOS)
"""All of them: the default run compares every scenario side by side."""


def resolve(names: Iterable[str] | None) -> tuple[Scenario, ...]:
    """The scenarios called *names* (all when ``None`` or empty), in the order given, once each.

    ``freeze-N`` for any whole N from 0 to 3650 is accepted besides the named freezes.
    """
    wanted = list(names or DEFAULT_SCENARIOS)
    out: list[Scenario] = []
    seen: set[str] = set()
    for raw in wanted:
        name = raw.strip().lower()
        if name in seen:
            continue
        seen.add(name)
        out.append(_named(name))
    return tuple(out)


def _named(name: str) -> Scenario:
    found = SCENARIOS.get(name)
    if found is not None:
        return found
    prefix, _, days = name.partition("-")
    if prefix == "freeze" and days.isdigit() and int(days) <= 3650:
        return Scenario(name, f"freeze {int(days)} days", freeze_days=int(days))
    raise SimulationParameterError(
        f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)} or freeze-DAYS"
    )
