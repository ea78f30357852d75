"""Carrier coverage: whose number ranges hold a number, and since when reports are complete."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class CarrierCoverage:
    """One reporting carrier: its code, the E.164 prefixes it holds and its ``tracking_since``."""

    code: str
    tracking_since: date
    prefixes: tuple[str, ...] = ()


class CoverageMap:
    """Longest-prefix lookup from a number to the carrier whose range holds it."""

    def __init__(self, carriers: Iterable[CarrierCoverage]) -> None:
        self.carriers = {c.code: c for c in carriers}
        self._by_prefix: dict[str, CarrierCoverage] = {}
        for carrier in self.carriers.values():
            for prefix in carrier.prefixes:
                self._by_prefix[prefix] = carrier
        self._lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)

    def range_holder(self, e164: str) -> CarrierCoverage | None:
        """The carrier whose prefix range holds *e164*, or ``None``."""
        for length in self._lengths:
            carrier = self._by_prefix.get(e164[:length])
            if carrier is not None:
                return carrier
        return None

    def tracking_since(self, e164: str, current_carrier: str | None) -> tuple[bool, date | None]:
        """Whether the number is covered, and from when its reports are complete.

        A number is covered when a carrier's range holds it or a carrier reported about it; the
        coverage starts at the later ``tracking_since`` of those two carriers.
        """
        holder = self.range_holder(e164)
        current = self.carriers.get(current_carrier) if current_carrier else None
        dates = [c.tracking_since for c in (holder, current) if c is not None]
        if not dates:
            return False, None
        return True, max(dates)
