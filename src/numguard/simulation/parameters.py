"""The simulator's parameters: every default, its unit and where it comes from.

:class:`Parameters` holds one run's values; :data:`PARAMETERS` documents each of them (the
report and ``docs/simulation.md`` print that table). Values come from the defaults, then a TOML
file (:func:`load_toml`), then ``NAME=VALUE`` overrides (:func:`parse_override`); every way in
goes through :meth:`Parameters.with_values`, which validates and raises
:class:`SimulationParameterError` with one readable line.

Many defaults are estimates: no public data measures them. The table says so plainly, and the
calibration (Lee & Narayanan 2021, see :data:`CALIBRATION_TARGET`) constrains the estimates that
decide how many bindings outlive a cancellation.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import phonenumbers

from numguard.domain.aging import AgingPolicy
from numguard.domain.binding import Category
from numguard.domain.guard import FailMode
from numguard.errors import InvalidInput


class SimulationParameterError(InvalidInput):
    """A simulation parameter, scenario or configuration file that cannot be used."""

    code = "INVALID_SIMULATION_PARAMETER"


CATEGORIES: tuple[Category, ...] = tuple(Category)
"""The categories in their declaration (unbinding) order: the index order of every array."""

CategoryValues = Mapping[Category, float]
"""One number per :class:`Category` (e.g. a share)."""


def per_category(
    financial: float, social: float, commerce: float, lifestyle: float, other: float
) -> CategoryValues:
    """A read-only mapping with one value per category, in declaration order."""
    values = (financial, social, commerce, lifestyle, other)
    return MappingProxyType(dict(zip(CATEGORIES, values, strict=True)))


@dataclass(frozen=True, slots=True)
class Platform:
    """A platform archetype: its category, the share of people with an account bound to their
    number on it, and whether it is one of the six sites Lee & Narayanan (2021) tested."""

    name: str
    category: Category
    share: float
    popular: bool = False


DEFAULT_PLATFORMS: tuple[Platform, ...] = (
    # The six sites of Lee & Narayanan (2021): Amazon, AOL, Facebook, Google, PayPal, Yahoo.
    Platform("Google (mail, search)", Category.SOCIAL, 0.55, popular=True),
    Platform("Facebook", Category.SOCIAL, 0.45, popular=True),
    Platform("Amazon", Category.COMMERCE, 0.45, popular=True),
    Platform("PayPal", Category.FINANCIAL, 0.30, popular=True),
    Platform("Yahoo", Category.SOCIAL, 0.15, popular=True),
    Platform("AOL", Category.SOCIAL, 0.04, popular=True),
    # Nineteen more archetypes, to 25 common apps as in the RUC 新闻坊 count.
    Platform("main bank app", Category.FINANCIAL, 0.50),
    Platform("second bank app", Category.FINANCIAL, 0.30),
    Platform("consumer loan app", Category.FINANCIAL, 0.10),
    Platform("insurance app", Category.FINANCIAL, 0.15),
    Platform("messaging app", Category.SOCIAL, 0.70),
    Platform("microblog", Category.SOCIAL, 0.30),
    Platform("short-video app", Category.SOCIAL, 0.40),
    Platform("marketplace", Category.COMMERCE, 0.50),
    Platform("second marketplace", Category.COMMERCE, 0.30),
    Platform("group-buying app", Category.COMMERCE, 0.20),
    Platform("second-hand market", Category.COMMERCE, 0.15),
    Platform("food delivery", Category.LIFESTYLE, 0.45),
    Platform("ride-hailing", Category.LIFESTYLE, 0.35),
    Platform("travel booking", Category.LIFESTYLE, 0.30),
    Platform("maps and navigation", Category.LIFESTYLE, 0.20),
    Platform("bike sharing", Category.LIFESTYLE, 0.15),
    Platform("cloud storage", Category.OTHER, 0.25),
    Platform("government services", Category.OTHER, 0.30),
    Platform("games", Category.OTHER, 0.20),
)
"""The default platform catalogue (25 archetypes, 6 of them the sites Lee & Narayanan tested)."""


@dataclass(frozen=True)
class Parameters:
    """Everything one simulation run depends on (see :data:`PARAMETERS` for units and sources).

    Frozen; make variants with :meth:`with_values`, which validates.
    """

    population: int = 1_000_000
    years: float = 5.0
    seed: int = 1
    region: str = "CN"
    start_date: date = date(2026, 1, 1)
    cancel_rate: float = 0.08
    pool_wait_days: float = 30.0
    unbind_all: float = 0.10
    unbind_some: float = 0.35
    some_unbind_share: CategoryValues = field(
        default_factory=lambda: per_category(0.80, 0.50, 0.30, 0.20, 0.10)
    )
    reminder_lift_all: float = 0.15
    reminder_lift_some: float = 0.10
    in_use_share: CategoryValues = field(
        default_factory=lambda: per_category(0.70, 0.70, 0.50, 0.40, 0.30)
    )
    migrate_days: float = 180.0
    idle_days: float = 540.0
    factor_share: CategoryValues = field(
        default_factory=lambda: per_category(0.50, 0.60, 0.40, 0.30, 0.30)
    )
    check_adoption: CategoryValues = field(
        default_factory=lambda: per_category(0.90, 0.60, 0.50, 0.40, 0.20)
    )
    dormancy_adoption: CategoryValues = field(
        default_factory=lambda: per_category(0.80, 0.50, 0.50, 0.50, 0.30)
    )
    notify_adoption: CategoryValues = field(
        default_factory=lambda: per_category(0.80, 0.50, 0.40, 0.30, 0.20)
    )
    renewal_uptake: float = 0.30
    renewal_days: float = 30.0
    renewal_coverage: CategoryValues = field(
        default_factory=lambda: per_category(0.60, 0.90, 0.90, 0.70, 0.30)
    )
    adoption_ramp_years: float = 1.0
    attempt_share: CategoryValues = field(
        default_factory=lambda: per_category(0.02, 0.20, 0.15, 0.15, 0.05)
    )
    attempt_days: float = 60.0
    message_rate: CategoryValues = field(
        default_factory=lambda: per_category(24.0, 12.0, 24.0, 12.0, 6.0)
    )
    registry_coverage: float = 1.0
    registry_unreachable: float = 0.001
    guard_unreachable: FailMode = FailMode.OPEN
    platforms: tuple[Platform, ...] = DEFAULT_PLATFORMS

    def __post_init__(self) -> None:
        _validate(self)

    # ---------------------------------------------------------------------------------------

    @property
    def horizon_days(self) -> int:
        """Days simulated: ``years`` × 365.25, rounded."""
        return round(self.years * 365.25)

    @property
    def mean_tenure_days(self) -> float:
        """Mean days until a held number is cancelled (1 / ``cancel_rate`` years)."""
        return 365.25 / self.cancel_rate

    def aging_days(self, override: int | None = None) -> int:
        """The freeze of :attr:`region` as the lifecycle enforces it (``AgingPolicy.days_for``).

        With *override*, the policy is the region's with that many days (a scenario's freeze).
        """
        policy = AgingPolicy() if override is None else AgingPolicy({self.region: override})
        return policy.days_for(example_number(self.region))

    def with_values(self, values: Mapping[str, Any]) -> Parameters:
        """A copy with *values* (names as in :data:`PARAMETERS`) converted and validated."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in known:
                raise SimulationParameterError(f"unknown parameter {name!r}")
            changes[name] = _convert(name, raw, getattr(self, name))
        return replace(self, **changes)

    def as_rows(self) -> list[tuple[str, str]]:
        """``(name, value)`` for every parameter, values as the report prints them."""
        return [(f.name, format_value(getattr(self, f.name))) for f in fields(self)]


def example_number(region: str) -> str:
    """An E.164 mobile number of *region* (for the per-jurisdiction aging policy)."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise SimulationParameterError(f"region {region!r} is not an ISO region with numbers")
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def format_value(value: object) -> str:
    """A parameter value as text (per-category values as ``FINANCIAL=0.8, ...``)."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, tuple):
        return f"{len(value)} platforms"
    return _short(value)


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --- conversion and validation --------------------------------------------------------------


def _convert(name: str, raw: Any, current: Any) -> Any:
    try:
        if name == "platforms":
            return _platforms(raw)
        if isinstance(current, Mapping):
            return _category_values(name, raw, current)
        if isinstance(current, FailMode):
            return FailMode(str(raw).upper())
        if isinstance(current, date):
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        if isinstance(current, bool):
            raise TypeError(name)
        if isinstance(current, int):
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise TypeError(name)
            return int(raw)
        if isinstance(current, float):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise TypeError(name)
            return float(raw)
        if isinstance(current, str):
            if not isinstance(raw, str):
                raise TypeError(name)
            return raw.strip().upper()
    except (TypeError, ValueError):
        raise SimulationParameterError(
            f"{name} cannot be {raw!r} (the default is {format_value(current)})"
        ) from None
    raise SimulationParameterError(f"{name} cannot be set")  # pragma: no cover


def _category_values(name: str, raw: Any, current: CategoryValues) -> CategoryValues:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return per_category(*(float(raw),) * len(CATEGORIES))
    if not isinstance(raw, Mapping):
        raise TypeError(name)
    merged = dict(current)
    for key, value in raw.items():
        try:
            category = Category(str(key).upper())
        except ValueError:
            raise SimulationParameterError(
                f"{name}: {key!r} is not a category ({', '.join(CATEGORIES)})"
            ) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(name)
        merged[category] = float(value)
    return per_category(*(merged[c] for c in CATEGORIES))


def _platforms(raw: Any) -> tuple[Platform, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        raise SimulationParameterError("platforms must be a non-empty list of tables")
    out: list[Platform] = []
    for item in raw:
        if isinstance(item, Platform):
            out.append(item)
            continue
        if not isinstance(item, Mapping) or set(item) - {"name", "category", "share", "popular"}:
            raise SimulationParameterError(
                "each platform is a table with name, category, share and optionally popular"
            )
        try:
            out.append(
                Platform(
                    str(item["name"]),
                    Category(str(item["category"]).upper()),
                    float(item["share"]),
                    bool(item.get("popular", False)),
                )
            )
        except (KeyError, ValueError):
            raise SimulationParameterError(
                f"platform {item.get('name', '?')!r} needs a name, a category and a share"
            ) from None
    return tuple(out)


MAX_POPULATION = 2_000_000_000
MAX_YEARS = 50.0
MAX_PLATFORMS = 63


def _share(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise SimulationParameterError(f"{name} must be a share between 0 and 1, not {value:g}")


def _positive(name: str, value: float, *, zero: bool = False) -> None:
    ok = math.isfinite(value) and (value >= 0 if zero else value > 0)
    if not ok:
        need = "zero or more" if zero else "more than zero"
        raise SimulationParameterError(f"{name} must be {need}, not {value:g}")


def _validate(p: Parameters) -> None:
    if not 1 <= p.population <= MAX_POPULATION:
        raise SimulationParameterError(f"population must be 1 to {MAX_POPULATION:,} numbers")
    if not (math.isfinite(p.years) and 0 < p.years <= MAX_YEARS):
        raise SimulationParameterError(f"years must be more than 0 and at most {MAX_YEARS:g}")
    if not 0 <= p.seed < 2**63:
        raise SimulationParameterError("seed must be a whole number from 0 to 2**63 - 1")
    example_number(p.region)
    for name in ("cancel_rate", "pool_wait_days", "migrate_days", "idle_days"):
        _positive(name, getattr(p, name), zero=name == "pool_wait_days")
    for name in ("renewal_days", "attempt_days", "adoption_ramp_years"):
        _positive(name, getattr(p, name), zero=True)
    for name in (
        "unbind_all",
        "unbind_some",
        "reminder_lift_all",
        "reminder_lift_some",
        "renewal_uptake",
        "registry_coverage",
        "registry_unreachable",
    ):
        _share(name, getattr(p, name))
    if p.unbind_all + p.unbind_some > 1.0 + 1e-12:
        raise SimulationParameterError("unbind_all + unbind_some must not exceed 1")
    for f in fields(p):
        value = getattr(p, f.name)
        if isinstance(value, Mapping):
            if set(value) != set(CATEGORIES):
                raise SimulationParameterError(f"{f.name} needs a value for every category")
            for category, v in value.items():
                if f.name == "message_rate":
                    _positive(f"{f.name}.{category}", v, zero=True)
                else:
                    _share(f"{f.name}.{category}", v)
    if not 1 <= len(p.platforms) <= MAX_PLATFORMS:
        raise SimulationParameterError(f"there must be 1 to {MAX_PLATFORMS} platforms")
    names = [pl.name for pl in p.platforms]
    if len(set(names)) != len(names):
        raise SimulationParameterError("platform names must be unique")
    for platform in p.platforms:
        _share(f"platform {platform.name!r} share", platform.share)


# --- where values come from -----------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` from the command line; VALUE is read as TOML (``0.3``, ``{FINANCIAL=0.9}``,
    ``"US"``), or taken as a plain string when it is not TOML."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise SimulationParameterError(f"--set takes NAME=VALUE, not {text!r}")
    try:
        parsed: Any = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return name, parsed


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What a TOML file sets: parameter values and, optionally, the scenarios to run."""

    values: Mapping[str, Any]
    scenarios: tuple[str, ...] | None = None


def load_toml(path: Path) -> RunConfig:
    """Read a configuration file: ``[parameters]`` (any name of :data:`PARAMETERS`),
    ``[[platforms]]`` and an optional top-level ``scenarios = [...]``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SimulationParameterError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SimulationParameterError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"parameters", "platforms", "scenarios"}
    if unknown:
        raise SimulationParameterError(
            f"{path}: unknown section {sorted(unknown)[0]!r} "
            "(use [parameters], [[platforms]] and scenarios)"
        )
    values = dict(data.get("parameters", {}))
    if "platforms" in data:
        values["platforms"] = data["platforms"]
    scenarios = data.get("scenarios")
    if scenarios is not None and (
        not isinstance(scenarios, list) or not all(isinstance(s, str) for s in scenarios)
    ):
        raise SimulationParameterError(f"{path}: scenarios must be a list of names")
    return RunConfig(values, tuple(scenarios) if scenarios is not None else None)


# --- documentation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """One row of the parameter table: unit, meaning, source, and whether it is an estimate."""

    name: str
    unit: str
    meaning: str
    source: str
    estimate: bool


LEE_NARAYANAN = (
    "Lee & Narayanan, 'Security and Privacy Risks of Number Recycling at Mobile Carriers in the "
    "United States', Princeton University, eCrime 2021 (recyclednumbers.cs.princeton.edu)"
)

# fmt: off
PARAMETERS: tuple[ParameterInfo, ...] = (
    ParameterInfo("population", "numbers", "phone numbers simulated (one holder each)",
                  "run setting", False),
    ParameterInfo("years", "years", "simulated time", "run setting", False),
    ParameterInfo("seed", "", "random seed: the same seed gives the same report",
                  "run setting", False),
    ParameterInfo("region", "ISO code", "jurisdiction whose freeze applies when a scenario sets "
                  "none (CN 90, US 45, IN 90 days)",
                  "numguard.domain.aging.AgingPolicy: MIIT (CN), FCC (US), DoT (IN)", False),
    ParameterInfo("start_date", "date", "first simulated day", "run setting", False),
    ParameterInfo("cancel_rate", "per number-year", "cancellations per held number per year",
                  "derived: FCC, about 35 million US numbers disconnected a year (FCC 18-177, "
                  "2018) over roughly 400-450 million US mobile connections (CTIA) = 7.8-8.8 %",
                  True),
    ParameterInfo("pool_wait_days", "days (mean)", "time a number waits in the carrier's pool "
                  "after its freeze before it is reissued",
                  "estimate; Lee & Narayanan found recycled numbers offered online soon after "
                  "the 45-day aging", True),
    ParameterInfo("unbind_all", "share", "people who unbind every account before cancelling",
                  "estimate: no public survey found that splits people into all / some / none; "
                  "set with the calibration to Lee & Narayanan (66 %)", True),
    ParameterInfo("unbind_some", "share", "people who unbind some accounts (the rest: none)",
                  "estimate, as unbind_all", True),
    ParameterInfo("some_unbind_share", "share per category", "for 'some' people: share of "
                  "their accounts unbound, financial first",
                  "estimate following the order the article and DESIGN.md recommend "
                  "(financial, social, shopping, lifestyle)", True),
    ParameterInfo("reminder_lift_all", "share points", "a cancel-time reminder moves this "
                  "share from 'none' to 'all'", "estimate (scenario assumption)", True),
    ParameterInfo("reminder_lift_some", "share points", "a cancel-time reminder moves this "
                  "share from 'none' to 'some'", "estimate (scenario assumption)", True),
    ParameterInfo("in_use_share", "share per category", "accounts the old holder still uses at "
                  "cancellation (the rest are forgotten)", "estimate", True),
    ParameterInfo("migrate_days", "days (mean)", "after cancellation, an account still in use "
                  "is moved to the holder's new number after this long",
                  "estimate, calibrated to Lee & Narayanan (66 % at a 45-day freeze)", True),
    ParameterInfo("idle_days", "days (mean)", "how long a forgotten account has been unused at "
                  "cancellation (decides dormancy)", "estimate", True),
    ParameterInfo("factor_share", "share per category", "accounts with a non-phone factor the "
                  "guard accepts for a step-up (financial: passkey, TOTP, trusted device, ID; "
                  "others: any, password included)", "estimate", True),
    ParameterInfo("check_adoption", "share per category", "accounts on platforms that ask the "
                  "registry before trusting an SMS code (scenario 'checks')",
                  "estimate (scenario assumption)", True),
    ParameterInfo("dormancy_adoption", "share per category", "accounts on platforms that "
                  "hibernate dormant accounts (scenario 'dormancy'); thresholds from the guard: "
                  "365 days financial, 730 others",
                  "adoption: estimate; thresholds: numguard.domain.guard.GuardRules.default()",
                  True),
    ParameterInfo("notify_adoption", "share per category", "accounts on platforms subscribed to "
                  "the registry's notices; they drop the number before reissue",
                  "estimate (scenario assumption)", True),
    ParameterInfo("renewal_uptake", "share", "new holders who use 二次号码焕新",
                  "estimate (scenario assumption)", True),
    ParameterInfo("renewal_days", "days (mean)", "from reissue to the new holder's 焕新 request",
                  "estimate", True),
    ParameterInfo("renewal_coverage", "share per category", "accounts on platforms that act on "
                  "a 焕新 request", "estimate; CAICT's 一证通查 covered 16 large platforms "
                  "(WeChat, Taobao, Xianyu, ...) in 2024", True),
    ParameterInfo("adoption_ramp_years", "years", "platform-side measures reach their adoption "
                  "share linearly over this time (0: at once)", "estimate", True),
    ParameterInfo("attempt_share", "share per category", "stale accounts on which the new holder "
                  "tries an SMS-code login or sign-up during their tenure", "estimate", True),
    ParameterInfo("attempt_days", "days (mean)", "from reissue to that attempt", "estimate",
                  True),
    ParameterInfo("message_rate", "messages per account-year", "notices, bills and codes a "
                  "platform sends to the bound number", "estimate", True),
    ParameterInfo("registry_coverage", "share", "numbers whose carrier reports to the registry "
                  "(the rest answer 'unknown')", "assumption: every carrier reports, as the FCC "
                  "requires of US providers for the Reassigned Numbers Database", True),
    ParameterInfo("registry_unreachable", "share", "checks that get no answer (outage)",
                  "estimate: 99.9 % availability", True),
    ParameterInfo("guard_unreachable", "OPEN / CLOSED", "what non-financial platforms do without "
                  "an answer (financial always fails closed)",
                  "numguard.domain.guard.GuardRules.default()", False),
    ParameterInfo("platforms", "list", "platform archetypes: category, share of people with an "
                  "account bound to their number, and the six sites of the calibration",
                  "shares: estimates (Pew Research 2021: 69 % of US adults use Facebook); the "
                  "six sites and the 25-app count: " + LEE_NARAYANAN + "; RUC 新闻坊 (2024), "
                  "a new number still bound on 14 of 25 common apps", True),
)
# fmt: on
"""The documented parameter table, in :class:`Parameters` field order."""

PARAMETER_INFO: Mapping[str, ParameterInfo] = MappingProxyType({p.name: p for p in PARAMETERS})


@dataclass(frozen=True, slots=True)
class CalibrationTarget:
    """A published figure the model must reproduce, with the tolerance the test allows."""

    share: float
    tolerance: float
    freeze_days: int
    source: str


CALIBRATION_TARGET = CalibrationTarget(
    share=171 / 259,
    # The study's own 95 % interval: 1.96 * sqrt(0.66 * 0.34 / 259) = 0.058.
    tolerance=0.06,
    freeze_days=45,
    source=LEE_NARAYANAN
    + ": 171 of 259 numbers offered to new subscribers were still tied to an account on at "
    "least one of Amazon, AOL, Facebook, Google, PayPal and Yahoo",
)
"""With no measures and the US 45-day freeze, the share of reissued numbers still bound on at
least one of the six popular platforms is about 66 %."""
