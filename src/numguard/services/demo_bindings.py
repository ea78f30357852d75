"""Demo platforms and bindings consistent with a generated demo world.

Five platforms (a bank, a payment app, a messaging app, a shop, a delivery app). Every binding
is made during some holder's tenure of its number; when a tenure ended, some of its bindings
were never removed, which is exactly what 焕新 is for. The worked example is the world's
recycled number: its previous holder left accounts at the bank, the payment app, the messaging
app and the shop, and its current holder bound the messaging app, the delivery app and the
payment app. :func:`demo_bindings` also says which phone number and ID suffix to try.

Deterministic: the same world and seed give the same bindings.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from numguard.domain.binding import Category
from numguard.services.demo_world import DemoWorld, EventRecord


@dataclass(frozen=True, slots=True)
class DemoPlatform:
    """A platform of the demo."""

    code: str
    name: str
    category: Category
    prefix: str
    """How its account references start (``bk-0000001``)."""


DEMO_PLATFORMS: tuple[DemoPlatform, ...] = (
    DemoPlatform("EXAMPLEBANK", "示例银行 Example Bank", Category.FINANCIAL, "bk"),
    DemoPlatform("EXAMPLEPAY", "示例支付 Example Pay", Category.FINANCIAL, "pay"),
    DemoPlatform("EXAMPLECHAT", "示例聊天 Example Chat", Category.SOCIAL, "wx"),
    DemoPlatform("EXAMPLESHOP", "示例商城 Example Shop", Category.COMMERCE, "shop"),
    DemoPlatform("EXAMPLEFOOD", "示例外卖 Example Delivery", Category.LIFESTYLE, "food"),
)
"""The five demo platforms, in unbinding order."""


@dataclass(frozen=True, slots=True)
class Tenure:
    """One holder's holding of a number, from the world's events."""

    phone_number: str
    id_number: str
    start: date
    end: date | None


@dataclass(frozen=True, slots=True)
class DemoBindings:
    """Bindings per platform code (API record shape), and the lookup to try."""

    records: dict[str, list[dict[str, Any]]]
    phone_number: str
    id_suffix: str
    tenure_start: date

    @property
    def total(self) -> int:
        """How many bindings in all."""
        return sum(len(v) for v in self.records.values())


def tenures(events: list[EventRecord]) -> Iterator[Tenure]:
    """Every tenure in the events (one number's events are in date order)."""
    open_: dict[str, tuple[str, date]] = {}
    cancelled: dict[str, tuple[str, date, date]] = {}
    for e in events:
        phone, kind, day = e["phoneNumber"], e["type"], date.fromisoformat(e["effectiveDate"])
        holder = e.get("holder")
        if kind == "ASSIGNED" and holder is not None:
            gone = cancelled.pop(phone, None)
            if gone is not None:
                yield Tenure(phone, gone[0], gone[1], gone[2])
            open_[phone] = (holder["idNumber"], day)
        elif kind == "CANCELLED" and phone in open_:
            person, start = open_.pop(phone)
            cancelled[phone] = (person, start, day)
        elif kind == "RESTORED" and phone in cancelled:
            person, start, _ = cancelled.pop(phone)
            open_[phone] = (person, start)
        elif kind == "TRANSFERRED" and holder is not None and phone in open_:
            person, start = open_.pop(phone)
            yield Tenure(phone, person, start, day)
            open_[phone] = (holder["idNumber"], day)
    for phone, (person, start, end) in cancelled.items():
        yield Tenure(phone, person, start, end)
    for phone, (person, start) in open_.items():
        yield Tenure(phone, person, start, None)


def _day_between(rng: random.Random, start: date, end: date) -> date:
    span = max(0, (end - start).days)
    return start + timedelta(days=rng.randint(0, span))


def demo_bindings(world: DemoWorld, *, seed: int = 1, share: float = 0.3) -> DemoBindings:
    """Bindings for about *share* of the world's numbers, plus the worked example's.

    Each sampled tenure binds one to four platforms on days within it; a tenure that ended
    leaves 60% of its bindings behind (never unbound). Activity stops when the tenure ends.
    """
    rng = random.Random(seed)  # noqa: S311  synthetic demo data, not a secret
    today = world.today
    example = world.examples["recycled"].phone_number
    records: dict[str, list[dict[str, Any]]] = {p.code: [] for p in DEMO_PLATFORMS}
    counter = 0
    chosen: Tenure | None = None
    by_phone: dict[str, list[Tenure]] = {}
    for t in tenures(world.events):
        by_phone.setdefault(t.phone_number, []).append(t)

    def bind(platform: DemoPlatform, t: Tenure, *, dormant: bool = False) -> None:
        nonlocal counter
        counter += 1
        last_day = t.end or today
        bound = _day_between(rng, t.start, last_day)
        if dormant:
            active = bound + timedelta(days=rng.randint(0, 30))
            active = min(active, today - timedelta(days=400))
            bound = min(bound, active)
        else:
            active = _day_between(rng, bound, last_day)
        records[platform.code].append(
            {
                "accountRef": f"{platform.prefix}-{counter:07d}",
                "phoneNumber": t.phone_number,
                "boundAt": bound.isoformat(),
                "lastActiveAt": active.isoformat(),
            }
        )

    def reissued(held: list[Tenure]) -> bool:
        return len(held) >= 2 and held[-1].end is None and held[-1].start >= world.tracking_since

    for held in by_phone.values():
        held.sort(key=lambda t: t.start)
    if not reissued(by_phone.get(example, [])):  # the story number lived on: take another
        example = next((p for p, h in sorted(by_phone.items()) if reissued(h)), example)
    for phone, held in sorted(by_phone.items()):
        if phone == example and reissued(held):
            previous, current = held[-2], held[-1]
            for platform in DEMO_PLATFORMS[:4]:  # bank, pay, chat, shop: left behind
                bind(platform, previous)
            for platform in (DEMO_PLATFORMS[2], DEMO_PLATFORMS[4], DEMO_PLATFORMS[1]):
                bind(platform, current)
            chosen = current
            continue
        if rng.random() >= share:
            continue
        for t in held:
            kept = [p for p in DEMO_PLATFORMS if rng.random() < 0.45] or [
                rng.choice(DEMO_PLATFORMS)
            ]
            for platform in kept:
                if t.end is not None and rng.random() >= 0.6:
                    continue  # unbound before the number was given up
                old_enough = (today - t.start).days > 500
                bind(platform, t, dormant=t.end is None and old_enough and rng.random() < 0.2)
    if chosen is None:
        raise ValueError("the world's recycled example has no current holder to show")
    return DemoBindings(records, chosen.phone_number, chosen.id_number[-6:], chosen.start)
