"""The aging period (冷冻期): days a cancelled number rests before it may be reissued."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import phonenumbers

DEFAULT_AGING_DAYS: Mapping[str, int] = {"CN": 90, "US": 45, "IN": 90}
"""Minimum freeze by jurisdiction: China 90 days (MIIT), US 45 (FCC), India 90 (DoT)."""


@dataclass(frozen=True)
class AgingPolicy:
    """Aging days per jurisdiction (ISO region code), with a default for the rest."""

    days_by_region: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_AGING_DAYS))
    default_days: int = 90
    _by_calling_code: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, int] = {}
        for region, days in self.days_by_region.items():
            if days < 0:
                raise ValueError(f"aging days for {region} must not be negative")
            code = phonenumbers.country_code_for_region(region.upper())
            if code == 0:
                raise ValueError(f"unknown region {region!r} in the aging policy")
            # NANP and similar shared codes: the main region of the code decides.
            main = phonenumbers.region_code_for_country_code(code)
            if main == region.upper() or str(code) not in by_code:
                by_code[str(code)] = days
        object.__setattr__(self, "_by_calling_code", by_code)

    def days_for(self, e164: str) -> int:
        """Aging days for the jurisdiction of an E.164 number."""
        digits = e164[1:4]
        for length in (1, 2, 3):
            days = self._by_calling_code.get(digits[:length])
            if days is not None:
                return days
        return self.default_days

    @classmethod
    def parse(cls, text: str, default_days: int = 90) -> AgingPolicy:
        """Read ``"CN=90,US=45,IN=90"`` (the ``NUMGUARD_AGING_DAYS`` setting)."""
        days: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            region, _, value = item.partition("=")
            if not value.strip().isdigit():
                raise ValueError(f"aging policy item {item!r} is not REGION=DAYS")
            days[region.strip().upper()] = int(value)
        return cls(days_by_region=days, default_days=default_days)
